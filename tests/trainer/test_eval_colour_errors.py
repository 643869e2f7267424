"""False-/lost-colour rates and the worst-photos list of rechroma-eval, on constructed images with known answers."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from standin_model import make_scene

pytest.importorskip("skimage")

from trainer import evaluate, metrics  # noqa: E402

GREY, RED, TINT = (128, 128, 128), (200, 40, 40), (150, 120, 120)


def _image(rows: list[tuple[int, int, int]], width: int = 10) -> np.ndarray:
    return np.repeat(np.array(rows, np.uint8)[:, None, :], width, axis=1)


def test_constructed_chromas_straddle_the_thresholds() -> None:
    c = metrics.chroma(_image([GREY, RED, TINT], 1))[:, 0]
    assert c[0] < 1 and c[1] > 60 and metrics.NEUTRAL_CHROMA < c[2] < metrics.CONFIDENT_CHROMA


def test_false_and_lost_colour_rates_by_construction() -> None:
    # Original: 4 neutral rows, 6 vivid rows. Prediction: one neutral row painted red (false colour), one tinted
    # faintly (counts as neither), three vivid rows left grey (lost colour), one vivid row only tinted (neither).
    truth = _image([GREY] * 4 + [RED] * 6)
    pred = _image([RED, TINT, GREY, GREY] + [GREY] * 3 + [TINT] + [RED] * 2)
    counts = metrics.colour_errors(pred, truth)
    assert counts == {"fc_hit": 10, "fc_base": 40, "lc_hit": 30, "lc_base": 60}
    assert metrics.pooled_rate([counts], "fc_hit", "fc_base") == 0.25
    assert metrics.pooled_rate([counts], "lc_hit", "lc_base") == 0.5
    assert metrics.colour_errors(truth, truth) == {"fc_hit": 0, "fc_base": 40, "lc_hit": 0, "lc_base": 60}


def test_rates_pool_pixels_over_photos_and_table_shows_them() -> None:
    mostly_grey = metrics.image_scores(_image([RED] + [GREY] * 9), _image([GREY] * 10))  # 10 of 100 neutral
    all_vivid = metrics.image_scores(_image([GREY] * 10), _image([RED] * 10))  # 100 of 100 vivid lost
    assert metrics.pooled_rate([mostly_grey, all_vivid], "fc_hit", "fc_base") == pytest.approx(0.1)
    assert metrics.pooled_rate([mostly_grey, all_vivid], "lc_hit", "lc_base") == 1.0
    assert np.isnan(metrics.pooled_rate([all_vivid], "fc_hit", "fc_base"))  # no neutral pixel anywhere
    rows = [dict(r, photo=f"p{i}") for i, r in enumerate([mostly_grey, all_vivid])]
    table = evaluate.markdown_table({"grey": rows, "m": rows}, "t")
    assert "false colour %" in table and "| 10.00 | 100.0 |" in table


def _row(photo: str, de00: float) -> dict:
    return {"photo": photo, "de00": de00, "fc_hit": 1.0, "fc_base": 4.0}


def test_worst_list_ranks_harm_against_grey_and_skips_helped_photos() -> None:
    grey = [_row(f"p{i}.jpg", 10.0) for i in range(13)]
    model_de = [9.0, 12.0, 10.5, 20.0, 8.0, 11.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0]
    results = {"grey": grey, "m": [_row(f"p{i}.jpg", d) for i, d in enumerate(model_de)]}
    worst = evaluate.worst_photos(results, "m")
    assert [i for i, _ in worst] == [3, 12, 11, 10, 9, 8, 7, 6, 1, 5]  # the ten largest increases, worst first
    assert worst[0][1] == pytest.approx(10.0)
    assert evaluate.worst_photos(results, "m", 20)[-1][0] == 2  # p0 and p4 beat grey: never listed
    table = evaluate.worst_table(results, "m")
    assert "| p3.jpg | 10.00 | 20.00 | +10.00 | 25.0 |" in table and "p0.jpg" not in table
    helped = {"grey": grey[:2], "m": [_row("p0.jpg", 1.0), _row("p1.jpg", 2.0)]}
    assert evaluate.worst_photos(helped, "m") == [] and "no photo is worse" in evaluate.worst_table(helped, "m")


def test_eval_lists_and_sheets_the_photos_the_model_harms(standin_model: Path, tmp_path: Path) -> None:
    # Neutral photos: grey is (almost) exact on them, so any colour the stand-in adds makes them worse than grey.
    folder = tmp_path / "photos"
    folder.mkdir()
    ramp = np.repeat(np.linspace(30, 220, 128, dtype=np.uint8)[None, :, None], 96, axis=0).repeat(3, axis=2)
    for i in range(2):
        cv2.imwrite(str(folder / f"neutral{i}.png"), np.roll(ramp, 40 * i, axis=1))
    cv2.imwrite(str(folder / "scene.png"), cv2.cvtColor(make_scene(96, 128), cv2.COLOR_RGB2BGR))
    out = tmp_path / "eval"
    assert evaluate.main([str(folder), "--model", str(standin_model), "--out", str(out)]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    worst = report.split("### Worst 10 against grey")[1]
    assert "neutral0.png" in worst and "neutral1.png" in worst
    sheet = cv2.imread(str(out / "sheet-worst.png"))
    full = cv2.imread(str(out / "sheet.png"))
    listed = worst.count(".png |")
    assert sheet is not None and listed >= 2
    assert sheet.shape[0] == 24 + listed * 164 and full.shape[0] == 24 + 3 * 164  # header + one row per photo
