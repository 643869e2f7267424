"""Symlinked folders in a scan: followed once when asked (the app), left alone otherwise (the CLI)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from engine.photo_finder import find_photos


def make_tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Image.new("L", (8, 8), 100).save(root / "a.png")
    Image.new("L", (8, 8), 100).save(root / "sub" / "b.png")
    Image.new("L", (8, 8), 100).save(elsewhere / "c.png")
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)  # a loop back to the top
    return root


def test_follow_links_descends_into_linked_folders_once_and_gives_resolved_paths(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    found = find_photos([root], recursive=True, follow_links=True).photos
    resolved = [photo.resolved for photo in found]
    assert sorted(p.name for p in resolved) == ["a.png", "b.png", "c.png"]  # the loop adds nothing twice
    assert (tmp_path / "elsewhere" / "c.png").resolve() in resolved


def test_without_follow_links_linked_folders_are_not_scanned(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    found = find_photos([root], recursive=True).photos
    assert sorted(photo.path.name for photo in found) == ["a.png", "b.png"]
    assert all(photo.resolved == photo.path.resolve() for photo in found)
