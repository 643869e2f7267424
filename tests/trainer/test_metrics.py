"""Evaluation metrics against values computed by hand or published reference data."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine import colour  # noqa: E402
from trainer import metrics  # noqa: E402
from trainer.delta_e import ciede2000  # noqa: E402

# Sharma, Wu & Dalal (2005) test data: (Lab1, Lab2, CIEDE2000).
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0009), 7.1792),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA)
def test_torch_ciede2000_matches_sharma_reference(lab1, lab2, expected):
    as_tensor = lambda lab: torch.tensor(lab, dtype=torch.float64).view(1, 3)  # noqa: E731
    got = ciede2000(as_tensor(lab1), as_tensor(lab2))
    assert got.item() == pytest.approx(expected, abs=2e-3)


def test_torch_ciede2000_matches_numpy_metric_and_has_finite_gradients():
    rng = np.random.default_rng(1)
    lab1 = np.stack([rng.uniform(0, 100, 2000), rng.uniform(-90, 90, 2000), rng.uniform(-90, 90, 2000)], 1)
    lab2 = lab1 + rng.normal(0, 12, lab1.shape)
    lab2[:, 0] = lab1[:, 0]
    lab1[:20, 1:] = 0.0  # grey pixels: hue undefined, gradients must stay finite
    from skimage.color import deltaE_ciede2000

    pred = torch.tensor(lab2.T[None], requires_grad=True)
    out = ciede2000(torch.tensor(lab1.T[None]), pred)[0]
    assert np.abs(out.detach().numpy() - deltaE_ciede2000(lab1, lab2)).max() < 0.01
    out.sum().backward()
    assert torch.isfinite(pred.grad).all()


def test_colourfulness_by_hand():
    # Half pure red, half pure green: rg = +255 / -255, yb = 127.5 / 127.5.
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, :, 0] = 255
    img[1, :, 1] = 255
    expected = np.sqrt(255.0**2 + 0.0) + 0.3 * np.sqrt(0.0 + 127.5**2)
    assert metrics.colourfulness(img) == pytest.approx(expected, rel=1e-5)
    assert metrics.colourfulness(np.full((4, 4, 3), 128, np.uint8)) == pytest.approx(0.0, abs=1e-6)


def test_psnr_and_ciede2000_by_hand():
    truth = np.full((8, 8, 3), 100, np.uint8)
    pred = truth.copy()
    pred[..., 0] = 110  # uniform error of 10/255 in one channel: MSE = (10/255)^2 / 3
    mse = (10 / 255) ** 2 / 3
    assert metrics.psnr(pred, truth) == pytest.approx(10 * np.log10(1 / mse), rel=1e-4)
    assert metrics.mean_ciede2000(truth, truth) == 0.0
    assert metrics.ssim(truth, truth) == pytest.approx(1.0)


def test_val_scores_penalise_grey_only_below_colourfulness_target():
    rng = np.random.default_rng(2)
    truth = (rng.random((2, 32, 32, 3)) * 255).astype(np.uint8)
    lightness = np.stack([colour.rgb_to_lightness(t.astype(np.float32) / 255) for t in truth])
    grey_lab = np.zeros((*lightness.shape, 3), np.float32)
    grey_lab[..., 0] = lightness
    grey = np.stack([colour.to_uint8(np.clip(colour.lab_to_rgb(g), 0, 1)) for g in grey_lab])
    same = metrics.val_scores(truth, truth)
    flat = metrics.val_scores(grey, truth)
    assert same["score"] == pytest.approx(0.0, abs=1e-6)
    assert flat["cf_pred"] < 1.0
    assert flat["score"] > flat["de00"] > 5.0
