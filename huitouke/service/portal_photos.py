"""Photos a customer sends through the self-service page (no ORM): only JPEG, PNG, WebP and GIF as their first
bytes show (never the name or the browser's word), within a size and pixel limit, decoded in full and written
again by Pillow without their metadata, so that EXIF (a phone camera's GPS position, the device), XMP and
comments never reach the shop. A JPEG's EXIF rotation is applied to the pixels before it is dropped."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from huitouke.core.errors import ApplicationError

#: (magic bytes at offset 0, Pillow format, file extension)
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "JPEG", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "PNG", "png"),
    (b"GIF87a", "GIF", "gif"),
    (b"GIF89a", "GIF", "gif"),
)
#: A photo may have at most this many pixels (a 48-megapixel phone camera fits; a decompression bomb does not).
MAX_PIXELS = 50_000_000


class PhotoError(ApplicationError):
    """A photo the page refuses; `message` is shown to the customer (already translated by the caller)."""


@dataclass(frozen=True)
class CleanPhoto:
    name: str
    content: bytes
    format: str


def photo_format(head: bytes) -> tuple[str, str] | None:
    """(Pillow format, extension) of the image the first bytes show, or None for anything else."""
    for magic, fmt, ext in _MAGIC:
        if head.startswith(magic):
            return fmt, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP", "webp"
    return None


def photo_clean(*, content: bytes, index: int, max_bytes: int) -> CleanPhoto:
    """The photo re-encoded without metadata, named photo-<index>.<ext> after its real type. Raises PhotoError
    (field "photos") naming the photo for an empty, oversized, non-image or undecodable file."""
    number = index + 1
    if not content:
        raise PhotoError(_("Photo %(n)d is empty.") % {"n": number}, field="photos")
    if len(content) > max_bytes:
        raise PhotoError(
            _("Photo %(n)d is larger than %(mb)s MB.") % {"n": number, "mb": _megabytes(max_bytes)}, field="photos"
        )
    found = photo_format(content[:16])
    if found is None:
        raise PhotoError(_("Photo %(n)d is not a JPEG, PNG, WebP or GIF picture.") % {"n": number}, field="photos")
    fmt, ext = found
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[fmt]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise PhotoError(_("Photo %(n)d has too many pixels.") % {"n": number}, field="photos")
                out = _reencode(image, fmt)
    except PhotoError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise PhotoError(_("Photo %(n)d could not be read as a picture.") % {"n": number}, field="photos") from exc
    return CleanPhoto(name=f"photo-{number}.{ext}", content=out, format=fmt)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _reencode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    animated = bool(getattr(image, "is_animated", False))
    if animated:
        # frames keep their timing; no EXIF/XMP/comment is passed on (Pillow writes only what it is given)
        image.load()
        image.info.pop("comment", None)
        image.info.pop("exif", None)
        image.info.pop("xmp", None)
        image.save(buffer, format=fmt, save_all=True)
        return buffer.getvalue()
    image.load()
    upright = ImageOps.exif_transpose(image)
    upright.info = {k: v for k, v in upright.info.items() if k in ("transparency", "duration", "loop")}
    if fmt == "JPEG":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        upright.save(buffer, format="JPEG", quality=90, optimize=True)
    elif fmt == "WEBP":
        upright.save(buffer, format="WEBP", quality=90)
    else:
        upright.save(buffer, format=fmt)
    return buffer.getvalue()
