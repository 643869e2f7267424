"""Colour hints: points where the user knows the colour, and their rasterisation at the render size.

A hint fixes only a*b*; the photo's own L* always stays. Points are given in the upright photo's own
coordinates (after EXIF orientation): :class:`Hint` in pixels (0..width, 0..height), :class:`FractionHint` in
fractions of the width and height (what a sidecar file stores). The engine draws each point as a small patch
at the render size, which is what both the edge-aware propagation and a hint-taking model read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine import colour

#: Side, in render-size pixels, of the square each hint is drawn as (odd: centred on the hint's pixel). Tuned
#: with the propagation (docs/hints.md): 3 px averages away a stray pixel without bleeding over thin edges.
PATCH = 3
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


class HintsError(ValueError):
    """Hints that cannot be used as given (bad colour, point outside the photo, bad sidecar file)."""


def parse_colour(text: object) -> tuple[float, float]:
    """a*b* of an sRGB hex colour, ``"#a4633c"`` (or ``"#a63"``); its L* is dropped, the photo's own stays."""
    if not isinstance(text, str) or not _HEX.fullmatch(text.strip()):
        raise HintsError(f"colour {text!r} is not an sRGB hex colour like \"#a4633c\"")
    digits = text.strip()[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    rgb = np.array([int(digits[i:i + 2], 16) for i in (0, 2, 4)], np.float32) / 255.0
    _, a, b = colour.rgb_to_lab(rgb[None, None])[0, 0]
    return float(a), float(b)


@dataclass(frozen=True)
class Hint:
    """A known colour at pixel (x, y) of the upright photo; x runs left to right, y top to bottom."""

    x: float
    y: float
    a: float  #: CIE a*
    b: float  #: CIE b*

    @classmethod
    def from_hex(cls, x: float, y: float, colour_hex: str) -> Hint:
        return cls(x, y, *parse_colour(colour_hex))

    def fraction(self, size: tuple[int, int]) -> tuple[float, float]:
        """(x, y) as fractions of a (width, height) photo; outside the photo is an error, not a clamp."""
        width, height = size
        if not (math.isfinite(self.x) and math.isfinite(self.y)):
            raise HintsError(f"hint at ({self.x}, {self.y}) is not a finite point")
        if not (0.0 <= self.x <= width and 0.0 <= self.y <= height):
            raise HintsError(f"hint at ({self.x:g}, {self.y:g}) lies outside the {width}x{height} photo")
        return self.x / width, self.y / height


@dataclass(frozen=True)
class FractionHint:
    """A known colour at fractions (fx, fy) of the upright photo's width and height, as sidecars store it."""

    fx: float
    fy: float
    a: float
    b: float

    def fraction(self, size: tuple[int, int]) -> tuple[float, float]:
        if not (0.0 <= self.fx <= 1.0 and 0.0 <= self.fy <= 1.0):
            raise HintsError(f"hint at fractions ({self.fx:g}, {self.fy:g}) lies outside 0..1")
        return self.fx, self.fy


AnyHint = Hint | FractionHint


@dataclass
class HintPlanes:
    """Hints drawn at the render size: a*b* where a hint is (0 elsewhere) and the 0/1 mask of hinted pixels."""

    ab: np.ndarray  #: h x w x 2 float32 a*b*
    mask: np.ndarray  #: h x w float32, 1 on hinted pixels
    count: int  #: number of hints drawn (every one given: none is dropped)


def rasterise(hints: Sequence[AnyHint], photo_size: tuple[int, int], render_size: tuple[int, int],
              patch: int = PATCH) -> HintPlanes:
    """Draw each hint as a ``patch`` x ``patch`` square (clipped to the frame) on a (w, h) render grid.

    A hint's pixel is the render pixel its photo point falls in. Where patches overlap their colours are
    averaged, so two hints close together neither vanish nor depend on their order.
    """
    width, height = render_size
    total = np.zeros((height, width, 3), np.float32)  # a* sum, b* sum, count
    half = patch // 2
    for hint in hints:
        fx, fy = hint.fraction(photo_size)
        col = min(width - 1, int(fx * width))
        row = min(height - 1, int(fy * height))
        block = total[max(0, row - half):row + half + 1, max(0, col - half):col + half + 1]
        block[..., 0] += hint.a
        block[..., 1] += hint.b
        block[..., 2] += 1.0
    count = total[..., 2]
    mask = (count > 0).astype(np.float32)
    ab = total[..., :2] / np.maximum(count, 1.0)[..., None]
    return HintPlanes(ab=ab, mask=mask, count=len(hints))
