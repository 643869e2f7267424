"""Networks of the Rechroma pix2pix model: MobileNetV2 U-Net generator and PatchGAN discriminator."""

from trainer.networks.discriminator import PatchDiscriminator
from trainer.networks.generator import SIZE_MULTIPLE, UNetGenerator, count_parameters
from trainer.networks.mobilenet_v2 import MobileNetV2, load_pretrained

__all__ = [
    "SIZE_MULTIPLE",
    "MobileNetV2",
    "PatchDiscriminator",
    "UNetGenerator",
    "count_parameters",
    "load_pretrained",
]
