"""CIE Lab conversion and the network's normalisation, shared by the trainer and the engine.

Both sides import this one module so that a train/infer mismatch (the classic silent bug of colorization)
cannot happen: the trainer builds its (L, ab) pairs with these functions and the engine undoes them with
the same constants. OpenCV does the colour maths (sRGB companding, D65 white); we only fix the ranges.
"""

from __future__ import annotations

import cv2
import numpy as np

#: L* lies in [0, 100]; the network sees it in [-1, 1].
L_CENTER = 50.0
L_RANGE = 50.0
#: a*, b* of sRGB colours lie within about +-128; the network predicts them divided by this.
AB_SCALE = 110.0


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (H, W, 3, float32) to CIE Lab (L in [0, 100], a*b* about +-128), float32."""
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE Lab to sRGB, float32, *not* clipped: callers decide how to bring colours into gamut."""
    lab = np.ascontiguousarray(lab, dtype=np.float32)
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)


def rgb_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """L* of an sRGB image in [0, 1]: what a colour or tinted scan is reduced to before colorizing."""
    return rgb_to_lab(rgb)[..., 0]


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] to uint8 with rounding (cv2 saturates, so out-of-range values clip)."""
    return cv2.convertScaleAbs(np.asarray(x, dtype=np.float32), alpha=255.0)


def normalize_l(lightness: np.ndarray) -> np.ndarray:
    """L* [0, 100] -> network input [-1, 1]."""
    return ((np.asarray(lightness, dtype=np.float32) - L_CENTER) / L_RANGE).astype(np.float32, copy=False)


def denormalize_l(l_norm: np.ndarray) -> np.ndarray:
    return (np.asarray(l_norm, dtype=np.float32) * L_RANGE + L_CENTER).astype(np.float32, copy=False)


def normalize_ab(ab: np.ndarray) -> np.ndarray:
    """a*b* -> network target (about [-1, 1])."""
    return (np.asarray(ab, dtype=np.float32) / AB_SCALE).astype(np.float32, copy=False)


def denormalize_ab(ab_norm: np.ndarray) -> np.ndarray:
    """Network output -> a*b*."""
    return (np.asarray(ab_norm, dtype=np.float32) * AB_SCALE).astype(np.float32, copy=False)
