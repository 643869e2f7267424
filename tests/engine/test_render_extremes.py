"""Black stays black and white stays white: pixels where a*b* is exactly 0 at L* 0 or 100 once rendered as NaN
(OpenCV 5's 0/0 in the gamut cap) and came out white, so a photo's black areas turned white at every strength."""

from __future__ import annotations

import numpy as np
import pytest

from engine import pipeline
from engine.pipeline import Prediction


def _prediction(ab_value: float) -> Prediction:
    lightness = np.zeros((64, 96), np.float32)
    lightness[:, 32:64] = 50.0
    lightness[:, 64:] = 100.0
    ab = np.full((16, 24, 2), ab_value, np.float32)
    return Prediction(lightness=lightness, ab=ab, alpha=None, bit_depth=8)


@pytest.mark.parametrize("cached", [True, False], ids=["cached-preview-path", "strip-path"])
@pytest.mark.parametrize("strength", [0.0, 1.0, 2.0])
@pytest.mark.parametrize("ab_value", [0.0, 4.0])
def test_black_and_white_survive_the_gamut_cap(cached: bool, strength: float, ab_value: float,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if not cached:
        monkeypatch.setattr(pipeline, "CACHED_RENDER_PIXELS", 0)
    rgb = _prediction(ab_value).render(strength)
    assert np.isfinite(rgb.astype(np.float64)).all()
    assert rgb[:, :32].max() == 0, "black pixels must stay black"
    assert rgb[:, 64:].min() == 255, "white pixels must stay white"
    if strength == 0.0 or ab_value == 0.0:
        middle = rgb[:, 32:64]
        assert middle.max() - middle.min() <= 1  # grey stays grey


def test_strength_zero_gives_back_the_grey_photo_with_its_blacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's promise for strength 0, on a photo with true black and white areas."""
    grey = np.tile(np.linspace(0, 255, 256, dtype=np.float32), (32, 1)).round().astype(np.uint8)
    photo = type("P", (), {"pixels": np.repeat(grey[..., None], 3, axis=2), "alpha": None})()
    lightness = pipeline.lightness_of(photo.pixels)
    ab = np.zeros((8, 64, 2), np.float32)
    rgb = Prediction(lightness=lightness, ab=ab, alpha=None, bit_depth=8).render(0.0)
    assert np.abs(rgb[..., 0].astype(int) - grey).max() <= 1
