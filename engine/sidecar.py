"""Hint sidecar files: ``<photo file name>.hints.json`` beside the photo, e.g. ``scan01.tif.hints.json``.

Format, version 1::

    {"version": 1, "points": [{"x": 0.412, "y": 0.273, "color": "#a4633c"}]}

x and y are fractions (0..1) of the photo's width and height as displayed, after EXIF orientation (x left to
right, y top to bottom); ``color`` is sRGB hex, of which only a*b* are used. Unknown keys are ignored, so later
writers may add their own; a higher version is refused with a reason rather than half-understood. A sidecar is
the user's work: Rechroma only ever reads it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TypeGuard

from engine.hints import FractionHint, HintsError, parse_colour

SUFFIX = ".hints.json"
VERSION = 1
#: A sidecar larger than this is not a hand-made list of points: refused before it is read into memory.
MAX_BYTES = 16 << 20


def sidecar_path(photo: Path | str) -> Path:
    """Where a photo's sidecar lives: its full file name plus ``.hints.json``."""
    photo = Path(photo)
    return photo.with_name(photo.name + SUFFIX)


def is_sidecar(path: Path | str) -> bool:
    """Whether a file is a hint sidecar by its name (folder scans must never take one for a photo)."""
    return Path(path).name.lower().endswith(SUFFIX)


def parse_sidecar(text: str | bytes) -> list[FractionHint]:
    """The points of a sidecar's contents; :class:`HintsError` with the reason when it cannot be used."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HintsError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise HintsError(f"expected a JSON object with \"version\" and \"points\", got {_kind(data)}")
    version = data.get("version")
    if not _is_integer(version):
        raise HintsError(f"\"version\" must be a whole number, got {_shown(version)}")
    if version > VERSION:
        raise HintsError(f"version {version} is newer than this Rechroma reads (version {VERSION}): "
                         "update Rechroma to use these hints")
    if version < 1:
        raise HintsError(f"version {version} does not exist (the first is 1)")
    if "points" not in data:
        raise HintsError("no \"points\" list")
    points = data["points"]
    if not isinstance(points, list):
        raise HintsError(f"\"points\" must be a list, got {_kind(points)}")
    return [_point(n, point) for n, point in enumerate(points, start=1)]


def read_sidecar(path: Path | str) -> list[FractionHint]:
    """The points of the sidecar file at ``path``."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise HintsError(f"{path.name}: no such file") from None
    except IsADirectoryError:
        raise HintsError(f"{path.name}: is a folder, not a file") from None
    except OSError as exc:
        raise HintsError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise HintsError(f"{path.name}: larger than {MAX_BYTES >> 20} MB, not a hint file")
    try:
        return parse_sidecar(raw)
    except HintsError as exc:
        raise HintsError(f"{path.name}: {exc}") from None


def hints_for_photo(photo: Path | str, explicit: Path | str | None = None,
                    use_sidecars: bool = True) -> list[FractionHint] | None:
    """The hints that go with ``photo``: from ``explicit`` if given, else from its sidecar if there is one
    (and ``use_sidecars``); None when there are none to use."""
    if explicit is not None:
        return read_sidecar(explicit)
    if not use_sidecars:
        return None
    path = sidecar_path(photo)
    if not path.exists() and not path.is_symlink():
        return None
    return read_sidecar(path)


def _point(n: int, point: object) -> FractionHint:
    if not isinstance(point, dict):
        raise HintsError(f"point {n}: expected an object with x, y and color, got {_kind(point)}")
    for key in ("x", "y", "color"):
        if key not in point:
            raise HintsError(f"point {n}: no \"{key}\"")
    coords = []
    for key in ("x", "y"):
        value = point[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise HintsError(f"point {n}: \"{key}\" must be a number, got {_shown(value)}")
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise HintsError(f"point {n}: \"{key}\" is {value}, outside 0..1 (a fraction of the photo's size)")
        coords.append(float(value))
    try:
        a, b = parse_colour(point["color"])
    except HintsError as exc:
        raise HintsError(f"point {n}: {exc}") from None
    return FractionHint(coords[0], coords[1], a, b)


def _is_integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _shown(value: object) -> str:
    return json.dumps(value) if not isinstance(value, (dict, list)) else _kind(value)
