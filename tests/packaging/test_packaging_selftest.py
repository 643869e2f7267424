"""The bundle's self-test, run from source: it passes on a working install and fails clearly otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from standin_model import make_scene, to_grey

from desktop import selftest
from engine import resources


@pytest.fixture
def grey_photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    Image.fromarray(to_grey(make_scene(180, 240, seed=11))).save(path, quality=92)
    return path


def test_engine_checks_pass_with_a_model_and_a_photo(standin_model, grey_photo, tmp_path, capsys):
    report = selftest.run(standin_model, grey_photo, out=tmp_path / "out", window=False)
    assert not report.failed, report.lines
    checks = [line.split(":")[0] for line in report.lines]
    assert checks == ["ok   model", "ok   sample", "ok   colorize", "ok   size", "ok   luminance", "ok   colour"]
    kept = tmp_path / "out" / "photo_selftest.png"
    with Image.open(kept) as image:
        assert image.size == (240, 180)
    assert "ok   colour" in capsys.readouterr().out  # each check is printed as it happens


def test_window_check_opens_the_main_window(qapp, standin_model, grey_photo):
    report = selftest.run(standin_model, grey_photo, window=True)
    assert not report.failed, report.lines
    assert any(line.startswith("ok   icon: SVG icon renders") for line in report.lines)
    assert any(line.startswith("ok   window: main window shown and model standin loaded") for line in report.lines)


def test_main_exit_status(standin_model, grey_photo, monkeypatch, tmp_path, capsys):
    assert selftest.main(["--self-test", "--no-window", "--model", str(standin_model),
                          "--photo", str(grey_photo)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("self-test passed")
    monkeypatch.setenv(resources.MODELS_DIR_ENV, str(tmp_path / "no-models"))
    assert selftest.main(["--no-window", "--photo", str(grey_photo)]) == 1
    assert capsys.readouterr().out.rstrip().endswith("self-test FAILED")


def test_no_shipped_model_fails_and_says_so(monkeypatch, tmp_path, grey_photo):
    monkeypatch.setenv(resources.MODELS_DIR_ENV, str(tmp_path / "empty"))
    report = selftest.run(None, grey_photo, window=False)
    assert report.failed
    assert len(report.lines) == 1
    assert report.lines[0].startswith("FAIL model: no shipped model in")
    assert "--model PATH" in report.lines[0]


def test_the_shipped_model_is_used_when_no_model_is_given(monkeypatch, tmp_path, standin_model, grey_photo):
    models = tmp_path / "models"
    models.mkdir()
    (models / "shipped.onnx").write_bytes(standin_model.read_bytes())
    monkeypatch.setenv(resources.MODELS_DIR_ENV, str(models))
    report = selftest.run(None, grey_photo, window=False)
    assert not report.failed, report.lines
    assert str(models / "shipped.onnx") in report.lines[0]


def test_a_broken_model_fails(tmp_path, grey_photo):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx file")
    report = selftest.run(broken, grey_photo, window=False)
    assert report.failed and report.lines[0].startswith("FAIL model:")


def test_no_sample_fails_and_says_so(monkeypatch, tmp_path, standin_model):
    monkeypatch.setattr(resources, "samples_dir", lambda: tmp_path / "no-samples")
    report = selftest.run(standin_model, None, window=False)
    assert report.failed
    assert report.lines[-1].startswith("FAIL sample: no sample photo in")


def test_the_first_bundled_sample_is_used(monkeypatch, tmp_path, standin_model):
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "notes.txt").write_text("credits")
    for name, seed in (("b_street.png", 1), ("a_harbour.jpg", 2)):
        Image.fromarray(to_grey(make_scene(64, 96, seed=seed))).save(samples / name)
    monkeypatch.setattr(resources, "samples_dir", lambda: samples)
    report = selftest.run(standin_model, None, window=False)
    assert not report.failed, report.lines
    assert report.lines[1] == f"ok   sample: {samples / 'a_harbour.jpg'}"


def _save(path: Path, rgb: np.ndarray) -> Path:
    Image.fromarray(rgb).save(path)
    return path


def test_check_rejects_a_grey_result(tmp_path, grey_photo):
    grey = np.asarray(Image.open(grey_photo).convert("RGB"))
    report = selftest.Report()
    selftest.check_colorized(grey_photo, _save(tmp_path / "out.png", grey), report)
    assert report.failed
    assert [line.split(":")[0] for line in report.lines] == ["ok   size", "ok   luminance", "FAIL colour"]


def test_check_rejects_a_resized_result(tmp_path, grey_photo):
    rgb = make_scene(90, 120, seed=11)
    report = selftest.Report()
    selftest.check_colorized(grey_photo, _save(tmp_path / "out.png", rgb), report)
    assert report.failed and report.lines[0].startswith("FAIL size: output is 120x90, input 240x180")


def test_check_rejects_a_result_with_other_luminance(tmp_path, grey_photo):
    tinted = np.asarray(Image.open(grey_photo).convert("RGB")).astype(np.float32)
    tinted = np.clip(tinted * [1.0, 0.6, 0.4], 0, 255).astype(np.uint8)  # coloured, but darker
    report = selftest.Report()
    selftest.check_colorized(grey_photo, _save(tmp_path / "out.png", tinted), report)
    assert report.failed
    assert any(line.startswith("FAIL luminance") for line in report.lines)


def test_check_rejects_a_missing_output(tmp_path, grey_photo):
    report = selftest.Report()
    selftest.check_colorized(grey_photo, tmp_path / "never-written.png", report)
    assert report.failed and report.lines == [f"FAIL output: {tmp_path / 'never-written.png'} was not written"]
