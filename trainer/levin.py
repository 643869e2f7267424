"""Levin, Lischinski & Weiss, "Colorization using Optimization" (SIGGRAPH 2004): the evaluation's baseline.

Each unhinted pixel's a*b* is the affinity-weighted mean of its 3x3 neighbours', with affinities from how
alike their lightness is (a Gaussian whose width is the window's own variance, as in the authors' code);
hinted pixels keep their hint. One sparse linear system per photo, solved with scipy (LU factorisation, both
channels from one factorisation). For evaluation only: the engine spreads hints with its own linear-time
smoother (engine.propagation), which this baseline is there to keep honest.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse
from scipy.sparse.linalg import splu

_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
_MIN_VARIANCE = 2e-6  # the authors' floor, for lightness in 0..1


def levin_colorize(lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray) -> np.ndarray:
    """a*b* (h x w x 2) for L* (h x w, 0..100) from hints (h x w x 2 a*b*, valid where ``hint_mask`` > 0)."""
    height, width = lightness.shape
    n = height * width
    hinted = hint_mask.reshape(-1) > 0
    if not hinted.any():
        return np.zeros((height, width, 2), np.float32)
    y = np.pad(lightness.astype(np.float64) / 100.0, 1, mode="constant", constant_values=np.nan)
    centre = y[1:-1, 1:-1]
    shifted = np.stack([y[1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in _OFFSETS])
    valid = ~np.isnan(shifted)
    window = np.concatenate([shifted, centre[None]])
    window_valid = np.concatenate([valid, np.ones((1, height, width), bool)])
    count = window_valid.sum(axis=0)
    mean = np.where(window_valid, window, 0.0).sum(axis=0) / count
    variance = np.where(window_valid, (window - mean) ** 2, 0.0).sum(axis=0) / count
    sq_diff = np.where(valid, (shifted - centre) ** 2, np.inf)
    sigma = variance * 0.6
    # As the authors do: never so narrow that even the most similar neighbour gets a weight below 0.01.
    sigma = np.maximum(sigma, -np.min(sq_diff, axis=0) / np.log(0.01))
    sigma = np.maximum(sigma, _MIN_VARIANCE)
    weights = np.where(valid, np.exp(-sq_diff / sigma), 0.0)
    weights /= weights.sum(axis=0, keepdims=True)

    index = np.arange(n).reshape(height, width)
    rows, cols, vals = [np.arange(n)], [np.arange(n)], [np.ones(n)]
    for k, (dy, dx) in enumerate(_OFFSETS):
        target = np.full((height, width), -1)
        ys = slice(max(0, -dy), height - max(0, dy))
        xs = slice(max(0, -dx), width - max(0, dx))
        target[ys, xs] = index[max(0, dy):height - max(0, -dy), max(0, dx):width - max(0, -dx)]
        keep = valid[k].reshape(-1) & ~hinted
        rows.append(np.arange(n)[keep])
        cols.append(target.reshape(-1)[keep])
        vals.append(-weights[k].reshape(-1)[keep])
    matrix = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    rhs = np.where(hinted[:, None], hint_ab.reshape(n, 2).astype(np.float64), 0.0)
    solution = splu(matrix).solve(rhs)
    return solution.reshape(height, width, 2).astype(np.float32)
