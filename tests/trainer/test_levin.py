"""The evaluation's Levin et al. (2004) baseline: hints spread within regions, not across edges."""

from __future__ import annotations

import numpy as np

from engine.hints import Hint, rasterise
from trainer.levin import levin_colorize


def test_two_hints_colour_their_own_flat_regions() -> None:
    height, width = 40, 64
    lightness = np.full((height, width), 30.0, np.float32)
    lightness[:, 32:] = 75.0
    red, blue = (45.0, 30.0), (10.0, -45.0)
    planes = rasterise([Hint(6, 30, *red), Hint(58, 5, *blue)], (width, height), (width, height))
    ab = levin_colorize(lightness, planes.ab, planes.mask)
    # Levin's affinities at the edge pixels (their window straddles the step) let a little leak across: within
    # 2.5 units of a*b*, against the 35 and 75 that separate the two hints.
    np.testing.assert_allclose(ab[:, :31], np.broadcast_to(red, (height, 31, 2)), atol=2.5)
    np.testing.assert_allclose(ab[:, 33:], np.broadcast_to(blue, (height, 31, 2)), atol=2.5)


def test_no_hints_is_no_colour() -> None:
    lightness = np.random.default_rng(1).uniform(0, 100, (20, 30)).astype(np.float32)
    ab = levin_colorize(lightness, np.zeros((20, 30, 2), np.float32), np.zeros((20, 30), np.float32))
    assert ab.shape == (20, 30, 2) and not ab.any()
