"""NamePlanner.plan, the one planning rule of the CLI and the app's export, names as unique_path did."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.naming import NamePlanner, output_path, unique_path


@pytest.mark.parametrize("pattern", ["{stem}_color", "{stem}", "colour of {stem}"])
@pytest.mark.parametrize("name", ["scan.jpg", "scan-2.jpg", "photo.bmp"])
def test_plan_gives_the_name_unique_path_gave_for_the_apps_export(tmp_path: Path, pattern: str, name: str) -> None:
    src = tmp_path / name
    src.write_bytes(b"photo")
    first = output_path(src, tmp_path, None, pattern)
    for taken in (first, first.with_name(f"{first.stem}-2{first.suffix}")):  # the names already on disk
        if taken != src:
            taken.write_bytes(b"earlier")
        expected = unique_path(output_path(src, tmp_path, None, pattern), taken=[src])
        planned = NamePlanner([src]).plan(src, tmp_path, None, pattern, avoid_existing=True)
        assert planned == expected and not planned.exists() and planned != src


def test_a_stem_ending_in_a_number_gets_its_own_count(tmp_path: Path) -> None:
    src = tmp_path / "scan-2.jpg"
    src.write_bytes(b"photo")
    # pattern "{stem}" into the photo's own folder: the input's name is taken, "-2" follows, not "scan-3"
    assert NamePlanner([src]).plan(src, tmp_path, None, "{stem}", avoid_existing=True) == tmp_path / "scan-2-2.jpg"
