"""The photo pipeline on real files: what it accepts, what it refuses, what it keeps and strips."""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image

from carepact.media.pipeline import (
    DISPLAY_SIDE,
    THUMB_SIDE,
    PhotoRefused,
    ProcessedPhoto,
    bands,
    hamming,
    process,
)
from tests.images import (
    QUADRANTS,
    close,
    encode,
    exif,
    jpeg_claiming,
    pattern,
    png_claiming,
    png_rgb16,
    quadrant_colours,
    scene,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
BAOJI = (34.3616, 107.2379)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_no_metadata(data: bytes) -> None:
    """What is served carries nothing from the original: no EXIF (so no GPS, no time), no XMP,
    no comment, no ICC profile; just a JPEG."""
    image = opened(data)
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert not {"exif", "xmp", "comment", "icc_profile", "photoshop"} & set(image.info)
    assert b"Exif\x00\x00" not in data and b"http://ns.adobe.com/xap" not in data


def refused(data: bytes, declared: str = "", filename: str = "") -> PhotoRefused:
    with pytest.raises(PhotoRefused) as caught:
        process(data, declared, filename)
    assert CJK.search(caught.value.message), caught.value.message
    return caught.value


# --- what a phone sends ------------------------------------------------------------------------


def test_phone_jpeg_is_turned_upright_and_its_exif_read_then_stripped() -> None:
    stored = pattern(400, 300).transpose(Image.Transpose.ROTATE_90)  # the sensor's landscape frame
    original = encode(
        stored,
        "JPEG",
        quality=92,
        exif=exif(orientation=6, taken="2026:03:05 14:30:00", gps=BAOJI),
        comment=b"owner: 13800000000",
    )
    assert opened(original).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input really has GPS

    photo = process(original, "image/jpeg", "IMG_0001.JPG")

    assert photo.format == "JPEG"
    assert (photo.width, photo.height) == (400, 300)  # stored 300×400, orientation 6: upright 400×300
    display = opened(photo.display_jpeg)
    assert display.size == (400, 300)
    for name, colour in quadrant_colours(display).items():
        assert close(colour, QUADRANTS[name]), (name, colour)
    # DateTimeOriginal has no zone: it is Beijing time.
    assert photo.captured_at == dt.datetime(2026, 3, 5, 6, 30, tzinfo=dt.UTC)
    assert photo.latitude == pytest.approx(BAOJI[0], abs=1e-4)
    assert photo.longitude == pytest.approx(BAOJI[1], abs=1e-4)
    assert_no_metadata(photo.display_jpeg)
    assert_no_metadata(photo.thumb_jpeg)
    assert b"13800000000" not in photo.display_jpeg + photo.thumb_jpeg


def test_offset_time_original_wins_over_the_default_zone() -> None:
    original = encode(pattern(), "JPEG", exif=exif(taken="2026:03:05 14:30:00", offset="+02:00"))
    assert process(original, "image/jpeg", "a.jpg").captured_at == dt.datetime(2026, 3, 5, 12, 30, tzinfo=dt.UTC)


def test_missing_or_nonsense_exif_is_a_missing_fact_not_a_refusal() -> None:
    plain = process(encode(pattern()), "image/jpeg", "a.jpg")
    assert (plain.captured_at, plain.latitude, plain.longitude) == (None, None, None)
    blank = process(encode(pattern(), exif=exif(taken="    :  :     :  :  ", gps=(0, 0))), "", "")
    assert (blank.captured_at, blank.latitude, blank.longitude) == (None, None, None)


def test_display_and_thumbnail_sizes_and_hashes() -> None:
    photo = process(encode(scene(1, (3000, 2000)), quality=90), "image/jpeg", "big.jpeg")
    assert (photo.width, photo.height) == (3000, 2000)
    assert opened(photo.display_jpeg).size[0] == DISPLAY_SIDE
    assert max(opened(photo.thumb_jpeg).size) == THUMB_SIDE
    assert re.fullmatch(r"[0-9a-f]{64}", photo.sha256)
    assert re.fullmatch(r"[0-9a-f]{16}", photo.phash)
    assert photo.phash_bands == bands(int(photo.phash, 16))
    assert all(0 <= band <= 0xFFFF for band in photo.phash_bands)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_ends_upright(orientation: int) -> None:
    upright = pattern(160, 100)
    # How a camera stores an upright scene under each orientation (EXIF 2.32, tag 274).
    stored = {
        1: upright,
        2: upright.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        3: upright.transpose(Image.Transpose.ROTATE_180),
        4: upright.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
        5: upright.transpose(Image.Transpose.TRANSPOSE),
        6: upright.transpose(Image.Transpose.ROTATE_90),  # shown after turning 90° clockwise
        7: upright.transpose(Image.Transpose.TRANSVERSE),
        8: upright.transpose(Image.Transpose.ROTATE_270),
    }[orientation]
    photo = process(encode(stored, "JPEG", quality=95, exif=exif(orientation=orientation)), "image/jpeg", "o.jpg")
    thumb = opened(photo.thumb_jpeg)
    assert thumb.size == (160, 100)
    assert (photo.width, photo.height) == (160, 100)
    for name, colour in quadrant_colours(thumb).items():
        assert close(colour, QUADRANTS[name]), (orientation, name, colour)


# --- formats and modes that must be accepted ----------------------------------------------------


def test_png_webp_and_mpo_are_accepted() -> None:
    for data, declared, name, fmt in [
        (encode(pattern(), "PNG"), "image/png", "a.png", "PNG"),
        (encode(pattern(), "WEBP", quality=90), "image/webp", "a.webp", "WEBP"),
        (encode(pattern(), "MPO", save_all=True, append_images=[pattern()]), "image/jpeg", "a.jpg", "MPO"),
    ]:
        photo = process(data, declared, name)
        assert photo.format == fmt
        for label, colour in quadrant_colours(opened(photo.display_jpeg)).items():
            assert close(colour, QUADRANTS[label]), (fmt, label, colour)


def test_webp_and_png_exif_is_read_and_stripped_too() -> None:
    for fmt in ("WEBP", "PNG"):
        photo = process(encode(pattern(), fmt, exif=exif(taken="2026:01:02 08:00:00", gps=BAOJI)), "", "")
        assert photo.captured_at == dt.datetime(2026, 1, 2, 0, 0, tzinfo=dt.UTC)
        assert photo.latitude == pytest.approx(BAOJI[0], abs=1e-4)
        assert_no_metadata(photo.display_jpeg)


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    cmyk = Image.new("CMYK", (120, 80), (0, 255, 255, 0))  # pure red in ink
    photo = process(encode(cmyk, "JPEG"), "image/jpeg", "scan.jpg")
    display = opened(photo.display_jpeg)
    assert display.mode == "RGB"
    assert close(display.getpixel((60, 40)), (255, 0, 0))


def test_sixteen_bit_pngs_are_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (64, 48), 40000)  # 40000 / 65535 ≈ 61 % grey
    photo = process(encode(grey, "PNG"), "image/png", "g16.png")
    assert close(opened(photo.display_jpeg).getpixel((32, 24)), (156, 156, 156), 3)
    colour = process(png_rgb16(64, 48, (65535, 32768, 0)), "image/png", "rgb16.png")
    assert close(opened(colour.display_jpeg).getpixel((32, 24)), (255, 128, 0), 6)


def test_transparent_palette_png_is_laid_on_white() -> None:
    image = Image.new("P", (60, 40), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (30, 0, 60, 40))  # right half: index 1 (blue), left half: index 0 (transparent)
    photo = process(encode(image, "PNG", transparency=0), "image/png", "p.png")
    display = opened(photo.display_jpeg)
    assert close(display.getpixel((10, 20)), (255, 255, 255))
    assert close(display.getpixel((50, 20)), (0, 0, 255))
    rgba = Image.new("RGBA", (60, 40), (0, 0, 0, 0))
    assert close(opened(process(encode(rgba, "WEBP", lossless=True), "", "").display_jpeg).getpixel((5, 5)), (255,) * 3)


def test_jpeg_with_html_appended_is_accepted_and_the_served_copy_is_clean() -> None:
    payload = b"<html><script>alert(document.cookie)</script></html>"
    photo = process(encode(pattern()) + payload, "image/jpeg", "a.jpg")
    assert payload not in photo.display_jpeg and b"<script" not in photo.thumb_jpeg
    assert_no_metadata(photo.display_jpeg)


# --- refusals --------------------------------------------------------------------------------


def test_empty_file() -> None:
    assert refused(b"", "image/jpeg", "a.jpg").code == "photo.empty"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (encode(pattern(), "GIF"), "a.gif"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg"),
        (encode(pattern(), "BMP"), "a.bmp"),
        (encode(pattern(), "TIFF"), "a.tiff"),
        (b"%PDF-1.7\n" + b"0" * 100, "a.pdf"),
        (b"\x00" * 100, "a.jpg"),
    ],
    ids=["gif", "svg", "bmp", "tiff", "pdf", "zeros"],
)
def test_other_formats_are_refused(data: bytes, name: str) -> None:
    assert refused(data, "", name).code == "photo.unsupported_format"


@pytest.mark.parametrize(
    ("declared", "name"),
    [("image/png", "a.jpg"), ("image/jpeg", "a.png"), ("", "a.png"), ("text/html", "a.jpg"), ("image/jpeg", "a.html")],
)
def test_a_type_or_name_contradicting_the_content_is_refused(declared: str, name: str) -> None:
    error = refused(encode(pattern()), declared, name)
    assert error.code == "photo.type_mismatch"
    assert "JPEG" in error.message


def test_unknown_type_and_no_extension_claim_nothing() -> None:
    assert process(encode(pattern()), "application/octet-stream", "blob").format == "JPEG"
    assert process(encode(pattern(), "PNG"), "IMAGE/PNG; charset=binary", "照片.PNG").format == "PNG"


def test_truncated_or_damaged_files_are_corrupt() -> None:
    whole = encode(scene(2), quality=90)
    assert refused(whole[: len(whole) // 2], "image/jpeg", "a.jpg").code == "photo.corrupt"
    assert refused(whole[:40], "image/jpeg", "a.jpg").code == "photo.corrupt"
    png = encode(scene(3), "PNG")
    assert refused(png[: len(png) // 2], "image/png", "a.png").code == "photo.corrupt"
    damaged = bytearray(png)
    damaged[len(png) // 2 : len(png) // 2 + 64] = b"\xff" * 64
    assert refused(bytes(damaged), "image/png", "a.png").code == "photo.corrupt"


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")  # as in production (see pipeline)
def test_decompression_bombs_are_refused_before_decoding() -> None:
    # A real file: 50 megapixels of one bit each compress to a few kilobytes.
    one_bit = encode(Image.new("1", (10_000, 5_000)), "PNG", optimize=True)
    assert len(one_bit) < 100_000
    for data in (one_bit, png_claiming(20_000, 20_000), png_claiming(70_000, 70_000)):
        started = time.monotonic()
        error = refused(data, "image/png", "bomb.png")
        assert error.code == "photo.too_many_pixels"
        assert time.monotonic() - started < 1.0  # refused from the header, nothing decoded
    huge_jpeg = jpeg_claiming(encode(pattern()), 15_000, 10_000)  # 150 MP
    assert refused(huge_jpeg, "image/jpeg", "a.jpg").code == "photo.too_many_pixels"


def test_a_large_jpeg_is_decoded_at_reduced_scale() -> None:
    # 64 MP would be refused as PNG; as JPEG it is drafted down to about display size.
    big = encode(Image.new("RGB", (9_600, 6_660), (90, 120, 150)), quality=70)
    photo = process(big, "image/jpeg", "wide.jpg")
    assert (photo.width, photo.height) == (9_600, 6_660)
    assert max(opened(photo.display_jpeg).size) == DISPLAY_SIDE


# --- perceptual hash ---------------------------------------------------------------------------


def _hash(data: bytes) -> int:
    return int(process(data, "", "").phash, 16)


def test_dhash_survives_reencoding_and_resizing_but_tells_scenes_apart() -> None:
    original = scene(7, (1200, 900))
    base = _hash(encode(original, quality=95))
    variants = [
        encode(original, quality=40),
        encode(original.resize((600, 450)), quality=80),
        encode(original, "PNG"),
        encode(original, "WEBP", quality=60),
        encode(original.crop((6, 4, 1194, 896)), quality=85),
    ]
    for data in variants:
        assert hamming(base, _hash(data)) <= 6
    others = [_hash(encode(scene(seed, (1200, 900)), quality=95)) for seed in range(20, 26)]
    assert min(hamming(base, other) for other in others) > 12


# --- property: whatever the bytes, the answer is a photo or a refusal ------------------------

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16"]


@st.composite
def image_files(draw: st.DrawFn) -> bytes:
    mode = draw(st.sampled_from(MODES))
    fmt = draw(st.sampled_from(["JPEG", "PNG", "WEBP"]))
    size = (draw(st.integers(1, 400)), draw(st.integers(1, 400)))
    image = Image.new(mode, size, draw(st.integers(0, 255)) if mode != "CMYK" else (10, 20, 30, 40))
    try:
        data = encode(image, fmt)
    except (OSError, ValueError, KeyError):
        assume(False)  # a mode this format cannot hold
    return data


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=image_files(), cut=st.integers(0, 2000), noise=st.binary(max_size=16), at=st.integers(0, 4000))
def test_any_file_or_damage_of_it_ends_in_a_photo_or_a_refusal(data: bytes, cut: int, noise: bytes, at: int) -> None:
    for candidate in (data, data[: max(0, len(data) - cut)], data[:at] + noise + data[at + len(noise) :]):
        try:
            photo = process(candidate, "", "")
        except PhotoRefused as refusal:
            assert refusal.code.startswith("photo.") and CJK.search(refusal.message)
        else:
            assert isinstance(photo, ProcessedPhoto)
            assert_no_metadata(photo.display_jpeg)
            assert max(opened(photo.thumb_jpeg).size) <= THUMB_SIDE
