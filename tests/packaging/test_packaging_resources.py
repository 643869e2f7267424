"""Where the bundle finds its resources: the source tree, or PyInstaller's unpack folder when frozen."""

from __future__ import annotations

import sys
from pathlib import Path

from engine import resources
from engine.model import default_model_path

ROOT = Path(__file__).resolve().parents[2]


def test_from_source_resources_are_the_repository_folder():
    assert resources.resources_dir() == ROOT / "resources"
    assert resources.icons_dir() == ROOT / "resources" / "icons"
    assert (resources.icons_dir() / "rechroma.svg").is_file()  # the SVG the bundle's self-test renders


def test_frozen_resources_are_under_meipass(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delenv(resources.MODELS_DIR_ENV, raising=False)
    assert resources.resources_dir() == tmp_path / "resources"
    assert resources.models_dir() == tmp_path / "resources" / "models"
    assert resources.samples_dir() == tmp_path / "resources" / "samples"


def test_frozen_bundle_finds_its_shipped_model(monkeypatch, tmp_path, standin_model):
    models = tmp_path / "resources" / "models"
    models.mkdir(parents=True)
    shipped = models / "rechroma-test.onnx"
    shipped.write_bytes(standin_model.read_bytes())
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delenv(resources.MODELS_DIR_ENV, raising=False)
    assert default_model_path() == shipped


def test_meipass_alone_is_not_frozen(monkeypatch, tmp_path):
    """A stray _MEIPASS (e.g. a parent bundle's) must not redirect a source run."""
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert resources.resources_dir() == ROOT / "resources"


def test_models_dir_override_wins_when_frozen(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    monkeypatch.setenv(resources.MODELS_DIR_ENV, str(tmp_path / "mine"))
    assert resources.models_dir() == tmp_path / "mine"
