"""The layering the README states, enforced: the engine is the library (no Qt, no torch), the desktop drives the
engine only, and the trainer never reaches into the desktop. A stray import breaks the bundle's size budget or
the CLI's start-up long before anyone notices, so it fails here instead."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_loaded_by(import_line: str) -> set[str]:
    """Top-level module names present in a fresh interpreter after ``import_line``."""
    code = f"{import_line}\nimport sys\nprint('\\n'.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return set(run.stdout.split())


@pytest.mark.parametrize("import_line", ["import engine", "import engine.pipeline, engine.model, engine.photo_io",
                                         "import engine.cli"])
def test_engine_and_cli_load_neither_qt_nor_torch(import_line: str) -> None:
    loaded = _modules_loaded_by(import_line)
    assert "engine" in loaded
    assert not loaded & {"PySide6", "shiboken6", "torch", "trainer", "desktop"}, sorted(loaded)


def _imported_top_levels(package: str) -> dict[str, set[str]]:
    """For each source file of ``package``: the first-party top-level packages it imports (statically)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package,forbidden", [
    ("engine", {"desktop", "trainer", "torch", "PySide6"}),
    ("desktop", {"trainer", "torch"}),
    ("trainer", {"desktop", "PySide6"}),
])
def test_packages_import_only_downstream_layers(package: str, forbidden: set[str]) -> None:
    offenders = {path: sorted(names & forbidden) for path, names in _imported_top_levels(package).items()
                 if names & forbidden}
    assert not offenders, f"{package} must not import {sorted(forbidden)}: {offenders}"


def test_the_static_check_sees_imports() -> None:
    """Guard against a check that cannot fail: it does find the engine inside the desktop."""
    assert any("engine" in names for names in _imported_top_levels("desktop").values())
