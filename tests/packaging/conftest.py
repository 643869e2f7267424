"""Packaging test fixtures: the build-time helper modules, loaded by path like build.spec does."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the self-test's window check runs Qt

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def load_packaging_module(name: str) -> ModuleType:
    # packaging/ is no Python package (it would shadow PyPI's `packaging`), so load it the way build.spec does.
    spec = importlib.util.spec_from_file_location(f"rechroma_{name}", ROOT / "packaging" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def spec_helpers() -> ModuleType:
    return load_packaging_module("spec_helpers")


@pytest.fixture(scope="session")
def slim_linux() -> ModuleType:
    return load_packaging_module("slim_linux")
