"""Colour hints in the engine: the contract's hint input, where a hint lands, the propagation, hint mode with a
model that takes no hints, and strength re-renders without a new model run."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from standin_model import (
    HINT_STANDIN_CONTRACT,
    STANDIN_CONTRACT,
    build_hint_copy_model,
    build_standin_model,
    make_scene,
    to_grey,
)

from engine import colour
from engine.contract import HINT_CHANNELS, METADATA_KEY, ModelContract, ModelContractError
from engine.hints import PATCH, FractionHint, Hint, HintsError, parse_colour, rasterise
from engine.model import Generator
from engine.photo_io import read_photo
from engine.pipeline import colorize, colorize_file
from engine.propagation import Propagation, blend, propagate
from engine.sidecar import hints_for_photo, sidecar_path

RED = "#c83232"
BLUE = "#3264c8"


def ab_of(rgb: np.ndarray) -> np.ndarray:
    return colour.rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 1:]


@pytest.fixture(scope="module")
def copy_model(tmp_path_factory: pytest.TempPathFactory) -> Generator:
    return Generator(build_hint_copy_model(tmp_path_factory.mktemp("hint-models") / "copy.onnx"), device="cpu")


@pytest.fixture(scope="module")
def v1_model(tmp_path_factory: pytest.TempPathFactory) -> Generator:
    """A model of contract version 1, as every model before hints was written."""
    path = build_standin_model(tmp_path_factory.mktemp("v1") / "v1.onnx", contract=replace(STANDIN_CONTRACT, version=1))
    return Generator(path, device="cpu")


def flat_photo(path: Path, width: int, height: int, level: int = 128, exif: Image.Exif | None = None) -> Path:
    Image.fromarray(np.full((height, width), level, np.uint8)).save(path, exif=exif or Image.Exif())
    return path


# --- contract ---------------------------------------------------------------------------------------------


def test_hint_contract_round_trips_and_names_its_channels() -> None:
    metadata = HINT_STANDIN_CONTRACT.to_metadata()
    values = json.loads(metadata[METADATA_KEY])
    assert values["version"] == 2 and values["hint_input_name"] == "hints"
    assert values["hint_channels"] == list(HINT_CHANNELS)
    assert ModelContract.from_metadata(metadata) == HINT_STANDIN_CONTRACT


def test_version_1_contract_is_written_without_hint_fields_and_still_loads(tmp_path: Path, v1_model: Generator) -> None:
    values = json.loads(replace(STANDIN_CONTRACT, version=1).to_metadata()[METADATA_KEY])
    assert values["version"] == 1 and "hint_input_name" not in values
    assert v1_model.contract.version == 1 and not v1_model.takes_hints
    photo = read_photo(flat_photo(tmp_path / "flat.png", 64, 48))
    assert colorize(photo, v1_model, render_size=64).ab.shape == (48, 64, 2)


def test_the_shipped_model_loads_and_runs_in_both_modes(tmp_path: Path) -> None:
    shipped = Generator(Path(__file__).resolve().parents[2] / "resources" / "models" / "rechroma-v2.onnx", device="cpu")
    assert not shipped.takes_hints
    photo = read_photo(flat_photo(tmp_path / "p.png", 96, 64))
    automatic = colorize(photo, shipped, render_size=96)
    hinted = colorize(photo, shipped, render_size=96, hints=[Hint.from_hex(48, 32, RED)])
    assert np.abs(hinted.ab - automatic.ab).max() > 5  # the hint shows: nothing was dropped


def test_hint_channels_other_than_the_engines_are_refused(tmp_path: Path) -> None:
    odd = replace(HINT_STANDIN_CONTRACT, hint_channels=tuple(reversed(HINT_CHANNELS)))
    with pytest.raises(ModelContractError, match="hint channels"):
        Generator(build_hint_copy_model(tmp_path / "odd.onnx", contract=odd))


def test_a_version_1_contract_cannot_claim_a_hint_input() -> None:
    values = json.loads(STANDIN_CONTRACT.to_metadata()[METADATA_KEY])
    values.update(version=1, hint_input_name="hints")
    with pytest.raises(ModelContractError, match="unknown fields"):
        ModelContract.from_metadata({METADATA_KEY: json.dumps(values)})


def test_hint_model_missing_its_hint_input_is_refused(tmp_path: Path) -> None:
    path = build_standin_model(tmp_path / "nohints.onnx", contract=HINT_STANDIN_CONTRACT)
    with pytest.raises(ModelContractError, match="inputs named \\['L', 'hints'\\]"):
        Generator(path)


# --- where a hint lands -------------------------------------------------------------------------------------


def test_hint_lands_at_its_pixel_with_its_colour_on_a_non_square_photo(tmp_path: Path, copy_model: Generator) -> None:
    photo = read_photo(flat_photo(tmp_path / "wide.png", 300, 120))
    prediction = colorize(photo, copy_model, render_size=300, hints=[Hint.from_hex(90.5, 40.5, RED)])
    ab = ab_of(prediction.render(1.0))
    expected = parse_colour(RED)
    np.testing.assert_allclose(ab[40, 90], expected, atol=1.5)
    half = PATCH // 2
    np.testing.assert_allclose(ab[40 - half, 90 + half], expected, atol=1.5)  # the patch's corner
    assert np.abs(ab[40 + half + 1, 90]).max() < 1.0 and np.abs(ab[40, 90 - half - 1]).max() < 1.0
    hinted = np.abs(ab).max(axis=2) > 5
    assert hinted.sum() == PATCH * PATCH


def test_hint_at_render_size_smaller_than_the_photo(tmp_path: Path, copy_model: Generator) -> None:
    photo = read_photo(flat_photo(tmp_path / "big.png", 640, 400))
    prediction = colorize(photo, copy_model, render_size=320, hints=[Hint.from_hex(500.0, 100.0, BLUE)])
    ab = ab_of(prediction.render(1.0))
    np.testing.assert_allclose(ab[100, 500], parse_colour(BLUE), atol=2.0)
    assert np.abs(ab[300, 100]).max() < 1.0


def test_hint_fractions_follow_exif_orientation(tmp_path: Path, copy_model: Generator) -> None:
    """A 300x200 JPEG stored sideways (EXIF orientation 6) is displayed 200x300; fractions refer to that."""
    exif = Image.Exif()
    exif[0x0112] = 6
    src = flat_photo(tmp_path / "turned.jpg", 300, 200, exif=exif)
    assert read_photo(src).size == (200, 300)
    sidecar_path(src).write_text(json.dumps({"version": 1, "points": [{"x": 0.25, "y": 0.1, "color": RED}]}))
    out = colorize_file(src, tmp_path / "out.png", copy_model, render_size=300, hints=hints_for_photo(src))
    ab = ab_of(read_photo(out).pixels)
    assert ab.shape[:2] == (300, 200)
    np.testing.assert_allclose(ab[30, 50], parse_colour(RED), atol=2.5)
    hinted = np.argwhere(np.abs(ab).max(axis=2) > 5)
    assert hinted.min(0).tolist() == [29, 49] and hinted.max(0).tolist() == [31, 51]  # only the patch around it


def test_rasterise_averages_overlapping_hints_and_drops_none() -> None:
    planes = rasterise([Hint(10, 10, 40.0, 0.0), Hint(11, 10, 0.0, 40.0), Hint(99.9, 49.9, 5.0, 5.0)],
                       (100, 50), (100, 50))
    assert planes.count == 3
    np.testing.assert_allclose(planes.ab[10, 10], [20.0, 20.0])  # both patches cover it
    np.testing.assert_allclose(planes.ab[10, 9], [40.0, 0.0])  # only the first
    assert planes.mask[49, 99] == 1  # the far corner is inside, clipped patch


@pytest.mark.parametrize("hint", [Hint(-1, 5, 0, 0), Hint(5, 51, 0, 0), Hint(float("nan"), 5, 0, 0),
                                  FractionHint(1.2, 0.5, 0, 0)])
def test_hints_outside_the_photo_are_an_error_not_a_clamp(hint) -> None:
    with pytest.raises(HintsError, match="outside|finite"):
        rasterise([hint], (100, 50), (100, 50))


# --- propagation and hint mode with a model that takes no hints -------------------------------------------------


def two_regions(height: int = 60, width: int = 90) -> np.ndarray:
    lightness = np.full((height, width), 30.0, np.float32)
    lightness[:, width // 2:] = 70.0
    return lightness + np.random.default_rng(0).normal(0, 0.3, lightness.shape).astype(np.float32)


def test_propagation_keeps_each_region_its_own_hints_colour() -> None:
    lightness = two_regions()
    red, blue = parse_colour(RED), parse_colour(BLUE)
    planes = rasterise([Hint(10, 50, *red), Hint(80, 8, *blue)], (90, 60), (90, 60))
    result = propagate(lightness, planes)
    np.testing.assert_allclose(result.ab[:, :43].reshape(-1, 2).mean(0), red, atol=1.0)
    np.testing.assert_allclose(result.ab[:, 47:].reshape(-1, 2).mean(0), blue, atol=1.0)
    assert np.abs(result.ab[:, :43] - red).max() < 3 and np.abs(result.ab[:, 47:] - blue).max() < 3
    # The smoother spreads the mask evenly through a region, so far corners keep most of the confidence.
    assert result.confidence[:, :43].min() > 0.6 and result.confidence[:, 47:].min() > 0.6


def test_confidence_falls_across_an_edge_the_hint_had_to_cross() -> None:
    planes = rasterise([Hint(10, 30, *parse_colour(RED))], (90, 60), (90, 60))
    result = propagate(two_regions(), planes)
    assert result.confidence[:, :43].min() > 0.9
    assert result.confidence[:, 47:].max() < 0.2


def test_far_from_its_hint_a_region_keeps_its_own_colour_behind_a_strong_edge() -> None:
    # A wide sky over a darker band, each hinted at the far end from the other: the long-reach pass that
    # colours regions far from any hint must not carry either colour across the edge between them.
    lightness = np.full((100, 300), 70.0, np.float32)
    lightness[50:] = 50.0
    lightness += np.random.default_rng(0).normal(0, 0.3, lightness.shape).astype(np.float32)
    blue, red = parse_colour(BLUE), parse_colour(RED)
    planes = rasterise([Hint(290, 10, *blue), Hint(10, 60, *red)], (300, 100), (300, 100))
    result = propagate(lightness, planes)
    assert np.linalg.norm(result.ab[:46] - blue, axis=-1).max() < 4.0
    assert np.linalg.norm(result.ab[54:] - red, axis=-1).max() < 4.0


@pytest.mark.parametrize("size", [(91, 61), (7, 5), (1, 40)])
def test_propagation_covers_odd_sized_grids_exactly(size: tuple[int, int]) -> None:
    # Two of the passes run on a half-size grid; their result must come back onto every pixel of the
    # render grid, odd sizes included.
    width, height = size
    lightness = np.full((height, width), 50.0, np.float32)
    red = parse_colour(RED)
    result = propagate(lightness, rasterise([Hint(width / 2, height / 2, *red)], size, size))
    assert result.ab.shape == (height, width, 2) and result.ab.dtype == np.float32
    assert result.confidence.shape == (height, width)
    np.testing.assert_allclose(result.ab.reshape(-1, 2), np.broadcast_to(red, (height * width, 2)), atol=0.5)


def test_with_more_hints_the_propagation_outweighs_the_models_colour_at_the_same_confidence() -> None:
    model = np.zeros((4, 4, 2), np.float32)
    hinted = np.full((4, 4, 2), 10.0, np.float32)
    confidence = np.array([[0.0, 0.2, 0.5, 1.0]] * 4, np.float32)
    one, ten = (blend(model, Propagation(hinted, confidence), n)[..., 0] for n in (1, 10))
    np.testing.assert_allclose(one[:, 0], 0.0)  # where no hint reaches: the model's colour
    np.testing.assert_allclose(one[:, 3], 10.0)  # where hints fully reach: theirs
    assert (ten[:, 1:3] > one[:, 1:3] + 0.5).all()


def test_hint_mode_without_a_hint_model_lays_the_propagation_over_the_models_colour(
        tmp_path: Path, v1_model: Generator) -> None:
    grey = np.where(np.arange(90)[None, :] < 45, 60, 180).astype(np.uint8).repeat(60, axis=0)
    Image.fromarray(grey).save(tmp_path / "two.png")
    photo = read_photo(tmp_path / "two.png")
    automatic = colorize(photo, v1_model, render_size=90)
    hinted = colorize(photo, v1_model, render_size=90, hints=[Hint.from_hex(10, 30, RED)])
    red = parse_colour(RED)
    np.testing.assert_allclose(hinted.ab[:, :43].reshape(-1, 2).mean(0), red, atol=2.0)  # its region: the hint
    # The other side, which the hint reaches only across the edge, keeps mostly the model's own colour.
    far = np.abs(hinted.ab[:, 50:] - automatic.ab[:, 50:]).mean()
    assert far < 0.25 * np.abs(np.asarray(red) - automatic.ab[:, 50:]).mean()


def test_strength_rerenders_a_hinted_prediction_without_running_the_model(
        tmp_path: Path, copy_model: Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = read_photo(flat_photo(tmp_path / "p.png", 120, 80))
    prediction = colorize(photo, copy_model, render_size=120, hints=[Hint.from_hex(60, 40, RED)])

    def no_model_run(*args, **kwargs):
        raise AssertionError("the model ran again")

    monkeypatch.setattr(copy_model, "predict_ab", no_model_run)
    full, half = ab_of(prediction.render(1.0)), ab_of(prediction.render(0.5))
    np.testing.assert_allclose(half[40, 60], full[40, 60] / 2, atol=1.5)


def test_hint_model_without_hints_gets_zeros_its_automatic_mode(tmp_path: Path, copy_model: Generator) -> None:
    Image.fromarray(to_grey(make_scene(64, 96))).save(tmp_path / "scene.png")
    prediction = colorize(read_photo(tmp_path / "scene.png"), copy_model)
    assert np.abs(prediction.ab).max() == 0.0  # it copies its (all-zero) hint planes
