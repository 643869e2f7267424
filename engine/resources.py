"""Where the shipped resources (models, samples, icons) live, from a source checkout or a frozen build."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Set to a folder to make the engine look for ``*.onnx`` models there instead of ``resources/models``.
MODELS_DIR_ENV = "RECHROMA_MODELS_DIR"


def resources_dir() -> Path:
    """``resources/`` next to the packages: repo root from source, ``sys._MEIPASS`` in a PyInstaller build."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def models_dir() -> Path:
    """The folder searched for generators; ``$RECHROMA_MODELS_DIR`` overrides it (tests, custom installs)."""
    override = os.environ.get(MODELS_DIR_ENV)
    return Path(override).expanduser() if override else resources_dir() / "models"


def samples_dir() -> Path:
    return resources_dir() / "samples"


def icons_dir() -> Path:
    return resources_dir() / "icons"
