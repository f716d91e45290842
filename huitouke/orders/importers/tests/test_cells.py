"""Cell parsers: property tests (hypothesis) plus the quirks seen in real exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.orders.importers import jd, pdd, taobao
from huitouke.orders.importers.cells import (
    CENT,
    MAX_AMOUNT,
    CellError,
    parse_amount,
    parse_bool,
    parse_datetime,
    parse_id,
    parse_phone,
    parse_quantity,
    parse_status,
    set_clock,
    split_address,
    text,
    unwrap,
)
from huitouke.orders.importers.generic import parse_generic_status
from huitouke.orders.importers.rows import STATUSES
from huitouke.orders.importers.shopify import FINANCIAL, FULFILLMENT, normalise_status
from huitouke.orders.importers.woocommerce import normalise_status as woo_status

SH = ZoneInfo("Asia/Shanghai")

amounts = st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2, allow_nan=False)


def _thousands(d: Decimal) -> str:
    return f"{d:,.2f}"


@given(amounts, st.sampled_from(["{}", "¥{}", "￥{}", "{}元", " {} ", "¥ {}", "{}(元)", "RMB {}", "\u3000{}\u3000"]))
def test_amount_round_trips_through_decorations(value, template):
    # given any amount written with currency marks, thousands separators and padding
    # when parsed, then the same Decimal comes back
    assert parse_amount(template.format(_thousands(value))) == value
    assert parse_amount(template.format(str(value))) == value


@given(st.text(alphabet="abcxyz!?#%&*/_", min_size=1))
def test_amount_garbage_is_an_error(s):
    with pytest.raises(CellError):
        parse_amount(s)


@pytest.mark.parametrize("s", ["-5.00", "¥-1", "(12.00)", "1e5", "NaN", "Infinity", "12.3.4", "1 2 3 x"])
def test_amount_rejects_negative_and_non_decimal(s):
    with pytest.raises(CellError):
        parse_amount(s)


@pytest.mark.parametrize("s", ["", "  ", "-", "--", "null"])
def test_empty_amount_is_zero(s):
    assert parse_amount(s) == 0


naive_times = st.datetimes(min_value=datetime(1992, 1, 1), max_value=datetime(2025, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


@given(naive_times)
def test_datetime_formats_round_trip_and_become_aware(d):
    # Taobao `2024-02-25 22:00:54`, ISO with T, and Excel-resaved `2024/2/25 22:00` (minutes only)
    assert parse_datetime(d.strftime("%Y-%m-%d %H:%M:%S"), SH) == d.replace(tzinfo=SH)
    assert parse_datetime(d.isoformat(), SH) == d.replace(tzinfo=SH)
    resaved = f"{d.year}/{d.month}/{d.day} {d.hour}:{d.minute:02d}"
    assert parse_datetime(resaved, SH) == d.replace(second=0, tzinfo=SH)
    assert parse_datetime(f"{d.year}年{d.month}月{d.day}日", SH) == datetime(d.year, d.month, d.day, tzinfo=SH)


@given(naive_times, st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m - m % 15))
def test_shopify_offsets_are_kept(d, minutes):
    offset = timezone(timedelta(minutes=minutes))
    sign = "+" if minutes >= 0 else "-"
    written = f"{d:%Y-%m-%d %H:%M:%S} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    parsed = parse_datetime(written, SH)
    assert parsed == d.replace(tzinfo=offset)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(minutes=minutes)


@given(st.decimals(min_value=MAX_AMOUNT + CENT, max_value=Decimal("1e30"), allow_nan=False, allow_infinity=False))
def test_an_amount_beyond_what_the_archive_holds_is_an_error(value):
    # given an amount past 99,999,999.99 (the 99999999999999999999.99 among them), plain or decorated
    for written in (str(value), f"¥{value:,.2f}", "99999999999999999999.99"):
        with pytest.raises(CellError, match=r"amount larger than 99,999,999.99 \(not a plausible amount\)"):
            parse_amount(written)


def test_amount_edges():
    assert parse_amount("99999999.99") == MAX_AMOUNT
    assert parse_amount("12.345") == Decimal("12.35")  # the columns keep cents: rounded half up
    assert parse_amount("¥1,234.5678") == Decimal("1234.57")
    assert parse_amount("12.5") == Decimal("12.5")


def test_quantity_beyond_plausible_is_an_error():
    assert parse_quantity("1000000") == 1_000_000
    with pytest.raises(CellError, match=r"quantity larger than 1,000,000"):
        parse_quantity("1000001")
    with pytest.raises(CellError, match=r"quantity larger than 1,000,000"):
        parse_quantity("99999999999999999999")


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("2099-01-01 00:00:00", "date in the future (after 2025-03-03)"),
        ("2025/3/4 00:00", "date in the future (after 2025-03-03)"),
        ("1989-12-31 23:59:59", "date before 1990 (not a plausible order date)"),
        ("1989年6月1日", "date before 1990 (not a plausible order date)"),
        ("32000", "date before 1990 (not a plausible order date)"),  # Excel serial: 1987
        ("79000", "date in the future (after 2025-03-03)"),  # Excel serial: 2116
    ],
)
def test_a_date_outside_the_plausible_window_is_an_error(written, reason):
    # given files read on 2025-03-01 (a time may be up to two days ahead: time zones, clock skew)
    set_clock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    try:
        assert parse_datetime("2025-03-03 11:59:00", SH) == datetime(2025, 3, 3, 11, 59, tzinfo=SH)
        assert parse_datetime("1990-01-01 00:00:00", SH) == datetime(1990, 1, 1, tzinfo=SH)
        with pytest.raises(CellError) as caught:
            parse_datetime(written, SH)
        assert caught.value.reason == reason
    finally:
        set_clock()


def test_datetime_edge_cases():
    assert parse_datetime("", SH) is None
    assert parse_datetime("0000-00-00 00:00:00", SH) is None
    assert parse_datetime("2025-10-07T09:50:26Z", SH) == datetime(2025, 10, 7, 9, 50, 26, tzinfo=UTC)
    assert parse_datetime("45347.5", SH) == datetime(2024, 2, 25, 12, 0, tzinfo=SH)  # Excel serial


@pytest.mark.parametrize("s", ["2024-02-30 10:00:00", "yesterday", "25/02/2024", "2024-13-01", "12345"])
def test_bad_datetime_is_an_error(s):
    with pytest.raises(CellError):
        parse_datetime(s, SH)


@pytest.mark.parametrize("table", [taobao.STATUS, jd.STATUS, pdd.STATUS])
def test_every_known_status_text_maps_to_a_model_status(table):
    for key, status in table.items():
        assert parse_status(key, table) == status
        assert status in STATUSES


@given(st.text(min_size=1).filter(lambda s: s.strip()))
def test_unknown_status_is_an_error(s):
    from huitouke.orders.importers.cells import status_key

    if status_key(s) in taobao.STATUS:
        return
    with pytest.raises(CellError):
        parse_status(s, taobao.STATUS)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("等待买家付款", "pending"),
        ("买家已付款，等待卖家发货", "paid"),
        ("买家已付款,等待卖家发货", "paid"),
        (" 买家已付款, 等待卖家发货 ", "paid"),
        ("卖家已发货，等待买家确认", "shipped"),
        ("部分发货", "shipped"),
        ("交易成功", "completed"),
        ("交易关闭", "closed"),
        ("付款以前，卖家或买家主动关闭交易", "closed"),
    ],
)
def test_taobao_status_texts(written, expected):
    assert parse_status(written, taobao.STATUS) == expected


@pytest.mark.parametrize("financial", FINANCIAL)
@pytest.mark.parametrize("fulfillment", FULFILLMENT)
@pytest.mark.parametrize("cancelled", [False, True])
def test_shopify_status_matrix_is_total(financial, fulfillment, cancelled):
    status = normalise_status(financial, fulfillment, cancelled)
    assert status in STATUSES
    if cancelled:
        assert status in ("closed", "refunded")


@pytest.mark.parametrize(
    ("financial", "fulfillment", "cancelled", "expected"),
    [
        ("paid", "fulfilled", False, "completed"),
        ("paid", "partial", False, "shipped"),
        ("paid", "", False, "paid"),
        ("pending", "unfulfilled", False, "pending"),
        ("refunded", "fulfilled", False, "refunded"),
        ("voided", "", True, "closed"),
        ("partially_refunded", "fulfilled", False, "completed"),
    ],
)
def test_shopify_status_examples(financial, fulfillment, cancelled, expected):
    assert normalise_status(financial, fulfillment, cancelled) == expected


def test_shopify_unknown_status_is_an_error():
    with pytest.raises(CellError):
        normalise_status("sort_of_paid", "fulfilled", False)


@pytest.mark.parametrize(
    ("written", "expected"),
    [("wc-completed", "completed"), ("Processing", "paid"), ("On hold", "pending"), ("cancelled", "closed")],
)
def test_woocommerce_statuses(written, expected):
    assert woo_status(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"), [("", "completed"), ("已完成", "completed"), ("Refunded", "refunded")]
)
def test_generic_statuses(written, expected):
    assert parse_generic_status(written) == expected


@given(st.integers(min_value=10**15, max_value=10**19 - 1))
def test_long_ids_stay_exact_strings(n):
    digits = str(n)
    assert parse_id(f'="{digits}"') == digits
    assert parse_id(digits) == digits
    assert parse_id(f"'{digits}") == digits
    assert parse_id(f"\t{digits} ") == digits


@pytest.mark.parametrize("s", ["1.93068E+15", "3.81234567890123E+18"])
def test_ids_mangled_into_floats_are_errors(s):
    with pytest.raises(CellError, match="rounded float"):
        parse_id(s)


def test_missing_id_is_an_error():
    with pytest.raises(CellError, match="missing order number"):
        parse_id('=""')


phones = st.one_of(
    st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
    st.from_regex(r"1[3-9]\d\*{4}\d{4}", fullmatch=True),
    st.text(alphabet="0123456789+-'* ()", max_size=20),
)


@given(phones, st.sampled_from(["{}", "'{}", "+86{}", "+86 {}", '="{}"', "0086{}", " {} "]))
def test_phone_normalisation_is_idempotent(phone, template):
    once = parse_phone(template.format(phone))
    assert parse_phone(once) == once


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_phone_wrappers_and_country_code_removed(mobile):
    for written in (
        mobile,
        f"'{mobile}",
        f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}",
        f"86{mobile}",
        f'="{mobile}"',
    ):
        assert parse_phone(written) == mobile


def test_masked_phone_kept():
    assert parse_phone("138****5678") == "138****5678"
    assert parse_phone("'+86 138****5678") == "138****5678"


@pytest.mark.parametrize(
    ("written", "expected"),
    [("2", 2), ("2.0", 2), ("3件", 3), (" 10 ", 10)],
)
def test_quantity(written, expected):
    assert parse_quantity(written) == expected


@pytest.mark.parametrize("s", ["0", "-1", "1.5", "two", ""])
def test_bad_quantity_is_an_error(s):
    with pytest.raises(CellError):
        parse_quantity(s)


@pytest.mark.parametrize("s", ["=SUM(A1:A3)", "+86-abc", "-3 items", "@admin", "=cmd|' /c calc'!A0"])
def test_formula_like_text_cells_stay_text(s):
    assert text(f" {s} ") == s


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("浙江省 杭州市 西湖区 文三路1号(310000)", ("浙江省", "杭州市", "西湖区", "文三路1号", "310000")),
        ("北京 北京市 朝阳区 建国路88号", ("北京", "北京市", "朝阳区", "建国路88号", "")),
        ("浙江省杭州市西湖区文三路1号", ("浙江省", "杭州市", "西湖区", "文三路1号", "")),
        ("上海市浦东新区世纪大道100号（200120）", ("上海市", "上海市", "浦东新区", "世纪大道100号", "200120")),
        ("广西壮族自治区南宁市青秀区民族大道1号", ("广西壮族自治区", "南宁市", "青秀区", "民族大道1号", "")),
        ("1 Main Street, Springfield", ("", "", "", "1 Main Street, Springfield", "")),
        ("", ("", "", "", "", "")),
    ],
)
def test_split_address(written, expected):
    assert split_address(written) == expected


@pytest.mark.parametrize(("s", "expected"), [("yes", True), ("no", False), ("", None), ("TRUE", True), ("否", False)])
def test_bool(s, expected):
    assert parse_bool(s) is expected


BLANKS = "\u3000\xa0\ufeff\t\r\n "


def _unwrap_slowly(s: str) -> str:
    """The rule of `unwrap` spelled out: trim; strip one `="…"` wrapper or one leading apostrophe, trim again."""
    s = s.strip(BLANKS)
    if s.startswith('="') and s.endswith('"') and len(s) >= 3:
        return s[2:-1].strip(BLANKS)
    if s.startswith("'"):
        return s[1:].strip(BLANKS)
    return s


@given(
    st.tuples(
        st.sampled_from(["", '="', "'", ' ="', "\u3000'", "="]),
        st.text(alphabet=st.sampled_from(" \u3000\t12ab='\""), max_size=5),
        st.sampled_from(["", '"', ' "', '" ', "\t", "'"]),
    ).map("".join)
)
def test_unwrap_follows_its_rule_on_any_text(s):
    assert unwrap(s) == _unwrap_slowly(s)
