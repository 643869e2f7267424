"""tools/quantize_int8.py turns a generator into an int8 QDQ model the engine loads and that tracks the original."""

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from standin_model import make_scene

from engine.model import Generator
from engine.pipeline import lightness_of, predict_ab
from tools import quantize_int8


def _photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(count):
        paths.append(folder / f"p{i}.png")
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(make_scene(120, 160, seed=i), cv2.COLOR_RGB2BGR))
    return paths


def test_quantised_model_keeps_the_contract_and_tracks_fp32(standin_model: Path, tmp_path: Path) -> None:
    photos = _photos(tmp_path / "tune", 3)
    out = tmp_path / "q" / "int8.onnx"
    assert quantize_int8.main([str(tmp_path / "tune"), "--model", str(standin_model), "--out", str(out),
                               "--render-size", "128"]) == 0
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert not list(out.parent.glob("*.part"))
    fp32, int8 = Generator(standin_model, device="cpu"), Generator(out, device="cpu")
    assert int8.contract == fp32.contract
    lightness = lightness_of(cv2.cvtColor(cv2.imread(str(photos[0])), cv2.COLOR_BGR2RGB))
    a, b = predict_ab(lightness, fp32, render_size=128), predict_ab(lightness, int8, render_size=128)
    assert a.shape == b.shape and 0 < np.abs(a - b).mean() < 0.1 * np.abs(a).mean() + 1.0


def test_refuses_to_calibrate_on_the_held_out_set(standin_model: Path, tmp_path: Path) -> None:
    _photos(tmp_path / "holdout" / "other", 1)
    out = tmp_path / "int8.onnx"
    assert quantize_int8.main([str(tmp_path / "holdout"), "--model", str(standin_model), "--out", str(out)]) == 2
    assert not out.exists()


def test_last_convs_names_the_output_end(standin_model: Path) -> None:
    convs = [n.name for n in onnx.load(str(standin_model)).graph.node if n.op_type == "Conv"]
    if len(convs) < 2:
        pytest.skip("stand-in has fewer than two Conv layers")
    assert quantize_int8.last_convs(standin_model, 2) == convs[-2:] and quantize_int8.last_convs(standin_model, 0) == []
