"""Colour-quality metrics, as docs/quality.md judges a colorizer: CIEDE2000, colourfulness, PSNR, SSIM, and the
false- and lost-colour rates.

scikit-image supplies CIEDE2000, PSNR and SSIM (well-tested implementations); colourfulness (Hasler &
Suesstrunk 2003) is a two-line formula with no library home, so it is written here.
"""

from __future__ import annotations

import numpy as np
from skimage.color import deltaE_ciede2000
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from engine import colour


def as_float_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float image -> float32 sRGB in [0, 1]."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return np.clip(image.astype(np.float32), 0.0, 1.0)


def colourfulness(image: np.ndarray) -> float:
    """Hasler & Suesstrunk's colourfulness M on the 0-255 scale (grey 0, vivid photos 50-100)."""
    rgb = as_float_rgb(image).reshape(-1, 3) * 255.0
    rg = rgb[:, 0] - rgb[:, 1]
    yb = 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]
    spread = np.sqrt(rg.std() ** 2 + yb.std() ** 2)
    mean = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(spread + 0.3 * mean)


def mean_ciede2000(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean per-pixel CIEDE2000 between two sRGB images (Lab through the shared colour module)."""
    lab_p = colour.rgb_to_lab(as_float_rgb(pred)).astype(np.float64)
    lab_t = colour.rgb_to_lab(as_float_rgb(truth)).astype(np.float64)
    return float(np.mean(deltaE_ciede2000(lab_t, lab_p)))


# Chroma C* = |a*b*| thresholds of the false/lost-colour rates: below NEUTRAL_CHROMA a pixel reads as grey, above
# CONFIDENT_CHROMA as clearly coloured; the gap keeps faint tints from counting either way.
NEUTRAL_CHROMA = 8.0
CONFIDENT_CHROMA = 20.0


def chroma(image: np.ndarray) -> np.ndarray:
    """Per-pixel CIE chroma C* = sqrt(a*^2 + b*^2) of an sRGB image."""
    lab = colour.rgb_to_lab(as_float_rgb(image))
    return np.hypot(lab[..., 1], lab[..., 2])


def colour_errors(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Pixel counts behind the false-colour rate (confident colour painted where the original is neutral) and the
    lost-colour rate (the reverse): each is ``*_hit / *_base``, pooled over a set by the caller so that photos with
    few neutral (or few coloured) pixels do not swing the mean."""
    c_pred, c_true = chroma(pred), chroma(truth)
    neutral, vivid = c_true < NEUTRAL_CHROMA, c_true > CONFIDENT_CHROMA
    return {
        "fc_hit": float(np.count_nonzero(neutral & (c_pred > CONFIDENT_CHROMA))),
        "fc_base": float(np.count_nonzero(neutral)),
        "lc_hit": float(np.count_nonzero(vivid & (c_pred < NEUTRAL_CHROMA))),
        "lc_base": float(np.count_nonzero(vivid)),
    }


def pooled_rate(rows: list[dict], hit: str, base: str) -> float:
    """sum(hit) / sum(base) over per-image rows; NaN when no image has any base pixel (or rows carry no counts,
    as older per-photo results do)."""
    total = sum(r.get(base, 0.0) for r in rows)
    return float(sum(r.get(hit, 0.0) for r in rows) / total) if total else float("nan")


def psnr(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(peak_signal_noise_ratio(as_float_rgb(truth), as_float_rgb(pred), data_range=1.0))


def ssim(pred: np.ndarray, truth: np.ndarray) -> float:
    t, p = as_float_rgb(truth), as_float_rgb(pred)
    win = min(7, *t.shape[:2]) | 1  # odd window no larger than a tiny image
    return float(structural_similarity(t, p, channel_axis=2, data_range=1.0, win_size=win))


def image_scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """All metrics for one image pair (H x W x 3)."""
    return {
        "de00": mean_ciede2000(pred, truth),
        "psnr": psnr(pred, truth),
        "ssim": ssim(pred, truth),
        "cf_pred": colourfulness(pred),
        "cf_true": colourfulness(truth),
        **colour_errors(pred, truth),
    }


def val_scores(pred_rgb: np.ndarray, true_rgb: np.ndarray) -> dict[str, float]:
    """Mean metrics over a batch (N x H x W x 3, or one H x W x 3 image), used to pick checkpoints.

    `score` folds the two things docs/quality.md asks for into one number to minimise: CIEDE2000, plus a penalty when
    the outputs are less colourful than 0.9 x the originals (wrong colour costs more than none, so the penalty is
    mild and only kicks in below the target).
    """
    pred_rgb, true_rgb = np.asarray(pred_rgb), np.asarray(true_rgb)
    if pred_rgb.ndim == 3:
        pred_rgb, true_rgb = pred_rgb[None], true_rgb[None]
    rows = [image_scores(p, t) for p, t in zip(pred_rgb, true_rgb, strict=True)]
    out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    shortfall = max(0.0, 0.9 * out["cf_true"] - out["cf_pred"])
    out["score"] = out["de00"] + 0.05 * shortfall
    return out
