"""Real image files for photo tests, drawn with Pillow (and, where Pillow will not write a
file that hostile, assembled chunk by chunk)."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import ExifTags, Image, ImageDraw, ImageFilter

# Four colours in four quadrants: any rotation or mirror of it is told apart at a glance.
QUADRANTS = {
    "top_left": (220, 30, 30),
    "top_right": (30, 180, 30),
    "bottom_left": (30, 30, 220),
    "bottom_right": (240, 220, 20),
}


def pattern(width: int = 160, height: int = 100) -> Image.Image:
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    w2, h2 = width // 2, height // 2
    draw.rectangle((0, 0, w2 - 1, h2 - 1), fill=QUADRANTS["top_left"])
    draw.rectangle((w2, 0, width - 1, h2 - 1), fill=QUADRANTS["top_right"])
    draw.rectangle((0, h2, w2 - 1, height - 1), fill=QUADRANTS["bottom_left"])
    draw.rectangle((w2, h2, width - 1, height - 1), fill=QUADRANTS["bottom_right"])
    return image


def quadrant_colours(image: Image.Image) -> dict[str, tuple[int, int, int]]:
    rgb = image.convert("RGB")
    w, h = rgb.size
    points = {
        "top_left": (w // 4, h // 4),
        "top_right": (3 * w // 4, h // 4),
        "bottom_left": (w // 4, 3 * h // 4),
        "bottom_right": (3 * w // 4, 3 * h // 4),
    }
    return {name: rgb.getpixel(xy) for name, xy in points.items()}  # type: ignore[misc]


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def scene(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """Something like a photograph: soft shapes of many colours on a gradient."""
    rng = random.Random(seed)
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, width // 3)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    return image.filter(ImageFilter.GaussianBlur(3))


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def exif(
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
) -> Image.Exif:
    """EXIF as a phone writes it: orientation, local capture time (maybe its offset), position."""
    data = Image.Exif()
    data[ExifTags.Base.Make] = "TestPhone"
    if orientation is not None:
        data[ExifTags.Base.Orientation] = orientation
    tags: dict[int, object] = {}
    if taken is not None:
        tags[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        tags[ExifTags.Base.OffsetTimeOriginal] = offset
    if tags:
        data[ExifTags.IFD.Exif] = tags
    if gps is not None:
        lat, lon = gps
        data[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N" if lat >= 0 else "S",
            ExifTags.GPS.GPSLatitude: _dms(abs(lat)),
            ExifTags.GPS.GPSLongitudeRef: "E" if lon >= 0 else "W",
            ExifTags.GPS.GPSLongitude: _dms(abs(lon)),
        }
    return data


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 2)
    return float(degrees), float(minutes), seconds


# --- hand-assembled PNGs: sizes and depths Pillow will not write --------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims width × height pixels: the classic PNG bomb
    (one compressed row of zeros would inflate to gigabytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    idat = zlib.compress(b"\x00" * (width + 1) * 64, 9)  # a start of the image; a decoder would keep asking
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_rgb16(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A 16-bit-per-channel RGB PNG (as scanners and editing apps export) of one colour."""
    pixel = struct.pack(">HHH", *rgb)
    raw = b"".join(b"\x00" + pixel * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def jpeg_claiming(data: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is rewritten to claim another size."""
    at = data.index(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]
