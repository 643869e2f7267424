"""tools/ablation_table.py reads rechroma-eval's own reports: one row per run and set, people and other apart."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from standin_model import make_scene

pytest.importorskip("skimage")

from tools import ablation_table  # noqa: E402
from trainer import evaluate  # noqa: E402


def test_rows_come_from_a_real_report(standin_model: Path, tmp_path: Path, capsys) -> None:
    for group, count in (("people", 1), ("other", 2)):
        (tmp_path / "holdout" / group).mkdir(parents=True)
        for i in range(count):
            cv2.imwrite(str(tmp_path / "holdout" / group / f"{i}.png"), make_scene(64, 96, seed=i))
    blobs = [cv2.imencode(".jpg", make_scene(64, 96, seed=9 + i))[1] for i in range(2)]
    pack = tmp_path / "pack.npz"
    np.savez(pack, jpeg=np.concatenate(blobs).astype(np.uint8), offsets=np.cumsum([0] + [len(b) for b in blobs]),
             split=np.array([1, 1], np.uint8), people=np.array([1, 0], np.uint8), name=np.array(["a.jpg", "b.jpg"]))
    out = tmp_path / "run-a" / "eval"
    assert evaluate.main([str(tmp_path / "holdout"), "--pack", str(pack), "--model", str(standin_model),
                          "--out", str(out)]) == 0
    tables = ablation_table.read_report(out / "report.md")
    per_set = {(s, g) for s in ("val split", "holdout") for g in ("all", "people", "other")}
    assert per_set <= set(tables)  # besides the pooled tables ("all", ...) over both sets
    assert tables[("val split", "people")] != tables[("holdout", "people")]
    assert all(row["model"] != "grey" for row in tables.values())

    assert ablation_table.main([str(out / "report.md")]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| run-a |")]
    assert [row.split("|")[2].strip() for row in rows] == ["val split", "holdout"]
