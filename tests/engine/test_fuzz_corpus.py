"""A hostile-user corpus, generated on the fly: every case of issue 9 (and the ones that already held) goes
through one rechroma-cli run. Each photo ends done or failed with exactly one ``error:`` line; nothing else is
printed between them (no library warnings, no two-line OpenCV errors); inputs stay byte-identical; no temp
file is left. A full disk is tried on a real tmpfs where the machine allows mounting one."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from standin_model import make_scene, to_grey

from engine.atomic_file import TEMP_MARKER
from engine.cli import main
from engine.photo_io.meta import insert_png_chunks, png_chunk

REPO = Path(__file__).resolve().parents[2]


def _png(pixels: np.ndarray, **options) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", **options)
    return out.getvalue()


def _jpeg(pixels: np.ndarray, mode: str | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.fromarray(pixels)
    (image.convert(mode) if mode else image).save(out, "JPEG", quality=90)
    return out.getvalue()


def _tiff(data: np.ndarray, **options) -> bytes:
    out = io.BytesIO()
    tifffile.imwrite(out, data, **options)
    return out.getvalue()


def _pillow(frames: list[Image.Image], fmt: str, **options) -> bytes:
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=len(frames) > 1, append_images=frames[1:], **options)
    return out.getvalue()


def build_corpus(folder: Path) -> dict[str, str]:
    """Write the corpus into ``folder``; returns {file name: "done" | "failed" | "either"}."""
    scene = make_scene(48, 64, seed=7)
    grey = to_grey(scene)
    jpeg, png = _jpeg(scene), _png(grey)
    ramp16 = (np.arange(48 * 64).reshape(48, 64) * 21 % 65536).astype(np.uint16)
    expect: dict[str, str] = {}

    def put(name: str, data: bytes, outcome: str) -> None:
        (folder / name).write_bytes(data)
        expect[name] = outcome

    put("zero.jpg", b"", "failed")
    put("text.png", b"just some notes, not a picture\n", "failed")
    for cut in (0.1, 0.5, 0.9):
        put(f"cut{int(cut * 100)}.jpg", jpeg[: int(len(jpeg) * cut)], "failed")
        put(f"cut{int(cut * 100)}.png", png[: int(len(png) * cut)], "failed")
    rng = np.random.default_rng(3)
    for n in range(3):
        flipped = bytearray(jpeg)
        for pos in rng.integers(200, len(flipped), 8):
            flipped[pos] ^= 1 << int(rng.integers(0, 8))
        put(f"flip{n}.jpg", bytes(flipped), "either")
    ihdr = (100_000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    put("bomb.png", png[:8] + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b""), "failed")
    put("cmyk.jpg", _jpeg(scene, "CMYK"), "done")
    palette = Image.fromarray(scene).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    put("palette_alpha.png", _pillow([palette], "PNG", transparency=0), "done")
    put("one_bit.png", _pillow([Image.fromarray(grey > 128)], "PNG"), "done")
    put("one_bit.tif", _pillow([Image.fromarray(grey > 128)], "TIFF"), "done")
    put("deep.tif", _tiff(np.dstack([ramp16] * 3), photometric="rgb"), "done")
    put("planar.tif", _tiff(np.stack([ramp16] * 3), photometric="rgb", planarconfig="separate"), "done")
    put("white_is_zero.tif", _tiff(ramp16, photometric="miniswhite"), "done")
    put("int16.tif", _tiff(ramp16.astype(np.int16), photometric="minisblack"), "done")
    put("float.tif", _tiff((ramp16 / 65535).astype(np.float32), photometric="minisblack"), "done")
    put("float_rgb.tif", _tiff(np.dstack([ramp16 / 65535] * 3).astype(np.float32), photometric="rgb"), "done")
    put("float_big.tif", _tiff(ramp16.astype(np.float32), photometric="minisblack"), "failed")
    put("pages.tif", _pillow([Image.fromarray(grey), Image.fromarray(scene)], "TIFF"), "done")
    frames = [Image.fromarray(make_scene(32, 32, seed=s)).convert("P") for s in range(3)]
    put("animated.gif", _pillow(frames, "GIF", duration=100, loop=0), "done")
    put("one_pixel.png", _png(np.full((1, 1), 90, np.uint8)), "done")
    put("line.png", _png(np.full((1, 20000), 90, np.uint8)), "done")
    put("tall_narrow.png", _png(np.tile(grey[:, :30], (834, 1))[:40000]), "done")  # 30 x 40,000
    bad_icc = png_chunk(b"iCCP", b"bad\x00\x00" + zlib.compress(b"\0\0\1\0" + b"junk" * 80))
    put("bad_profile.png", insert_png_chunks(png, bad_icc), "done")  # libpng would print a warning
    put("ünïcödé 照片.jpg", jpeg, "done")
    put("n" * 246 + ".jpg", jpeg, "failed")  # its output name is too long for the file system
    (folder / "loop_a.jpg").symlink_to(folder / "loop_b.jpg")
    (folder / "loop_b.jpg").symlink_to(folder / "loop_a.jpg")
    return expect


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def test_every_case_ends_done_or_with_one_error_line(tmp_path: Path, standin_model: Path, capfd) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    expect = build_corpus(corpus)
    before = digest(corpus)
    out = tmp_path / "out"
    explicit = [str(corpus / "loop_a.jpg")]  # a folder scan skips a symlink loop; named, it must fail cleanly

    code = main([str(corpus), *explicit, "-o", str(out), "--format", "png", "--model", str(standin_model),
                 "--threads", "1"])
    stdout, stderr = capfd.readouterr()

    assert code == 1
    lines = [line.split("\r")[-1].strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line and not re.search(r"\| *\d+/\d+ \[", line)]  # not tqdm's bar
    assert all(line.startswith("error: ") for line in lines), lines  # no warnings, no second lines
    failed = {}
    for line in lines:
        path, _, reason = line[len("error: "):].partition(": ")
        assert Path(path).name not in failed, f"two lines for {path}"
        failed[Path(path).name] = reason
    assert "loop_a.jpg" in failed
    for name, outcome in expect.items():
        if outcome == "failed":
            assert name in failed, f"{name} should have failed"
        elif outcome == "done":
            assert name not in failed, f"{name}: {failed.get(name)}"
    assert failed["n" * 246 + ".jpg"] == "output file name is too long"
    assert failed["zero.jpg"] == "file is empty"
    assert "outside 0..1" in failed["float_big.tif"]
    done = len(expect) - len([n for n in expect if n in failed])
    assert f"done {done}, skipped 0, failed {len(failed)}" in stdout
    with Image.open(out / "tall_narrow_color.png") as image:
        assert image.size == (30, 40000)
    assert digest(corpus) == before
    assert not [p for p in tmp_path.rglob("*") if TEMP_MARKER in p.name]


def _can_mount_tmpfs(probe: Path) -> str | None:
    """None if this machine lets a user namespace mount a tmpfs, else why not."""
    if shutil.which("unshare") is None:
        return "unshare(1) is not installed"
    probe.mkdir()
    result = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                             f"mount -t tmpfs -o size=64k tmpfs '{probe}'"], capture_output=True, text=True)
    if result.returncode != 0:
        return f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}"
    return None


def test_full_disk_fails_each_photo_cleanly(tmp_path: Path, standin_model: Path) -> None:
    reason = _can_mount_tmpfs(tmp_path / "probe")
    if reason:
        pytest.skip(reason)
    photos = tmp_path / "photos"
    photos.mkdir()
    noise = np.random.default_rng(0)
    for i in range(6):  # ~110 KB each as PNG: the 300 KB disk holds two
        Image.fromarray(noise.integers(0, 256, (200, 190), dtype=np.uint8)).save(photos / f"p{i}.png")
    out, report = tmp_path / "out", tmp_path / "report.json"
    out.mkdir()
    cli = (f"{sys.executable} -m engine.cli '{photos}' -o '{out}' --json '{report}' --model '{standin_model}' "
           "--threads 1")
    script = f"mount -t tmpfs -o size=300k tmpfs '{out}' && {cli}; code=$?; ls -a '{out}'; exit $code"
    result = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                            cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors and all(line.endswith(": disk full: the output file could not be written") for line in errors)
    listing = result.stdout.split()
    assert not [name for name in listing if TEMP_MARKER in name]
    written = [name for name in listing if name.endswith("_color.png")]
    assert written and len(written) + len(errors) == 6
    assert f"done {len(written)}, skipped 0, failed {len(errors)}" in result.stdout
