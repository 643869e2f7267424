"""Simulated user hints for training, as Zhang et al. 2017 ("Real-Time User-Guided Image Colorization") do.

A crop gets geometric(p) - 1 points (p = 1/8: about one crop in eight has none, the automatic mode), each
at a uniformly drawn spot, with the mean a*b* of a ground-truth patch of 1 to 9 px a side. The points then go
through the engine's own code (engine.hints.rasterise, engine.propagation.propagate,
engine.hint_mode.model_hint_inputs) at the crop size, so the network trains on exactly the planes the engine
will feed it.
"""

from __future__ import annotations

import numpy as np

from engine.hint_mode import model_hint_inputs
from engine.hints import Hint, rasterise
from engine.propagation import propagate

#: Side of the ground-truth patch whose mean a*b* a point takes: uniform in 1..9 px.
PATCH_SIDES = (1, 9)


def point_count(rng: np.random.Generator, p: float, max_points: int) -> int:
    """geometric(p) - 1 (P(0) = p), at most ``max_points``."""
    return min(int(rng.geometric(p)) - 1, max_points)


def draw_points(ab: np.ndarray, rng: np.random.Generator, count: int) -> list[Hint]:
    """``count`` points on an H x W x 2 a*b* image (pixel coordinates of that image)."""
    height, width = ab.shape[:2]
    hints = []
    for _ in range(count):
        side = int(rng.integers(PATCH_SIDES[0], PATCH_SIDES[1] + 1))
        side = min(side, height, width)
        row = int(rng.integers(0, height - side + 1))
        col = int(rng.integers(0, width - side + 1))
        a, b = ab[row:row + side, col:col + side].reshape(-1, 2).mean(axis=0)
        # The centre pixel of the patch (x + 0.5 lands inside it whatever rasterise rounds to).
        hints.append(Hint(col + side // 2 + 0.5, row + side // 2 + 0.5, float(a), float(b)))
    return hints


def hint_planes(lightness: np.ndarray, hints: list[Hint]) -> np.ndarray:
    """The contract's six hint channels (H x W x 6) for ``hints`` on a photo of L* ``lightness`` (H x W), computed
    at that size by the engine's functions."""
    height, width = lightness.shape
    planes = rasterise(hints, (width, height), (width, height))
    return model_hint_inputs(propagate(np.ascontiguousarray(lightness, np.float32), planes), planes)


def simulate(lightness: np.ndarray, ab: np.ndarray, rng: np.random.Generator, p: float = 0.125,
             max_points: int = 64) -> np.ndarray:
    """Hint channels for one training crop: points drawn from the true ``ab``, spread along ``lightness`` (the
    network's own input L*, degraded as it is)."""
    return hint_planes(lightness, draw_points(ab, rng, point_count(rng, p, max_points)))
