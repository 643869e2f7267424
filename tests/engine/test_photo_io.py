"""photo_io round trips and fidelity: formats, bit depth, EXIF orientation and metadata, ICC, alpha.

Every input is a real file written here with Pillow or OpenCV; every check reads real bytes back.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

from engine import __version__
from engine.photo_io import (
    OUTPUT_FORMATS,
    SUPPORTED_SUFFIXES,
    Photo,
    read_photo,
    read_preview,
    same_file,
    write_photo,
)

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATE_TAKEN = 0x9003  # DateTimeOriginal, in the Exif sub-IFD
MAKE, MODEL, ORIENTATION, SOFTWARE, DESCRIPTION = 0x010F, 0x0110, 0x0112, 0x0131, 0x010E


def photo_like(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus noise: compresses like a photo, and no two pixels are alike."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.dstack([xx * 255 / max(width - 1, 1), yy * 255 / max(height - 1, 1), (xx + yy) % 256])
    return np.clip(base + rng.integers(-12, 13, base.shape), 0, 255).astype(np.uint8)


def photo_like_16(height: int = 48, width: int = 64) -> np.ndarray:
    """16-bit values that use the low byte too, so a silent cut to 8 bits is caught."""
    rng = np.random.default_rng(1)
    return rng.integers(0, 65536, (height, width, 3), dtype=np.uint16)


def camera_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "Voigtlander"
    exif[MODEL] = "Bessa R2"
    exif[ORIENTATION] = orientation
    exif.get_ifd(EXIF_IFD)[DATE_TAKEN] = "1962:07:14 10:30:00"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (48.0, 51.0, 29.5)  # GPSLatitude
    return exif


def _s15(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _icc(space: bytes, name: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """A minimal ICC v2 display profile (header, tag table, tags), built by hand because no non-sRGB
    profile ships with Pillow and none may be downloaded in tests; LittleCMS parsing it is what proves
    it well-formed (test_hand_built_profiles_are_valid)."""
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(name) + 1) + name + b"\0" + b"\0" * 8 + b"\0" * 70
    tags = [(b"desc", desc), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)), *tags]
    tags.append((b"cprt", b"text\0\0\0\0public domain\0\0\0\0"))
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = struct.pack(">I", offset + len(data)) + b"\0\0\0\0" + struct.pack(">I", 0x02100000)
    header += b"mntr" + space + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28 + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data


def wide_gamut_icc() -> bytes:
    """Matrix/TRC RGB profile with Adobe RGB (1998) primaries (D50-adapted) and gamma 2.2."""
    return _icc(
        b"RGB ",
        b"Rechroma test wide-gamut RGB",
        [
            (b"rXYZ", _xyz(0.6097, 0.3111, 0.0195)),
            (b"gXYZ", _xyz(0.2053, 0.6257, 0.0609)),
            (b"bXYZ", _xyz(0.1492, 0.0632, 0.7446)),
            (b"rTRC", _curve(2.2)),
            (b"gTRC", _curve(2.2)),
            (b"bTRC", _curve(2.2)),
        ],
    )


def linear_grey_icc() -> bytes:
    """Grey profile with a linear tone curve (gamma 1.0), as some scanners write for raw 16-bit scans."""
    return _icc(b"GRAY", b"Rechroma test linear grey", [(b"kTRC", _curve(1.0))])


def with_png_chunk(png: bytes, kind: bytes, data: bytes) -> bytes:
    """``png`` with one more chunk right after IHDR (how an iCCP is added to an OpenCV-written PNG)."""
    chunk = struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return png[:33] + chunk + png[33:]


def icc_description(icc: bytes) -> str:
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()


# --- formats and bit depth ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_lossless_round_trip_is_exact(tmp_path, fmt):
    pixels = photo_like()
    out = write_photo(tmp_path / f"out.{fmt}", pixels)
    photo = read_photo(out)
    assert photo.bit_depth == 8 and photo.pixels.dtype == np.uint8
    np.testing.assert_array_equal(photo.pixels, pixels)
    assert photo.alpha is None
    assert photo.size == (64, 48)


@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_16bit_round_trip_stays_16bit_and_exact(tmp_path, fmt):
    pixels = photo_like_16()
    photo = read_photo(write_photo(tmp_path / f"deep.{fmt}", pixels))
    assert photo.bit_depth == 16 and photo.pixels.dtype == np.uint16
    np.testing.assert_array_equal(photo.pixels, pixels)
    with Image.open(tmp_path / f"deep.{fmt}") as im:  # really 16 bits per sample in the file
        rawmode = im.tile[0][3] if isinstance(im.tile[0][3], str) else im.tile[0][3][0]
        assert ";16" in rawmode


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_lossy_round_trip_is_close(tmp_path, fmt):
    pixels = photo_like(96, 128)
    photo = read_photo(write_photo(tmp_path / f"out.{fmt}", pixels, quality=95))
    assert photo.pixels.shape == pixels.shape and photo.pixels.dtype == np.uint8
    assert np.abs(photo.pixels.astype(int) - pixels).mean() < 6


@pytest.mark.parametrize("fmt", ["jpg", "webp"])
def test_16bit_pixels_are_rounded_to_8bit_for_8bit_formats(tmp_path, fmt):
    pixels = (photo_like(96, 128).astype(np.uint16) * 257)
    photo = read_photo(write_photo(tmp_path / f"out.{fmt}", pixels, quality=95))
    assert photo.bit_depth == 8
    assert np.abs(photo.pixels.astype(int) - pixels // 257).mean() < 6


def test_opencv_written_16bit_png_and_tiff_are_read_16bit(tmp_path):
    bgr = photo_like_16()
    for name in ("cv.png", "cv.tif"):
        assert cv2.imwrite(str(tmp_path / name), bgr)
        np.testing.assert_array_equal(read_photo(tmp_path / name).pixels, bgr[..., ::-1])


def test_16bit_grey_png_stays_16bit(tmp_path):
    grey = photo_like_16()[..., 0]
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    photo = read_photo(tmp_path / "grey16.png")
    assert photo.bit_depth == 16
    for channel in range(3):
        np.testing.assert_array_equal(photo.pixels[..., channel], grey)


def test_bmp_gif_and_pillow_written_formats_decode(tmp_path):
    pixels = photo_like()
    Image.fromarray(pixels).save(tmp_path / "a.bmp")
    np.testing.assert_array_equal(read_photo(tmp_path / "a.bmp").pixels, pixels)
    assert read_photo(tmp_path / "a.bmp").format == "BMP"
    Image.fromarray(pixels).convert("P").save(tmp_path / "a.gif")
    gif = read_photo(tmp_path / "a.gif")
    assert gif.format == "GIF" and gif.pixels.shape == pixels.shape


def test_animated_gif_gives_first_frame(tmp_path):
    red = Image.new("RGB", (20, 10), (255, 0, 0))
    blue = Image.new("RGB", (20, 10), (0, 0, 255))
    red.save(tmp_path / "anim.gif", save_all=True, append_images=[blue], duration=100, loop=0)
    with Image.open(tmp_path / "anim.gif") as im:
        assert im.n_frames == 2
    photo = read_photo(tmp_path / "anim.gif")
    assert photo.pixels.shape == (10, 20, 3)
    assert tuple(photo.pixels[5, 10]) == (255, 0, 0)


def test_one_pixel_image(tmp_path):
    Image.new("RGB", (1, 1), (10, 20, 30)).save(tmp_path / "dot.png")
    photo = read_photo(tmp_path / "dot.png")
    assert photo.size == (1, 1) and tuple(photo.pixels[0, 0]) == (10, 20, 30)
    out = write_photo(tmp_path / "dot_out.jpg", photo.pixels)
    assert read_photo(out).size == (1, 1)


def test_unicode_and_spaces_in_paths(tmp_path):
    folder = tmp_path / "Fotos Großmutter 写真"
    pixels = photo_like_16()  # the 16-bit path goes through OpenCV, which is picky about paths
    for name in ("Ölberg 1962 ž.png", "été à Nice.tif", "café.jpg"):
        out = write_photo(folder / name, pixels)
        photo = read_photo(out)
        assert photo.path == out and photo.size == (64, 48)
        assert read_preview(out, 16).shape == (12, 16, 3)


# --- modes that must become RGB (+ alpha) ----------------------------------------------------------------


def test_grey_one_bit_and_cmyk_become_rgb(tmp_path):
    grey = photo_like()[..., 0]
    Image.fromarray(grey).save(tmp_path / "grey.png")
    np.testing.assert_array_equal(read_photo(tmp_path / "grey.png").pixels, np.dstack([grey] * 3))
    Image.fromarray(grey > 128).save(tmp_path / "bits.png")
    assert set(np.unique(read_photo(tmp_path / "bits.png").pixels)) == {0, 255}
    cmyk = Image.fromarray(photo_like()).convert("CMYK")
    cmyk.save(tmp_path / "cmyk.jpg", quality=95)
    photo = read_photo(tmp_path / "cmyk.jpg")
    assert photo.pixels.shape == (48, 64, 3) and photo.format == "JPEG"
    assert np.abs(photo.pixels.astype(int) - photo_like()).mean() < 8


def test_palette_png_with_transparency_gives_alpha(tmp_path):
    pal = Image.new("P", (8, 4), 1)
    pal.putpalette([0, 0, 0, 200, 100, 50] + [0, 0, 0] * 254)
    pal.putpixel((0, 0), 0)
    pal.save(tmp_path / "pal.png", transparency=0)
    photo = read_photo(tmp_path / "pal.png")
    assert photo.alpha is not None and photo.alpha.dtype == np.uint8
    assert photo.alpha[0, 0] == 0 and photo.alpha[1, 1] == 255
    assert tuple(photo.pixels[1, 1]) == (200, 100, 50)


def test_grey_alpha_png_gives_alpha(tmp_path):
    la = np.dstack([photo_like()[..., 0], photo_like()[..., 1]])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    photo = read_photo(tmp_path / "la.png")
    np.testing.assert_array_equal(photo.alpha, la[..., 1])
    np.testing.assert_array_equal(photo.pixels[..., 2], la[..., 0])


@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_alpha_round_trip_is_exact(tmp_path, fmt):
    pixels, alpha = photo_like(), photo_like(seed=3)[..., 2]
    photo = read_photo(write_photo(tmp_path / f"a.{fmt}", pixels, alpha=alpha))
    np.testing.assert_array_equal(photo.pixels, pixels)
    np.testing.assert_array_equal(photo.alpha, alpha)


def test_16bit_alpha_round_trip_and_webp_alpha(tmp_path):
    pixels, alpha = photo_like_16(), photo_like_16()[..., 1]
    photo = read_photo(write_photo(tmp_path / "a16.png", pixels, alpha=alpha))
    assert photo.alpha.dtype == np.uint16
    np.testing.assert_array_equal(photo.alpha, alpha)
    webp = read_photo(write_photo(tmp_path / "a.webp", photo_like(), alpha=photo_like()[..., 0]))
    assert webp.alpha is not None and np.abs(webp.alpha.astype(int) - photo_like()[..., 0]).max() <= 2


def test_jpeg_drops_alpha_but_writes(tmp_path):
    out = write_photo(tmp_path / "a.jpg", photo_like(), alpha=photo_like()[..., 0])
    assert read_photo(out).alpha is None


# --- EXIF -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied_like_pillow(tmp_path, orientation):
    pixels = photo_like(6, 10)
    Image.fromarray(pixels).save(tmp_path / "o.png", exif=camera_exif(orientation))
    with Image.open(tmp_path / "o.png") as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    photo = read_photo(tmp_path / "o.png")
    np.testing.assert_array_equal(photo.pixels, expected)
    exif = Image.Exif()
    exif.load(photo.exif)
    assert exif[ORIENTATION] == 1


def test_orientation_6_jpeg_is_rotated_and_written_upright(tmp_path):
    stored = np.zeros((60, 80, 3), np.uint8)  # landscape as stored, a red block top-left
    stored[:20, :20] = (255, 0, 0)
    Image.fromarray(stored).save(tmp_path / "cam.jpg", quality=95, exif=camera_exif(6))
    photo = read_photo(tmp_path / "cam.jpg")
    assert photo.size == (60, 80)  # portrait once upright
    assert photo.pixels[10, 50, 0] > 200 and photo.pixels[10, 10, 0] < 50  # top-left went top-right
    out = write_photo(tmp_path / "cam_color.jpg", photo.pixels, exif=photo.exif)
    with Image.open(out) as im:
        assert im.getexif()[ORIENTATION] == 1
        assert ImageOps.exif_transpose(im).size == (60, 80)
    assert read_photo(out).size == (60, 80)


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "tif"])
def test_exif_date_camera_and_gps_survive_with_provenance(tmp_path, fmt):
    Image.fromarray(photo_like()).save(tmp_path / "in.jpg", exif=camera_exif(1))
    photo = read_photo(tmp_path / "in.jpg")
    text = "Colorized by Rechroma 0.1.0 with model X v1"
    out = write_photo(tmp_path / f"out.{fmt}", photo.pixels, exif=photo.exif, description=text)
    with Image.open(out) as im:
        exif = im.getexif()
        assert exif[MAKE] == "Voigtlander" and exif[MODEL] == "Bessa R2"
        assert exif.get_ifd(EXIF_IFD)[DATE_TAKEN] == "1962:07:14 10:30:00"
        gps = exif.get_ifd(GPS_IFD)
        assert gps[1] == "N" and [float(v) for v in gps[2]] == [48.0, 51.0, 29.5]
        assert exif.get(ORIENTATION, 1) == 1  # TIFF: absent means 1
        assert exif[SOFTWARE] == f"Rechroma {__version__}"
        assert exif[DESCRIPTION] == text
        if fmt == "png":  # the provenance is also a PNG text chunk
            assert im.info["Description"] == text and im.info["Software"] == f"Rechroma {__version__}"


def test_16bit_tiff_exif_is_readable_by_another_reader(tmp_path):
    out = write_photo(tmp_path / "deep.tif", photo_like_16(), exif=camera_exif(1).tobytes(), description="Hi")
    with tifffile.TiffFile(out) as tif:  # an independent TIFF parser finds IFD0 tags and both sub-IFDs
        tags = tif.pages[0].tags
        assert tags["Make"].value == "Voigtlander" and tags["ImageDescription"].value == "Hi"
        assert tags["ExifTag"].value["DateTimeOriginal"] == "1962:07:14 10:30:00"
        assert tags["GPSTag"].value["GPSLatitudeRef"] == "N"
    assert read_photo(out).bit_depth == 16


def test_no_exif_in_gives_none_and_provenance_out(tmp_path):
    Image.fromarray(photo_like()).save(tmp_path / "plain.png")
    photo = read_photo(tmp_path / "plain.png")
    assert photo.exif is None
    out = write_photo(tmp_path / "out.jpg", photo.pixels, exif=photo.exif)
    with Image.open(out) as im:
        assert im.getexif()[SOFTWARE] == f"Rechroma {__version__}"


def test_exif_of_tiff_input_carries_no_layout_tags(tmp_path):
    Image.fromarray(photo_like()).save(tmp_path / "in.tif", exif=camera_exif(1))
    photo = read_photo(tmp_path / "in.tif")
    exif = Image.Exif()
    exif.load(photo.exif)
    assert exif[MAKE] == "Voigtlander"
    assert 273 not in exif and 256 not in exif  # StripOffsets / ImageWidth of the old file
    out = write_photo(tmp_path / "out.png", photo.pixels, exif=photo.exif)
    assert read_photo(out).size == (64, 48)


# --- ICC ------------------------------------------------------------------------------------------------


def test_hand_built_profiles_are_valid():
    assert icc_description(wide_gamut_icc()) == "Rechroma test wide-gamut RGB"
    assert icc_description(linear_grey_icc()) == "Rechroma test linear grey"


def test_non_srgb_profile_is_converted_to_srgb(tmp_path):
    pixels = photo_like()
    pixels[:8, :8] = (200, 30, 30)
    pixels[8:16, :8] = (128, 128, 128)
    icc = wide_gamut_icc()
    Image.fromarray(pixels).save(tmp_path / "wide.png", icc_profile=icc)
    photo = read_photo(tmp_path / "wide.png")
    expected = ImageCms.profileToProfile(
        Image.fromarray(pixels),
        ImageCms.ImageCmsProfile(io.BytesIO(icc)),
        ImageCms.createProfile("sRGB"),
        outputMode="RGB",
    )
    assert np.abs(photo.pixels.astype(int) - np.asarray(expected)).max() <= 1
    red = photo.pixels[4, 4].astype(int)
    assert red[0] > 200 + 5 and red[1] < 30  # a wide-gamut red is more saturated in sRGB numbers
    grey = photo.pixels[12, 4].astype(int)
    assert grey.max() - grey.min() <= 2  # neutral stays neutral


def srgb_of_8bit(pixels8: np.ndarray, icc: bytes) -> np.ndarray:
    """LittleCMS's own 8-bit conversion: the reference for the 16-bit lookup-table path."""
    out = ImageCms.profileToProfile(
        Image.fromarray(pixels8),
        ImageCms.ImageCmsProfile(io.BytesIO(icc)),
        ImageCms.createProfile("sRGB"),
        outputMode="RGB",
    )
    return np.asarray(out).astype(int)


def test_16bit_rgb_with_profile_is_converted_and_stays_16bit(tmp_path):
    icc = wide_gamut_icc()
    eight = photo_like()  # colours an 8-bit reference can hold exactly: 16-bit value = 8-bit value × 257
    pixels = eight.astype(np.uint16) * 257
    pixels[0] = np.linspace(20000, 40000, 64).astype(np.uint16)[:, None]  # a fine grey ramp on top
    png = cv2.imencode(".png", pixels[..., ::-1])[1].tobytes()
    (tmp_path / "wide16.png").write_bytes(with_png_chunk(png, b"iCCP", b"wide\0\0" + zlib.compress(icc)))
    photo = read_photo(tmp_path / "wide16.png")
    assert photo.bit_depth == 16
    reference = srgb_of_8bit(eight, icc)
    difference = np.abs(photo.pixels[1:] / 257.0 - reference[1:])
    # lookup grid vs LittleCMS itself; larger only where the gamut clips a channel (see photo_io_icc)
    assert difference.mean() < 0.3 and np.percentile(difference, 99) <= 3 and difference.max() <= 12
    assert np.abs(photo.pixels[1:] / 257.0 - eight[1:]).max() > 20  # it really was converted
    ramp = photo.pixels[0, :, 1].astype(int)
    assert np.all(np.diff(ramp) > 0)  # 64 steps of ~1.2 8-bit levels stay distinct: no banding


def test_16bit_grey_with_grey_profile_is_converted(tmp_path):
    icc = linear_grey_icc()
    eight = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    grey = eight.astype(np.uint16) * 257
    grey[3] = np.linspace(30000, 30255, 256).astype(np.uint16)  # 256 levels within one 8-bit step
    png = cv2.imencode(".png", grey)[1].tobytes()
    (tmp_path / "grey16.png").write_bytes(with_png_chunk(png, b"iCCP", b"grey\0\0" + zlib.compress(icc)))
    photo = read_photo(tmp_path / "grey16.png")
    assert photo.bit_depth == 16
    reference = srgb_of_8bit(eight, icc)
    assert np.abs(photo.pixels[:3] / 257.0 - reference[:3]).max() <= 0.5  # exact at the sampled levels
    assert reference[0, 128, 0] > 128 + 50  # linear 0.5 is sRGB ~0.735: a real conversion
    fine = photo.pixels[3, :, 0].astype(int)
    assert np.all(np.diff(fine) >= 0) and len(np.unique(fine)) > 100  # smooth within an 8-bit step


def test_8bit_grey_with_grey_profile_is_converted(tmp_path):
    grey = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    Image.fromarray(grey).save(tmp_path / "grey.png", icc_profile=linear_grey_icc())
    photo = read_photo(tmp_path / "grey.png")
    np.testing.assert_array_equal(photo.pixels, srgb_of_8bit(grey, linear_grey_icc()))


def test_srgb_profile_input_is_left_alone(tmp_path):
    pixels = photo_like()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(pixels).save(tmp_path / "srgb.png", icc_profile=srgb)
    np.testing.assert_array_equal(read_photo(tmp_path / "srgb.png").pixels, pixels)


def test_broken_profile_is_ignored_not_fatal(tmp_path):
    pixels = photo_like()
    Image.fromarray(pixels).save(tmp_path / "broken.png", icc_profile=b"not a profile at all" * 10)
    np.testing.assert_array_equal(read_photo(tmp_path / "broken.png").pixels, pixels)


@pytest.mark.parametrize("fmt", sorted(OUTPUT_FORMATS))
def test_every_output_embeds_srgb_profile(tmp_path, fmt):
    out = write_photo(tmp_path / f"out.{fmt}", photo_like())
    with Image.open(out) as im:
        assert "srgb" in icc_description(im.info["icc_profile"]).lower()


# --- preview, helpers -----------------------------------------------------------------------------------


def test_preview_is_small_upright_rgb(tmp_path):
    big = photo_like(1200, 1600)
    Image.fromarray(big).save(tmp_path / "big.jpg", exif=camera_exif(6))
    preview = read_preview(tmp_path / "big.jpg", 200)
    assert preview.dtype == np.uint8 and preview.shape == (200, 150, 3)  # portrait once upright
    Image.fromarray(photo_like_16(300, 400)[..., 0]).save(tmp_path / "grey16.png")
    assert read_preview(tmp_path / "grey16.png", 100).shape == (75, 100, 3)
    assert read_preview(tmp_path / "grey16.png", 1000).shape == (300, 400, 3)  # never upscaled


def test_preview_of_16bit_grey_keeps_tones(tmp_path):
    grey = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (4, 1))
    Image.fromarray(grey).save(tmp_path / "ramp.png")
    preview = read_preview(tmp_path / "ramp.png", 256)
    assert preview[0, 0, 0] == 0 and preview[0, -1, 0] == 255 and 120 <= preview[0, 128, 0] <= 135


def test_photo_properties():
    photo = Photo(np.zeros((3, 5, 3), np.uint16), None, None, "PNG", Path("x.png"))
    assert photo.bit_depth == 16 and photo.size == (5, 3)


def test_suffix_sets():
    assert {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif"} <= SUPPORTED_SUFFIXES
    assert OUTPUT_FORMATS == {"jpg", "png", "tif", "webp"}


@pytest.mark.parametrize("fmt, suffix", [("jpeg", ".jpg"), ("tiff", ".tif"), ("PNG", ".png")])
def test_format_aliases_and_explicit_format(tmp_path, fmt, suffix):
    out = write_photo(tmp_path / f"x{suffix}", photo_like(), fmt=fmt)
    with Image.open(out) as im:
        assert im.format == {"jpg": "JPEG", "tif": "TIFF", "png": "PNG"}[suffix[1:]]


def test_same_file(tmp_path):
    a = tmp_path / "a.png"
    Image.fromarray(photo_like()).save(a)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.png").symlink_to(a)
    assert same_file(a, tmp_path / "sub" / ".." / "a.png")
    assert same_file(a, tmp_path / "link.png")
    assert not same_file(a, tmp_path / "b.png")
    assert not same_file(tmp_path / "new1.png", tmp_path / "new2.png")
    assert same_file(tmp_path / "new1.png", tmp_path / "sub" / ".." / "new1.png")


def test_overwrite_true_replaces_and_keeps_mode(tmp_path):
    target = tmp_path / "t.png"
    write_photo(target, photo_like(seed=1))
    target.chmod(0o640)
    write_photo(target, photo_like(seed=2), overwrite=True)
    np.testing.assert_array_equal(read_photo(target).pixels, photo_like(seed=2))
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.png"]


@pytest.mark.parametrize("name", ["a.jpg", "a.png", "a.tif", "a.webp", "a.bmp", "a.gif"])
def test_returned_arrays_are_writable_and_contiguous(tmp_path, name):
    Image.fromarray(photo_like()).save(tmp_path / name)
    photo = read_photo(tmp_path / name)
    assert photo.pixels.flags.writeable and photo.pixels.flags.c_contiguous
    photo.pixels[0, 0] = 0  # the pipeline may work in place


def test_animated_webp_gives_first_frame(tmp_path):
    red = Image.new("RGB", (20, 10), (255, 0, 0))
    blue = Image.new("RGB", (20, 10), (0, 0, 255))
    red.save(tmp_path / "anim.webp", save_all=True, append_images=[blue], duration=100, lossless=True)
    photo = read_photo(tmp_path / "anim.webp")
    assert photo.format == "WEBP" and tuple(photo.pixels[5, 10]) == (255, 0, 0)


def test_16bit_grey_tiff_stays_16bit(tmp_path):
    grey = photo_like_16()[..., 0]
    Image.fromarray(grey).save(tmp_path / "grey16.tif")
    photo = read_photo(tmp_path / "grey16.tif")
    assert photo.bit_depth == 16
    np.testing.assert_array_equal(photo.pixels[..., 1], grey)


@pytest.mark.parametrize("fmt", sorted(OUTPUT_FORMATS))
def test_non_ascii_description_is_written(tmp_path, fmt):
    text = "Colorisé par Rechroma — modèle « X » 写真"
    out = write_photo(tmp_path / f"d.{fmt}", photo_like(), description=text)
    with Image.open(out) as im:
        assert im.getexif()[DESCRIPTION].startswith("Coloris")
        if fmt == "png":
            assert im.info["Description"] == text  # iTXt keeps every character


def test_oversized_maker_note_is_dropped_for_jpeg_not_the_photo(tmp_path):
    exif = camera_exif(1)
    exif.get_ifd(EXIF_IFD)[0x927C] = b"\x01" * 70_000  # MakerNote: more than a JPEG APP1 can hold
    out = write_photo(tmp_path / "big_exif.jpg", photo_like(), exif=exif.tobytes())
    with Image.open(out) as im:
        kept = im.getexif()
        assert kept[MAKE] == "Voigtlander" and 0x927C not in kept.get_ifd(EXIF_IFD)
        assert kept.get_ifd(EXIF_IFD)[DATE_TAKEN] == "1962:07:14 10:30:00"


def test_unreadable_exif_from_caller_still_writes_provenance(tmp_path):
    out = write_photo(tmp_path / "x.jpg", photo_like(), exif=b"Exif\x00\x00garbage that is no TIFF")
    with Image.open(out) as im:
        assert im.getexif()[SOFTWARE] == f"Rechroma {__version__}"


@pytest.mark.parametrize("deep", [False, True])
def test_png_exif_stored_after_the_pixels_is_found(tmp_path, deep):
    pixels = photo_like_16(6, 10) if deep else photo_like(6, 10)
    png = cv2.imencode(".png", pixels[..., ::-1])[1].tobytes()
    exif = camera_exif(6).tobytes()[6:]  # eXIf holds the TIFF structure without the "Exif\0\0" prefix
    chunk = struct.pack(">I", len(exif)) + b"eXIf" + exif + struct.pack(">I", zlib.crc32(b"eXIf" + exif))
    (tmp_path / "late.png").write_bytes(png[:-12] + chunk + png[-12:])  # just before IEND
    photo = read_photo(tmp_path / "late.png")
    np.testing.assert_array_equal(photo.pixels, cv2.rotate(pixels, cv2.ROTATE_90_CLOCKWISE))
    kept = Image.Exif()
    kept.load(photo.exif)
    assert kept[MAKE] == "Voigtlander" and kept[ORIENTATION] == 1
