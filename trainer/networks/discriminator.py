"""70x70 PatchGAN discriminator (pix2pix) on concat(L, ab), with spectral norm for stable training."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """C64(s2) - C128(s2) - C256(s2) - C512(s1) - 1(s1), 4x4 kernels: each output sees a 70x70 patch.

    Spectral norm replaces pix2pix's BatchNorm: it keeps D Lipschitz, which matters with a short GAN phase
    and small batches.
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 64) -> None:
        super().__init__()
        c = base_channels
        widths = [in_channels, c, 2 * c, 4 * c, 8 * c]
        strides = [2, 2, 2, 1]
        layers: list[nn.Module] = []
        for inp, out, stride in zip(widths[:-1], widths[1:], strides, strict=True):
            layers += [spectral_norm(nn.Conv2d(inp, out, 4, stride, 1)), nn.LeakyReLU(0.2, inplace=True)]
        layers.append(spectral_norm(nn.Conv2d(widths[-1], 1, 4, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, l_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([l_norm, ab_norm], dim=1))
