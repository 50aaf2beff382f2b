"""A photo's bytes in, its safe derived copies and facts out: a pure function, no database."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import math
import re
import warnings
import zoneinfo
from pathlib import PurePosixPath
from typing import Any

import msgspec
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from carepact.jobs.services import JobRefused

log = logging.getLogger("carepact.media")

DISPLAY_SIDE = 1600  # long side of the copy people look at
THUMB_SIDE = 320
DISPLAY_QUALITY = 85
THUMB_QUALITY = 80

# Checked on the header's size, before a single pixel is decoded. A JPEG may be larger because
# it is decoded at a reduced scale (Image.draft): its memory follows the display size, not its own.
MAX_PIXELS = {"JPEG": 120_000_000, "MPO": 120_000_000, "PNG": 40_000_000, "WEBP": 40_000_000}
# Pillow's own bomb guard warns above its limit and refuses above twice it; set at our highest
# cap, and the warning made an error, it refuses in this process whatever slips past our check.
Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS.values())
warnings.simplefilter("error", Image.DecompressionBombWarning)

# The only decoders hostile bytes ever reach. MPO (phones' multi-picture JPEG) opens through JPEG.
OPENERS = ("JPEG", "PNG", "WEBP")
FORMAT_LABELS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
_MEDIA_TYPES = {
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/pjpeg": "JPEG",
    "image/png": "PNG",
    "image/x-png": "PNG",
    "image/webp": "WEBP",
}
_SAYS_NOTHING = {"", "application/octet-stream", "binary/octet-stream"}  # what a client sends when it does not know
_EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".png": "PNG", ".webp": "WEBP"}

# EXIF writes local time without a zone unless OffsetTimeOriginal says; the phones are here.
CAMERA_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


class PhotoRefused(JobRefused):
    """Not an image the platform accepts: a stable code and a zh-CN reason for the uploader."""


class ProcessedPhoto(msgspec.Struct, frozen=True, kw_only=True):
    display_jpeg: bytes  # long side ≤ DISPLAY_SIDE, upright, no metadata at all
    thumb_jpeg: bytes  # long side ≤ THUMB_SIDE, likewise
    format: str  # as detected: JPEG, MPO, PNG, WEBP
    width: int  # of the original, after EXIF orientation
    height: int
    captured_at: dt.datetime | None  # UTC
    latitude: float | None
    longitude: float | None
    sha256: str  # of the original bytes
    phash: str  # 64-bit difference hash, 16 hex digits
    phash_bands: tuple[int, int, int, int]  # its four 16-bit bands, most significant first


def sniff(data: bytes) -> str | None:
    """The format the first bytes announce (the upload's quick check; Pillow decides later)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def process(data: bytes, declared_type: str, filename: str) -> ProcessedPhoto:
    """Check, decode at a bounded size, orient, read and strip EXIF, make the copies and hashes.

    Raises PhotoRefused for anything that is not a sound JPEG, PNG or WebP of a sane size.
    """
    if not data:
        raise PhotoRefused("photo.empty", "文件是空的（0 字节），请重新选择照片。")
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        image = Image.open(io.BytesIO(data), formats=OPENERS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except UnidentifiedImageError as exc:
        if sniff(data):  # says it is one of ours, yet its header does not parse
            raise _corrupt() from exc
        raise PhotoRefused(
            "photo.unsupported_format", "不支持的文件格式：请上传 JPEG、PNG 或 WebP 格式的照片。"
        ) from exc
    except MemoryError:
        raise
    except Exception as exc:
        raise _corrupt() from exc
    # No `with image:` — closing it would also disable the decoded pixels we go on using, and
    # an in-memory file holds nothing that needs closing.
    detected = image.format or ""
    _check_declared(detected, declared_type, filename)
    full_width, full_height = image.size
    if full_width * full_height > MAX_PIXELS[detected]:
        raise _too_many_pixels(full_width, full_height)
    try:
        upright, swapped, exif = _decode(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(full_width, full_height) from exc
    except MemoryError:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... on bad data
        log.info("photo refused as corrupt: %s: %s", type(exc).__name__, exc)
        raise _corrupt() from exc
    captured_at = _captured_at(exif)
    latitude, longitude = _position(exif)
    thumb = upright.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    phash = dhash(thumb)
    return ProcessedPhoto(
        display_jpeg=_jpeg(upright, DISPLAY_QUALITY),
        thumb_jpeg=_jpeg(thumb, THUMB_QUALITY),
        format=detected,
        width=full_height if swapped else full_width,
        height=full_width if swapped else full_height,
        captured_at=captured_at,
        latitude=latitude,
        longitude=longitude,
        sha256=sha256,
        phash=f"{phash:016x}",
        phash_bands=bands(phash),
    )


def dhash(image: Image.Image) -> int:
    """Difference hash: 9×8 grey, each bit says whether a pixel is brighter than its left
    neighbour. Re-encoding or resizing barely changes it; a different scene changes half of it."""
    grey = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS).tobytes()
    bits = 0
    for y in range(8):
        row = grey[y * 9 : y * 9 + 9]
        for x in range(8):
            bits = (bits << 1) | (row[x + 1] > row[x])
    return bits


def bands(phash: int) -> tuple[int, int, int, int]:
    return ((phash >> 48) & 0xFFFF, (phash >> 32) & 0xFFFF, (phash >> 16) & 0xFFFF, phash & 0xFFFF)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


# --- steps --------------------------------------------------------------------------------


def _corrupt() -> PhotoRefused:
    return PhotoRefused("photo.corrupt", "图片文件已损坏或不完整，无法读取。请重新拍摄或重新上传原图。")


def _too_many_pixels(width: int = 0, height: int = 0) -> PhotoRefused:
    size = f"（{width}×{height}）" if width and height else ""
    return PhotoRefused(
        "photo.too_many_pixels",
        f"图片像素过多{size}，超过平台上限，可能是恶意构造的文件，已拒收。请上传手机正常拍摄的照片。",
    )


def _check_declared(detected: str, declared_type: str, filename: str) -> None:
    """The content decides the format; a name or type claiming another is refused (a renamed
    file is how a hostile upload hides)."""
    actual = "JPEG" if detected == "MPO" else detected
    media_type = declared_type.split(";", 1)[0].strip().lower()
    extension = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    claims = []
    if media_type not in _SAYS_NOTHING:
        claims.append((media_type, _MEDIA_TYPES.get(media_type)))
    if extension:
        claims.append((extension, _EXTENSIONS.get(extension)))
    for claim, claimed in claims:
        if claimed != actual:
            raise PhotoRefused(
                "photo.type_mismatch",
                f"文件内容与声明的类型不符：声明为 {claim[:40]}，实际是 {FORMAT_LABELS[detected]} 图片。"
                "请直接上传相机或相册中的原始照片。",
            )


def _decode(image: Image.Image) -> tuple[Image.Image, bool, Image.Exif]:
    """Decode at display scale and return it upright in RGB, whether orienting swapped the
    sides, and the EXIF as read. Peak memory: the decoded image (at draft scale for JPEG) twice."""
    if image.format in ("JPEG", "MPO"):
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale, never below the size asked for.
        image.draft("RGB", _fit(image.size, DISPLAY_SIDE))
    image.load()
    exif = image.getexif()
    working = _eight_bit(image)
    working.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE), Image.Resampling.LANCZOS)
    before = working.size
    try:
        ImageOps.exif_transpose(working, in_place=True)
    except Exception:  # unreadable orientation: keep the picture as stored rather than refuse it
        log.info("EXIF orientation unreadable; photo kept as stored", exc_info=True)
    rgb = _flatten(working)
    rgb.info = {}  # nothing from the original's metadata (EXIF, XMP, comment, ICC) is carried over
    return rgb, working.size != before, exif


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, side / max(width, height, 1))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _eight_bit(image: Image.Image) -> Image.Image:
    """A mode thumbnail() and exif_transpose() handle well: 8-bit L/LA/RGB/RGBA (CMYK stays)."""
    if image.mode.startswith("I;16") or image.mode == "I":
        return image.point(lambda v: v / 256).convert("L")  # 16-bit grey: scale, don't clip
    if image.mode == "PA" or "transparency" in image.info:  # a palette or colour key with see-through
        return image.convert("RGBA")
    if image.mode == "P":
        return image.convert("RGB")
    if image.mode == "1":
        return image.convert("L")
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with anything transparent laid on white (as it would look on paper)."""
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    if image.mode != "RGB":
        return image.convert("RGB")  # CMYK (incl. Adobe's inverted), L, YCbCr
    return image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile=, comment=: Pillow writes no metadata it is not handed.
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


# --- EXIF facts: read defensively, a bad tag is a missing fact, never a refusal ------------


def _ifd(exif: Image.Exif, ifd: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(ifd))
    except Exception:
        return {}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).replace("\x00", "").strip() if value is not None else ""


def _captured_at(exif: Image.Exif) -> dt.datetime | None:
    tags = _ifd(exif, ExifTags.IFD.Exif)
    for when, offset in (
        (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal),
        (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized),
    ):
        try:
            local = dt.datetime.strptime(_text(tags.get(when))[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        zone: dt.tzinfo = CAMERA_ZONE
        match = _OFFSET.match(_text(tags.get(offset)))
        if match:
            minutes = int(match[2]) * 60 + int(match[3])
            if minutes <= 14 * 60:
                zone = dt.timezone(dt.timedelta(minutes=-minutes if match[1] == "-" else minutes))
        return local.replace(tzinfo=zone).astimezone(dt.UTC)
    return None


def _position(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = _ifd(exif, ExifTags.IFD.GPSInfo)
    latitude = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S", 90)
    longitude = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W", 180)
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):  # 0,0: "no fix"
        return None, None
    return latitude, longitude


def _degrees(value: Any, ref: Any, negative: str, limit: float) -> float | None:
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    if not math.isfinite(degrees) or degrees > limit or min(d, m, s) < 0:
        return None
    return -degrees if _text(ref).upper() == negative else degrees
