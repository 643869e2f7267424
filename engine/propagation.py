"""Edge-aware spreading of hint colours along the photo's structure, and how it meets the model's colour.

Levin, Lischinski & Weiss (2004) spread hints by weighted least squares: neighbouring pixels of similar
lightness get similar a*b*. OpenCV contrib's fast global smoother (Min et al. 2014) solves the same family of
problems in linear time, so here it runs in *normalised* form: smooth (hint a*b* x mask) and the mask alike
with L* as the guide, then divide. The quotient is the hints' colour carried along edges; the smoothed mask
says how much hint reached each pixel, which gives the confidence.

One normalised pass has a single reach, and neither reach is right everywhere: a short one keeps each hint's
colour near it but lets whichever hint leaks furthest colour a region no hint sits in (a streak of a peak's
orange in the sky above it), a long one gives regions their own hints' colour but averages neighbouring hints.
Levin's solve has no length scale and keeps every hint exact. So :func:`propagate` runs three passes (tuned on
validation photos, never on the reserved held-out set; docs/hints.md):

1. a long-reach pass for the colour of regions far from any hint;
2. the short-reach pass, laid over it where its confidence says the hints reach without crossing an edge;
3. a shorter, sharper pass of what is still off at the hints themselves (the residual), added, which pulls
   the result towards the hints' own colour as Levin's hard constraints do.

The first and third run on a half-size grid (a quarter of the work; their results are smooth anyway, and the
residual measured no worse there), which keeps the whole within the speed budget.

A model that takes no hints (contract version 1, or version 2 without hint inputs) still serves hint mode:
its automatic a*b* fill in where the confidence is low (see :func:`blend`).
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
#: The long-reach pass: lambda and sigma relative to the short pass's. Tuned on validation photos; a wider
#: sigma (1.5x) scored the same there but let colour cross strong edges on a synthetic two-region photo.
COARSE_LAMBDA = 5.0 / LAMBDA_PER_AREA
COARSE_SIGMA = 1.0
#: The residual pass: lambda and sigma relative to the short pass's.
RESIDUAL_LAMBDA = 0.1 / LAMBDA_PER_AREA
RESIDUAL_SIGMA = 0.5
#: The propagation's weight over a hint-less model's colour is confidence ** (this / hints ** BLEND_HINT_POWER):
#: where hints reach only weakly, one hint's colour is a worse guess than the model's, but with more hints the
#: nearest hints' colour wins even across edges (tuned on validation photos; see docs/hints.md).
BLEND_GAMMA_ONE_HINT = 0.3
BLEND_HINT_POWER = 0.7
#: The smoother's alternating 1-D passes per call (OpenCV's default, 3), in every pass.
ITERATIONS = 3
#: How the smoother's lambda changes between its iterations (OpenCV's ``lambda_attenuation``): 0.25 (OpenCV's
#: default) in the short pass, 3 in the two half-size passes. The half-size value is the one the tuning and
#: both measured curves ran with (docs/hints.md); it reached OpenCV positionally, where the tuning had meant
#: an iteration count, and is now named so that what runs is what was measured.
ATTENUATION = 0.25
HALF_SIZE_ATTENUATION = 3.0
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

    ``lam`` and ``sigma`` are the short-reach pass's lambda and sigma (the long-reach and residual passes
    follow them); by default lambda follows the number of hints (:data:`LAMBDA_PER_AREA`).

    The confidence is the short pass's smoothed mask relative to what the hints that reach a pixel have at
    home: inside a hint's own region it is about 1 (however big the region, since the smoother spreads the
    mask evenly there), and it drops where the mask had to leak across an edge to get there.
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

    far = _half_size_pass(guide, stack, lam * COARSE_LAMBDA, sigma * COARSE_SIGMA)

    smoother = cv2.ximgproc.createFastGlobalSmootherFilter(guide, lam, sigma, ATTENUATION, ITERATIONS)
    smooth = smoother.filter(stack)
    reach = smooth[..., 2]
    # Far across strong edges the smoothed mask falls to float32's denormals, where quotients are noise, or
    # to 0 (or rings a hair below it): no colour is known there.
    reached = reach >= _UNREACHED
    near = _divide(smooth[..., :2], reach, reached)
    # "home": the mask level at the hints that reach a pixel, spread the same way (normalised), so the
    # confidence reach / home is reach^2 / smooth(reach x mask).
    reach = np.where(reached, reach, np.float32(0.0))
    home_sum = smoother.filter(reach * mask)
    confidence = _divide(reach * reach, home_sum, home_sum >= _UNREACHED)
    np.clip(confidence, 0.0, 1.0, out=confidence)

    # near x weight + far x (1 - weight), in place; weight = confidence^0.5 (tuned: better than ^0.25 or ^1)
    ab = near
    ab -= far
    ab *= np.sqrt(confidence)[..., None]
    ab += far
    ab += _residual(guide, planes, ab, lam * RESIDUAL_LAMBDA, sigma * RESIDUAL_SIGMA)
    return Propagation(ab, confidence)


def _half_size_pass(guide: np.ndarray, stack: np.ndarray, lam: float, sigma: float) -> np.ndarray:
    """Normalised pass of ``stack`` (value x mask, value x mask, mask) on a half-size grid, a quarter of the
    work, brought back to full size; lambda is per full-size pixel. Used where the result is smooth anyway."""
    height, width = guide.shape
    half = ((width + 1) // 2, (height + 1) // 2)
    small = cv2.ximgproc.fastGlobalSmootherFilter(cv2.resize(guide, half, interpolation=cv2.INTER_AREA),
                                                   cv2.resize(stack, half, interpolation=cv2.INTER_AREA),
                                                   lam / 4.0, sigma, lambda_attenuation=HALF_SIZE_ATTENUATION,
                                                   num_iter=ITERATIONS)
    reach = small[..., 2]
    ab = _divide(small[..., :2], reach, reach >= _UNREACHED)
    return cv2.resize(ab, (width, height), interpolation=cv2.INTER_LINEAR)


def _residual(guide: np.ndarray, planes: HintPlanes, ab: np.ndarray, lam: float, sigma: float) -> np.ndarray:
    """What ``ab`` still misses at the hints, spread (normalised) with a short reach."""
    mask = planes.mask
    missing = (planes.ab - ab) * mask[..., None]
    return _half_size_pass(guide, cv2.merge([missing[..., 0], missing[..., 1], mask]), lam, sigma)


def _divide(num: np.ndarray, den: np.ndarray, where: np.ndarray) -> np.ndarray:
    """num / den[..., None] where ``where`` (h x w), else 0 (OpenCV 5's cv2.divide gives inf for a 0 divisor,
    and numpy's masked divide is several times slower than this)."""
    inverse = np.maximum(den, _UNREACHED)
    np.reciprocal(inverse, out=inverse)
    inverse *= where
    if num.ndim == 3:
        return cv2.multiply(num, cv2.merge([inverse] * num.shape[2]))
    return cv2.multiply(num, inverse)


def blend(model_ab: np.ndarray, propagation: Propagation, hints: int) -> np.ndarray:
    """The propagation of ``hints`` points over a hint-less model's colour, weighted by its confidence."""
    exponent = np.float32(BLEND_GAMMA_ONE_HINT / max(1, hints) ** BLEND_HINT_POWER)
    weight = (propagation.confidence ** exponent)[..., None]
    return (propagation.ab * weight + model_ab * (1.0 - weight)).astype(np.float32)
