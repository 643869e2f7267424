"""A JPEG encoded in parts and joined by restart markers decodes to exactly the one-piece encode's pixels."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.photo_io import jpeg_parts, read_photo, write_photo
from engine.photo_io.jpeg_parts import encode_in_parts, part_rows

_PARAMS = [cv2.IMWRITE_JPEG_QUALITY, 92, cv2.IMWRITE_JPEG_OPTIMIZE, 0,
           cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]


def _photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8 + 2, width // 8 + 2, 3), dtype=np.uint8)
    smooth = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.add(smooth, rng.integers(0, 24, smooth.shape, dtype=np.uint8))


def _encode(params: list[int]):
    def encode(rows: np.ndarray) -> bytes:
        ok, buf = cv2.imencode(".jpg", rows, params)
        assert ok
        return buf.tobytes()
    return encode


def _pixels(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(max_workers=3) as executor:
        yield executor


@pytest.mark.parametrize(("height", "width", "parts"), [
    (517, 389, 2), (100, 33, 3), (33, 1000, 2), (160, 48, 10), (300, 200, 4),
])
def test_parts_decode_to_the_one_piece_pixels(height: int, width: int, parts: int, pool) -> None:
    rows = _photo(height, width)
    whole = _encode(_PARAMS)(rows)
    joined = encode_in_parts(rows, _encode(_PARAMS), parts, pool)
    assert joined != whole  # really joined from parts (restart markers), not the one-piece fallback
    assert -1 < joined.find(b"\xff\xdd") < joined.find(b"\xff\xda")  # a restart interval, before the scan
    np.testing.assert_array_equal(_pixels(joined), _pixels(whole))
    with Image.open(io.BytesIO(joined)) as im:  # a second decoder (Pillow's libjpeg) agrees
        assert im.size == (width, height)
        np.testing.assert_array_equal(np.asarray(im), np.asarray(Image.open(io.BytesIO(whole))))


def test_more_than_eight_parts_cycle_the_restart_markers(pool, monkeypatch) -> None:
    """DRI holds a 16-bit MCU count; a wide photo gets more, shorter parts (RST0..RST7, then RST0 again)."""
    monkeypatch.setattr(jpeg_parts, "MAX_INTERVAL", 1)  # one MCU a part: 16 x 160 px -> 10 parts
    rows = _photo(160, 16, seed=3)
    assert part_rows(160, 16, 2) == 16
    joined = encode_in_parts(rows, _encode(_PARAMS), 2, pool)
    scan = joined[joined.find(b"\xff\xda"):]  # entropy-coded data stuffs every 0xFF: these are markers
    assert [scan.count(bytes((0xFF, 0xD0 + n))) for n in range(8)] == [2, 1, 1, 1, 1, 1, 1, 1]  # RST0..7, RST0
    np.testing.assert_array_equal(_pixels(joined), _pixels(_encode(_PARAMS)(rows)))


def test_the_interval_limit_shapes_the_parts() -> None:
    assert part_rows(3000, 4000, 2) == 1504  # two parts of 94 MCU rows
    assert part_rows(5480, 7300, 2) == 143 * 16  # 457 MCUs a row: 143 rows keep the interval below 65,536
    assert part_rows(10, 10, 2) >= 10  # one MCU row: one piece


def test_a_layout_the_join_cannot_take_is_encoded_in_one_piece(pool) -> None:
    params_444 = [cv2.IMWRITE_JPEG_QUALITY, 92, cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                  cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    rows = _photo(200, 120)
    assert encode_in_parts(rows, _encode(params_444), 2, pool) == _encode(params_444)(rows)


def test_write_photo_splits_a_large_jpeg_and_keeps_its_metadata(tmp_path) -> None:
    rgb = _photo(1500, 1400, seed=5)  # 2.1 MP: at the parallel threshold
    exif = Image.Exif()
    exif[0x010F] = "Epson"
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        one = write_photo(tmp_path / "one.jpg", rgb, exif=exif.tobytes())
        cv2.setNumThreads(2)
        parts = write_photo(tmp_path / "parts.jpg", rgb, exif=exif.tobytes())
    finally:
        cv2.setNumThreads(before)
    assert b"\xff\xdd" not in one.read_bytes()[:5000] and b"\xff\xdd" in parts.read_bytes()[:5000]
    a, b = read_photo(one), read_photo(parts)
    np.testing.assert_array_equal(a.pixels, b.pixels)
    with Image.open(parts) as im:
        assert im.getexif()[0x010F] == "Epson" and im.info.get("icc_profile")
