"""Bad input and failing output: each gives a PhotoError with a clear reason, for that one file only.

Nothing the user had may be lost or overwritten and no half-written or temp file may be left behind.
Tests run as root, so unwritable folders are simulated (a parent that is a regular file, or a patched
os call), as is a full disk.
"""

from __future__ import annotations

import errno
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from engine import atomic_file
from engine.photo_io import PhotoError, PhotoExistsError, read_photo, read_preview, write_photo
from engine.photo_io import write as photo_io_write


def photo_like(height: int = 48, width: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.dstack([xx * 4 % 256, yy * 5 % 256, (xx + yy) % 256]).astype(np.uint8)


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims width×height but holds a few bytes of IDAT: a decompression-bomb stand-in.

    Writing a real 400 MP image would take 400 MB and seconds; the header is all the guard may look at.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
    path.write_bytes(data + chunk(b"IEND", b""))
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if photo_io_write.TEMP_MARKER in p.name)


# --- reading --------------------------------------------------------------------------------------------


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(PhotoError, match="^file is empty$") as info:
        read_photo(tmp_path / "empty.jpg")
    assert info.value.path == tmp_path / "empty.jpg"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(PhotoError, match="file not found"):
        read_photo(tmp_path / "nope.png")
    with pytest.raises(PhotoError, match="folder"):
        read_photo(tmp_path)


def test_text_file_named_jpg(tmp_path):
    (tmp_path / "notes.jpg").write_text("grandma's photos, box 3\n" * 20)
    with pytest.raises(PhotoError, match="^not an image file$"):
        read_photo(tmp_path / "notes.jpg")
    with pytest.raises(PhotoError, match="^not an image file$"):
        read_preview(tmp_path / "notes.jpg", 64)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file(tmp_path, fmt):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # a truncated file must stay an error
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    whole = tmp_path / f"whole.{fmt.lower()}"
    Image.fromarray(noisy).save(whole, fmt)
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(PhotoError, match="image data is truncated"):
        read_photo(cut)


def test_truncated_16bit_png(tmp_path):
    deep = np.random.default_rng(0).integers(0, 65536, (100, 120, 3), dtype=np.uint16)
    write_photo(tmp_path / "deep.png", deep)
    cut = tmp_path / "cut.png"
    data = (tmp_path / "deep.png").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(PhotoError, match="truncated"):
        read_photo(cut)


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    bomb = png_header_only(tmp_path / "bomb.png", 20000, 20000)
    assert bomb.stat().st_size < 2000
    with pytest.raises(PhotoError) as info:
        read_photo(bomb)
    assert str(info.value) == (
        "image too large: 20000×20000 pixels is 400,000,000, over the limit of 200,000,000 (200 MP)")
    with pytest.raises(PhotoError, match="image too large"):
        read_preview(bomb, 256)


def test_max_pixels_is_the_callers_limit(tmp_path):
    Image.fromarray(photo_like()).save(tmp_path / "small.png")
    with pytest.raises(PhotoError, match="image too large: 64×48"):
        read_photo(tmp_path / "small.png", max_pixels=1000)
    assert read_photo(tmp_path / "small.png", max_pixels=64 * 48).size == (64, 48)
    # Just over the limit: the message gives the photo's real size, not "200 MP exceeds the 200 MP limit".
    png_header_only(tmp_path / "edge.png", 20000, 10001)
    with pytest.raises(PhotoError) as info:
        read_photo(tmp_path / "edge.png")
    assert "200,020,000, over the limit of 200,000,000" in str(info.value)
    # above Pillow's own default bomb limit (89 MP) only our limit counts; no Pillow warning leaks
    png_header_only(tmp_path / "big.png", 12000, 10000)
    with _no_warnings():
        with pytest.raises(PhotoError, match="12000×10000 pixels is 120,000,000, over the limit of 100,000,000"):
            read_photo(tmp_path / "big.png", max_pixels=100_000_000)


class _no_warnings:
    """Fail if the block emits any warning (pytest.warns cannot assert absence)."""

    def __enter__(self):
        import warnings

        self._catcher = warnings.catch_warnings(record=True)
        self._records = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catcher.__exit__(*exc)
        assert not self._records, [str(w.message) for w in self._records]
        return False


def test_damaged_image_data_is_a_photo_error(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(photo_like()).save(good)
    data = bytearray(good.read_bytes())
    start = data.index(b"IDAT") + 4
    data[start : start + 2] = b"\0\0"  # the zlib stream's header: the pixel data cannot be inflated
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(PhotoError, match="^cannot decode image: broken data stream"):
        read_photo(tmp_path / "bad.png")


def test_unsupported_format(tmp_path):
    Image.fromarray(photo_like()).save(tmp_path / "x.ppm")
    with pytest.raises(PhotoError, match="unsupported image format: PPM"):
        read_photo(tmp_path / "x.ppm")


def test_a_batch_goes_on_after_bad_files(tmp_path):
    (tmp_path / "1.jpg").write_bytes(b"")
    Image.fromarray(photo_like()).save(tmp_path / "2.png")
    (tmp_path / "3.jpg").write_text("hello")
    Image.fromarray(photo_like()).save(tmp_path / "4.jpg")
    results = {}
    for path in sorted(tmp_path.iterdir()):
        try:
            results[path.name] = read_photo(path).size
        except PhotoError as e:
            results[path.name] = str(e)
    assert results == {
        "1.jpg": "file is empty",
        "2.png": (64, 48),
        "3.jpg": "not an image file",
        "4.jpg": (64, 48),
    }


# --- writing --------------------------------------------------------------------------------------------


def test_existing_target_is_not_overwritten(tmp_path):
    target = tmp_path / "keep.png"
    target.write_bytes(b"the user's file")
    with pytest.raises(PhotoExistsError, match="already exists") as info:
        write_photo(target, photo_like())
    assert isinstance(info.value, FileExistsError) and isinstance(info.value, PhotoError)
    assert target.read_bytes() == b"the user's file"
    assert leftovers(tmp_path) == []


def test_output_folder_that_is_a_file(tmp_path):
    (tmp_path / "not_a_folder").write_bytes(b"x")
    with pytest.raises(PhotoError, match="output folder is not writable"):
        write_photo(tmp_path / "not_a_folder" / "out.png", photo_like())
    with pytest.raises(PhotoError, match="output folder is not writable"):
        write_photo(tmp_path / "not_a_folder" / "deeper" / "out.png", photo_like())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]


def test_permission_denied_on_create(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic_file.os, "open", refuse)
    with pytest.raises(PhotoError, match="output folder is not writable"):
        write_photo(tmp_path / "out.jpg", photo_like())
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_missing_output_folder_is_created(tmp_path):
    out = write_photo(tmp_path / "new" / "deeper" / "out.png", photo_like())
    assert read_photo(out).size == (64, 48)


@pytest.mark.parametrize("fmt", ["png", "jpg", "tif", "webp"])
def test_disk_full_leaves_nothing_and_keeps_existing_file(tmp_path, monkeypatch, fmt):
    real_write = os.write
    calls = []

    def full_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data)[:10])  # a partial write first, as a filling disk does
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_file.os, "write", full_disk)
    with pytest.raises(PhotoError, match="^disk full"):
        write_photo(tmp_path / f"new.{fmt}", photo_like())
    existing = tmp_path / f"old.{fmt}"
    existing.write_bytes(b"previous result")
    with pytest.raises(PhotoError, match="^disk full"):
        write_photo(existing, photo_like(), overwrite=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"old.{fmt}"]
    assert existing.read_bytes() == b"previous result"


def test_failed_replace_removes_temp_file(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(errno.EIO, "Input/output error")

    # Publishing a new file goes through the no-replace rename (engine.atomic_file), not os.replace.
    monkeypatch.setattr(atomic_file, "_rename_no_replace", broken_replace)
    with pytest.raises(PhotoError, match="could not write the output file: Input/output error"):
        write_photo(tmp_path / "out.png", photo_like())
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_writing_removes_temp_file(tmp_path, monkeypatch):
    def interrupted(fd, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_file.os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_photo(tmp_path / "out.png", photo_like())
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_temp_file_is_in_the_target_folder_and_hidden(tmp_path, monkeypatch):
    seen = []
    real_publish = atomic_file._rename_no_replace

    def spy(src, dst):
        seen.append(Path(src))
        real_publish(src, dst)

    monkeypatch.setattr(atomic_file, "_rename_no_replace", spy)
    write_photo(tmp_path / "photo.png", photo_like())
    (tmp,) = seen
    assert tmp.parent == tmp_path and tmp.name.startswith(".photo.png.rechroma-tmp-")


def test_unsupported_output_format(tmp_path):
    with pytest.raises(PhotoError, match="unsupported output format 'gif'"):
        write_photo(tmp_path / "out.gif", photo_like())
    with pytest.raises(PhotoError, match="unsupported output format"):
        write_photo(tmp_path / "out", photo_like())
    assert list(tmp_path.iterdir()) == []


def test_pixels_that_are_not_an_image_are_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="uint8 or uint16"):
        write_photo(tmp_path / "a.png", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="H×W×3"):
        write_photo(tmp_path / "a.png", np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="alpha"):
        write_photo(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8), alpha=np.zeros((3, 4), np.uint8))
    with pytest.raises(ValueError, match="quality"):
        write_photo(tmp_path / "a.jpg", np.zeros((4, 4, 3), np.uint8), quality=0)
    assert list(tmp_path.iterdir()) == []


def test_folder_with_the_output_name(tmp_path):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(PhotoError, match="folder"):
        write_photo(tmp_path / "out.png", photo_like(), overwrite=True)
    assert leftovers(tmp_path) == [] and (tmp_path / "out.png").is_dir()


def test_too_wide_for_webp_says_which_formats_can(tmp_path):
    wide = np.zeros((1, 16384, 3), np.uint8)
    with pytest.raises(PhotoError, match="WEBP cannot hold more than 16383 pixels a side"):
        write_photo(tmp_path / "pano.webp", wide)
    assert list(tmp_path.iterdir()) == []
    assert read_photo(write_photo(tmp_path / "pano.png", wide)).size == (16384, 1)
