"""rechroma-eval --hints: simulated points as the issue fixes them, and the curve with its four rows."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from standin_model import make_scene

pytest.importorskip("skimage")

from engine import colour  # noqa: E402
from trainer import evaluate, hint_eval  # noqa: E402


def test_simulated_points_are_fixed_per_name_nested_and_off_the_border() -> None:
    truth = make_scene(120, 200, seed=3)
    ten = hint_eval.simulate_hints(truth, 10, "a.jpg")
    assert ten == hint_eval.simulate_hints(truth, 10, "a.jpg")  # same name, same points, every run
    assert hint_eval.simulate_hints(truth, 3, "a.jpg") == ten[:3]  # 3 points are the first 3 of 10
    assert hint_eval.simulate_hints(truth, 10, "b.jpg") != ten
    for hint in ten:
        assert 0.03 <= hint.fx <= 0.97 and 0.03 <= hint.fy <= 0.97
    # Each point's colour is the original's mean a*b* over the 7x7 patch around it.
    ab = colour.rgb_to_lab(truth.astype(np.float32) / 255.0)[..., 1:]
    hint = ten[0]
    row, col = int(hint.fy * 120), int(hint.fx * 200)
    np.testing.assert_allclose((hint.a, hint.b), ab[row - 3:row + 4, col - 3:col + 4].reshape(-1, 2).mean(0),
                               atol=1e-3)


def test_hint_curve_report(standin_model: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"p{i}.png"), cv2.cvtColor(make_scene(72, 96, seed=i), cv2.COLOR_RGB2BGR))
    out = tmp_path / "eval"
    assert evaluate.main([str(folder), "--model", str(standin_model), "--out", str(out), "--hints", "0,3,10",
                          "--render-size", "96", "--levin-size", "96"]) == 0
    table = (out / "hints.md").read_text(encoding="utf-8")
    assert "(2 photos)" in table and "| points | 0 | 3 | 10 |" in table
    rows = {line.split("|")[1].strip(): [float(v) for v in line.split("|")[2:-1]]
            for line in table.splitlines()[:10] if line.startswith("| ") and "points" not in line}
    assert set(rows) == set(hint_eval.ROWS)
    grey = rows["grey"]
    # Without points the propagation and Levin give grey; with 10 true-colour points both come much closer.
    assert rows["propagation alone"][0] == pytest.approx(grey[0], abs=0.005)
    assert rows["Levin et al. 2004"][0] == pytest.approx(grey[0], abs=0.005)
    assert rows["propagation alone"][2] < 0.8 * grey[2] and rows["Levin et al. 2004"][2] < 0.8 * grey[2]


def test_hint_counts_are_checked(standin_model: Path, tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "p.png"), make_scene(40, 40))
    assert evaluate.main([str(tmp_path / "p.png"), "--model", str(standin_model), "--hints", "31"]) == 2
    assert evaluate.main([str(tmp_path / "p.png"), "--model", str(standin_model), "--hints", "ten"]) == 2


def test_a_baseline_models_hint_mode_is_judged_on_the_same_points(standin_model: Path, tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "p.png"), cv2.cvtColor(make_scene(64, 96, seed=4), cv2.COLOR_RGB2BGR))
    out = tmp_path / "eval"
    assert evaluate.main([str(tmp_path / "p.png"), "--model", str(standin_model), "--baseline", str(standin_model),
                          "--out", str(out), "--hints", "0,3", "--render-size", "96", "--levin-size", "64"]) == 0
    table = (out / "hints.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): [float(v) for v in line.split("|")[2:-1]]
            for line in table.splitlines()[:10] if line.startswith("| ") and "points" not in line}
    assert set(rows) == {*hint_eval.ROWS, hint_eval.BASELINE_ROW}
    assert rows[hint_eval.BASELINE_ROW] == rows[hint_eval.ROWS[0]]  # the same model on the same points
    assert "| hint mode vs baseline model | +0.0 % | +0.0 % |" in table
