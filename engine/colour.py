"""CIE Lab conversion and the network's normalisation, shared by the trainer and the engine.

Both sides import this one module so that a train/infer mismatch (the classic silent bug of colorization)
cannot happen: the trainer builds its (L, ab) pairs with these functions and the engine undoes them with
the same constants and the same (exact CIE) formulas.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

#: L* lies in [0, 100]; the network sees it in [-1, 1].
L_CENTER = 50.0
L_RANGE = 50.0
#: a*, b* of sRGB colours lie within about +-128; the network predicts them divided by this.
AB_SCALE = 110.0


#: sRGB (D65) linear RGB -> XYZ, and the D65 white OpenCV uses, so a*b* agree with cv2's Lab.
_RGB_TO_XYZ = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]], np.float32
)
_WHITE = np.array([0.950456, 1.0, 1.088754], np.float32)
_EPSILON = 216.0 / 24389.0
_KAPPA = 24389.0 / 27.0
#: The constants above, public for other implementations of the same maths (trainer.torch_colour).
SRGB_TO_XYZ, D65_WHITE, LAB_EPSILON, LAB_KAPPA = _RGB_TO_XYZ, _WHITE, _EPSILON, _KAPPA


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """The exact sRGB transfer function (OpenCV's float path uses a coarse spline: up to 0.19 L* off)."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _lab_f(t: np.ndarray) -> np.ndarray:
    return np.where(t > _EPSILON, np.cbrt(t), (_KAPPA * t + 16.0) / 116.0)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (..., 3) to CIE Lab (L in [0, 100], a*b* about +-128), float32, by the CIE formulas.

    Exact rather than cv2.cvtColor so that the trainer's L* is bit-for-bit the L* the engine computes from
    the user's photo (engine.pipeline.lightness_of implements the same formula with lookup tables). a*b*
    come from float64 XYZ and cube roots: a* = 500 (fx - fy) would magnify float32 rounding to 1e-4, and
    the trainer's torch version of this (trainer.torch_colour) must agree with it to well within that.
    """
    linear = srgb_to_linear(rgb)
    xyz = linear.astype(np.float64) @ _RGB_TO_XYZ.T.astype(np.float64) / _WHITE.astype(np.float64)
    fx, fy, fz = (_lab_f(xyz[..., i]) for i in range(3))
    ab = np.stack([500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1).astype(np.float32)
    return np.concatenate([_lightness_of_linear(linear)[..., None], ab], axis=-1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE Lab to sRGB [0, 1], float32. OpenCV's inverse is exact to 0.02 of an 8-bit level; it clips to
    [0, 1], so callers that care about gamut (the engine) bring chroma into gamut before calling it."""
    lab = np.ascontiguousarray(lab, dtype=np.float32)
    _wait_for_warm_up()
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)


_warm_up_lock = threading.Lock()
_warm_up: threading.Thread | None = None


def warm_up_lab_conversion() -> None:
    """Start OpenCV's one-off set-up of its Lab conversions on a background thread (once per process).

    The first Lab conversion in a process builds OpenCV's tables: about 150 ms of CPU, which made every
    first photo that much slower. OpenCV releases the GIL meanwhile, so started early (the pipeline does
    it on import) it overlaps with loading the model and decoding the photo. OpenCV guards that set-up
    with a plain flag, not a lock, so :func:`lab_to_rgb` waits for this thread rather than race it.
    """
    global _warm_up
    with _warm_up_lock:
        if _warm_up is None:
            lab = np.zeros((1, 1, 3), np.float32)
            _warm_up = threading.Thread(target=cv2.cvtColor, args=(lab, cv2.COLOR_Lab2RGB),
                                        name="rechroma-lab-tables")
            _warm_up.start()


def _wait_for_warm_up() -> None:
    thread = _warm_up
    if thread is not None:
        thread.join()  # at once when done; in a forked child, Python marks it done


def srgb8_to_linear_table() -> np.ndarray:
    """Linear light of every 8-bit sRGB code (256 float32): :func:`srgb_to_linear` of ``code / 255``,
    bit for bit, so a lookup in it equals the formula on uint8 pixels."""
    return srgb_to_linear(np.arange(256, dtype=np.float32) / np.float32(255.0))


def rgb8_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """L* of uint8 sRGB pixels (H x W x 3): :func:`rgb_to_lightness` of ``rgb / 255`` through a lookup table."""
    return _lightness_of_linear(srgb8_to_linear_table()[rgb])


def rgb_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """L* of an sRGB image in [0, 1]: what a colour or tinted scan is reduced to before colorizing."""
    return _lightness_of_linear(srgb_to_linear(rgb))


def _lightness_of_linear(linear: np.ndarray) -> np.ndarray:
    y = linear @ _RGB_TO_XYZ[1]
    return np.where(y > _EPSILON, 116.0 * np.cbrt(y) - 16.0, _KAPPA * y).astype(np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] to uint8, clipped and rounded."""
    return (np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


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
