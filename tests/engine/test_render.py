"""The full-resolution render (engine.render) against the plain dense float path it replaces: same pixels
(identical but for float rounding, never more than 1 level apart), the same whatever the strips, both
routes of the gamut cap, every OpenCV call within its size limits, and the boundary table it relies on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine import colour, pipeline, render
from engine.pipeline import Prediction


def saturated_prediction(height: int, width: int, seed: int, chroma: float = 45.0) -> Prediction:
    """Textured L* (with black and white clipped areas) and smooth a*b* at 1/8 size, many far outside sRGB."""
    rng = np.random.default_rng(seed)
    small = cv2.GaussianBlur(rng.uniform(-20, 120, (max(2, height // 8), max(2, width // 8))), (0, 0), 1.5)
    lightness = cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    lightness = np.clip(lightness + rng.normal(0, 2, lightness.shape).astype(np.float32), 0, 100)
    ab = rng.normal(0, chroma, (max(2, height // 8), max(2, width // 8), 2)).astype(np.float32)
    return Prediction(lightness=lightness, ab=cv2.GaussianBlur(ab, (0, 0), 1.0))


def dense_float_render(prediction: Prediction, strength: float) -> np.ndarray:
    """The reference: one full-frame resize of a*b*, the gamut headroom of every pixel, float Lab -> sRGB."""
    height, width = prediction.lightness.shape
    across = pipeline._interpolation(prediction.ab.shape[1], width)
    ab = cv2.resize(prediction.ab, (width, height), interpolation=across)
    a, b = cv2.split(ab)
    chroma, hue = cv2.cartToPolar(a, b, angleInDegrees=True)
    headroom = cv2.divide(render.chroma_limit(prediction.lightness, hue), chroma, scale=render.GAMUT_MARGIN)
    factor = np.minimum(headroom, np.float32(strength))
    rgb = colour.lab_to_rgb(cv2.merge([prediction.lightness, a * factor, b * factor]))
    if prediction.bit_depth == 16:
        return (np.clip(rgb, 0, 1) * 65535.0 + 0.5).astype(np.uint16)
    return colour.to_uint8(rgb)


def assert_close_to_reference(rendered: np.ndarray, reference: np.ndarray, *, levels: int = 1) -> None:
    diff = np.abs(rendered.astype(np.int64) - reference.astype(np.int64))
    assert diff.max() <= levels
    assert (diff == 0).mean() > 0.999


@pytest.mark.parametrize("strength", [0.0, 0.4, 1.0, 1.6, 2.0])
def test_strip_render_matches_the_dense_float_path(strength: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "CACHED_RENDER_PIXELS", 0)
    monkeypatch.setattr(pipeline, "STRIP_PIXELS", 300 * 37)  # many strips, odd boundaries
    prediction = saturated_prediction(240, 300, seed=1)
    assert_close_to_reference(prediction.render(strength), dense_float_render(prediction, strength))


def test_sparse_and_dense_gamut_caps_give_identical_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "CACHED_RENDER_PIXELS", 0)
    prediction = saturated_prediction(200, 260, seed=2)
    capped = []
    real_limit = render.chroma_limit

    def counting_limit(lightness: np.ndarray, hue: np.ndarray) -> np.ndarray:
        capped.append(lightness.size)
        return real_limit(lightness, hue)

    monkeypatch.setattr(render, "chroma_limit", counting_limit)
    results = {}
    for route, share in (("sparse", 1.0), ("dense", 0.0)):
        monkeypatch.setattr(render, "SPARSE_LIMIT", share)
        capped.clear()
        results[route] = prediction.render(1.8)
        looked_up = sum(capped)
        if route == "sparse":  # only the pixels that might leave sRGB were looked up, but some were
            assert 0 < looked_up < 0.9 * 200 * 260
        else:
            assert looked_up == 200 * 260
    np.testing.assert_array_equal(results["sparse"], results["dense"])


def test_cached_preview_render_equals_the_strip_render(monkeypatch: pytest.MonkeyPatch) -> None:
    prediction = saturated_prediction(180, 250, seed=3)
    whole = [prediction.render(s) for s in (0.7, 2.0)]
    assert prediction._colour_cache is not None
    monkeypatch.setattr(pipeline, "CACHED_RENDER_PIXELS", 0)
    monkeypatch.setattr(pipeline, "STRIP_PIXELS", 250 * 11)
    fresh = Prediction(prediction.lightness, prediction.ab)
    for s, expected in zip((0.7, 2.0), whole, strict=True):
        np.testing.assert_array_equal(fresh.render(s), expected)


def test_sixteen_bit_render_matches_the_dense_float_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "CACHED_RENDER_PIXELS", 0)
    base = saturated_prediction(120, 160, seed=4)
    prediction = Prediction(base.lightness, base.ab, bit_depth=16)
    rendered = prediction.render(1.3)
    assert rendered.dtype == np.uint16
    # Float rounding in the last bit of a*b* moves a 16-bit value by a few units (1/257 of an 8-bit level).
    assert_close_to_reference(rendered, dense_float_render(prediction, 1.3), levels=8)


@pytest.mark.parametrize("shape", [(40000, 30), (30, 40000)])
@pytest.mark.parametrize("cached", [True, False])
def test_very_tall_and_very_wide_photos_render(shape: tuple[int, int], cached: bool,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """cv2.remap refuses maps of 32,767+ rows or columns: a 30 x 40,000 photo still renders, in one strip
    (the whole-frame preview path, on one thread) or in strips of 34,952 rows, and matches the reference."""
    height, width = shape
    rng = np.random.default_rng(5)
    lightness = np.clip(rng.normal(60, 25, shape), 0, 100).astype(np.float32)
    ab = rng.normal(0, 60, (max(1, height // 80), max(1, width // 80), 2)).astype(np.float32)
    prediction = Prediction(lightness, ab)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        if not cached:
            monkeypatch.setattr(pipeline, "CACHED_RENDER_PIXELS", 0)
        rendered = prediction.render(2.0)
    finally:
        cv2.setNumThreads(threads)
    assert (prediction._colour_cache is not None) == cached
    assert rendered.shape == (height, width, 3)
    assert_close_to_reference(rendered, dense_float_render(prediction, 2.0))


def test_chroma_limit_handles_maps_beyond_opencvs_limits() -> None:
    lightness = np.full((33000, 3), 50.0, np.float32)
    hue = np.tile(np.float32([0.0, 120.0, 240.0]), (33000, 1))
    limit = render.chroma_limit(lightness, hue)
    np.testing.assert_array_equal(limit, np.tile(limit[:1], (33000, 1)))
    np.testing.assert_array_equal(render.chroma_limit(lightness.T.copy(), hue.T.copy()), limit.T)


def test_boundary_table_is_the_srgb_boundary() -> None:
    """Every entry is inside sRGB and within 0.0015 chroma of leaving it (checked with float64 maths)."""
    table = render.max_chroma_table().astype(np.float64).ravel()
    grid_l, grid_h = np.meshgrid(np.arange(101.0), np.radians(np.arange(361.0)), indexing="ij")
    fy, hue = (grid_l.ravel() + 16.0) / 116.0, grid_h.ravel()

    def outside(chroma: np.ndarray, tolerance: float) -> np.ndarray:
        """CIE Lab -> XYZ (D65 white as OpenCV) -> linear sRGB, in float64."""
        def inverse_f(t: np.ndarray) -> np.ndarray:
            return np.where(t > 6 / 29, t**3, 3 * (6 / 29) ** 2 * (t - 4 / 29))

        xyz = np.stack([0.950456 * inverse_f(fy + np.cos(hue) * chroma / 500), inverse_f(fy),
                        1.088754 * inverse_f(fy - np.sin(hue) * chroma / 200)], axis=1)
        linear = xyz @ np.array([[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556],
                                 [0.055648, -0.204043, 1.057311]]).T
        return ((linear < -tolerance) | (linear > 1 + tolerance)).any(axis=1)

    assert not outside(table, 1e-6).any()  # float32 maths, as OpenCV's conversion: inside up to 1e-6
    interior = (grid_l.ravel() > 0) & (grid_l.ravel() < 100)  # black and white have no chroma at all
    assert outside(table + 0.0015, 0.0)[interior].all()
    np.testing.assert_array_equal(render.max_chroma_table()[:, 360], render.max_chroma_table()[:, 0])


def test_the_lower_bound_is_below_every_lookup() -> None:
    """The cheap test that skips the table lookup never skips a pixel whose chroma the cap would change."""
    rng = np.random.default_rng(6)
    lightness = rng.uniform(-1, 101, (1, 200_000)).astype(np.float32)
    hue = rng.uniform(0, 360, (1, 200_000)).astype(np.float32)
    bins = cv2.convertScaleAbs(lightness, alpha=2.55)
    bound = cv2.LUT(bins, render._boundary_lower_bound().astype(np.float32))
    assert (bound <= render.GAMUT_MARGIN * render.chroma_limit(lightness, hue)).all()
    assert bound.mean() > 10  # and it is not trivially zero: most pixels skip the lookup


def test_one_off_tables_are_built_ahead_of_the_first_render() -> None:
    """In a fresh interpreter: importing the pipeline starts OpenCV's Lab set-up on a thread (GIL-free), and
    builds no gamut table (that would slow the import); a photo's L* starts that build."""
    probe = (
        "import threading, numpy as np\n"
        "from engine import colour, pipeline, render\n"
        "assert colour._warm_up is not None and colour._warm_up.name == 'rechroma-lab-tables'\n"
        "assert render._table is None and not render._build_started\n"
        "pipeline.lightness_of(np.zeros((8, 8), np.uint8))\n"
        "assert render._build_started\n"
        "table = render.max_chroma_table()\n"
        "assert np.array_equal(table, render._build_max_chroma_table())\n"
        "assert render.max_chroma_table() is table\n"
        "grey = colour.lab_to_rgb(np.array([[[50.0, 0.0, 0.0]]], np.float32))\n"
        "assert not colour._warm_up.is_alive() and abs(float(grey[0, 0, 0]) - 0.4663) < 1e-3\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "ok", done.stderr


def test_a_process_may_exit_while_the_tables_are_still_being_built() -> None:
    """Import and exit at once (a CLI's --help): the background set-up must not abort the interpreter."""
    for code in ("import engine.pipeline",
                 "import numpy as np\nfrom engine import pipeline\npipeline.lightness_of(np.zeros((4, 4), np.uint8))"):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[2])
        assert done.returncode == 0, done.stderr
