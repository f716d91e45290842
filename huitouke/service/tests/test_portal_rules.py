"""The self-service page's pure rules: photo cleaning (only real pictures, metadata and GPS gone, rotation kept,
bombs refused, any bytes answered with PhotoError or a clean picture) and the service hours in both languages."""

from __future__ import annotations

import io
import itertools

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from huitouke.service.portal_hours import format_days, format_periods, service_hours, weekday_runs
from huitouke.service.portal_photos import MAX_PIXELS, PhotoError, photo_clean, photo_format
from huitouke.service.tests.conftest import sh
from huitouke.service.tests.test_portal import GPS_IFD, gps_jpeg

MB = 1024 * 1024


def clean(content: bytes, max_bytes: int = 5 * MB) -> bytes:
    return photo_clean(content=content, index=0, max_bytes=max_bytes).content


def test_a_phone_jpeg_loses_its_gps_position_and_maker():
    original = gps_jpeg()
    before = Image.open(io.BytesIO(original)).getexif()
    assert before[0x010F] == "PhoneMaker"
    assert before.get_ifd(GPS_IFD)[1] == "N"
    out = photo_clean(content=original, index=2, max_bytes=5 * MB)
    assert (out.name, out.format) == ("photo-3.jpg", "JPEG")
    after = Image.open(io.BytesIO(out.content))
    assert dict(after.getexif()) == {}
    assert b"Exif" not in out.content
    assert b"PhoneMaker" not in out.content
    assert after.size == (40, 30)


def test_the_exif_rotation_is_applied_before_it_is_dropped():
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held upright: turn 90° clockwise to show
    buf = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buf, "JPEG", exif=exif)
    out = Image.open(io.BytesIO(clean(buf.getvalue())))
    assert out.size == (30, 40)
    assert 0x0112 not in out.getexif()


def test_png_and_webp_metadata_is_dropped_too():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "shot at home")
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 14.0, 5.0)})
    buf = io.BytesIO()
    Image.new("RGBA", (12, 12), (1, 2, 3, 100)).save(buf, "PNG", pnginfo=info, exif=exif)
    out = clean(buf.getvalue())
    assert out.startswith(b"\x89PNG")
    assert b"shot at home" not in out
    assert b"eXIf" not in out
    assert Image.open(io.BytesIO(out)).mode == "RGBA"
    buf = io.BytesIO()
    Image.new("RGB", (12, 12)).save(buf, "WEBP", exif=exif)
    assert b"EXIF" in buf.getvalue()
    out = clean(buf.getvalue())
    assert out[8:12] == b"WEBP"
    assert b"EXIF" not in out


def test_an_animated_gif_keeps_its_frames():
    frames = [Image.new("RGB", (8, 8), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, comment=b"secret")
    out = Image.open(io.BytesIO(clean(buf.getvalue())))
    assert getattr(out, "n_frames", 1) == 3
    assert b"secret" not in clean(buf.getvalue())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Photo 1 is empty."),
        (b"%PDF-1.7", "Photo 1 is not a JPEG, PNG, WebP or GIF picture."),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "Photo 1 is not a JPEG, PNG, WebP or GIF picture."),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "Photo 1 could not be read as a picture."),
        (b"GIF89a" + b"\x00" * 10, "Photo 1 could not be read as a picture."),
        (b"\xff\xd8\xff" + b"\x00" * (MB + 1), "Photo 1 is larger than 1 MB."),
    ],
)
def test_what_is_not_a_picture_is_refused_by_name(content, message):
    with translation.override("en"), pytest.raises(PhotoError) as info:
        photo_clean(content=content, index=0, max_bytes=MB)
    assert info.value.message == message
    assert info.value.field == "photos"


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    side = int(MAX_PIXELS**0.5) + 10
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")
    assert len(buf.getvalue()) < MB  # small on the wire, huge in memory
    with translation.override("en"), pytest.raises(PhotoError, match="too many pixels"):
        clean(buf.getvalue())


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP"]),
    tail=st.binary(max_size=300),
)
def test_any_bytes_give_a_clean_picture_or_a_named_refusal(prefix, tail):
    field = None
    try:
        out = photo_clean(content=prefix + tail, index=0, max_bytes=MB)
    except PhotoError as exc:
        field = exc.field
    else:
        field = "photos" if photo_format(out.content[:16]) is not None else "not a picture"
    assert field == "photos"


# --- service hours -------------------------------------------------------------------------------------------


@given(st.lists(st.integers(1, 7), max_size=7))
def test_weekday_runs_cover_exactly_the_days(days):
    runs = weekday_runs(days)
    covered = [d for a, b in runs for d in range(a, b + 1)]
    assert covered == sorted(set(days))
    assert all(b2 > b1 + 1 for (_a1, b1), (b2, _c) in itertools.pairwise(runs))


def test_days_and_periods_in_both_languages():
    with translation.override("en"):
        assert format_days([1, 2, 3, 4, 5]) == "Monday to Friday"
        assert format_days([1, 2, 4, 6, 7]) == "Monday, Tuesday, Thursday, Saturday, Sunday"
        assert format_periods(["09:00-12:00", "13:30-24:00"]) == "09:00–12:00, 13:30–24:00"
    with translation.override("zh-hans"):
        assert format_days([1, 2, 3, 4, 5, 6]) == "星期一至星期六"
        assert format_days([1, 3]) == "星期一、星期三"
        assert format_periods(["09:00-12:00", "13:30-18:00"]) == "09:00–12:00、13:30–18:00"


@pytest.mark.django_db
def test_open_now_and_the_next_opening_follow_the_calendar(shop):
    hours = service_hours(shop=shop, now=sh(2026, 3, 2, 10, 0))  # a Monday morning
    assert hours.open_now
    assert hours.next_open == ""
    with translation.override("en"):
        lunch = service_hours(shop=shop, now=sh(2026, 3, 2, 12, 30))
        assert not lunch.open_now
        assert lunch.next_open == "Monday 3/2 at 13:30"
        assert lunch.timezone == "Asia/Shanghai"
        assert lunch.holidays_off
    with translation.override("zh-hans"):
        # 国庆 2026: off from Thursday 1 October to Wednesday 7 October (make-up days 20 Sept and 10 Oct)
        holiday = service_hours(shop=shop, now=sh(2026, 10, 1, 10, 0))
        assert holiday.next_open == "10月8日（星期四）09:00"
