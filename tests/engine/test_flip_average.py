"""Test-time flip averaging (``Generator(flip_average=True)``): the mean of the photo's and its mirror's a*b*."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from standin_model import STANDIN_CONTRACT, _save, make_scene

from engine import colour
from engine.model import Generator
from engine.photo_io import read_photo
from engine.pipeline import colorize


def build_conv_model(path: Path, kernel: np.ndarray, *, batch: int | str = "N") -> Path:
    """ab = tanh(3x3 convolution of L by ``kernel``, reflect-padded), the same kernel for a* and b*; ``batch``
    fixes N (1: a model that takes one photo at a time)."""
    weight = np.stack([kernel, kernel * 0.5])[:, None].astype(np.float32)
    nodes = [
        helper.make_node("Pad", ["L", "pads"], ["padded"], mode="reflect"),
        helper.make_node("Conv", ["padded", "w", "b"], ["conv"], kernel_shape=[3, 3]),
        helper.make_node("Tanh", ["conv"], ["ab"]),
    ]
    graph = helper.make_graph(
        nodes, "flip_test",
        [helper.make_tensor_value_info("L", TensorProto.FLOAT, [batch, 1, "H", "W"])],
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, [batch, 2, "H", "W"])],
        initializer=[numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
                     numpy_helper.from_array(weight, "w"),
                     numpy_helper.from_array(np.array([0.05, -0.03], np.float32), "b")],
    )
    return _save(graph, path, STANDIN_CONTRACT.to_metadata())


#: Mirror-symmetric: a blur. Antisymmetric: a horizontal gradient, whose mirror image is its negative.
BLUR = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 16.0 * 1.5
GRADIENT = np.array([[0, 0, 0], [-1, 0, 1], [0, 0, 0]], np.float32) * 2.0


@pytest.fixture
def l_norm() -> np.ndarray:
    rgb = make_scene(64, 96, seed=3).astype(np.float32) / 255.0
    return colour.normalize_l(colour.rgb_to_lightness(rgb)).astype(np.float32)


def test_a_mirror_symmetric_model_gives_the_same_colours(tmp_path: Path, l_norm: np.ndarray) -> None:
    path = build_conv_model(tmp_path / "blur.onnx", BLUR)
    plain = Generator(path, device="cpu").predict_ab(l_norm)
    averaged = Generator(path, device="cpu", flip_average=True).predict_ab(l_norm)
    assert np.abs(plain).max() > 5.0
    np.testing.assert_allclose(averaged, plain, atol=1e-4)


@pytest.mark.parametrize("batch", ["N", 1], ids=["batch-of-two", "one-at-a-time"])
def test_an_antisymmetric_model_averages_out(tmp_path: Path, l_norm: np.ndarray, batch) -> None:
    path = build_conv_model(tmp_path / "gradient.onnx", GRADIENT, batch=batch)
    plain = Generator(path, device="cpu").predict_ab(l_norm)
    averaged = Generator(path, device="cpu", flip_average=True).predict_ab(l_norm)
    assert np.abs(plain - plain[:, :1].mean()).max() > 5.0  # the gradient colours the photo's edges
    bias_only = colour.denormalize_ab(np.tanh(np.array([0.05, -0.03], np.float32)))
    # f(mirror x) = -mirror(f(x)) before the tanh: the average is the tanh's odd part cancelled, near the bias
    assert np.abs(averaged - bias_only).mean() < 0.2 * np.abs(plain - bias_only).mean()


def test_an_asymmetric_model_gives_the_mean_of_photo_and_mirror(standin_model: Path, l_norm: np.ndarray) -> None:
    plain_model = Generator(standin_model, device="cpu")
    plain = plain_model.predict_ab(l_norm)
    mirrored = plain_model.predict_ab(np.ascontiguousarray(l_norm[:, ::-1]))[:, ::-1]
    assert np.abs(plain - mirrored).max() > 1.0  # the random stand-in is not mirror-symmetric
    averaged = Generator(standin_model, device="cpu", flip_average=True).predict_ab(l_norm)
    np.testing.assert_allclose(averaged, (plain + mirrored) / 2, atol=1e-3)


def test_colorize_with_flip_averaging_keeps_the_photo(standin_model: Path, photo_dir: Path) -> None:
    photo = read_photo(photo_dir / "colour.jpg")
    plain = colorize(photo, Generator(standin_model, device="cpu"), render_size=96)
    averaged = colorize(photo, Generator(standin_model, device="cpu", flip_average=True), render_size=96)
    assert averaged.ab.shape == plain.ab.shape
    np.testing.assert_array_equal(averaged.lightness, plain.lightness)
    assert not np.allclose(averaged.ab, plain.ab, atol=0.1)
