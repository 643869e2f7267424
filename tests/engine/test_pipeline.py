"""The colorize pipeline on real files with the stand-in generator: size, luminance, strength, gamut,
alpha, 16-bit, padding, cancellation and the file-level guarantees."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from standin_model import build_standin_model, make_scene, to_sepia

from engine import colour, pipeline
from engine.cancel import Cancelled, CancelToken
from engine.model import Generator
from engine.photo_io import PhotoError, PhotoExistsError, read_photo
from engine.pipeline import Prediction, colorize, colorize_file, lightness_of


@pytest.fixture(scope="module")
def generator(standin_model: Path) -> Generator:
    return Generator(standin_model, device="cpu", threads=1)


def lab_of(rgb: np.ndarray) -> np.ndarray:
    scale = 65535.0 if rgb.dtype == np.uint16 else 255.0
    return colour.rgb_to_lab(rgb.astype(np.float32) / scale)


def chroma_of(rgb: np.ndarray) -> np.ndarray:
    lab = lab_of(rgb)
    return np.hypot(lab[..., 1], lab[..., 2])


def test_lightness_matches_the_cie_formula_and_opencv() -> None:
    values = np.arange(256, dtype=np.uint8)
    grey = np.repeat(values[None, :, None], 3, axis=2)
    ours = lightness_of(grey)[0]
    c = values / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    exact = np.where(linear > 216 / 24389, 116 * np.cbrt(linear) - 16, 24389 / 27 * linear)
    np.testing.assert_allclose(ours, exact, atol=1e-3)
    # OpenCV's float conversion (what the colour module uses) agrees to within its own spline error.
    np.testing.assert_allclose(ours, colour.rgb_to_lightness(grey / np.float32(255))[0], atol=0.2)
    assert ours[0] == 0.0 and abs(ours[255] - 100.0) < 1e-3


def test_output_keeps_size_and_luminance(photo_dir: Path, generator: Generator) -> None:
    photo = read_photo(photo_dir / "colour.jpg")
    rendered = colorize(photo, generator).render(1.0)
    assert rendered.shape == photo.pixels.shape and rendered.dtype == np.uint8
    diff = np.abs(lab_of(rendered)[..., 0] - lab_of(photo.pixels)[..., 0])
    assert diff.mean() < 0.5
    assert diff.max() < 1.5
    assert chroma_of(rendered).mean() > 3.0  # the model's colours really are in the output


@pytest.mark.parametrize("size", [(333, 517), (17, 5), (1, 1), (40, 2000)])
def test_odd_sizes_come_back_exactly(size: tuple[int, int], generator: Generator) -> None:
    pixels = make_scene(*size, seed=3)
    photo_like = type("P", (), {"pixels": pixels, "alpha": None})()
    assert colorize(photo_like, generator).render(1.0).shape == (*size, 3)


def test_strength_zero_is_the_grey_original(photo_dir: Path, generator: Generator) -> None:
    photo = read_photo(photo_dir / "grey.png")
    rendered = colorize(photo, generator).render(0.0)
    assert np.abs(lab_of(rendered)[..., 1:]).max() < 1.0
    assert np.abs(rendered.astype(int) - photo.pixels.astype(int)).max() <= 1


def test_strength_two_has_more_chroma_than_one(photo_dir: Path, generator: Generator) -> None:
    prediction = colorize(read_photo(photo_dir / "grey.jpg"), generator)
    one, two = chroma_of(prediction.render(1.0)).mean(), chroma_of(prediction.render(2.0)).mean()
    assert one > 3.0
    assert two > 1.5 * one


def test_strength_outside_range_is_refused(photo_dir: Path, generator: Generator) -> None:
    prediction = colorize(read_photo(photo_dir / "grey.png"), generator)
    for bad in (-0.1, 2.5, float("nan")):
        with pytest.raises(ValueError, match="strength"):
            prediction.render(bad)


def test_out_of_gamut_chroma_is_reduced_with_lightness_and_hue_kept() -> None:
    # Saturated a*b* on mid and light greys: far outside sRGB, so clipping would shift L* and hue.
    lightness = np.array([[30.0, 60.0, 90.0, 97.0]], np.float32)
    ab = np.array([[[80.0, -90.0], [-100.0, 60.0], [90.0, 90.0], [-60.0, -60.0]]], np.float32)
    rendered = Prediction(lightness=lightness, ab=ab).render(1.0)
    lab = lab_of(rendered)
    np.testing.assert_allclose(lab[..., 0], lightness, atol=0.6)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    assert (chroma < np.hypot(ab[..., 0], ab[..., 1])).all() and (chroma > 3.0).all()
    hue_in = np.degrees(np.arctan2(ab[..., 1], ab[..., 0]))
    hue_out = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    assert np.abs((hue_out - hue_in + 180) % 360 - 180).max() < 8.0


def test_gamut_mapping_keeps_luminance_at_double_strength(photo_dir: Path, generator: Generator) -> None:
    photo = read_photo(photo_dir / "grey.jpg")
    rendered = colorize(photo, generator).render(2.0)
    diff = np.abs(lab_of(rendered)[..., 0] - lab_of(photo.pixels)[..., 0])
    assert diff.mean() < 0.5 and diff.max() < 1.5


def test_sepia_scan_is_reduced_to_its_lightness(generator: Generator) -> None:
    sepia = to_sepia(make_scene(120, 160, seed=8))
    lightness = lightness_of(sepia)
    lab = np.zeros((*lightness.shape, 3), np.float32)
    lab[..., 0] = lightness
    neutral = colour.to_uint8(colour.lab_to_rgb(lab))
    photo = type("P", (), {"pixels": sepia, "alpha": None})()
    neutral_photo = type("P", (), {"pixels": neutral, "alpha": None})()
    from_sepia, from_neutral = colorize(photo, generator), colorize(neutral_photo, generator)
    assert np.abs(from_sepia.ab - from_neutral.ab).mean() < 0.5
    # ... and the sepia tint itself does not survive into a strength-0 render.
    assert np.abs(lab_of(from_sepia.render(0.0))[..., 1:]).max() < 1.0


def test_reflection_padding_leaves_no_border(generator: Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    # 450 x 270 at render size 500 -> 500 x 300, padded to 544 x 352: mirrored margins on all four sides.
    uniform = np.full((270, 450, 3), 200, np.uint8)
    lightness = lightness_of(uniform)

    def border_excess(ab: np.ndarray) -> float:
        """Largest difference of mean |ab| in the outer 4 rows/columns of a side vs the interior."""
        magnitude = np.hypot(ab[..., 0], ab[..., 1])
        interior = float(magnitude[8:-8, 8:-8].mean())
        sides = (magnitude[:4], magnitude[-4:], magnitude[:, :4], magnitude[:, -4:])
        return max(abs(float(side.mean()) - interior) for side in sides)

    ab = pipeline.predict_ab(lightness, generator, render_size=500)
    assert ab.shape == (300, 500, 2)
    assert border_excess(ab) < 0.05

    # The check is sensitive: padding with a constant (mid-grey L) instead shows up at the borders.
    def constant_pad(image: np.ndarray, multiple: int, margin: int = 0):
        h, w = image.shape
        ph, pw = -h % multiple, -w % multiple
        padded = cv2.copyMakeBorder(image, ph // 2, ph - ph // 2, pw // 2, pw - pw // 2, cv2.BORDER_CONSTANT)
        return padded, (ph // 2, pw // 2)

    monkeypatch.setattr(pipeline, "_reflect_pad", constant_pad)
    assert border_excess(pipeline.predict_ab(lightness, generator, render_size=500)) > 0.3


def test_network_input_has_a_mirrored_margin_even_at_an_exact_multiple(
    generator: Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Corners of the network's input are cropped away: a 512 x 384 render is run as 544 x 416 (16 px margin)."""
    seen = []
    real = generator.predict_ab

    def spy(l_norm, cancel=None):
        seen.append(l_norm.copy())
        return real(l_norm, cancel=cancel)

    monkeypatch.setattr(generator, "predict_ab", spy)
    lightness = lightness_of(make_scene(384, 512))
    ab = pipeline.predict_ab(lightness, generator, render_size=512)
    assert ab.shape == (384, 512, 2)
    assert seen[0].shape == (416, 544)
    # The margin mirrors the photo (row 16 is its first row): rows 15 and 17 are both its second row.
    np.testing.assert_allclose(seen[0][15, 16:-16], seen[0][17, 16:-16])
    np.testing.assert_allclose(seen[0][16:-16, 0], seen[0][16:-16, 32])


def test_alpha_is_put_back(photo_dir: Path, tmp_path: Path, generator: Generator) -> None:
    src = photo_dir / "alpha.png"
    out = colorize_file(src, tmp_path / "out.png", generator)
    with Image.open(src) as before, Image.open(out) as after:
        assert after.mode == "RGBA" and after.size == before.size
        np.testing.assert_array_equal(np.asarray(after)[..., 3], np.asarray(before)[..., 3])


def test_sixteen_bit_in_sixteen_bit_out(photo_dir: Path, tmp_path: Path, generator: Generator) -> None:
    src = photo_dir / "deep.png"
    out = colorize_file(src, tmp_path / "deep_color.png", generator, strength=0.0)
    original, result = read_photo(src), read_photo(out)
    assert result.bit_depth == 16 and result.size == original.size
    # Values that are not multiples of 257 survive: the output was not squeezed through 8 bits.
    assert np.count_nonzero(result.pixels % 257) > result.pixels.size // 2
    assert np.abs(result.pixels.astype(int) - original.pixels.astype(int)).max() <= 64  # ~0.25 of 8-bit


def test_preview_is_downscaled_and_renders(photo_dir: Path, generator: Generator) -> None:
    prediction = colorize(read_photo(photo_dir / "colour.jpg"), generator)
    small = prediction.preview(100)
    assert max(small.size) == 100 and small.ab is prediction.ab
    assert small.render(1.5).shape == (small.size[1], small.size[0], 3)
    assert prediction.preview(10_000).size == prediction.size


def test_colorize_file_writes_provenance(photo_dir: Path, tmp_path: Path, generator: Generator) -> None:
    out = colorize_file(photo_dir / "colour.jpg", tmp_path / "c.jpg", generator)
    with Image.open(out) as image:
        assert image.size == (320, 240)
        assert "standin v1" in str(image.getexif().get(0x010E, ""))


def test_colorize_file_never_overwrites_its_input(photo_dir: Path, generator: Generator) -> None:
    src = photo_dir / "colour.jpg"
    before = src.read_bytes()
    for overwrite in (False, True):
        with pytest.raises(PhotoError, match="overwrite the input"):
            colorize_file(src, photo_dir / "." / "colour.jpg", generator, overwrite=overwrite)
    assert src.read_bytes() == before


def test_colorize_file_existing_output(photo_dir: Path, tmp_path: Path, generator: Generator) -> None:
    dst = tmp_path / "taken.png"
    dst.write_bytes(b"user's own file")
    with pytest.raises(PhotoExistsError):
        colorize_file(photo_dir / "grey.png", dst, generator)
    assert dst.read_bytes() == b"user's own file"
    colorize_file(photo_dir / "grey.png", dst, generator, overwrite=True)
    with Image.open(dst) as image:
        assert image.size == (160, 128)


def test_bad_file_raises_photo_error_and_writes_nothing(tmp_path: Path, generator: Generator) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(PhotoError):
        colorize_file(bad, tmp_path / "out.png", generator)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.jpg"]


def test_cancel_before_start(photo_dir: Path, tmp_path: Path, generator: Generator) -> None:
    token = CancelToken()
    token.cancel()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(Cancelled):
        colorize_file(photo_dir / "colour.jpg", out_dir / "out.png", generator, cancel=token)
    assert list(out_dir.iterdir()) == []


def test_cancel_during_inference(photo_dir: Path, tmp_path: Path) -> None:
    heavy = Generator(build_standin_model(tmp_path / "heavy.onnx", width=32, depth=4), device="cpu", threads=1)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    token = CancelToken()
    timer = threading.Timer(0.2, token.cancel)
    timer.start()
    try:
        with pytest.raises(Cancelled):
            colorize_file(photo_dir / "colour.jpg", out_dir / "out.png", heavy, render_size=1024, cancel=token)
    finally:
        timer.cancel()
    assert list(out_dir.iterdir()) == []


def test_cancel_during_render_stops_between_strips(generator: Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "CACHED_RENDER_PIXELS", 0)
    monkeypatch.setattr(pipeline, "STRIP_PIXELS", 64 * 8)  # 8 rows per strip
    prediction = Prediction(lightness=np.full((64, 64), 50.0, np.float32), ab=np.zeros((8, 8, 2), np.float32))
    token = CancelToken()
    real_merge = cv2.merge
    calls = []

    def merge_then_cancel(parts):
        calls.append(1)
        token.cancel()
        return real_merge(parts)

    monkeypatch.setattr(pipeline.cv2, "merge", merge_then_cancel)
    # Pinned to 4 strip threads, so the bound below holds on machines with 8 or more cores too.
    pool = ThreadPoolExecutor(max_workers=4)
    monkeypatch.setattr(pipeline, "_strip_pool", lambda: pool)
    previous = cv2.getNumThreads()
    cv2.setNumThreads(4)
    try:
        with pytest.raises(Cancelled):
            prediction.render(1.0, cancel=token)
    finally:
        cv2.setNumThreads(previous)
        pool.shutdown()
    # 8 strips; only those already under way on the 4 strip threads when it was cancelled get merged.
    assert 1 <= len(calls) <= 4


@pytest.mark.parametrize("height,width,interpolation", [(240, 320, cv2.INTER_AREA), (600, 800, cv2.INTER_LINEAR)])
def test_strips_join_without_seams(height: int, width: int, interpolation: int, generator: Generator,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    photo = type("P", (), {"pixels": make_scene(height, width, seed=4), "alpha": None})()
    prediction = colorize(photo, generator)
    whole = prediction.render(1.7)  # small: one pass over the whole frame, cached for the next render
    assert prediction._colour_cache is not None
    np.testing.assert_array_equal(prediction.render(1.7), whole)
    monkeypatch.setattr(pipeline, "CACHED_RENDER_PIXELS", 0)
    monkeypatch.setattr(pipeline, "STRIP_PIXELS", width * 7)  # 7 rows per strip, boundaries everywhere
    fresh = Prediction(prediction.lightness, prediction.ab)
    np.testing.assert_array_equal(fresh.render(1.7), whole)
    assert fresh._colour_cache is None
    # ... and equals one full-frame resize of the colours (area averaging when the 512 px render shrinks).
    ab = cv2.resize(prediction.ab * np.float32(1.7), prediction.size, interpolation=interpolation)
    lab = np.dstack([prediction.lightness, ab])
    reference = colour.to_uint8(colour.lab_to_rgb(lab))
    in_gamut = cv2.inRange(colour.lab_to_rgb(lab), (1e-3,) * 3, (1 - 1e-3,) * 3) > 0
    assert in_gamut.mean() > 0.5
    # (Colours within 0.5% of the sRGB boundary are pulled in a little: a level or two, rarely.)
    diff = np.abs(whole[in_gamut].astype(int) - reference[in_gamut].astype(int))
    assert diff.max() <= 3 and (diff <= 1).mean() > 0.999


def test_gamut_fit_lands_on_the_srgb_boundary() -> None:
    """Random Lab colours, many far outside sRGB: rendered ones are inside, and 3% more chroma would not be."""
    rng = np.random.default_rng(5)
    n = 20_000
    lightness = rng.uniform(1, 99, n).astype(np.float32)
    hue, chroma = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 160, n)
    ab = np.stack([chroma * np.cos(hue), chroma * np.sin(hue)], 1).astype(np.float32)[None]
    rendered = Prediction(lightness=lightness[None], ab=ab, bit_depth=16).render(1.0)
    # Inside: OpenCV did not have to clip, so L* came through (measured exactly, from 16-bit values).
    np.testing.assert_allclose(lightness_of(rendered)[0], lightness, atol=0.15)
    fitted = lab_of(rendered)[0]
    fitted_chroma = np.hypot(fitted[:, 1], fitted[:, 2])
    reduced = fitted_chroma < chroma - 1.0
    assert 0.3 < reduced.mean() < 0.95  # the sample really exercises the fit
    # On the boundary: 3% more chroma at the same L* and hue would leave sRGB.
    unit = np.stack([lightness, np.cos(hue), np.sin(hue)], 1)
    beyond = pipeline._linear_rgb(unit[reduced], fitted_chroma[reduced] * 1.03 + 0.3)
    assert (((beyond < 0) | (beyond > 1)).any(axis=1)).mean() > 0.99


def test_only_the_latest_previews_keep_a_render_cache_and_thumbnails_evict_none() -> None:
    previews = [Prediction(np.full((300, 400), 50.0, np.float32), np.full((8, 12, 2), 9.0, np.float32))
                for _ in range(pipeline._MAX_CACHES + 2)]
    first = previews[0].render(1.0)
    for preview in previews:
        preview.render(1.0)
    cached = [p._colour_cache is not None for p in previews]
    assert cached == [False] * 2 + [True] * pipeline._MAX_CACHES
    np.testing.assert_array_equal(previews[0].render(1.0), first)  # rebuilt on demand, same pixels
    kept = [p._colour_cache is not None for p in previews]

    thumbnails = [Prediction(np.full((72, 96), 50.0, np.float32), np.full((8, 12, 2), 9.0, np.float32))
                  for _ in range(pipeline._MAX_CACHES + 2)]
    for thumbnail in thumbnails:
        thumbnail.render(0.5)
    assert all(t._colour_cache is not None for t in thumbnails)
    assert [p._colour_cache is not None for p in previews] == kept  # the previews' caches stay


def test_prediction_from_stored_pixels_renders_like_colorize(photo_dir: Path, generator: Generator) -> None:
    for name in ("colour.jpg", "deep.png", "alpha.png"):
        photo = read_photo(photo_dir / name)
        fresh = colorize(photo, generator)
        rebuilt = Prediction.from_pixels(photo.pixels, fresh.ab, alpha=photo.alpha)
        assert rebuilt.bit_depth == fresh.bit_depth and rebuilt.alpha is photo.alpha
        np.testing.assert_array_equal(rebuilt.render(1.3), fresh.render(1.3))


def test_prediction_with_new_ab_keeps_the_photo_and_changes_the_colour(photo_dir: Path, generator: Generator) -> None:
    fresh = colorize(read_photo(photo_dir / "colour.jpg"), generator)
    fresh.render(1.0)
    recoloured = fresh.with_ab(-fresh.ab)
    assert recoloured.lightness is fresh.lightness and recoloured.bit_depth == fresh.bit_depth
    assert recoloured._colour_cache is None
    assert not np.array_equal(recoloured.render(1.0), fresh.render(1.0))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_grey_lightness_lookup_equals_the_formula_on_the_rgb_expansion(dtype: type) -> None:
    """Grey photos take a one-pass L* lookup; it must give the numbers the per-pixel formula gives."""
    top = np.iinfo(dtype).max
    codes = np.unique(np.concatenate([np.arange(0, top + 1, max(1, top // 4095)), [top]])).astype(dtype)
    grey = np.tile(codes, (3, 1))
    via_lookup = lightness_of(grey)
    via_formula = lightness_of(np.dstack([grey] * 3))
    assert via_lookup.shape == grey.shape and via_lookup.dtype == np.float32
    np.testing.assert_allclose(via_lookup, via_formula, rtol=0, atol=2e-5)
    assert via_lookup[0, 0] == 0.0 and abs(via_lookup[0, -1] - 100.0) < 1e-3
