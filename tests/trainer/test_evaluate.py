"""rechroma-eval end to end: grey baseline, a model through the engine, the table and the contact sheet."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from standin_model import make_scene

pytest.importorskip("skimage")

from trainer import evaluate  # noqa: E402


def _write_photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo{i}.png"
        cv2.imwrite(str(path), cv2.cvtColor(make_scene(96, 128, seed=i), cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def test_grey_baseline_keeps_lightness_and_has_no_colour(tmp_path: Path) -> None:
    truth = make_scene(64, 80)
    grey = evaluate.make_grey(truth)
    assert np.ptp(grey.astype(int), axis=2).max() <= 1  # R = G = B
    from engine.pipeline import lightness_of

    assert np.abs(lightness_of(grey) - lightness_of(truth)).mean() < 0.5


def test_evaluate_folder_writes_table_and_sheet(standin_model: Path, tmp_path: Path) -> None:
    photos = _write_photos(tmp_path / "photos", 3)
    out = tmp_path / "eval"
    assert evaluate.main([str(tmp_path / "photos"), "--model", str(standin_model), "--out", str(out)]) == 0
    table = (out / "report.md").read_text(encoding="utf-8")
    assert "| grey |" in table and "(3 photos)" in table
    sheet = cv2.imread(str(out / "sheet.png"))
    assert sheet is not None and sheet.shape[0] > 3 * 100  # a row per photo

    from engine.model import Generator

    results = evaluate.evaluate(photos, {"standin": Generator(standin_model)}, progress=False)
    grey, model = results["grey"], results["standin"]
    assert [r["photo"] for r in grey] == [str(p) for p in photos]
    assert all(r["cf_pred"] < 1.0 for r in grey)  # grey has no colour
    assert all(r["cf_pred"] > 1.0 for r in model)  # the stand-in adds some
    assert all(r["de00"] > 0 for r in grey + model)


def test_pack_val_split_is_judged(standin_model: Path, tmp_path: Path) -> None:
    blobs = [cv2.imencode(".jpg", cv2.cvtColor(make_scene(64, 96, seed=i), cv2.COLOR_RGB2BGR))[1] for i in range(3)]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    pack = tmp_path / "pack.npz"
    np.savez(pack, jpeg=np.concatenate(blobs).astype(np.uint8), offsets=offsets, split=np.array([0, 1, 1], np.uint8),
             name=np.array(["a.jpg", "b.jpg", "c.jpg"]))
    out = tmp_path / "eval"
    assert evaluate.main(["--pack", str(pack), "--model", str(standin_model), "--out", str(out)]) == 0
    assert "(2 photos)" in (out / "report.md").read_text(encoding="utf-8")


def test_strength_sweep_orders_colourfulness(standin_model: Path, tmp_path: Path) -> None:
    from engine.model import Generator

    photos = _write_photos(tmp_path / "photos", 2)
    sweep = evaluate.strength_sweep(photos, Generator(standin_model), [0.0, 1.0, 2.0])
    cf = {name: np.mean([r["cf_pred"] for r in rows]) for name, rows in sweep.items()}
    assert cf["strength 0"] < 1.0 < cf["strength 1"] < cf["strength 2"]


def test_report_breaks_results_down_by_sub_folder(standin_model: Path, tmp_path: Path) -> None:
    _write_photos(tmp_path / "photos" / "people", 1)
    _write_photos(tmp_path / "photos" / "other", 2)
    out = tmp_path / "eval"
    assert evaluate.main([str(tmp_path / "photos"), "--model", str(standin_model), "--out", str(out)]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "### Evaluation (3 photos)" in report
    assert "### Evaluation: other (2 photos)" in report and "### Evaluation: people (1 photos)" in report


def test_pack_people_flag_gives_the_val_groups(standin_model: Path, tmp_path: Path) -> None:
    blobs = [cv2.imencode(".jpg", cv2.cvtColor(make_scene(64, 96, seed=i), cv2.COLOR_RGB2BGR))[1] for i in range(4)]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    pack = tmp_path / "pack.npz"
    np.savez(pack, jpeg=np.concatenate(blobs).astype(np.uint8), offsets=offsets,
             split=np.array([0, 1, 1, 1], np.uint8), people=np.array([1, 1, 0, 0], np.uint8),
             name=np.array(["a.jpg", "b.jpg", "c.jpg", "d.jpg"]))
    out = tmp_path / "eval"
    assert evaluate.main(["--pack", str(pack), "--model", str(standin_model), "--out", str(out)]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "(3 photos)" in report and ": people (1 photos)" in report and ": other (2 photos)" in report


def test_tta_flag_judges_the_flip_averaged_model_beside_the_plain_one(standin_model: Path, tmp_path: Path) -> None:
    _write_photos(tmp_path / "photos", 2)
    out = tmp_path / "eval"
    argv = [str(tmp_path / "photos"), "--model", str(standin_model), "--tta", "--baseline", str(standin_model),
            "--baseline-name", "plain", "--out", str(out)]
    assert evaluate.main(argv) == 0
    rows = {line.split("|")[1].strip(): line for line in (out / "report.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| ")}
    assert "plain" in rows and "standin v1 + flip TTA" in rows
    assert rows["plain"].split("|")[2:] != rows["standin v1 + flip TTA"].split("|")[2:]  # a different prediction


def test_held_out_folder_and_val_split_get_tables_of_their_own(standin_model: Path, tmp_path: Path) -> None:
    _write_photos(tmp_path / "holdout" / "people", 1)
    _write_photos(tmp_path / "holdout" / "other", 1)
    blobs = [cv2.imencode(".jpg", cv2.cvtColor(make_scene(64, 96, seed=i), cv2.COLOR_RGB2BGR))[1] for i in range(3)]
    pack = tmp_path / "pack.npz"
    np.savez(pack, jpeg=np.concatenate(blobs).astype(np.uint8), offsets=np.cumsum([0] + [len(b) for b in blobs]),
             split=np.array([1, 1, 1], np.uint8), people=np.array([1, 0, 0], np.uint8),
             name=np.array(["a.jpg", "b.jpg", "c.jpg"]))
    out = tmp_path / "eval"
    assert evaluate.main([str(tmp_path / "holdout"), "--pack", str(pack), "--model", str(standin_model),
                          "--out", str(out)]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "### Evaluation (5 photos)" in report and "### Evaluation: people (2 photos)" in report
    assert "### Evaluation: holdout (2 photos)" in report and "### Evaluation: holdout: people (1 photos)" in report
    assert "### Evaluation: val split (3 photos)" in report and "### Evaluation: val split: other (2 photos)" in report
