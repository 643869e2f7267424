"""Networks of the Rechroma pix2pix model: U-Net generator (MobileNetV2 or EfficientNet-Lite2 encoder) and
PatchGAN discriminator.

``build_generator`` is the one place options become a generator (pix2pix's ``define_G``): training, export
and the GPU probe all build it here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainer.networks.discriminator import PatchDiscriminator
from trainer.networks.efficientnet_lite import EfficientNetLite
from trainer.networks.encoders import ENCODERS
from trainer.networks.generator import SIZE_MULTIPLE, UNetGenerator, count_parameters
from trainer.networks.hint_generator import HintGenerator
from trainer.networks.mobilenet_v2 import MobileNetV2, load_pretrained

if TYPE_CHECKING:
    from trainer.options import Options

__all__ = [
    "ENCODERS",
    "SIZE_MULTIPLE",
    "EfficientNetLite",
    "MobileNetV2",
    "HintGenerator",
    "PatchDiscriminator",
    "UNetGenerator",
    "build_generator",
    "count_parameters",
    "load_pretrained",
]


def encoder_weights_path(opts: Options) -> str:
    """The weights file of the encoder ``opts`` choose."""
    return opts.efficientnet_lite2_weights if opts.encoder == "efficientnet_lite2" else opts.encoder_weights


def build_generator(opts: Options, pretrained: bool | None = None) -> UNetGenerator | HintGenerator:
    """The automatic generator, or with ``hint_inputs`` the hint-taking one built around it (its trunk)."""
    trunk = UNetGenerator(
        encoder=opts.encoder,
        pretrained=opts.pretrained if pretrained is None else pretrained,
        encoder_weights=encoder_weights_path(opts),
        decoder_channels=opts.decoder_channels,
        decoder_convs=opts.decoder_convs,
        decoder_norm=opts.decoder_norm,
        output_scale=opts.output_scale,
        freeze_encoder_stages=opts.freeze_encoder_stages,
        freeze_norm=opts.freeze_norm,
        colour_head=opts.colour_head,
        bin_grid=opts.bin_grid,
        temperature=opts.cls_temperature,
    )
    if opts.hint_inputs:
        return HintGenerator(trunk, channels=opts.hint_refine_channels, convs=opts.hint_refine_convs)
    return trunk
