"""Shared fixtures: a stand-in ONNX generator and a folder of real-looking test photos made from numpy."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# The helpers next to this file (standin_model) must import under any pytest import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from standin_model import build_standin_model  # noqa: E402


@pytest.fixture(scope="session")
def standin_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small contract-honouring ONNX generator (about 100 KB), built once per test session."""
    return build_standin_model(tmp_path_factory.mktemp("models") / "standin.onnx")


def make_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An H x W x 3 uint8 RGB 'photo': smooth gradients, a few filled shapes and mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack(
        [
            0.5 + 0.4 * np.sin(xx / max(width, 1) * 3.0 + seed),
            0.5 + 0.4 * np.cos(yy / max(height, 1) * 2.0),
            0.3 + 0.5 * (xx + yy) / max(width + height, 1),
        ],
        axis=-1,
    )
    for _ in range(4):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(0.08, 0.25) * min(height, width)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2
        rgb[disc] = rng.uniform(0.05, 0.95, size=3)
    rgb += rng.normal(0.0, 0.02, size=rgb.shape)
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32) + 0.5).astype(np.uint8)


def to_sepia(rgb: np.ndarray) -> np.ndarray:
    grey = to_grey(rgb).astype(np.float32)[..., None] / 255.0
    tint = np.array([1.0, 0.85, 0.65], dtype=np.float32)
    return (np.clip(grey * tint, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    """A fresh folder of test photos: colour JPEG, grey JPEG and PNG, sepia JPEG, RGBA PNG, 16-bit grey PNG."""
    folder = tmp_path / "photos"
    folder.mkdir()
    colour = make_scene(240, 320, seed=1)
    Image.fromarray(colour).save(folder / "colour.jpg", quality=92)
    Image.fromarray(to_grey(make_scene(300, 200, seed=2))).save(folder / "grey.jpg", quality=92)
    Image.fromarray(to_grey(make_scene(128, 160, seed=3))).save(folder / "grey.png")
    Image.fromarray(to_sepia(make_scene(200, 260, seed=4))).save(folder / "sepia.jpg", quality=92)
    rgba = np.dstack([make_scene(96, 120, seed=5), np.linspace(0, 255, 96 * 120).reshape(96, 120).astype(np.uint8)])
    Image.fromarray(rgba).save(folder / "alpha.png")
    # 16-bit values that are not multiples of 257, so a round trip through 8 bits would show.
    grey16 = np.clip(to_grey(make_scene(90, 140, seed=6)).astype(np.int32) * 257 - 100, 0, 65535)
    Image.fromarray(grey16.astype(np.uint16)).save(folder / "deep.png")
    return folder
