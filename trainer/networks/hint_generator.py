"""Hint-taking generator: the shipped automatic model, frozen, plus a learned refinement of the engine's hint mode.

Issue #11's design point 2. The engine already spreads hints along edges (engine.propagation) and lays that
over the automatic colour by confidence (``blend``: weight = confidence ** (gamma / hints)). Learning to
propagate again from ~1,000 photos failed (the issue's experiment); what a network can add is a *correction*
of that mode. So the output is a residual over what the engine does today::

    auto  = v2(L)                                    the frozen automatic model (encoder and decoder)
    base  = confidence ** (gamma / n)                 the engine's blend weight; n = hint pixels / patch area,
                                                      gamma starts at the engine's 0.1 and is learnt
    gate  = sigmoid(logit(base) + delta)              delta: the refinement's per-pixel gate change
    out   = auto + any * (gate * (propagated - auto) + correction)

``delta`` and ``correction`` come from a small decoder that reads v2's decoder features at every scale
(strides 16, 8, 4, 2) together with the six contract hint planes and v2's colour, average-pooled to that
scale, so hints reach every decoder scale rather than only the first layer. Its last convolution is
zero-initialised: at initialisation ``out`` is the engine's current hint mode (to within the 1e-4 clamp of
the logit), and ``any`` (1 when the crop has any hinted pixel, else 0) makes the output *exactly* v2's
automatic colour without hints, at initialisation and after training alike, so one model serves both modes
and the automatic mode can never get worse than v2's.

Only the refinement and gamma train: no backward pass runs through the MobileNetV2 encoder or v2's decoder,
which is what makes training on two CPU cores practical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from engine.contract import HINT_CHANNELS
from engine.hints import PATCH
from engine.propagation import BLEND_GAMMA_ONE_HINT, BLEND_HINT_POWER
from trainer.networks.generator import UNetGenerator

#: The gate's logit is taken of the base weight clamped to [GATE_EPS, 1 - GATE_EPS].
GATE_EPS = 1e-4
#: Confidence below this counts as 0 when the base weight is computed in log space (float32's normal range).
_TINY = 1e-30


class RefineStage(nn.Sequential):
    """``convs`` 3x3 convolutions (reflection padding, like the trunk's decoder) with ReLU, no normalisation:
    nothing to fold at export and no batch statistics to go stale at batch 8."""

    def __init__(self, inp: int, out: int, convs: int) -> None:
        layers: list[nn.Module] = []
        for i in range(convs):
            layers += [nn.Conv2d(inp if i == 0 else out, out, 3, padding=1, padding_mode="reflect"),
                       nn.ReLU(inplace=True)]
        super().__init__(*layers)


class HintGenerator(nn.Module):
    """(L_norm [N,1,H,W], hint planes [N,6,H,W] as :data:`engine.contract.HINT_CHANNELS`) -> a*b* [N,2,H,W]."""

    takes_hints = True

    def __init__(self, trunk: UNetGenerator, channels: Sequence[int] = (64, 48, 32, 32),
                 convs: Sequence[int] = (2, 2, 1, 1), gamma: float = BLEND_GAMMA_ONE_HINT,
                 patch: int = PATCH) -> None:
        super().__init__()
        stages = len(trunk.decoder)
        if len(channels) != stages or len(convs) != stages:
            raise ValueError(f"the refinement needs one width and conv count per trunk decoder stage ({stages})")
        self.trunk = trunk.requires_grad_(False)
        #: Stride of each trunk decoder stage's output (16, 8, 4, 2[, 1]).
        self.strides = tuple(2 ** (4 - k) for k in range(stages))
        extra = len(HINT_CHANNELS) + 2  # the hint planes and v2's a*b*, pooled to each scale
        trunk_widths = [stage[-1][0].out_channels for stage in trunk.decoder]
        refine, previous = [], 0
        for width, out, n in zip(trunk_widths, channels, convs, strict=True):
            refine.append(RefineStage(previous + width + extra, out, n))
            previous = out
        self.refine = nn.ModuleList(refine)
        self.head = nn.Conv2d(previous, 3, 1)  # gate logit change, a*b* correction
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.log_gamma = nn.Parameter(torch.tensor(math.log(gamma)))
        self.patch_area = float(patch * patch)

    # The export sets the automatic model's calibrated gain; it lives in the trunk.
    @property
    def chroma_gain(self) -> float:
        return self.trunk.chroma_gain

    @chroma_gain.setter
    def chroma_gain(self, value: float) -> None:
        self.trunk.chroma_gain = value

    def train(self, mode: bool = True) -> HintGenerator:
        super().train(mode)
        self.trunk.eval()  # frozen, folded norms included
        return self

    def encoder_parameters(self) -> list[nn.Parameter]:
        return []

    def decoder_parameters(self) -> list[nn.Parameter]:
        return [*self.refine.parameters(), *self.head.parameters(), self.log_gamma]

    def base_weight(self, confidence: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """engine.propagation.blend's weight, confidence ** (gamma / hints ** BLEND_HINT_POWER), with the number
        of hints read off the mask (hint pixels / patch area, at least 1; overlapping or clipped patches count a
        little less)."""
        hints = (mask.sum(dim=(2, 3), keepdim=True) / self.patch_area).clamp_min(1.0)
        exponent = torch.exp(self.log_gamma) / hints**BLEND_HINT_POWER
        weight = torch.exp(exponent * torch.log(confidence.clamp(_TINY, 1.0)))
        return weight * (confidence > 0).to(weight.dtype)  # 0 ** x is 0: unreached pixels keep the model's

    def forward(self, l_norm: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.trunk.decode(l_norm)
            auto = self.trunk.colour_of(features, l_norm)
        guide = torch.cat([hints.to(auto.dtype), auto], dim=1)
        x = None
        for stage, feature, stride in zip(self.refine, features, self.strides, strict=True):
            pooled = F.avg_pool2d(guide, stride, stride) if stride > 1 else guide
            parts = [feature, pooled]
            if x is not None:
                parts.append(F.interpolate(x, size=feature.shape[-2:], mode="bilinear", align_corners=False))
            x = stage(torch.cat(parts, dim=1))
        out = self.head(x)
        if self.strides[-1] > 1:  # a 4-stage trunk ends at stride 2, like its own colour
            out = F.interpolate(out, size=l_norm.shape[-2:], mode="bilinear", align_corners=False)
        delta, correction = out[:, :1], out[:, 1:]
        propagated, confidence, mask = hints[:, 0:2], hints[:, 2:3], hints[:, 5:6]
        base = self.base_weight(confidence, mask).clamp(GATE_EPS, 1.0 - GATE_EPS)
        gate = torch.sigmoid(torch.log(base) - torch.log1p(-base) + delta)
        hinted = mask.amax(dim=(1, 2, 3), keepdim=True)  # 1 when the photo has any hint, else 0
        return auto + hinted * (gate * (propagated - auto) + correction)
