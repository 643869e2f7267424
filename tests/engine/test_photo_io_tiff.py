"""TIFFs that were silently read wrong or called "not an image file" (issue 9, items 3-6): planar 16-bit
RGB, 16-bit MinIsWhite, signed and 32-bit integer grey, float grey and RGB in every width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from engine.photo_io import PhotoError, read_photo

#: A 16-bit ramp with values that are not multiples of 257, so any trip through 8 bits shows.
RAMP = (np.arange(48 * 64, dtype=np.int64).reshape(48, 64) * 21 % 65536).astype(np.uint16)
RGB = np.dstack([RAMP, RAMP // 2 + 7, 65535 - RAMP])


def grey_of(path: Path) -> np.ndarray:
    pixels = read_photo(path).pixels
    assert pixels.dtype == np.uint16 and pixels.shape == (48, 64, 3)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    return pixels[..., 0]


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_planar_16_bit_rgb_is_read_whole_and_deep(tmp_path: Path, compression: str | None) -> None:
    path = tmp_path / "planar.tif"
    tifffile.imwrite(path, np.moveaxis(RGB, -1, 0), photometric="rgb", planarconfig="separate",
                     compression=compression)
    pixels = read_photo(path).pixels
    assert pixels.dtype == np.uint16 and pixels.shape == (48, 64, 3)
    np.testing.assert_array_equal(pixels, RGB)


def test_planar_16_bit_rgb_with_alpha(tmp_path: Path) -> None:
    alpha = np.full((48, 64), 40000, np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", np.moveaxis(np.dstack([RGB, alpha]), -1, 0), photometric="rgb",
                     planarconfig="separate", extrasamples=("unassalpha",))
    photo = read_photo(tmp_path / "a.tif")
    np.testing.assert_array_equal(photo.pixels, RGB)
    np.testing.assert_array_equal(photo.alpha, alpha)


def test_16_bit_min_is_white_is_inverted_as_viewers_do(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "w.tif", RAMP, photometric="miniswhite")
    np.testing.assert_array_equal(grey_of(tmp_path / "w.tif"), 65535 - RAMP)


@pytest.mark.parametrize(
    ("dtype", "stored", "expected"),
    [
        # signed: the type's range -32768..32767 onto 0..65535
        ("int16", lambda r: (r.astype(np.int32) - 32768).astype(np.int16), lambda r: r),
        # 32-bit unsigned: 0..2^32-1 onto 0..65535 (x * 65537 is exactly r in 16 bits)
        ("uint32", lambda r: r.astype(np.uint32) * 65537, lambda r: r),
        # float in 0..1, at three widths
        ("float16", lambda r: (r / 65535).astype(np.float16), None),
        ("float32", lambda r: (r / 65535).astype(np.float32), lambda r: r),
        ("float64", lambda r: r / 65535, lambda r: r),
    ],
)
def test_grey_sample_types_are_scaled_by_their_range(tmp_path: Path, dtype, stored, expected) -> None:
    path = tmp_path / f"{dtype}.tif"
    tifffile.imwrite(path, stored(RAMP), photometric="minisblack")
    grey = grey_of(path).astype(np.int64)
    want = (expected or (lambda r: r))(RAMP).astype(np.int64)
    tolerance = 40 if dtype == "float16" else 1  # float16 keeps 11 significant bits
    assert np.abs(grey - want).max() <= tolerance


def test_float_rgb_is_read(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "rgb.tif", (RGB / 65535).astype(np.float32), photometric="rgb")
    pixels = read_photo(tmp_path / "rgb.tif").pixels
    assert pixels.dtype == np.uint16
    assert np.abs(pixels.astype(np.int64) - RGB).max() <= 1


def test_float_outside_0_1_is_refused_with_its_range(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "big.tif", RAMP.astype(np.float32) - 5, photometric="minisblack")
    with pytest.raises(PhotoError, match=r"float TIFF values span -5\.\.\d+, outside 0\.\.1"):
        read_photo(tmp_path / "big.tif")


def test_float_with_its_range_in_the_tags_is_scaled_by_it(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "tagged.tif", RAMP.astype(np.float32), photometric="minisblack",
                     extratags=[(340, "d", 1, 0.0, False), (341, "d", 1, 65535.0, False)])
    np.testing.assert_array_equal(grey_of(tmp_path / "tagged.tif"), RAMP)


def test_nan_in_a_float_tiff_is_refused(tmp_path: Path) -> None:
    data = (RAMP / 65535).astype(np.float32)
    data[3, 4] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", data, photometric="minisblack")
    with pytest.raises(PhotoError, match="NaN"):
        read_photo(tmp_path / "nan.tif")


def test_16_bit_cmyk_is_refused_with_a_reason(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "cmyk.tif", np.dstack([RGB, RAMP]), photometric="separated")
    with pytest.raises(PhotoError, match="unsupported TIFF colour space"):
        read_photo(tmp_path / "cmyk.tif")


def test_8_bit_min_is_white_still_goes_through_pillow(tmp_path: Path) -> None:
    grey8 = (RAMP >> 8).astype(np.uint8)
    tifffile.imwrite(tmp_path / "w8.tif", grey8, photometric="miniswhite")
    pixels = read_photo(tmp_path / "w8.tif").pixels
    assert pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels[..., 0], 255 - grey8)
