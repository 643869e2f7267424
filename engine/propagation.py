"""Edge-aware spreading of hint colours along the photo's structure, and how it meets the model's colour.

Levin, Lischinski & Weiss (2004) spread hints by weighted least squares: neighbouring pixels of similar
lightness get similar a*b*. OpenCV contrib's fast global smoother (Min et al. 2014) solves the same family of
problems in linear time, so here it runs in *normalised* form: smooth (hint a*b* x mask) and the mask alike
with L* as the guide, then divide. The quotient is the hints' colour carried along edges; the smoothed mask
says how much hint reached each pixel, which gives the confidence.

A model that takes no hints (contract version 1, or version 2 without hint inputs) still serves hint mode:
its automatic a*b* fill in where the confidence is low (see :func:`blend`). Parameters were tuned on
validation photos, never on the reserved held-out set (docs/hints.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.hints import HintPlanes

#: Smoothness weight of the fast global smoother: large enough that one hint fills its region.
LAMBDA = 5e5
#: Range (guide in 0..255, L* x 2.55) over which a lightness step still counts as "the same region".
SIGMA = 1.5
#: The confidence is raised to this power before it weights the propagation against the model's colour.
BLEND_GAMMA = 0.5


@dataclass
class Propagation:
    """The hints' a*b* spread over the render grid, and how strongly hints reach each pixel (0..1)."""

    ab: np.ndarray  #: h x w x 2 float32 a*b*
    confidence: np.ndarray  #: h x w float32 in [0, 1]: 1 on and around hints, falls off across edges


def guide_of(lightness: np.ndarray) -> np.ndarray:
    """The smoother's 8-bit guide: L* [0, 100] -> 0..255."""
    return cv2.convertScaleAbs(lightness, alpha=2.55)


def propagate(lightness: np.ndarray, planes: HintPlanes, *, lam: float = LAMBDA, sigma: float = SIGMA) -> Propagation:
    """Spread ``planes`` (drawn on the same grid as ``lightness``, h x w L*) along the photo's edges.

    The confidence is the smoothed mask relative to what the hints that reach a pixel have at home: inside a
    hint's own region it is about 1 (however big the region, since the smoother spreads the mask evenly
    there), and it drops where the mask had to leak across an edge to get there.
    """
    if lightness.shape != planes.mask.shape:
        raise ValueError(f"hint planes {planes.mask.shape} do not match the guide {lightness.shape}")
    if planes.count == 0 or not planes.mask.any():
        return Propagation(np.zeros((*lightness.shape, 2), np.float32), np.zeros(lightness.shape, np.float32))
    guide = guide_of(lightness)
    mask = planes.mask
    stack = cv2.merge([planes.ab[..., 0] * mask, planes.ab[..., 1] * mask, mask])
    a_sum, b_sum, reach = cv2.split(cv2.ximgproc.fastGlobalSmootherFilter(guide, stack, lam, sigma))
    # cv2.divide gives 0 where the divisor is 0: far across strong edges the smoothed mask underflows to 0,
    # and no colour is known there.
    ab = cv2.merge([cv2.divide(a_sum, reach), cv2.divide(b_sum, reach)])
    # "home": the mask level at the hints that reach a pixel, spread the same way (normalised), so the
    # confidence reach / home is reach^2 / smooth(reach x mask).
    home_sum = cv2.ximgproc.fastGlobalSmootherFilter(guide, cv2.multiply(reach, mask), lam, sigma)
    confidence = np.minimum(cv2.divide(cv2.multiply(reach, reach), home_sum), np.float32(1.0))
    return Propagation(ab, confidence)


def blend(model_ab: np.ndarray, propagation: Propagation, gamma: float = BLEND_GAMMA) -> np.ndarray:
    """The propagation over a hint-less model's colour, weighted by the propagation's confidence."""
    weight = (propagation.confidence ** gamma)[..., None]
    return (propagation.ab * weight + model_ab * (1.0 - weight)).astype(np.float32)
