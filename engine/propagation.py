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

#: Smoothness weight of the fast global smoother per render pixel and hint: lambda = this x h x w / hints.
#: A hint's reach grows as sqrt(lambda), so it follows the spacing between hints: one hint fills its region,
#: thirty leave each other room (measured: a fixed lambda is 1-6 % worse at 30 hints or at 1).
LAMBDA_PER_AREA = 0.7
#: Range (guide in 0..255, L* x 2.55) over which a lightness step still counts as "the same region".
SIGMA = 4.0
#: The propagation's weight over a hint-less model's colour is confidence ** (this / hints): where hints reach
#: only weakly, one hint's colour is a worse guess than the model's, but with more hints the nearest hints'
#: colour wins even across edges (tuned on validation photos; see docs/hints.md).
BLEND_GAMMA_ONE_HINT = 0.1
#: Smoothed-mask values below this are float32 denormal territory: treated as "no hint reaches here".
_UNREACHED = np.float32(1e-30)


@dataclass
class Propagation:
    """The hints' a*b* spread over the render grid, and how strongly hints reach each pixel (0..1)."""

    ab: np.ndarray  #: h x w x 2 float32 a*b*
    confidence: np.ndarray  #: h x w float32 in [0, 1]: 1 on and around hints, falls off across edges


def guide_of(lightness: np.ndarray) -> np.ndarray:
    """The smoother's 8-bit guide: L* [0, 100] -> 0..255."""
    return cv2.convertScaleAbs(lightness, alpha=2.55)


def propagate(lightness: np.ndarray, planes: HintPlanes, *, lam: float | None = None,
              sigma: float = SIGMA) -> Propagation:
    """Spread ``planes`` (drawn on the same grid as ``lightness``, h x w L*) along the photo's edges.

    ``lam`` is the smoother's lambda; by default it follows the number of hints (:data:`LAMBDA_PER_AREA`).

    The confidence is the smoothed mask relative to what the hints that reach a pixel have at home: inside a
    hint's own region it is about 1 (however big the region, since the smoother spreads the mask evenly
    there), and it drops where the mask had to leak across an edge to get there.
    """
    if lightness.shape != planes.mask.shape:
        raise ValueError(f"hint planes {planes.mask.shape} do not match the guide {lightness.shape}")
    if planes.count == 0 or not planes.mask.any():
        return Propagation(np.zeros((*lightness.shape, 2), np.float32), np.zeros(lightness.shape, np.float32))
    if lam is None:
        lam = LAMBDA_PER_AREA * lightness.size / max(1, planes.count)
    guide = guide_of(lightness)
    mask = planes.mask
    stack = cv2.merge([planes.ab[..., 0] * mask, planes.ab[..., 1] * mask, mask])
    smooth = cv2.ximgproc.fastGlobalSmootherFilter(guide, stack, lam, sigma)
    reach = smooth[..., 2]
    # Far across strong edges the smoothed mask falls to float32's denormals, where quotients are noise, or
    # to 0 (or rings a hair below it): no colour is known there.
    reached = reach >= _UNREACHED
    ab = _divide(smooth[..., :2], reach[..., None], reached[..., None])
    # "home": the mask level at the hints that reach a pixel, spread the same way (normalised), so the
    # confidence reach / home is reach^2 / smooth(reach x mask).
    home_sum = cv2.ximgproc.fastGlobalSmootherFilter(guide, np.where(reached, reach, 0.0) * mask, lam, sigma)
    confidence = _divide(np.where(reached, reach * reach, 0.0), home_sum, reached & (home_sum >= _UNREACHED))
    np.clip(confidence, 0.0, 1.0, out=confidence)
    return Propagation(ab, confidence)


def _divide(num: np.ndarray, den: np.ndarray, where: np.ndarray) -> np.ndarray:
    """num / den where ``where``, else 0 (OpenCV 5's cv2.divide gives inf for a 0 divisor, not 0)."""
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape), np.float32)
    np.divide(num, den, out=out, where=np.broadcast_to(where, out.shape))
    return out


def blend(model_ab: np.ndarray, propagation: Propagation, hints: int) -> np.ndarray:
    """The propagation of ``hints`` points over a hint-less model's colour, weighted by its confidence."""
    weight = (propagation.confidence ** np.float32(BLEND_GAMMA_ONE_HINT / max(1, hints)))[..., None]
    return (propagation.ab * weight + model_ab * (1.0 - weight)).astype(np.float32)
