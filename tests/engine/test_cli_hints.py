"""rechroma-cli with colour hints: sidecars picked up, --hints, --no-hints, bad sidecars fail only their photo,
and sidecars are never taken for photos nor changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from standin_model import build_hint_copy_model

from engine import colour
from engine.cli import main
from engine.hints import parse_colour

RED = "#c83232"


@pytest.fixture(scope="module")
def copy_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hint_copy_model(tmp_path_factory.mktemp("cli-hints") / "copy.onnx")


@pytest.fixture
def run(copy_model: Path, capsys: pytest.CaptureFixture):
    def _run(*args: str | Path) -> tuple[int, str, str]:
        code = main([str(a) for a in args] + ["--model", str(copy_model), "--threads", "1"])
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def flat(path: Path, width: int = 120, height: int = 80) -> Path:
    Image.fromarray(np.full((height, width), 128, np.uint8)).save(path)
    return path


def write_hints(photo: Path, points: list[dict], name: str | None = None) -> Path:
    path = photo.with_name(name or photo.name + ".hints.json")
    path.write_text(json.dumps({"version": 1, "points": points}))
    return path


def ab_at(path: Path, x: int, y: int) -> np.ndarray:
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), np.float32) / 255.0
    return colour.rgb_to_lab(rgb)[y, x, 1:]


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_sidecars_are_picked_up_and_reported(tmp_path: Path, run) -> None:
    photos = tmp_path / "in"
    photos.mkdir()
    hinted = flat(photos / "a.png")
    flat(photos / "b.png")
    sidecar = write_hints(hinted, [{"x": 0.5, "y": 0.25, "color": RED}, {"x": 0.1, "y": 0.9, "color": "#2050c0"}])
    before = fingerprint(sidecar)
    out, report = tmp_path / "out", tmp_path / "report.json"

    code, stdout, stderr = run(photos, "-o", out, "--render-size", "120", "--json", report)

    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["a_color.png", "b_color.png"]  # the sidecar is no photo
    assert "done 2, skipped 0, failed 0" in stdout and "; 1 with hints" in stdout
    np.testing.assert_allclose(ab_at(out / "a_color.png", 60, 20), parse_colour(RED), atol=2.0)
    assert np.abs(ab_at(out / "b_color.png", 60, 20)).max() < 1.0
    files = {Path(f["input"]).name: f for f in json.loads(report.read_text())["files"]}
    assert files["a.png"]["hints"] == 2 and files["b.png"]["hints"] == 0
    assert fingerprint(sidecar) == before  # read, never rewritten


def test_no_hints_ignores_sidecars(tmp_path: Path, run) -> None:
    photo = flat(tmp_path / "a.png")
    write_hints(photo, [{"x": 0.5, "y": 0.25, "color": RED}])
    code, stdout, _ = run(photo, "-o", tmp_path / "out", "--render-size", "120", "--no-hints")
    assert code == 0 and "; 0 with hints" in stdout
    assert np.abs(ab_at(tmp_path / "out" / "a_color.png", 60, 20)).max() < 1.0


def test_hints_file_for_a_single_input(tmp_path: Path, run) -> None:
    photo = flat(tmp_path / "a.png")
    write_hints(photo, [{"x": 0.5, "y": 0.25, "color": "#00ff00"}])  # its sidecar, overridden by --hints
    given = write_hints(photo, [{"x": 0.5, "y": 0.25, "color": RED}], name="mine.json")
    code, _, _ = run(photo, "-o", tmp_path / "out", "--render-size", "120", "--hints", given)
    assert code == 0
    np.testing.assert_allclose(ab_at(tmp_path / "out" / "a_color.png", 60, 20), parse_colour(RED), atol=2.0)


def test_hints_file_with_several_inputs_is_a_usage_error(tmp_path: Path, run) -> None:
    first, second = flat(tmp_path / "a.png"), flat(tmp_path / "b.png")
    given = write_hints(first, [], name="h.json")
    code, _, stderr = run(first, second, "--hints", given)
    assert code == 2 and "--hints goes with a single input photo" in stderr
    assert not list(tmp_path.glob("*_color*"))


def test_hints_and_no_hints_together_is_a_usage_error(tmp_path: Path, run) -> None:
    photo = flat(tmp_path / "a.png")
    code, _, _ = run(photo, "--hints", tmp_path / "h.json", "--no-hints")
    assert code == 2


@pytest.mark.parametrize(("contents", "reason"), [
    ("{oops", "not valid JSON"),
    ('{"version": 1, "points": [{"x": 1.5, "y": 0.5, "color": "#fff"}]}', '"x" is 1.5, outside 0..1'),
    ('{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "rgb(1,2,3)"}]}', "not an sRGB hex colour"),
    ('{"version": 1, "points": [{"x": "left", "y": 0.5, "color": "#fff"}]}', '"x" must be a number'),
    ('{"version": 9, "points": []}', "version 9 is newer"),
])
def test_a_bad_sidecar_fails_its_photo_and_the_batch_goes_on(tmp_path: Path, run, contents: str,
                                                            reason: str) -> None:
    photos = tmp_path / "in"
    photos.mkdir()
    bad, good = flat(photos / "a.png"), flat(photos / "b.png")
    sidecar = photos / "a.png.hints.json"
    sidecar.write_text(contents)
    before = fingerprint(sidecar)
    out = tmp_path / "out"

    code, stdout, stderr = run(photos, "-o", out)

    assert code == 1
    assert f"error: {bad}: hints: a.png.hints.json: " in stderr and reason in stderr
    assert sorted(p.name for p in out.iterdir()) == ["b_color.png"]  # nothing half-written for a.png
    assert "done 1, skipped 0, failed 1" in stdout
    assert fingerprint(sidecar) == before
    assert good.exists()


def test_a_sidecar_named_as_input_or_matched_by_a_glob_is_not_a_photo(tmp_path: Path, run) -> None:
    photo = flat(tmp_path / "a.png")
    write_hints(photo, [])
    odd = tmp_path / "b.png.hints.json"  # a sidecar whose photo is missing
    odd.write_text('{"version": 1, "points": []}')
    code, stdout, _ = run(str(tmp_path / "*"), "-o", tmp_path / "out")
    assert code == 0 and "done 1, skipped 0, failed 0" in stdout
