"""rechroma-cli against a hostile user (issue 9) and a new one (issue 14): the --json target, concurrent runs,
signals, long names, messages, earlier results that are not ours, and saying a problem once."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from standin_model import build_standin_model, make_scene, to_grey

from engine import atomic_file
from engine.atomic_file import TEMP_MARKER
from engine.cli import main
from engine.model import Generator
from engine.resources import MODELS_DIR_ENV

REPO = Path(__file__).resolve().parents[2]
#: tqdm's progress line: "50%|█████     | 1/2 [00:01<00:01,  1.04s/photo, a.jpg]"
PROGRESS = re.compile(r"\| *\d+/\d+ \[")


@pytest.fixture
def run(standin_model: Path, capfd: pytest.CaptureFixture):
    """The CLI in-process with the stand-in model; stdout and stderr captured at the file-descriptor level,
    so what C libraries print (libpng, OpenCV) is seen too."""

    def _run(*args: str | Path, model: bool = True) -> tuple[int, str, str]:
        argv = [str(a) for a in args] + (["--model", str(standin_model), "--threads", "1"] if model else [])
        code = main(argv)
        out, err = capfd.readouterr()
        return code, out, err

    return _run


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in with enough compute that one inference at --render-size 1024 takes seconds on one thread."""
    return build_standin_model(tmp_path_factory.mktemp("slow") / "slow.onnx", width=16, depth=4)


def grey_photo(path: Path, seed: int = 0, size: tuple[int, int] = (48, 64)) -> Path:
    Image.fromarray(to_grey(make_scene(*size, seed=seed))).save(path)
    return path


def error_lines(stderr: str) -> list[str]:
    """stderr without the progress bar (tqdm redraws with \\r)."""
    lines = [line.split("\r")[-1].strip() for line in stderr.splitlines()]
    return [line for line in lines if line and not PROGRESS.search(line)]


# --- 1. --json never replaces a photo or a foreign file -----------------------------------------------


def test_json_refuses_an_input_photo(tmp_path: Path, run) -> None:
    a, b = grey_photo(tmp_path / "a.png", 1), grey_photo(tmp_path / "b.png", 2)
    before = a.read_bytes()
    code, _, stderr = run("--json", a, a, b)
    assert code == 2 and "is one of the input photos" in stderr
    assert a.read_bytes() == before
    assert not (tmp_path / "a_color.png").exists()  # refused before any work


def test_json_refuses_a_foreign_file_but_replaces_an_earlier_report(tmp_path: Path, run) -> None:
    photo = grey_photo(tmp_path / "a.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    code, _, stderr = run(photo, "-o", tmp_path / "out", "--json", notes)
    assert code == 2 and "not an earlier Rechroma report" in stderr and notes.read_text() == "my notes"

    report = tmp_path / "report.json"
    assert run(photo, "-o", tmp_path / "out", "--json", report)[0] == 0
    assert stat.S_IMODE(report.stat().st_mode) == 0o644 & ~_umask()
    assert run(photo, "-o", tmp_path / "out", "--json", report, "--skip-existing")[0] == 0
    assert json.loads(report.read_text())["summary"]["skipped"] == 1


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- 2. two runs, one folder ----------------------------------------------------------------------------


def test_two_processes_writing_same_named_photos_keep_every_photo(tmp_path: Path, standin_model: Path) -> None:
    count = 60
    folders = [tmp_path / "first", tmp_path / "second"]
    for n, folder in enumerate(folders):
        folder.mkdir()
        for i in range(count):
            grey_photo(folder / f"p{i:03d}.png", seed=1000 * n + i, size=(24, 32))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "engine.cli", "-o", str(out), "--model", str(standin_model), "--threads", "1"]
    procs = [
        subprocess.Popen([*command, str(folder), "--json", str(tmp_path / f"{folder.name}.json")], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for folder in folders
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    for proc, (stdout, stderr) in zip(procs, results, strict=True):
        assert proc.returncode == 0, stderr
        assert f"done {count}, skipped 0, failed 0" in stdout
    written = sorted(out.iterdir())
    assert len(written) == 2 * count
    outputs = [Path(f["output"]) for name in ("first", "second")
               for f in json.loads((tmp_path / f"{name}.json").read_text())["files"]]
    assert sorted(outputs) == written  # each run's report names the file it really wrote
    assert len({p.read_bytes() for p in written}) == 2 * count


# --- 7. a name too long to look up ------------------------------------------------------------------------


def test_a_too_long_name_fails_that_photo_only(tmp_path: Path, run) -> None:
    long_one = grey_photo(tmp_path / ("n" * 250 + ".png"), 1)
    grey_photo(tmp_path / "short.png", 2)
    code, stdout, stderr = run(long_one, tmp_path / "short.png")
    assert code == 1
    assert "done 1, skipped 0, failed 1" in stdout
    assert error_lines(stderr) == [f"error: {long_one}: output file name is too long"]
    assert (tmp_path / "short_color.png").exists()


# --- 9 and 10. signals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_cleanly_with_summary_and_report(tmp_path: Path, slow_model: Path, signum: int,
                                                      code: int) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        grey_photo(photos / f"p{i}.png", seed=i)
    out, report = tmp_path / "out", tmp_path / "report.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", str(photos), "-o", str(out), "--json", str(report),
         "--model", str(slow_model), "--threads", "1", "--render-size", "1024"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while not out.exists() and time.monotonic() < deadline:  # the batch has started once -o exists
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the first photo's inference
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert "interrupted" in stdout and "not done" in stdout
    files = json.loads(report.read_text())["files"]
    statuses = [f["status"] for f in files]
    assert set(statuses) <= {"done", "cancelled", "pending"} and statuses.count("done") < len(statuses)
    for entry in files:
        assert (entry["output"] is not None) == (entry["status"] == "done")
    assert not [p for p in tmp_path.rglob("*") if TEMP_MARKER in p.name]


def test_ctrl_c_cancels_the_inference_in_progress(tmp_path: Path, slow_model: Path, capfd,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The signal reaches onnxruntime's RunOptions.terminate: the model run is cut short, not waited out."""
    photo = grey_photo(tmp_path / "a.png")
    started, outcome = threading.Event(), []
    real_predict = Generator.predict_ab

    def watched(self, l_norm, cancel=None):
        started.set()
        try:
            result = real_predict(self, l_norm, cancel)
        except BaseException as exc:
            outcome.append(type(exc).__name__)
            raise
        outcome.append("finished")
        return result

    monkeypatch.setattr(Generator, "predict_ab", watched)

    def interrupt() -> None:
        started.wait(60)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    code = main([str(photo), "-o", str(tmp_path / "out"), "--model", str(slow_model), "--threads", "1",
                 "--render-size", "1024"])
    stdout, _ = capfd.readouterr()
    assert code == 130 and "interrupted, 1 not done" in stdout
    assert outcome == ["Cancelled"]


def test_stale_temp_files_are_removed_and_fresh_ones_kept(tmp_path: Path, run) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale, fresh = out / f".x.png{TEMP_MARKER}00000000", out / f".y.png{TEMP_MARKER}11111111"
    stale.write_bytes(b"half a photo")
    fresh.write_bytes(b"another run's photo in progress")
    old = time.time() - 2 * atomic_file.STALE_TEMP_SECONDS
    os.utime(stale, (old, old))
    assert run(grey_photo(tmp_path / "a.png"), "-o", out)[0] == 0
    assert not stale.exists() and fresh.exists()


# --- 15 and 16. messages ---------------------------------------------------------------------------------


def test_output_folder_that_is_a_file(tmp_path: Path, run) -> None:
    (tmp_path / "afile").write_text("x")
    code, _, stderr = run(grey_photo(tmp_path / "a.png"), "-o", tmp_path / "afile")
    assert code == 2 and error_lines(stderr) == [f"rechroma-cli: the output folder {tmp_path / 'afile'} is a file"]


def test_interrupted_report_leaves_unwritten_outputs_empty(tmp_path: Path, run, monkeypatch) -> None:
    import engine.cli as cli

    for i in range(3):
        grey_photo(tmp_path / f"p{i}.png", seed=i)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "colorize_file", interrupted)
    code, _, _ = run(tmp_path, "-o", tmp_path / "out", "--json", tmp_path / "r.json")
    assert code == 130
    files = json.loads((tmp_path / "r.json").read_text())["files"]
    assert [(f["status"], f["output"]) for f in files] == [("cancelled", None), ("pending", None), ("pending", None)]


# --- safer earlier-result detection ---------------------------------------------------------------------


def test_a_users_own_x_color_photo_is_a_photo_and_never_replaced(tmp_path: Path, run) -> None:
    source = grey_photo(tmp_path / "x.png", 1)
    mine = grey_photo(tmp_path / "x_color.png", 2)  # the user's, named like our result
    before = mine.read_bytes()
    code, stdout, _ = run(source, "--overwrite-outputs")
    assert code == 0 and mine.read_bytes() == before
    assert "done 0, skipped 1 (1 not ours), failed 0" in stdout and "not written by Rechroma" in stdout

    code, stdout, _ = run(tmp_path, "--overwrite-outputs")  # a folder scan: it is a photo, not a result
    assert code == 0 and mine.read_bytes() == before
    assert "done 2, skipped 0, failed 0" in stdout
    assert {"x_color_color.png", "x_color-2.png"} <= {p.name for p in tmp_path.iterdir()}


def test_our_own_earlier_result_is_skipped_by_scans_and_replaced_on_request(tmp_path: Path, run) -> None:
    grey_photo(tmp_path / "x.png", 1)
    assert run(tmp_path / "x.png")[0] == 0
    result = tmp_path / "x_color.png"
    first = result.read_bytes()
    code, stdout, _ = run(tmp_path, "--overwrite-outputs", "--strength", "2")
    assert code == 0 and "done 1, skipped 0, failed 0" in stdout
    assert result.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png", "x_color.png"]


# --- issue 14: 11, 12 and the render-size warning -------------------------------------------------------


def test_free_names_are_mentioned_once_with_the_way_out(tmp_path: Path, run) -> None:
    for i in range(2):
        grey_photo(tmp_path / f"p{i}.png", seed=i)
    out = tmp_path / "out"
    code, stdout, _ = run(tmp_path, "-o", out)
    assert code == 0 and "free name" not in stdout
    code, stdout, _ = run(tmp_path, "-o", out)
    assert code == 0
    notes = [line for line in stdout.splitlines() if "free name" in line]
    assert len(notes) == 1 and "2 outputs" in notes[0] and "--skip-existing" in notes[0]


def test_a_missing_input_is_said_once_before_any_model_is_loaded(tmp_path: Path, monkeypatch, run) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "no-models"))  # loading a model would fail loudly
    code, stdout, stderr = run(tmp_path / "nosuch.jpg", model=False)
    assert code == 2
    assert error_lines(stderr) == [f"error: {tmp_path / 'nosuch.jpg'}: no such file or folder"]
    assert "model" not in stdout


@pytest.mark.parametrize(("size", "warned"), [(64, True), (256, False), (1024, False), (2048, True)])
def test_render_size_far_from_the_models_own_gives_one_warning(tmp_path: Path, run, size: int,
                                                                warned: bool) -> None:
    code, _, stderr = run(grey_photo(tmp_path / "a.png"), "--render-size", str(size))
    assert code == 0
    warnings = [line for line in error_lines(stderr) if line.startswith("warning:")]
    assert len(warnings) == (1 if warned else 0)
    if warned:
        assert "512" in warnings[0]


def test_many_photos_one_line_each_without_library_noise(tmp_path: Path, run) -> None:
    np.random.default_rng(0)
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "empty.jpg").write_bytes(b"")
    good = grey_photo(tmp_path / "good.png")
    code, _, stderr = run(tmp_path, "-o", tmp_path / "out")
    assert code == 1
    lines = error_lines(stderr)
    assert sorted(lines) == sorted([f"error: {tmp_path / 'empty.jpg'}: file is empty",
                                    f"error: {tmp_path / 'text.png'}: not an image file"])
    assert good.exists()


def test_library_warnings_never_reach_the_terminal(tmp_path: Path, standin_model: Path) -> None:
    """A real process (pytest would swallow Python warnings): Pillow's UserWarning about a damaged EXIF tag
    and libpng's complaint about a bad ICC profile used to print between the photos."""
    import io
    import struct
    import zlib

    from engine.photo_io.meta import insert_png_chunks, png_chunk

    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHII", 0x010E, 2, 5000, 9999) + b"\0" * 4
    out = io.BytesIO()
    Image.fromarray(make_scene(20, 30)).save(out, "JPEG", exif=b"Exif\x00\x00" + tiff)
    (tmp_path / "bad_exif.jpg").write_bytes(out.getvalue())
    out = io.BytesIO()
    Image.fromarray(to_grey(make_scene(20, 30))).save(out, "PNG")
    bad_icc = png_chunk(b"iCCP", b"bad\x00\x00" + zlib.compress(b"\0\0\1\0" + b"junk" * 80))
    (tmp_path / "bad_icc.png").write_bytes(insert_png_chunks(out.getvalue(), bad_icc))
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", str(tmp_path), "-o", str(tmp_path / "out"), "--model",
         str(standin_model), "--threads", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert error_lines(result.stderr) == []
    assert "done 2, skipped 0, failed 0" in result.stdout


def test_opencv_errors_are_told_on_one_line() -> None:
    import cv2

    from engine.cli import one_line

    try:
        cv2.remap(np.zeros((4, 4), np.float32), np.zeros((1, 40000), np.float32), np.zeros((1, 40000), np.float32),
                  cv2.INTER_LINEAR)
    except cv2.error as exc:
        text = str(exc)
    assert text.endswith("\n")  # OpenCV's "OpenCV(x) /build/path:line: error: (-215...) in function 'remap'\n"
    line = one_line(text)
    assert "\n" not in line and line.startswith("(-215:Assertion failed)") and "remap" in line


@pytest.mark.parametrize("fmt", ["jpg", "png", "tif", "webp"])
def test_provenance_is_recognised_in_every_output_format(tmp_path: Path, fmt: str) -> None:
    from engine.photo_io import made_by_rechroma, write_photo

    pixels = make_scene(24, 32)
    ours = write_photo(tmp_path / f"ours.{fmt}", pixels, description="Colorized by Rechroma")
    bare = write_photo(tmp_path / f"bare.{fmt}", pixels)  # no description, no input EXIF: still ours
    theirs = tmp_path / f"theirs.{fmt}"
    Image.fromarray(pixels).save(theirs)
    assert made_by_rechroma(ours) and made_by_rechroma(bare)
    assert not made_by_rechroma(theirs)
    assert not made_by_rechroma(tmp_path / "missing.jpg")
