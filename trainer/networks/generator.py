"""pix2pix generator: U-Net on an ImageNet encoder (MobileNetV2 or EfficientNet-Lite2, see encoders.py),
L [N,1,H,W] in, normalised a*b* [N,2,H,W] out.

Skips come from the encoder at strides 2, 4, 8, 16 and the bottleneck is at stride 32, so H and W must be
multiples of 32 (``ModelContract.size_multiple``). The decoder upsamples (bilinear) and then convolves with
REFLECTION padding: transposed convs give checkerboards and zero padding left a thin blue band along the
top edge in an earlier attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from engine import colour
from trainer.colour_bins import annealed_mean, gamut_bins
from trainer.networks.encoders import ENCODERS, encoder_spec

#: ImageNet mean/std of torchvision's (MobileNetV2) weights.
IMAGENET_MEAN = ENCODERS["mobilenet_v2"].input_mean
IMAGENET_STD = ENCODERS["mobilenet_v2"].input_std
SIZE_MULTIPLE = 32


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(min(8, channels // 4), channels)
    raise ValueError(f"decoder_norm must be 'batch' or 'group', not {kind!r}")


class DecoderConv(nn.Sequential):
    """3x3 conv with reflection padding + norm + ReLU."""

    def __init__(self, inp: int, out: int, norm: str) -> None:
        super().__init__(
            nn.Conv2d(inp, out, 3, padding=1, padding_mode="reflect", bias=False),
            _norm(norm, out),
            nn.ReLU(inplace=True),
        )


class DecoderStage(nn.Sequential):
    """Runs after ``upsample x2 + concat(skip)``: ``convs`` DecoderConvs."""

    def __init__(self, inp: int, out: int, convs: int, norm: str) -> None:
        super().__init__(*[DecoderConv(inp if i == 0 else out, out, norm) for i in range(convs)])


class UNetGenerator(nn.Module):
    """U-Net colorizer on an ImageNet encoder (``encoder``: a name in ``encoders.ENCODERS``).

    The last decoder stage works at full resolution and also sees the L input itself, so fine edges in
    the chroma follow the photo's edges.
    """

    def __init__(
        self,
        *,
        encoder: str = "mobilenet_v2",
        pretrained: bool = True,
        encoder_weights: str | Path | None = None,
        decoder_channels: Sequence[int] = (256, 128, 64, 32, 16),
        decoder_convs: Sequence[int] = (2, 2, 2, 1, 1),
        decoder_norm: str = "batch",
        output_scale: float = 1.2,
        freeze_encoder_stages: int = 0,
        freeze_norm: bool = False,
        colour_head: str = "regression",
        bin_grid: float = 10.0,
        temperature: float = 0.38,
    ) -> None:
        super().__init__()
        if colour_head not in ("regression", "classification"):
            raise ValueError(f"colour_head must be 'regression' or 'classification', not {colour_head!r}")
        if temperature <= 0:
            raise ValueError(f"the annealed-mean temperature must be positive, not {temperature}")
        #: BatchNorm layers stay in eval mode while training (fine-tuning a model rebuilt from ONNX, whose
        #: norms were folded into the convolutions: see trainer.onnx_import).
        self.freeze_norm = freeze_norm
        if len(decoder_channels) not in (4, 5) or len(decoder_convs) != len(decoder_channels):
            raise ValueError(
                "decoder_channels and decoder_convs need 5 entries (strides 16, 8, 4, 2, 1), or 4 to stop at "
                "stride 2 and upsample the chroma (cheaper; the engine upsamples a*b* to full size anyway)"
            )
        spec = encoder_spec(encoder)
        self.encoder_name = spec.name
        self.stage_ends = spec.stage_ends
        if pretrained and encoder_weights is None:
            raise ValueError(f"pretrained=True needs encoder_weights (path to {spec.weights_file})")
        self.encoder = spec.build(pretrained, encoder_weights)
        if len(self.encoder) != spec.stage_ends[-1] + 1:
            raise AssertionError(f"{encoder}: the encoder sequence does not end at its last stage")
        # L_norm in [-1, 1] -> grey sRGB v = (L_norm + 1) / 2 -> the encoder's ImageNet normalisation on 3
        # channels, done inside the network so the ONNX file takes 1-channel L (see engine.contract).
        mean = torch.tensor(spec.input_mean).view(1, 3, 1, 1)
        std = torch.tensor(spec.input_std).view(1, 3, 1, 1)
        self.register_buffer("in_scale", 0.5 / std, persistent=False)
        self.register_buffer("in_bias", (0.5 - mean) / std, persistent=False)

        # strides 16, 8, 4, 2, then L itself at 1 (only with a 5-stage decoder)
        skip_channels = (*reversed(spec.stage_channels[:-1]), 1)[: len(decoder_channels)]
        stages = []
        channels = spec.stage_channels[-1]
        for out, convs, skip in zip(decoder_channels, decoder_convs, skip_channels, strict=True):
            stages.append(DecoderStage(channels + skip, out, convs, decoder_norm))
            channels = out
        self.decoder = nn.ModuleList(stages)
        #: "regression": a*b* = tanh(head) x scale; "classification": logits over in-gamut a*b* bins decoded
        #: by their annealed mean (trainer.colour_bins), inside forward, so the ONNX output is a*b* either way.
        self.colour_head = colour_head
        self.with_logits = False
        self.temperature = float(temperature)
        if colour_head == "classification":
            centres = torch.from_numpy(gamut_bins(bin_grid))
            self.register_buffer("bin_centres", centres, persistent=False)  # Lab units, rebuilt from the grid
            self.cls_head = nn.Conv2d(channels, len(centres), 1)
        else:
            self.head = nn.Conv2d(channels, 2, 1)
        self.output_scale = float(output_scale)
        #: Global a*b* gain calibrated on the val split after training (set by the export, not trained).
        self.chroma_gain = 1.0
        self.frozen_stages = 0
        self.freeze_encoder_stages(freeze_encoder_stages)

    # -- encoder freezing -------------------------------------------------------------------------------
    def encoder_stage_modules(self, stage: int) -> list[nn.Module]:
        """Modules of encoder stage ``stage`` (1-based; stage k ends at stride 2**k)."""
        start = 0 if stage == 1 else self.stage_ends[stage - 2] + 1
        return [self.encoder[i] for i in range(start, self.stage_ends[stage - 1] + 1)]

    def freeze_encoder_stages(self, count: int) -> None:
        """Freeze the first ``count`` encoder stages (weights and BN statistics): faster on CPU (no backward
        through them) and a regulariser when there is little data."""
        if not 0 <= count <= len(self.stage_ends):
            raise ValueError(f"freeze_encoder_stages must be in 0..{len(self.stage_ends)}, not {count}")
        self.frozen_stages = count
        for stage in range(1, len(self.stage_ends) + 1):
            for module in self.encoder_stage_modules(stage):
                module.requires_grad_(stage > count)
        self.train(self.training)

    def train(self, mode: bool = True) -> UNetGenerator:
        super().train(mode)
        # Frozen stages keep their ImageNet BN statistics even while the rest trains.
        for stage in range(1, self.frozen_stages + 1):
            for module in self.encoder_stage_modules(stage):
                module.eval()
        if getattr(self, "freeze_norm", False):
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.encoder.parameters() if p.requires_grad]

    def decoder_parameters(self) -> list[nn.Parameter]:
        return [*self.decoder.parameters(), *self.output_head.parameters()]

    @property
    def output_head(self) -> nn.Conv2d:
        return self.cls_head if self.colour_head == "classification" else self.head

    # -- forward ----------------------------------------------------------------------------------------
    def decode(self, l_norm: torch.Tensor) -> list[torch.Tensor]:
        """The output of every decoder stage, coarsest first (a hint-taking refinement reads them all)."""
        x = l_norm * self.in_scale + self.in_bias
        skips = []
        for i, module in enumerate(self.encoder):
            x = module(x)
            if i in self.stage_ends[:-1]:
                skips.append(x)
        skips = [*reversed(skips), l_norm][: len(self.decoder)]
        features = []
        for stage, skip in zip(self.decoder, skips, strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = stage(torch.cat([x, skip.to(x.dtype)], dim=1))
            features.append(x)
        return features

    def colour_of(self, features: list[torch.Tensor], l_norm: torch.Tensor):
        """Normalised a*b* from the last decoder stage's output, at the input's size; ``(ab, class logits or
        None)`` while training with :attr:`with_logits` set (the trainer's losses; a flag, not an argument, so
        the traced ONNX graph stays plain)."""
        x = features[-1]
        logits = None
        if self.colour_head == "classification":
            if self.training:
                logits = self.cls_head(x)
                ab = annealed_mean(logits.float(), self.bin_centres, self.temperature)
            else:  # the temperature folded into the head: the exported graph has no division per logit
                t = self.temperature
                scaled = F.conv2d(x, self.cls_head.weight / t, self.cls_head.bias / t)
                ab = annealed_mean(scaled.float(), self.bin_centres, 1.0)
            ab = ab * (self.chroma_gain / colour.AB_SCALE)
        else:
            ab = torch.tanh(self.head(x)) * (self.output_scale * self.chroma_gain)
        if len(self.decoder) == 4:  # a 4-stage decoder ends at stride 2: chroma is smooth, upsample it
            ab = F.interpolate(ab, size=l_norm.shape[-2:], mode="bilinear", align_corners=False)
        return (ab, logits) if self.training and self.with_logits else ab

    def forward(self, l_norm: torch.Tensor):
        return self.colour_of(self.decode(l_norm), l_norm)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
