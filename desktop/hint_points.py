"""A photo's colour hints as the app keeps them: fractions of the upright photo and an sRGB hex colour.

The same shape as a sidecar's points (engine.sidecar), so the queue store, the sidecar next to the photo
and ``rechroma-cli`` all read one format. The hex colour is kept as the user chose it (the engine uses only
its a*b*), so the swatch on screen is the colour that was picked. Qt-free: the worker imports it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import colour
from engine.hints import FractionHint, HintsError, parse_colour
from engine.sidecar import MAX_BYTES, VERSION, parse_sidecar

#: Hints a photo may carry (a saved entry with more is damaged, not hand-made).
MAX_POINTS = 10_000


@dataclass(frozen=True)
class HintPoint:
    """A known colour at fractions (x, y) of the upright photo's width and height (0..1 each)."""

    x: float
    y: float
    color: str  #: "#rrggbb", lower case

    def moved(self, x: float, y: float) -> HintPoint:
        return HintPoint(_clamp(x), _clamp(y), self.color)

    def recoloured(self, color: str) -> HintPoint:
        return HintPoint(self.x, self.y, normal_hex(color))

    def to_json(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "color": self.color}


Points = tuple[HintPoint, ...]


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def normal_hex(text: str) -> str:
    """``"#A63"`` or ``"#aa6633"`` -> ``"#aa6633"``; HintsError for anything else."""
    parse_colour(text)  # the engine's own check
    digits = text.strip()[1:].lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def points_from_json(value: Any) -> Points:
    """Points from a JSON list of {"x", "y", "color"}, checked as a sidecar's are; ValueError naming the bad one."""
    if not isinstance(value, list):
        raise ValueError(f"hints {value!r:.40} is not a list")
    if not value:  # most saved photos have none: no sidecar round trip (it was a third of a 50,000-row restore)
        return ()
    if len(value) > MAX_POINTS:
        raise ValueError(f"hints has {len(value)} points (at most {MAX_POINTS})")
    try:
        parse_sidecar(json.dumps({"version": VERSION, "points": value}))
    except (HintsError, TypeError, ValueError) as exc:
        raise ValueError(f"hints: {exc}") from None
    return tuple(HintPoint(float(p["x"]), float(p["y"]), normal_hex(p["color"])) for p in value)


def points_to_json(points: Iterable[HintPoint]) -> list[dict[str, Any]]:
    return [point.to_json() for point in points]


def sidecar_bytes(points: Iterable[HintPoint]) -> bytes:
    """A version 1 sidecar file's contents."""
    return (json.dumps({"version": VERSION, "points": points_to_json(points)}, indent=1) + "\n").encode("utf-8")


def read_points(path: Path) -> Points:
    """The points of the sidecar at ``path``, read once and checked by the CLI's own parser (HintsError with
    the file's name and the reason, worded as ``rechroma-cli`` words it)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise HintsError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise HintsError(f"{path.name}: larger than {MAX_BYTES >> 20} MB, not a hint file")
    try:
        parse_sidecar(raw)
    except HintsError as exc:
        raise HintsError(f"{path.name}: {exc}") from None
    points = json.loads(raw)["points"]
    return tuple(HintPoint(float(p["x"]), float(p["y"]), normal_hex(p["color"])) for p in points)


def engine_hints(points: Sequence[HintPoint]) -> list[FractionHint]:
    """What ``engine.pipeline.colorize(hints=...)`` takes."""
    return [FractionHint(p.x, p.y, *parse_colour(p.color)) for p in points]


def colour_at(lightness: np.ndarray, ab: np.ndarray, x: float, y: float, strength: float = 1.0) -> str:
    """The hex colour the model gives the photo at fractions (x, y): its a*b* (3 x 3 mean at the render size)
    with the photo's own L* there, so a new hint starts as what the user sees and only needs correcting."""
    height, width = ab.shape[:2]
    col, row = min(width - 1, int(x * width)), min(height - 1, int(y * height))
    patch = ab[max(0, row - 1):row + 2, max(0, col - 1):col + 2].reshape(-1, 2).mean(axis=0) * strength
    lh, lw = lightness.shape[:2]
    light = float(lightness[min(lh - 1, int(y * lh)), min(lw - 1, int(x * lw))])
    rgb = colour.lab_to_rgb(np.array([[[light, patch[0], patch[1]]]], np.float32))[0, 0]
    return "#" + "".join(f"{int(round(float(c) * 255)):02x}" for c in np.clip(rgb, 0.0, 1.0))
