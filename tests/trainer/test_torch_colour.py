"""trainer.torch_colour against engine.colour: the training target made on the device is the engine's Lab."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from standin_model import make_scene

from engine import colour
from trainer.dataset import TrainCrops, batch_ab, open_source
from trainer.options import Options
from trainer.torch_colour import ab_target, rgb8_to_lab


def sample_colours() -> np.ndarray:
    """Every grey, every cube corner and edge step of 15, and 100 k random colours, as an N x 1 x 3 'image'."""
    rng = np.random.default_rng(3)
    grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    steps = np.arange(0, 256, 15, dtype=np.uint8)
    grid = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(-1, 3)
    random = rng.integers(0, 256, (100_000, 3), dtype=np.uint8)
    return np.concatenate([grey, grid, random])[:, None, :]


def as_batch(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]


def test_lab_matches_the_engine_colour_module_within_1e_4() -> None:
    """All 16.7 M colours agree to 1.6e-5 in L* and 6e-8 in a*b* (checked once: a minute's work); the test
    samples them."""
    rgb = sample_colours()
    expected = colour.rgb_to_lab(rgb.astype(np.float32) / 255.0)
    got = rgb8_to_lab(as_batch(rgb))[0].numpy().transpose(1, 2, 0)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    # ... and it is not trivially close: the samples span the whole of Lab.
    assert got[..., 0].min() == 0 and got[..., 0].max() > 99.99 and np.abs(got[..., 1:]).max() > 100


def test_ab_target_is_engine_normalised_ab() -> None:
    rgb = sample_colours()[:4096].reshape(64, 64, 3)
    expected = colour.normalize_ab(colour.rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 1:])
    batch = torch.stack([as_batch(rgb)[0], as_batch(rgb[::-1].copy())[0]])
    got = ab_target(batch).numpy()
    assert got.shape == (2, 2, 64, 64)
    np.testing.assert_allclose(got[0].transpose(1, 2, 0), expected, atol=1e-4 / colour.AB_SCALE)
    np.testing.assert_allclose(got[1].transpose(1, 2, 0), expected[::-1], atol=1e-4 / colour.AB_SCALE)


def test_lightness_table_equals_the_formula() -> None:
    rgb = sample_colours()
    np.testing.assert_array_equal(colour.srgb8_to_linear_table()[rgb], colour.srgb_to_linear(rgb / np.float32(255)))
    np.testing.assert_allclose(colour.rgb8_to_lightness(rgb), colour.rgb_to_lightness(rgb.astype(np.float32) / 255),
                               atol=1e-5)


def test_refuses_anything_but_uint8_rgb_batches() -> None:
    with pytest.raises(ValueError, match="uint8"):
        rgb8_to_lab(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="uint8"):
        rgb8_to_lab(torch.zeros(3, 4, 4, dtype=torch.uint8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_same_target_on_the_gpu() -> None:
    batch = as_batch(sample_colours())
    np.testing.assert_allclose(rgb8_to_lab(batch.cuda()).cpu().numpy(), rgb8_to_lab(batch).numpy(), atol=1e-5)


def test_both_routes_of_the_training_target_agree(tmp_path: Path) -> None:
    """Crops whose target is made on the device (GPU training) and in the workers (CPU training): same L
    input bit for bit (same degradation), same ab target within 1e-4 of L*a*b*."""
    for i in range(3):
        Image.fromarray(make_scene(120, 160, seed=20 + i)).save(tmp_path / f"p{i}.jpg", quality=92)
    opts = Options(data=str(tmp_path), pretrained=False, crop_size=64).validate()
    source = open_source(tmp_path, 0.0)
    on_device = TrainCrops(source, opts)
    in_workers = TrainCrops(source, opts, target_on_device=False)
    for item in [(0, 11), (1, 12), (2, 13)]:
        device_item, worker_item = on_device[item], in_workers[item]
        assert set(device_item) == {"l", "rgb"} and set(worker_item) == {"l", "ab"}
        assert torch.equal(device_item["l"], worker_item["l"])
        target = batch_ab({k: v[None] for k, v in device_item.items()})[0]
        np.testing.assert_allclose(target.numpy(), worker_item["ab"].numpy(), atol=1e-4 / colour.AB_SCALE)
        assert worker_item["ab"].abs().mean() > 0.02  # colour photos, a real target
