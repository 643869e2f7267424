"""The hint-taking generator (issue #11, design point 2): simulated hints in the data, the residual design's
promises (exactly the automatic model at 0 hints, the engine's hint mode at initialisation), one training
step, and the export that the engine runs with hints."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from engine import colour
from engine.contract import HINT_CHANNELS, ModelContract
from engine.hint_mode import model_hint_inputs
from engine.hints import Hint, rasterise
from engine.model import Generator
from engine.photo_io import Photo
from engine.pipeline import colorize
from engine.propagation import blend, propagate
from trainer import export, hint_sim
from trainer.dataset import TrainCrops, ValCrops, open_source
from trainer.networks import HintGenerator, UNetGenerator
from trainer.options import Options
from trainer.pix2pix import Trainer

TINY = dict(decoder_channels=(32, 24, 16, 16), decoder_convs=(1, 1, 1, 1))
REFINE = dict(channels=(16, 16, 8, 8), convs=(1, 1, 1, 1))
LEFT_RGB, RIGHT_RGB = (200, 50, 40), (40, 70, 200)  # a red and a blue region of different lightness


def tiny_trunk(seed: int = 3) -> UNetGenerator:
    torch.manual_seed(seed)
    g = UNetGenerator(pretrained=False, **TINY)
    with torch.no_grad():  # non-trivial BatchNorm statistics, as a trained model has
        for _ in range(3):
            g.train()(torch.rand(2, 1, 64, 64) * 2 - 1)
    return g.eval()


@pytest.fixture(scope="module")
def trunk_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny automatic model as an ONNX file: what ``init_model`` points a hint run at."""
    path = tmp_path_factory.mktemp("trunk") / "auto.onnx"
    export.export_onnx(tiny_trunk(), path, ModelContract(model_name="auto", model_version="1"))
    return path


def two_regions(height: int = 96, width: int = 96) -> np.ndarray:
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[:, : width // 2] = LEFT_RGB
    rgb[:, width // 2:] = RIGHT_RGB
    return rgb


def ab_of(rgb: tuple[int, int, int]) -> np.ndarray:
    return colour.rgb_to_lab(np.array(rgb, np.float32)[None, None] / 255.0)[0, 0, 1:]


def lightness_and_ab(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lab = colour.rgb_to_lab(rgb.astype(np.float32) / 255.0)
    return lab[..., 0], lab[..., 1:]


def planes_tensor(lightness: np.ndarray, hints: list[Hint]) -> torch.Tensor:
    return torch.from_numpy(hint_sim.hint_planes(lightness, hints).transpose(2, 0, 1)[None].copy())


# -- simulated hints -----------------------------------------------------------------------------------------
def test_points_take_the_mean_colour_of_a_1_to_9_px_patch_around_them() -> None:
    # a* = column, b* = row: a patch's mean is its centre, so each point's colour says where its patch was.
    rows, cols = np.mgrid[0:64, 0:80].astype(np.float32)
    ramp = np.stack([cols, rows], axis=-1)
    points = hint_sim.draw_points(ramp, np.random.default_rng(0), 400)
    offsets = np.array([(p.a - int(p.x), p.b - int(p.y)) for p in points])
    # Odd patches are centred on the point's pixel; even ones half a pixel up-left of it.
    assert np.all(np.isin(offsets, (0.0, -0.5)))
    assert 0.3 < np.mean(offsets == 0) < 0.7  # both kinds of side occur


def test_point_counts_are_geometric_with_one_crop_in_eight_hintless() -> None:
    rng = np.random.default_rng(1)
    counts = np.array([hint_sim.point_count(rng, 0.125, 64) for _ in range(8000)])
    assert abs(np.mean(counts == 0) - 0.125) < 0.015
    assert 6.5 < counts.mean() < 7.5 and counts.max() <= 64


def test_hint_planes_are_the_engines_own(tmp_path: Path) -> None:
    lightness, ab = lightness_and_ab(two_regions(64, 96))
    hints = [Hint(10.5, 20.5, -5.0, 30.0), Hint(80.5, 40.5, 20.0, -10.0)]
    planes = rasterise(hints, (96, 64), (96, 64))
    expected = model_hint_inputs(propagate(lightness, planes), planes)
    np.testing.assert_array_equal(hint_sim.hint_planes(lightness, hints), expected)
    assert [c for c in HINT_CHANNELS] == ["propagated_a", "propagated_b", "confidence", "hint_a", "hint_b",
                                          "hint_mask"]


def test_training_crops_carry_hint_channels_from_their_own_colours(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "two.png"), cv2.cvtColor(two_regions(), cv2.COLOR_RGB2BGR))
    opts = Options(data=str(folder), crop_size=64, crop_min_fraction=1.0, hflip=False, folder_val_fraction=0.0,
                   hint_inputs=True, init_model="unused.onnx", degrade_noise_p=0, degrade_blur_p=0,
                   degrade_jpeg_p=0, degrade_contrast_p=0, degrade_grain_p=0)
    crops = TrainCrops(open_source(folder, 0.0), opts, target_on_device=False)
    drawn: list[list[Hint]] = []
    draw = hint_sim.draw_points
    monkeypatch.setattr(hint_sim, "draw_points", lambda *a: drawn.append(draw(*a)) or drawn[-1])
    # No augmentation: the crop is the whole photo at 64 px, its left half red and its right half blue.
    lightness, _ = lightness_and_ab(cv2.resize(two_regions(), (64, 64), interpolation=cv2.INTER_AREA))
    truths = ab_of(LEFT_RGB), ab_of(RIGHT_RGB)
    for seed in range(40):
        item = crops[(0, seed)]
        points = drawn[-1]
        hints = item["hints"].numpy()
        assert hints.shape == (6, 64, 64) and item["l"].shape == (1, 64, 64)
        # The engine's own planes for the points drawn, spread along the L* the network sees.
        np.testing.assert_array_equal(hints, hint_sim.hint_planes(lightness, points).transpose(2, 0, 1))
        assert (hints[5].sum() > 0) == bool(points) and (not points) == (not hints.any())
        for point in points:  # a patch (at most 9 px, so 4 px around the point) off the edge: its region's colour
            if abs(point.x - 32) > 5:
                np.testing.assert_allclose((point.a, point.b), truths[point.x > 32], atol=0.5)
    assert 1 <= sum(not points for points in drawn) <= 15  # about one crop in eight has no hint


def test_val_crops_get_fixed_points_in_the_curves_counts(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"p{i}.png"), cv2.cvtColor(two_regions(64, 80), cv2.COLOR_RGB2BGR))
    val = ValCrops(open_source(folder, 1.0), 64, hints=True)
    assert len(val) == 5
    hinted = [val[k]["hints"].numpy() for k in range(5)]
    assert not hinted[0].any()  # VAL_HINT_COUNTS (0, 1, 3, 10, 30) in turn: the first crop has none
    masks = [h[5].sum() for h in hinted]
    assert 0 < masks[1] <= 9 and masks[1] < masks[2] < masks[3] < masks[4] <= 30 * 9
    np.testing.assert_array_equal(val[3]["hints"].numpy(), hinted[3])  # fixed: the same on every call


# -- the residual design -------------------------------------------------------------------------------------
def test_without_hints_the_output_is_exactly_the_automatic_models() -> None:
    trunk = tiny_trunk()
    generator = HintGenerator(trunk, **REFINE).eval()
    torch.manual_seed(0)
    with torch.no_grad():  # as after training: the refinement's last layer is no longer zero
        generator.head.weight.normal_(0, 0.5)
        generator.head.bias.normal_(0, 0.5)
    lum = torch.rand(2, 1, 64, 96) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(generator(lum, torch.zeros(2, 6, 64, 96)), trunk(lum), rtol=0, atol=0)


def test_at_initialisation_it_is_the_engines_hint_mode() -> None:
    trunk = tiny_trunk()
    generator = HintGenerator(trunk, **REFINE).eval()
    rgb = two_regions(64, 96)
    lightness, _ = lightness_and_ab(rgb)
    hints = [Hint(10.5, 20.5, *ab_of((180, 120, 40))), Hint(70.5, 30.5, *ab_of((40, 160, 90)))]
    lum = torch.from_numpy(colour.normalize_l(lightness)[None, None].astype(np.float32))
    with torch.no_grad():
        auto = colour.denormalize_ab(trunk(lum)[0].numpy().transpose(1, 2, 0))
        got = colour.denormalize_ab(generator(lum, planes_tensor(lightness, hints))[0].numpy().transpose(1, 2, 0))
    planes = rasterise(hints, (96, 64), (96, 64))
    expected = blend(auto, propagate(lightness, planes), len(hints))
    np.testing.assert_allclose(got, expected, atol=0.05)  # a*b* units; only the gate's 1e-4 clamp differs


def test_a_training_step_moves_the_refinement_only(trunk_onnx: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"p{i}.png"), cv2.cvtColor(two_regions(80, 96)[:, ::(1 if i % 2 else -1)],
                                                            cv2.COLOR_RGB2BGR))
    opts = Options(data=str(folder), out=str(tmp_path / "run"), crop_size=64, batch_size=4, num_workers=0,
                   pretrained=False, freeze_norm=True, init_model=str(trunk_onnx), hint_inputs=True,
                   hint_refine_channels=REFINE["channels"], hint_refine_convs=REFINE["convs"],
                   hint_geometric_p=0.05, pretrain_steps=2, gan_steps=1, warmup_steps=0, seed=5,
                   **TINY).validate()
    trainer = Trainer(opts)
    assert isinstance(trainer.G, HintGenerator)
    trunk_before = {k: v.clone() for k, v in trainer.G.trunk.state_dict().items()}
    head_before = trainer.G.head.weight.clone()
    crops = TrainCrops(open_source(folder, 0.0), opts, target_on_device=False)
    batch = {k: torch.stack([crops[(i % 3, 100 + i)][k] for i in range(4)]) for k in ("l", "ab", "hints")}
    for _ in range(3):  # pretrain, then a GAN step (the discriminator judges L and a*b* only)
        losses = trainer.train_step(batch)
        assert all(np.isfinite(v) for v in losses.values())
    assert "loss_d" in losses
    assert not torch.equal(trainer.G.head.weight, head_before)
    for name, value in trainer.G.trunk.state_dict().items():
        torch.testing.assert_close(value, trunk_before[name], rtol=0, atol=0, msg=name)


# -- export and the engine -----------------------------------------------------------------------------------
def test_exported_model_runs_in_the_engine_and_a_hint_colours_where_it_is_placed(tmp_path: Path) -> None:
    trunk = tiny_trunk()
    generator = HintGenerator(trunk, **REFINE).eval()
    path = tmp_path / "hints.onnx"
    contract = ModelContract(model_name="hinted", model_version="3", hint_input_name=export.HINT_INPUT,
                             hint_channels=HINT_CHANNELS)
    report = export.export_onnx(generator, path, contract)
    assert report["max_abs_diff"] <= 1e-3
    engine_model = Generator(path, device="cpu")
    assert engine_model.takes_hints and engine_model.contract.hint_channels == HINT_CHANNELS

    grey = colour.to_uint8(np.repeat(colour.rgb_to_lightness(two_regions(96, 128) / 255.0)[..., None] / 100.0,
                                     3, axis=-1))
    photo = Photo(pixels=grey, alpha=None, exif=None, format="PNG", path=tmp_path / "two.png")
    automatic = colorize(photo, engine_model, render_size=128).ab
    green = Hint.from_hex(32.0, 48.0, "#30a040")
    hinted = colorize(photo, engine_model, hints=[green], render_size=128).ab
    # Where the hint is placed, the colour is the hint's, not the model's own.
    np.testing.assert_allclose(hinted[48, 32], (green.a, green.b), atol=3.0)
    assert np.abs(automatic[48, 32] - (green.a, green.b)).max() > 10.0
    # No hints: the engine feeds zeros, and the output is the automatic model's, exported alike.
    auto_path = tmp_path / "auto.onnx"
    export.export_onnx(trunk, auto_path, ModelContract(model_name="auto", model_version="1"))
    np.testing.assert_allclose(automatic, colorize(photo, Generator(auto_path, device="cpu"), render_size=128).ab,
                               atol=1e-3)


def test_a_contract_that_disagrees_with_the_generator_is_refused(tmp_path: Path) -> None:
    generator = HintGenerator(tiny_trunk(), **REFINE).eval()
    with pytest.raises(export.ExportError, match="hints"):
        export.export_onnx(generator, tmp_path / "x.onnx", ModelContract(model_name="x"))
    assert not (tmp_path / "x.onnx").exists()
