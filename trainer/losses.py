"""Losses of the pix2pix objective: lambda_L1 * L1(ab) + lambda_gan * GAN (+ optional perceptual)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from engine import colour
from trainer.delta_e import ciede2000_ab
from trainer.networks.mobilenet_v2 import load_pretrained


def l1_loss(pred_ab: torch.Tensor, true_ab: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred_ab.float(), true_ab.float())


def de00_loss(l_norm: torch.Tensor, pred_ab: torch.Tensor, true_ab: torch.Tensor) -> torch.Tensor:
    """Mean CIEDE2000 between prediction and truth sharing the input's L* (normalised tensors in)."""
    lightness = l_norm.float() * colour.L_RANGE + colour.L_CENTER
    return ciede2000_ab(lightness, pred_ab.float() * colour.AB_SCALE, true_ab.float() * colour.AB_SCALE).mean()


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss: LSGAN (real -> 1, fake -> 0) or hinge."""
    real, fake = real_logits.float(), fake_logits.float()
    if kind == "lsgan":
        return 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake)))
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def g_gan_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator's adversarial loss for the same GAN flavour as :func:`d_loss`."""
    fake = fake_logits.float()
    if kind == "lsgan":
        return F.mse_loss(fake, torch.ones_like(fake))
    if kind == "hinge":
        return -fake.mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


# OpenCV's D65 white point and sRGB primaries: the same maths as engine.colour (cv2), in torch so that the
# perceptual loss can back-propagate through it. The data path never uses this; it uses engine.colour.
_WHITE = (0.950456, 1.0, 1.088754)
_XYZ_TO_RGB = (
    (3.240479, -1.53715, -0.498535),
    (-0.969256, 1.875991, 0.041556),
    (0.055648, -0.204043, 1.057311),
)


def lab_norm_to_rgb(l_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
    """Normalised L [N,1,H,W] and ab [N,2,H,W] -> sRGB [N,3,H,W] in [0, 1] (clipped), differentiable."""
    lightness = l_norm.float() * colour.L_RANGE + colour.L_CENTER
    ab = ab_norm.float() * colour.AB_SCALE
    fy = (lightness + 16.0) / 116.0
    f = torch.cat([fy + ab[:, :1] / 500.0, fy, fy - ab[:, 1:] / 200.0], dim=1)
    delta = 6.0 / 29.0
    t = torch.where(f > delta, f**3, 3 * delta**2 * (f - 4.0 / 29.0))
    xyz = t * torch.tensor(_WHITE, device=t.device).view(1, 3, 1, 1)
    rgb_lin = torch.einsum("ij,njhw->nihw", torch.tensor(_XYZ_TO_RGB, device=t.device), xyz).clamp(0, 1)
    return torch.where(rgb_lin <= 0.0031308, 12.92 * rgb_lin, 1.055 * rgb_lin.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


class PerceptualLoss(nn.Module):
    """L1 between frozen ImageNet MobileNetV2 features (strides 4, 8, 16) of predicted and true sRGB."""

    LAYERS = (3, 6, 13)

    def __init__(self, weights: str | Path) -> None:
        super().__init__()
        self.features = load_pretrained(weights).features[: self.LAYERS[-1] + 1].eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> PerceptualLoss:
        return super().train(False)  # frozen BN statistics, always

    def _feats(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = (rgb - self.mean) / self.std
        out = []
        for i, module in enumerate(self.features):
            x = module(x)
            if i in self.LAYERS:
                out.append(x)
        return out

    def forward(self, l_norm: torch.Tensor, pred_ab: torch.Tensor, true_ab: torch.Tensor) -> torch.Tensor:
        pred = self._feats(lab_norm_to_rgb(l_norm, pred_ab))
        with torch.no_grad():
            true = self._feats(lab_norm_to_rgb(l_norm, true_ab))
        return sum(F.l1_loss(p, t) for p, t in zip(pred, true, strict=True)) / len(pred)
