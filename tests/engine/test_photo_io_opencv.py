"""JPEG through OpenCV: the pixels and metadata are Pillow's (within one level), grey stays single-channel
for the pipeline, and files OpenCV would half-decode still go to Pillow."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from standin_model import make_scene, to_grey

from engine.model import Generator
from engine.photo_io import PhotoError, read_photo, write_photo
from engine.photo_io.meta import jpeg_with_metadata, srgb_icc
from engine.photo_io.quiet import silenced, speaking
from engine.pipeline import colorize_file

TAG_MAKE, TAG_ORIENTATION, TAG_SOFTWARE = 271, 274, 305
TAG_EXIF_IFD, TAG_DATE_TAKEN, TAG_MAKERNOTE = 0x8769, 0x9003, 0x927C


def pillow_pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.array(im.convert("RGB"))


def levels_apart(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max())


@pytest.mark.parametrize("grey", [False, True])
def test_jpeg_decodes_as_pillow_does(tmp_path: Path, grey: bool) -> None:
    scene = make_scene(301, 433, seed=11)
    pixels = to_grey(scene) if grey else scene
    path = tmp_path / "in.jpg"
    Image.fromarray(pixels).save(path, quality=90)
    photo = read_photo(path)
    assert photo.pixels.shape == (301, 433, 3) and photo.pixels.dtype == np.uint8
    assert levels_apart(photo.pixels, pillow_pixels(path)) <= 1


def test_grey_jpeg_stays_single_channel_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "grey.jpg"
    exif = Image.Exif()
    exif[TAG_ORIENTATION] = 6  # turned: the single channel is turned upright too
    Image.fromarray(to_grey(make_scene(120, 200, seed=12))).save(path, quality=90, exif=exif)
    single = read_photo(path, grey=True).pixels
    rgb = read_photo(path).pixels
    assert single.shape == (200, 120) and rgb.shape == (200, 120, 3)
    assert all(np.array_equal(single, rgb[..., c]) for c in range(3))
    with Image.open(path) as im:
        upright = np.array(im.rotate(-90, expand=True))
    assert levels_apart(single, upright) <= 1


def test_grey_and_rgb_stored_grey_colorize_alike(tmp_path: Path, standin_model: Path) -> None:
    """The single-channel path gives the same colours as the RGB expansion it replaces."""
    grey = to_grey(make_scene(160, 240, seed=13))
    Image.fromarray(grey).save(tmp_path / "grey.png")
    Image.fromarray(np.dstack([grey] * 3)).save(tmp_path / "rgb.png")
    generator = Generator(standin_model, device="cpu", threads=1)
    a = colorize_file(tmp_path / "grey.png", tmp_path / "a.png", generator)
    b = colorize_file(tmp_path / "rgb.png", tmp_path / "b.png", generator)
    assert levels_apart(pillow_pixels(a), pillow_pixels(b)) <= 1


def test_jpeg_output_is_pillows_within_one_level(tmp_path: Path) -> None:
    pixels = make_scene(333, 517, seed=14)
    ours = write_photo(tmp_path / "ours.jpg", pixels, quality=85)
    theirs = io.BytesIO()
    Image.fromarray(pixels).save(theirs, "JPEG", quality=85, subsampling=2, optimize=False)
    with Image.open(theirs) as im:
        reference = np.array(im)
    assert levels_apart(pillow_pixels(ours), reference) <= 1
    with Image.open(ours) as im:
        assert im.format == "JPEG" and im.layer[1][1:3] == (1, 1)  # chroma at half size both ways: 4:2:0


def test_jpeg_output_keeps_exif_and_icc(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[TAG_MAKE] = "Kodak"
    exif[TAG_ORIENTATION] = 3
    exif.get_ifd(TAG_EXIF_IFD)[TAG_DATE_TAKEN] = "1962:07:14 10:00:00"
    out = write_photo(tmp_path / "out.jpg", make_scene(64, 80, seed=15), exif=exif.tobytes(), description="made here")
    with Image.open(out) as im:
        assert im.info["icc_profile"] == srgb_icc()
        written = im.getexif()
        assert written[TAG_MAKE] == "Kodak" and written[TAG_ORIENTATION] == 1
        assert written[TAG_SOFTWARE].startswith("Rechroma")
        assert written.get_ifd(TAG_EXIF_IFD)[TAG_DATE_TAKEN] == "1962:07:14 10:00:00"
        im.load()  # the spliced segments leave a decodable stream


def test_jpeg_output_drops_only_an_oversized_maker_note(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[TAG_MAKE] = "Nikon"
    exif.get_ifd(TAG_EXIF_IFD)[TAG_MAKERNOTE] = b"\x01" * 70_000  # more than one APP1 segment holds
    out = write_photo(tmp_path / "out.jpg", make_scene(32, 48, seed=16), exif=exif.tobytes())
    with Image.open(out) as im:
        written = im.getexif()
        assert written[TAG_MAKE] == "Nikon"
        assert TAG_MAKERNOTE not in written.get_ifd(TAG_EXIF_IFD)


def test_large_icc_profile_is_split_over_app2_segments(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(make_scene(16, 16, seed=17)).save(buffer, "JPEG")
    icc = bytes(range(256)) * 600  # 153,600 bytes: three segments
    path = tmp_path / "big_icc.jpg"
    path.write_bytes(jpeg_with_metadata(buffer.getvalue(), None, icc))
    with Image.open(path) as im:
        assert im.info["icc_profile"] == icc
        im.load()


def test_truncated_jpeg_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    Image.fromarray(make_scene(200, 300, seed=18)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(PhotoError, match="truncated"):
        read_photo(path)


def test_jpeg_with_data_after_the_image_still_decodes(tmp_path: Path) -> None:
    """A trailer after EOI (some cameras and editors append one) goes to Pillow, which reads the image."""
    path = tmp_path / "trailer.jpg"
    Image.fromarray(make_scene(50, 70, seed=19)).save(path, quality=90)
    reference = pillow_pixels(path)
    path.write_bytes(path.read_bytes() + b"vendor trailer\x00\x01")
    assert levels_apart(read_photo(path).pixels, reference) <= 1


def test_damaged_jpeg_decodes_without_libjpeg_noise(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    path = tmp_path / "junk.jpg"
    Image.fromarray(make_scene(60, 80, seed=20)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[:-2] + b"\x13" * 101 + data[-2:])  # libjpeg: "101 extraneous bytes before marker"
    assert read_photo(path).size == (80, 60)
    assert capfd.readouterr().err == ""


def test_a_line_said_during_a_silenced_decode_is_not_lost(capfd: pytest.CaptureFixture) -> None:
    entered, release = threading.Event(), threading.Event()

    def decode() -> None:
        with silenced():
            entered.set()
            release.wait(30)

    def say() -> None:
        with speaking():
            os.write(2, b"error: seen\n")

    decoder = threading.Thread(target=decode)
    decoder.start()
    assert entered.wait(30)
    speaker = threading.Thread(target=say)
    speaker.start()
    speaker.join(0.2)
    assert speaker.is_alive()  # it waits for the terminal to be given back
    release.set()
    decoder.join()
    speaker.join()
    assert capfd.readouterr().err == "error: seen\n"
