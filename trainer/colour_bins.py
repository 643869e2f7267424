"""a*b* as classes: the classification colour head of Zhang, Isola & Efros, "Colorful Image Colorization"
(arXiv 1603.08511).

Regression under doubt averages the plausible colours of an object into a muted brown; predicting a
distribution over quantised a*b* and decoding it with an *annealed mean* keeps one vivid colour instead. The
pieces: in-gamut bins on a grid (here from the sRGB gamut, so nothing is downloaded), soft targets over the
nearest bins, class-rebalancing weights that stop the loss from favouring the desaturated bins that dominate
photos, and the decoding, which runs inside the generator so the exported model still outputs a*b*.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from engine import colour

#: Zhang et al.'s grid: bins 10 a*b* units apart.
DEFAULT_GRID = 10.0


@lru_cache(maxsize=4)
def gamut_bins(grid: float = DEFAULT_GRID) -> np.ndarray:
    """[Q, 2] float32 a*b* centres (multiples of ``grid``) of every grid cell that some sRGB colour falls in.

    The cells are found from a 64-level RGB cube plus its faces at 256 levels (the a*b* extremes lie on the
    faces), in exact CIE Lab (engine.colour); on a grid of 10 that is 261 bins, fewer than Zhang's 313, whose
    set came from ImageNet statistics in a wider Lab conversion.
    """
    cube = np.linspace(0.0, 1.0, 64, dtype=np.float32)
    rgb = [np.stack(np.meshgrid(cube, cube, cube, indexing="ij"), -1).reshape(-1, 3)]
    face = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    u, v = (x.reshape(-1) for x in np.meshgrid(face, face, indexing="ij"))
    for axis in range(3):
        for value in (0.0, 1.0):
            plane = np.empty((u.size, 3), np.float32)
            plane[:, axis] = value
            plane[:, [i for i in range(3) if i != axis]] = np.stack([u, v], -1)
            rgb.append(plane)
    ab = colour.rgb_to_lab(np.concatenate(rgb))[:, 1:]
    cells = np.unique(np.round(ab / grid).astype(np.int64), axis=0)
    return (cells * grid).astype(np.float32)


def soft_encode(ab: torch.Tensor, centres: torch.Tensor, neighbours: int = 5, sigma: float = 5.0
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft class targets of a*b* [N, 2, H, W] (Lab units): the ``neighbours`` nearest bins [N, K, H, W] and
    their Gaussian (``sigma``) weights [N, K, H, W], which sum to 1; index 0 is the nearest bin."""
    n, _, h, w = ab.shape
    points = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
    dist2 = torch.cdist(points, centres.float()).square()
    near, index = torch.topk(dist2, neighbours, dim=1, largest=False, sorted=True)
    weights = torch.softmax(-near / (2.0 * sigma**2), dim=1)
    shape = (n, h, w, neighbours)
    return index.reshape(shape).permute(0, 3, 1, 2), weights.reshape(shape).permute(0, 3, 1, 2)


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, temperature: float) -> torch.Tensor:
    """a*b* [N, 2, H, W] (the centres' units) from class logits [N, Q, H, W]: the mean of the distribution
    re-sharpened by ``temperature`` (softmax(log p / T) = softmax(logits / T)); T = 1 is the mean, T -> 0 the
    mode.

    The softmax is written out (max, exp, one matrix product for the weighted sum and the normaliser together):
    onnxruntime's Softmax over the channel axis transposes the whole tensor and cost 6x as much CPU at 512 px.
    """
    if temperature != 1.0:
        logits = logits / temperature
    n, q, h, w = logits.shape
    weights = torch.exp(logits - logits.amax(dim=1, keepdim=True)).reshape(n, q, h * w)
    rows = torch.cat([centres.t(), torch.ones(1, q, device=centres.device, dtype=centres.dtype)]).to(weights.dtype)
    sums = torch.matmul(rows, weights)
    return (sums[:, :2] / sums[:, 2:]).reshape(n, 2, h, w)


def bin_histogram(images: Iterable[np.ndarray], centres: np.ndarray, weights: list[float] | None = None,
                  max_side: int = 64) -> np.ndarray:
    """[Q] share of pixels nearest each bin over RGB uint8 photos (each scaled to ``max_side`` and weighted by
    its sampling weight, as training sees them)."""
    counts = np.zeros(len(centres), np.float64)
    tree = torch.from_numpy(centres)
    for k, rgb in enumerate(images):
        h, w = rgb.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        if scale < 1.0:
            rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        ab = torch.from_numpy(colour.rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 1:].reshape(-1, 2))
        nearest = torch.cdist(ab, tree).argmin(1).numpy()
        share = np.bincount(nearest, minlength=len(centres)) / len(nearest)
        counts += share * (1.0 if weights is None else weights[k])
    return counts / max(counts.sum(), 1e-12)


def rebalancing_weights(distribution: np.ndarray, centres: np.ndarray, sigma: float = 5.0, mix: float = 0.5
                        ) -> np.ndarray:
    """[Q] class weights ∝ 1 / ((1 - mix) p̃ + mix / Q), p̃ the distribution smoothed by a Gaussian (``sigma``,
    a*b* units) over the bins, normalised so the expected weight under p̃ is 1 (Zhang et al., eq. 3-4)."""
    dist2 = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-dist2 / (2.0 * sigma**2))
    smooth = kernel @ (distribution / max(distribution.sum(), 1e-12))
    smooth /= smooth.sum()
    weights = 1.0 / ((1.0 - mix) * smooth + mix / len(centres))
    return (weights / (smooth * weights).sum()).astype(np.float32)


def classification_loss(logits: torch.Tensor, true_ab_norm: torch.Tensor, centres: torch.Tensor,
                        class_weights: torch.Tensor | None, neighbours: int = 5, sigma: float = 5.0
                        ) -> torch.Tensor:
    """Rebalanced cross-entropy between the logits [N, Q, h, w] and the soft-encoded truth (normalised a*b*
    [N, 2, H, W], averaged down to the logits' resolution); each pixel weighs as its nearest bin."""
    target = F.interpolate(true_ab_norm.float(), size=logits.shape[-2:], mode="area") * colour.AB_SCALE
    index, weights = soft_encode(target, centres, neighbours, sigma)
    log_prob = F.log_softmax(logits.float(), dim=1)
    cross_entropy = -(weights * log_prob.gather(1, index)).sum(1)
    if class_weights is not None:
        cross_entropy = cross_entropy * class_weights[index[:, 0]]
    return cross_entropy.mean()


def warm_start_logits(head_weight: np.ndarray, head_bias: np.ndarray, ab_units: float, centres: np.ndarray,
                      sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """A classification head's (weight, bias) from a regression head z = W x + b (a*b* = ab_units z before
    its tanh): logits_q = (c_q . ab - |c_q|^2 / 2) / sigma^2, a Gaussian of width ``sigma`` around the regression
    colour, so a model continued from a regression one starts near its colours instead of near grey."""
    w = head_weight.reshape(2, -1).astype(np.float64)
    c = centres.astype(np.float64)
    weight = ab_units * (c @ w) / sigma**2
    bias = (ab_units * (c @ head_bias.astype(np.float64)) - 0.5 * (c**2).sum(1)) / sigma**2
    return weight.reshape(len(c), *head_weight.shape[1:]).astype(np.float32), bias.astype(np.float32)
