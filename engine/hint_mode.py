"""Hint mode: from a photo's render-size L* and the user's points to the a*b* the Prediction caches.

Whatever the model, the hints are drawn at the render size and spread along edges (engine.propagation). A
hint-taking model (contract version 2 with a hint input) then gets those planes as input and has the last
word; a model without one gives its automatic colour, and the propagation is laid over it by confidence. Both
ways the model runs once, and hints are never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine import colour
from engine.contract import HINT_CHANNELS
from engine.hints import AnyHint, HintPlanes, rasterise
from engine.propagation import Propagation, blend, propagate


def model_hint_inputs(propagation: Propagation, planes: HintPlanes) -> np.ndarray:
    """The contract's hint channels (h x w x 6, in HINT_CHANNELS order), scaled as the contract says."""
    out = np.empty((*planes.mask.shape, len(HINT_CHANNELS)), np.float32)
    out[..., 0:2] = colour.normalize_ab(propagation.ab)
    out[..., 2] = propagation.confidence
    out[..., 3:5] = colour.normalize_ab(planes.ab) * planes.mask[..., None]
    out[..., 5] = planes.mask
    return out


def hinted_ab(
    small_lightness: np.ndarray,
    hints: Sequence[AnyHint],
    photo_size: tuple[int, int],
    run_model: Callable[[np.ndarray | None], np.ndarray],
    takes_hints: bool,
) -> np.ndarray:
    """a*b* at the render size for ``hints`` on a photo of ``photo_size`` (width, height).

    ``run_model(hint_inputs)`` runs the generator once on the render-size L* (hint inputs, h x w x 6, only
    for a hint-taking model) and returns its render-size a*b*.
    """
    height, width = small_lightness.shape
    planes = rasterise(hints, photo_size, (width, height))  # raises HintsError before any model run
    propagation = propagate(small_lightness, planes)
    if takes_hints:
        return run_model(model_hint_inputs(propagation, planes))
    return blend(run_model(None), propagation)
