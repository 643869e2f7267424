"""The shared Lab module against published sRGB/D65 reference values, and its normalisation round trips."""

from __future__ import annotations

import numpy as np
import pytest

from engine import colour

# CIE Lab (D65) of the sRGB primaries and white, from the sRGB definition (e.g. Lindbloom's calculator).
REFERENCE = {
    (1.0, 0.0, 0.0): (53.2408, 80.0925, 67.2032),
    (0.0, 1.0, 0.0): (87.7347, -86.1827, 83.1793),
    (0.0, 0.0, 1.0): (32.2970, 79.1875, -107.8602),
    (1.0, 1.0, 1.0): (100.0, 0.0, 0.0),
    (0.0, 0.0, 0.0): (0.0, 0.0, 0.0),
    (0.5, 0.5, 0.5): (53.3890, 0.0, 0.0),
}


@pytest.mark.parametrize("rgb,lab", list(REFERENCE.items()))
def test_rgb_to_lab_matches_reference(rgb: tuple, lab: tuple) -> None:
    got = colour.rgb_to_lab(np.array([[rgb]], np.float32))[0, 0]
    np.testing.assert_allclose(got, lab, atol=0.05)


def test_lab_to_rgb_round_trip() -> None:
    rng = np.random.default_rng(1)
    rgb = rng.uniform(0.0, 1.0, size=(32, 32, 3)).astype(np.float32)
    back = colour.lab_to_rgb(colour.rgb_to_lab(rgb))
    # OpenCV's float Lab is not exact (its a*b* come out in 1/64 steps): within one 8-bit level.
    np.testing.assert_allclose(back, rgb, atol=1 / 255)
    assert np.abs(colour.to_uint8(back).astype(int) - colour.to_uint8(rgb).astype(int)).max() <= 1


def test_lightness_is_the_l_channel() -> None:
    rgb = np.array([[[0.2, 0.4, 0.6], [0.9, 0.1, 0.3]]], np.float32)
    np.testing.assert_array_equal(colour.rgb_to_lightness(rgb), colour.rgb_to_lab(rgb)[..., 0])


def test_normalisation_ranges_and_round_trip() -> None:
    lightness = np.array([0.0, 50.0, 100.0], np.float32)
    np.testing.assert_allclose(colour.normalize_l(lightness), [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(colour.denormalize_l(colour.normalize_l(lightness)), lightness, atol=1e-5)
    ab = np.array([-110.0, -20.5, 0.0, 64.0, 110.0], np.float32)
    np.testing.assert_allclose(colour.normalize_ab(ab), ab / 110.0)
    np.testing.assert_allclose(colour.denormalize_ab(colour.normalize_ab(ab)), ab, atol=1e-4)
    assert colour.normalize_l(lightness).dtype == np.float32 and colour.denormalize_ab(ab).dtype == np.float32


def test_primaries_fit_the_network_range() -> None:
    """The a*b* of every sRGB colour normalise to about [-1, 1] (blue's b* is the extreme)."""
    cube = np.stack(np.meshgrid(*[np.linspace(0, 1, 9)] * 3, indexing="ij"), -1).reshape(1, -1, 3)
    ab = colour.normalize_ab(colour.rgb_to_lab(cube.astype(np.float32))[..., 1:])
    assert np.abs(ab).max() < 1.0
    assert np.abs(ab).max() > 0.9


def test_trainer_and_engine_compute_the_same_lightness() -> None:
    """The trainer's L* (colour.rgb_to_lab on float crops) must equal the engine's (lightness_of on pixels)."""
    from engine.pipeline import lightness_of

    rng = np.random.default_rng(7)
    pixels = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    engine_l = lightness_of(pixels)
    trainer_l = colour.rgb_to_lab(pixels.astype(np.float32) / 255.0)[..., 0]
    np.testing.assert_allclose(trainer_l, engine_l, atol=1e-3)
    np.testing.assert_allclose(colour.rgb_to_lightness(pixels.astype(np.float32) / 255.0), engine_l, atol=1e-3)


def test_to_uint8_clips_out_of_range_values() -> None:
    assert colour.to_uint8(np.array([-0.2, 0.5, 1.3])).tolist() == [0, 128, 255]
