"""Paste photo cut-outs onto training crops (issue #12, the data lever).

The pasted object becomes part of the crop before anything else happens to it: the L input (and its
degradation) and the a*b* target are both computed from the composite, so the model is taught the object's
true colour at the place where its lightness now is. Blending is in sRGB, the way the cut-out's soft alpha
edge was authored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.corpus.cutouts import resize_rgba

#: Long side of a pasted cut-out as a fraction of the crop side: from a small object to a close-up.
SCALE_RANGE = (0.2, 0.65)
#: Tux Paint stamps are small (short side ~113 px): enlarge at most this much so they stay sharp.
MAX_UPSCALE = 2.0
#: At least this share of a cut-out's width and height stays inside the crop.
MIN_VISIBLE = 0.6


def paste(crop: np.ndarray, cutout: np.ndarray, y: int, x: int) -> np.ndarray:
    """``crop`` (H x W x 3 uint8 RGB) with ``cutout`` (h x w x 4 RGBA) alpha-blended at (y, x), clipped to
    the crop; returns a new array."""
    out = crop.astype(np.float32)
    h, w = cutout.shape[:2]
    H, W = crop.shape[:2]
    y0, x0, y1, x1 = max(0, y), max(0, x), min(H, y + h), min(W, x + w)
    if y0 >= y1 or x0 >= x1:
        return crop.copy()
    part = cutout[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    a = part[..., 3:] / 255.0
    out[y0:y1, x0:x1] = part[..., :3] * a + out[y0:y1, x0:x1] * (1.0 - a)
    return (out + 0.5).astype(np.uint8)


def composite(
    crop: np.ndarray, cutouts: Sequence[np.ndarray], rng: np.random.Generator, max_count: int
) -> np.ndarray:
    """Paste 1..``max_count`` cut-outs chosen by ``rng``, each randomly scaled, flipped and placed."""
    size = min(crop.shape[:2])
    out = crop
    for _ in range(int(rng.integers(1, max_count + 1))):
        cut = cutouts[int(rng.integers(len(cutouts)))]
        h, w = cut.shape[:2]
        scale = min(rng.uniform(*SCALE_RANGE) * size / max(h, w), MAX_UPSCALE)
        cut = resize_rgba(cut, scale)
        nh, nw = cut.shape[:2]
        if rng.random() < 0.5:
            cut = cut[:, ::-1]
        y = int(rng.integers(-round(nh * (1 - MIN_VISIBLE)), out.shape[0] - round(nh * MIN_VISIBLE) + 1))
        x = int(rng.integers(-round(nw * (1 - MIN_VISIBLE)), out.shape[1] - round(nw * MIN_VISIBLE) + 1))
        out = paste(out, cut, y, x)
    return out
