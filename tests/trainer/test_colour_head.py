"""The classification colour head (Zhang et al. 2016): gamut bins, soft targets, rebalancing, annealed-mean
decoding inside the generator, continuing v2-style regression models, and the export the engine runs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from standin_model import make_scene

from engine import colour
from engine.contract import ModelContract
from engine.model import Generator
from engine.photo_io import Photo
from engine.pipeline import colorize
from trainer import colour_bins, export, pix2pix
from trainer.dataset import open_source
from trainer.networks import UNetGenerator
from trainer.onnx_import import load_onnx_weights

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_train_step import tiny_options, write_pack  # noqa: E402

TINY = dict(decoder_channels=(32, 24, 16, 16), decoder_convs=(1, 1, 1, 1))


@pytest.fixture(scope="module")
def centres() -> np.ndarray:
    return colour_bins.gamut_bins()


def test_bins_cover_the_srgb_gamut(centres: np.ndarray) -> None:
    assert 240 <= len(centres) <= 320  # Zhang et al.'s 313 came from a wider Lab conversion
    rng = np.random.default_rng(0)
    rgb = np.concatenate([rng.uniform(0, 1, (20000, 3)), np.stack(np.meshgrid(*[[0.0, 1.0]] * 3), -1).reshape(-1, 3),
                          rng.uniform(0, 1, (3000, 3)).round(0) * 0.999 + rng.uniform(0, 1e-3, (3000, 3))])
    ab = colour.rgb_to_lab(rgb.astype(np.float32))[:, 1:]
    # every sRGB colour lies in the 10 x 10 cell of some bin: its nearest centre is within half a cell diagonal
    nearest = np.sqrt(((ab[:, None, :] - centres[None]) ** 2).sum(-1)).min(1)
    assert nearest.max() <= 5.0 * np.sqrt(2) + 1e-3
    # and no bin is out of gamut: each centre's cell holds some sRGB colour (its centre is near one)
    dense = colour.rgb_to_lab(rng.uniform(0, 1, (200000, 3)).astype(np.float32))[:, 1:]
    reach = np.array([np.abs(dense - c).max(1).min() for c in centres])
    assert reach.max() <= 5.0 + 1.0


def test_soft_encoding_sums_to_one_over_the_nearest_bins(centres: np.ndarray) -> None:
    ab = torch.tensor([[3.0, -47.0], [0.0, 0.0], [62.0, 71.0]]).t().reshape(1, 2, 1, 3)
    index, weights = colour_bins.soft_encode(ab, torch.from_numpy(centres), neighbours=5, sigma=5.0)
    assert index.shape == weights.shape == (1, 5, 1, 3)
    torch.testing.assert_close(weights.sum(1), torch.ones(1, 1, 3))
    assert torch.all(weights[:, :-1] >= weights[:, 1:])  # nearest first, weights fall with distance
    grey = torch.from_numpy(centres)[index[0, 0, 0, 1]]
    torch.testing.assert_close(grey, torch.zeros(2))  # (0, 0) is itself a bin
    assert weights[0, 0, 0, 1] > 0.5


def test_one_hot_distribution_decodes_to_its_bins_colour(centres: np.ndarray) -> None:
    bins = torch.from_numpy(centres)
    for k in (0, len(centres) // 3, len(centres) - 1):
        logits = torch.full((1, len(centres), 2, 2), -30.0)
        logits[:, k] = 30.0
        ab = colour_bins.annealed_mean(logits, bins, temperature=0.38)
        torch.testing.assert_close(ab[0, :, 1, 0], bins[k])


def test_temperature_goes_from_the_mean_to_the_mode(centres: np.ndarray) -> None:
    bins = torch.from_numpy(centres)
    red = int(np.argmin(((centres - [60, 40]) ** 2).sum(1)))
    blue = int(np.argmin(((centres - [10, -60]) ** 2).sum(1)))
    logits = torch.full((1, len(centres), 1, 1), -1e4)
    logits[0, red], logits[0, blue] = np.log(0.6), np.log(0.4)
    mean = colour_bins.annealed_mean(logits, bins, 1.0)[0, :, 0, 0]
    torch.testing.assert_close(mean, 0.6 * bins[red] + 0.4 * bins[blue])
    mode = colour_bins.annealed_mean(logits, bins, 0.01)[0, :, 0, 0]
    torch.testing.assert_close(mode, bins[red])
    annealed = colour_bins.annealed_mean(logits, bins, 0.38)[0, :, 0, 0]
    assert torch.dist(annealed, bins[red]) < torch.dist(mean, bins[red])


def test_rebalancing_favours_rare_colours(centres: np.ndarray) -> None:
    distribution = np.exp(-(centres**2).sum(1) / (2 * 15.0**2))  # photos: mostly near grey
    distribution /= distribution.sum()
    weights = colour_bins.rebalancing_weights(distribution, centres, sigma=5.0, mix=0.5)
    grey = int(np.argmin((centres**2).sum(1)))
    vivid = int(np.argmax((centres**2).sum(1)))
    assert weights[vivid] > 1.5 > weights[grey]
    assert weights[vivid] <= 2.0 * len(centres)  # the uniform mix bounds the weight of a never-seen bin
    smooth = colour_bins.rebalancing_weights(distribution, centres, sigma=5.0, mix=1.0)
    np.testing.assert_allclose(smooth, 1.0, rtol=1e-5)  # all uniform: no rebalancing


def test_loss_prefers_the_true_colour_and_weighs_rare_bins_more(centres: np.ndarray) -> None:
    bins = torch.from_numpy(centres)
    true_ab = torch.tensor([40.0, 30.0]).view(1, 2, 1, 1).expand(1, 2, 4, 4) / colour.AB_SCALE
    right = int(np.argmin(((centres - [40, 30]) ** 2).sum(1)))
    wrong = int(np.argmin(((centres - [-40, -30]) ** 2).sum(1)))
    logits = torch.zeros(1, len(centres), 2, 2)
    good, bad = logits.clone(), logits.clone()
    good[:, right], bad[:, wrong] = 8.0, 8.0
    loss = colour_bins.classification_loss
    assert loss(good, true_ab, bins, None) < loss(bad, true_ab, bins, None)
    heavy = torch.ones(len(centres))
    heavy[right] = 3.0
    torch.testing.assert_close(loss(bad, true_ab, bins, heavy), 3.0 * loss(bad, true_ab, bins, None))


@pytest.fixture(scope="module")
def regression_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[UNetGenerator, Path]:
    torch.manual_seed(5)
    g = UNetGenerator(pretrained=False, output_scale=1.3, **TINY)
    with torch.no_grad():
        for _ in range(2):  # non-trivial norm statistics, as a trained model has
            g.train()(torch.rand(2, 1, 64, 64) * 2 - 1)
        g.head.weight.mul_(0.3)  # moderate colours: the warm start linearises tanh
    g.eval()
    path = tmp_path_factory.mktemp("reg") / "reg.onnx"
    export.export_onnx(g, path, ModelContract(model_name="reg", model_version="1"))
    return g, path


def smooth_input(height: int = 64, width: int = 96) -> torch.Tensor:
    rgb = make_scene(height, width, seed=4).astype(np.float32) / 255.0
    return torch.from_numpy(colour.normalize_l(colour.rgb_to_lightness(rgb)))[None, None].float()


def test_classification_head_continues_a_regression_model(regression_model) -> None:
    reg, path = regression_model
    cls = UNetGenerator(pretrained=False, freeze_norm=True, output_scale=1.3, colour_head="classification", **TINY)
    load_onnx_weights(cls, path, warm_start_sigma=10.0)
    cls.eval()
    for ours, theirs in zip(cls.decoder.parameters(), reg.decoder.parameters(), strict=True):
        assert ours.shape == theirs.shape
    lum = smooth_input()
    with torch.no_grad():
        want, got = reg(lum) * colour.AB_SCALE, cls(lum) * colour.AB_SCALE
    assert want.abs().mean() > 3.0  # a colourful start, so the comparison means something
    assert (got - want).abs().mean() < 0.15 * want.abs().mean()
    fresh = UNetGenerator(pretrained=False, freeze_norm=True, output_scale=1.3, colour_head="classification", **TINY)
    load_onnx_weights(fresh, path, warm_start_sigma=0.0)
    with torch.no_grad():
        assert (fresh.eval()(lum) * colour.AB_SCALE - want).abs().mean() > 0.5 * want.abs().mean()


def test_export_of_a_classification_generator_runs_in_the_engine(tmp_path: Path) -> None:
    torch.manual_seed(2)
    g = UNetGenerator(pretrained=False, colour_head="classification", temperature=0.38, **TINY)
    g.chroma_gain = 1.1
    with torch.no_grad():
        for _ in range(2):
            g.train()(torch.rand(2, 1, 64, 64) * 2 - 1)
        g.cls_head.weight.mul_(20.0)  # confident, varied distributions, as trained ones are
    g.eval()
    path = tmp_path / "cls.onnx"
    report = export.export_onnx(g, path, ModelContract(model_name="cls", model_version="1"))
    assert report["max_abs_diff"] <= 1e-3
    generator = Generator(path, device="cpu")
    pixels = make_scene(120, 200, seed=9)
    photo = Photo(pixels=pixels, alpha=None, exif=None, format="PNG", path=tmp_path / "scene.png")
    prediction = colorize(photo, generator, render_size=128)
    assert prediction.ab.shape == (77, 128, 2)
    chroma = np.hypot(prediction.ab[..., 0], prediction.ab[..., 1])
    assert chroma.max() > 5.0 and chroma.max() <= np.hypot(*colour_bins.gamut_bins().T).max() * 1.1 + 1e-3
    assert prediction.render(1.0).shape == (120, 200, 3)


def test_training_step_rebalances_from_the_pack(tmp_path: Path) -> None:
    sizes = [(96, 128), (128, 96), (80, 80), (100, 150), (96, 96), (120, 90)]
    pack = write_pack(tmp_path / "pack.npz", sizes, [0, 0, 0, 0, 1, 1], [1, 1, 3, 1, 1, 1])
    opts = tiny_options(pack, tmp_path / "run", colour_head="classification", lambda_l1=0.0, lambda_cls=1.0,
                        decoder_channels=(32, 24, 16, 16), decoder_convs=(1, 1, 1, 1))
    trainer = pix2pix.Trainer(opts)
    trainer.prepare(open_source(pack))
    weights = trainer.class_weights
    assert weights is not None and weights.shape == (len(colour_bins.gamut_bins()),)
    assert weights.max() > 1.5 * weights.min()
    before = trainer.G.cls_head.weight.detach().clone()
    lab = colour.rgb_to_lab(make_scene(64, 64, seed=1).astype(np.float32) / 255.0)
    lum = torch.from_numpy(colour.normalize_l(lab[..., 0])).float()
    ab = torch.from_numpy(colour.normalize_ab(lab[..., 1:])).float().permute(2, 0, 1)
    batch = {"l": lum[None, None].expand(2, 1, 64, 64).contiguous(), "ab": ab[None].expand(2, 2, 64, 64).contiguous()}
    losses = trainer.train_step(batch)
    assert losses["loss_cls"] > 0 and np.isfinite(losses["loss_cls"])
    assert not torch.equal(before, trainer.G.cls_head.weight)
    state = trainer.state_dict()
    again = pix2pix.Trainer(opts)
    again.load_state_dict(state)
    torch.testing.assert_close(again.class_weights, weights)


def test_a_classification_export_is_not_mistaken_for_a_regression_one(tmp_path: Path) -> None:
    from trainer.onnx_import import OnnxImportError, generator_from_onnx

    torch.manual_seed(1)
    g = UNetGenerator(pretrained=False, colour_head="classification", **TINY)
    with torch.no_grad():
        g.train()(torch.rand(2, 1, 64, 64) * 2 - 1)
    path = tmp_path / "cls.onnx"
    export.export_onnx(g.eval(), path, ModelContract(model_name="cls", model_version="1"))
    with pytest.raises(OnnxImportError, match="classification colour head"):
        generator_from_onnx(path)
