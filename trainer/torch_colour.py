"""engine.colour's sRGB -> CIE Lab in torch, so that the training target is computed on the training device.

The data loader was the bottleneck of GPU training (about 265 crops/s per core, half of it numpy's
RGB -> Lab of the target). Workers now ship the crop's uint8 RGB (3 bytes a pixel instead of 8 for float
a*b*) and the trainer turns it into the a*b* target on the GPU, in one batched pass. Same constants, same
formulas, same 8-bit linearisation table, same float64 steps as engine.colour: within 1e-4 of it over all
16.7 M colours (tests/trainer/test_torch_colour.py).
"""

from __future__ import annotations

import torch

from engine import colour


def rgb8_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """uint8 sRGB [N, 3, H, W] -> CIE Lab [N, 3, H, W] float32 (L* in [0, 100]), on ``rgb``'s device."""
    if rgb.dtype != torch.uint8 or rgb.dim() != 4 or rgb.shape[1] != 3:
        raise ValueError(f"expected uint8 [N, 3, H, W] sRGB, got {tuple(rgb.shape)} {rgb.dtype}")
    device = rgb.device
    table = torch.from_numpy(colour.srgb8_to_linear_table()).to(device)
    linear = table[rgb.long()]
    # float64 from XYZ on, as engine.colour: a* = 500 (fx - fy) would magnify float32 rounding to 1e-4.
    to_xyz, white = (torch.from_numpy(m).to(device, torch.float64) for m in (colour.SRGB_TO_XYZ, colour.D65_WHITE))
    xyz = torch.einsum("ij,njhw->nihw", to_xyz, linear.double()) / white.view(1, 3, 1, 1)
    epsilon, kappa = colour.LAB_EPSILON, colour.LAB_KAPPA
    f = torch.where(xyz > epsilon, xyz.clamp_min(epsilon) ** (1.0 / 3.0), (kappa * xyz + 16.0) / 116.0)
    fx, fy, fz = f[:, 0:1], f[:, 1:2], f[:, 2:3]
    lightness = torch.where(xyz[:, 1:2] > epsilon, 116.0 * fy - 16.0, kappa * xyz[:, 1:2])
    return torch.cat([lightness, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1).float()


def ab_target(rgb: torch.Tensor) -> torch.Tensor:
    """uint8 sRGB [N, 3, H, W] -> the network's target, normalised a*b* [N, 2, H, W] (engine.colour's scale)."""
    return rgb8_to_lab(rgb)[:, 1:] / colour.AB_SCALE
