"""The U-Net's encoder choices: which ImageNet backbone, where its stages end, and how grey L becomes its input.

Every encoder is a flat ``nn.Sequential`` whose stages end at strides 2, 4, 8, 16 and 32, so the decoder, the
skips and the freezing (by stage) are the same for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from trainer.networks import efficientnet_lite, mobilenet_v2


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    #: Indices in the encoder sequence that end each stage (output strides 2, 4, 8, 16, 32).
    stage_ends: tuple[int, ...]
    stage_channels: tuple[int, ...]
    #: Per-channel mean and std (on 0..1 RGB) of the ImageNet preprocessing the weights were trained with.
    input_mean: tuple[float, ...]
    input_std: tuple[float, ...]
    #: (pretrained, weights path) -> the encoder sequence.
    build: Callable[[bool, str | Path | None], nn.Sequential]
    weights_file: str


def _mobilenet_v2(pretrained: bool, weights: str | Path | None) -> nn.Sequential:
    net = mobilenet_v2.load_pretrained(weights) if pretrained else mobilenet_v2.MobileNetV2()
    # features[18] (1x1 conv to 1280) and the classifier are ImageNet-only; drop them.
    return net.features[:18]


def _efficientnet_lite2(pretrained: bool, weights: str | Path | None) -> nn.Sequential:
    net = efficientnet_lite.load_pretrained(weights) if pretrained else efficientnet_lite.EfficientNetLite()
    return net.encoder_layers()  # without the 1x1 head to 1280 and the classifier


ENCODERS = {
    "mobilenet_v2": EncoderSpec(
        name="mobilenet_v2",
        stage_ends=(1, 3, 6, 13, 17),
        stage_channels=(16, 24, 32, 96, 320),
        input_mean=(0.485, 0.456, 0.406),
        input_std=(0.229, 0.224, 0.225),
        build=_mobilenet_v2,
        weights_file=mobilenet_v2.PRETRAINED_FILE,
    ),
    "efficientnet_lite2": EncoderSpec(
        name="efficientnet_lite2",
        # index 0 is the stem, i + 1 is block i; blocks 0, 3, 6, 14 and 20 end the strides 2..32
        stage_ends=(1, 4, 7, 15, 21),
        stage_channels=(16, 24, 48, 120, 352),
        input_mean=efficientnet_lite.INPUT_MEAN,
        input_std=efficientnet_lite.INPUT_STD,
        build=_efficientnet_lite2,
        weights_file=efficientnet_lite.PRETRAINED_FILE,
    ),
}


def encoder_spec(name: str) -> EncoderSpec:
    try:
        return ENCODERS[name]
    except KeyError:
        raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, not {name!r}") from None
