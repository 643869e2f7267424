"""Shared fixtures: a stand-in ONNX generator and a folder of real-looking test photos made from numpy."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# The helpers next to this file (standin_model) must import under any pytest import mode. Tests import
# them from standin_model, not from "conftest": tests/desktop has a conftest.py of its own.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from standin_model import build_standin_model, make_scene, to_grey, to_sepia  # noqa: E402


@pytest.fixture(scope="session")
def standin_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small contract-honouring ONNX generator (about 100 KB), built once per test session."""
    return build_standin_model(tmp_path_factory.mktemp("models") / "standin.onnx")


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
