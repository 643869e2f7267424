"""Hint sidecar files (<photo file name>.hints.json): the format, and a clear reason for every bad one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.hints import FractionHint, HintsError, parse_colour
from engine.sidecar import hints_for_photo, is_sidecar, parse_sidecar, read_sidecar, sidecar_path


def test_sidecar_sits_beside_the_photo_under_its_full_name() -> None:
    assert sidecar_path(Path("scans/scan01.tif")) == Path("scans/scan01.tif.hints.json")
    assert is_sidecar("scan01.tif.hints.json") and is_sidecar("X.JPG.HINTS.JSON")
    assert not is_sidecar("scan01.tif") and not is_sidecar("hints.json.png")


def test_the_issues_example_parses_and_unknown_keys_are_ignored() -> None:
    text = json.dumps({"version": 1, "author": "me", "points": [
        {"x": 0.412, "y": 0.273, "color": "#a4633c", "label": "dress"},
        {"x": 0, "y": 1, "color": "#FFF"},
    ]})
    a, b = parse_colour("#a4633c")
    white = parse_colour("#ffffff")
    assert parse_sidecar(text) == [FractionHint(0.412, 0.273, a, b), FractionHint(0.0, 1.0, *white)]
    assert a > 10 and b > 20  # a brown: red-yellow
    assert abs(white[0]) < 0.1 and abs(white[1]) < 0.1


def test_no_points_is_no_hints() -> None:
    assert parse_sidecar('{"version": 1, "points": []}') == []


@pytest.mark.parametrize(("text", "reason"), [
    ("{not json", "not valid JSON"),
    ("", "not valid JSON"),
    ('[{"x": 0.5}]', "expected a JSON object"),
    ('{"points": []}', '"version" must be a whole number'),
    ('{"version": "1", "points": []}', '"version" must be a whole number'),
    ('{"version": true, "points": []}', '"version" must be a whole number'),
    ('{"version": 2, "points": []}', "version 2 is newer than this Rechroma reads"),
    ('{"version": 0, "points": []}', "version 0 does not exist"),
    ('{"version": 1}', 'no "points"'),
    ('{"version": 1, "points": {"x": 1}}', '"points" must be a list'),
    ('{"version": 1, "points": [[0.5, 0.5]]}', "point 1: expected an object"),
    ('{"version": 1, "points": [{"x": 0.5, "color": "#fff"}]}', 'point 1: no "y"'),
    ('{"version": 1, "points": [{"x": 0.5, "y": 0.5}]}', 'point 1: no "color"'),
    ('{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "#fff"}, {"x": 1.2, "y": 0.5, "color": "#fff"}]}',
     'point 2: "x" is 1.2, outside 0..1'),
    ('{"version": 1, "points": [{"x": 0.5, "y": -0.1, "color": "#fff"}]}', '"y" is -0.1, outside 0..1'),
    ('{"version": 1, "points": [{"x": NaN, "y": 0.5, "color": "#fff"}]}', '"x" is nan, outside 0..1'),
    ('{"version": 1, "points": [{"x": "0.5", "y": 0.5, "color": "#fff"}]}', '"x" must be a number'),
    ('{"version": 1, "points": [{"x": true, "y": 0.5, "color": "#fff"}]}', '"x" must be a number'),
    ('{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "red"}]}', "not an sRGB hex colour"),
    ('{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "#12345"}]}', "not an sRGB hex colour"),
    ('{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": 16711680}]}', "not an sRGB hex colour"),
])
def test_bad_sidecars_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(HintsError, match=reason.replace("(", r"\(").replace(".", r"\.")):
        parse_sidecar(text)


def test_reading_names_the_file_and_never_changes_it(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg.hints.json"
    path.write_bytes(b'{"version": 1, "points": [{"x": 2, "y": 0, "color": "#000"}]}')
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    with pytest.raises(HintsError, match=r'^a\.jpg\.hints\.json: point 1: "x" is 2'):
        read_sidecar(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_not_utf8_and_missing_and_folder(tmp_path: Path) -> None:
    (tmp_path / "bin.hints.json").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    with pytest.raises(HintsError, match="not valid JSON"):
        read_sidecar(tmp_path / "bin.hints.json")
    with pytest.raises(HintsError, match="no such file"):
        read_sidecar(tmp_path / "gone.hints.json")
    (tmp_path / "dir.hints.json").mkdir()
    with pytest.raises(HintsError, match="is a folder"):
        read_sidecar(tmp_path / "dir.hints.json")


def test_hints_for_photo_finds_the_sidecar_or_none(tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    assert hints_for_photo(photo) is None
    sidecar_path(photo).write_text('{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "#ff0000"}]}')
    assert len(hints_for_photo(photo)) == 1
    assert hints_for_photo(photo, use_sidecars=False) is None
    other = tmp_path / "other.json"
    other.write_text('{"version": 1, "points": []}')
    assert hints_for_photo(photo, explicit=other) == []
