"""Cut-outs pasted onto training crops (issue #12): alpha respected, L and ab both from the composite,
the cut-out file round trip, and the people weight option."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_train_step import tiny_options, write_pack

from engine import colour
from trainer.composite import composite, paste
from trainer.corpus import cutouts
from trainer.dataset import DataError, TrainCrops, open_source, rgb_to_pair
from trainer.degrade import Degrader

RED = (220, 20, 30)


def red_disc(size: int = 60) -> np.ndarray:
    """An opaque red disc with a soft (half-transparent) rim, on fully transparent black."""
    yy, xx = np.mgrid[0:size, 0:size]
    r = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5)
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = RED
    rgba[..., 3] = np.where(r < size * 0.3, 255, np.where(r < size * 0.4, 128, 0))
    rgba[rgba[..., 3] == 0, :3] = 0  # what is under alpha 0 must not matter
    return rgba


def test_paste_blends_by_alpha_and_clips_at_the_border() -> None:
    crop = np.full((40, 40, 3), (20, 200, 90), np.uint8)
    cut = red_disc(20)
    out = paste(crop, cut, 30, -5)  # hangs over the bottom and left edges
    assert out.shape == crop.shape and not np.shares_memory(out, crop)
    inside = out[30:40, 0:15]
    alpha = cut[:10, 5:20, 3:].astype(np.float32) / 255
    expected = np.array(RED) * alpha + np.array((20, 200, 90)) * (1 - alpha)
    np.testing.assert_allclose(inside, expected, atol=0.51)
    assert (out[:30] == crop[:30]).all() and (out[:, 15:] == crop[:, 15:]).all()
    assert (paste(crop, cut, 50, 50) == crop).all()  # entirely outside: nothing changes


def test_composite_keeps_the_background_where_alpha_is_zero() -> None:
    rng = np.random.default_rng(3)
    crop = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out = composite(crop, [red_disc()], np.random.default_rng(5), max_count=2)
    changed = (out != crop).any(axis=-1)
    assert 0 < changed.mean() < 0.8
    # every changed pixel moved toward the cut-out's red (the transparent black never shows)
    moved = np.abs(out[changed].astype(int) - RED).sum(-1) < np.abs(crop[changed].astype(int) - RED).sum(-1)
    assert moved.all()


def test_resize_rgba_leaves_no_dark_fringe() -> None:
    """Transparent pixels are black: a plain resize would darken the rim, premultiplied does not."""
    small = cutouts.resize_rgba(red_disc(60), 0.37)
    seen = small[small[..., 3] > 10, :3].astype(int)
    assert np.abs(seen - RED).max() <= 2


@pytest.fixture
def pack_and_cutouts(tmp_path: Path) -> tuple[Path, Path]:
    pack = write_pack(tmp_path / "pack.npz", [(96, 96), (96, 96), (96, 96)], [0, 0, 1], [1, 1, 1])
    found = [
        cutouts.Cutout("demo", f"disc{i}.png", "MIT", 60, 60, 80.0, False, 0, cutouts.encode_png(red_disc()))
        for i in range(2)
    ]
    path = tmp_path / "cutouts.npz"
    cutouts.write_cutouts(path, found)
    return pack, path


def test_cutout_file_round_trip_keeps_alpha(pack_and_cutouts: tuple[Path, Path]) -> None:
    _, path = pack_and_cutouts
    read = cutouts.read_cutouts(path)
    assert [name for name, _ in read] == ["disc0.png", "disc1.png"]
    np.testing.assert_array_equal(read[0][1], red_disc())


def test_training_crop_target_and_input_both_come_from_the_composite(pack_and_cutouts: tuple[Path, Path]) -> None:
    pack, cut_path = pack_and_cutouts
    source = open_source(pack)
    common = dict(crop_size=96, crop_min_fraction=1.0, hflip=False, cutouts=str(cut_path), cutout_max=2)
    plain = TrainCrops(source, tiny_options(pack, pack.parent / "run", **common), Degrader.off())
    pasted_opts = tiny_options(pack, pack.parent / "run", cutout_p=1.0, **common)
    pasted = TrainCrops(source, pasted_opts, Degrader.off())
    in_workers = TrainCrops(source, pasted_opts, Degrader.off(), target_on_device=False)

    before, after = plain[(0, 11)], pasted[(0, 11)]
    rgb = after["rgb"].numpy().transpose(1, 2, 0)
    changed = (rgb != before["rgb"].numpy().transpose(1, 2, 0)).any(axis=-1)
    assert changed.any()
    assert (np.abs(rgb[changed].astype(int) - RED).sum(-1) <= 3).sum() >= 50  # the opaque red core shows
    # the L input is the composite's lightness ...
    expected_l = colour.normalize_l(colour.rgb8_to_lightness(rgb))
    np.testing.assert_allclose(after["l"][0].numpy(), expected_l, atol=1e-5)
    # ... and so is the ab target, however it is computed
    lightness, ab = rgb_to_pair(rgb)
    worker = in_workers[(0, 11)]
    np.testing.assert_allclose(worker["ab"].numpy().transpose(1, 2, 0), ab, atol=1e-5)
    np.testing.assert_allclose(worker["l"][0].numpy(), colour.normalize_l(lightness), atol=1e-4)
    assert ab[changed].mean(axis=0)[0] > 0.3  # red: strongly positive a*


def test_cutouts_need_a_file_and_a_bad_file_is_a_data_error(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack.npz", [(96, 96), (96, 96)], [0, 1], [1, 1])
    with pytest.raises(ValueError, match="cutout_p > 0 needs cutouts"):
        tiny_options(pack, tmp_path / "run", cutout_p=0.5)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    opts = tiny_options(pack, tmp_path / "run", cutout_p=0.5, cutouts=str(tmp_path / "junk.npz"))
    with pytest.raises(DataError, match="cut-outs"):
        TrainCrops(open_source(pack), opts)


def test_people_weight_rescales_only_people_photos(tmp_path: Path) -> None:
    # write_pack flags odd photos as people; the pack's weights already carry gather's x3
    pack = write_pack(tmp_path / "pack.npz", [(96, 96)] * 5, [0, 0, 0, 0, 1], [1.0, 3.0, 0.5, 1.5, 1.0])
    source = open_source(pack)
    as_packed = TrainCrops(source, tiny_options(pack, tmp_path / "run")).weights()
    np.testing.assert_allclose(as_packed, [1.0, 3.0, 0.5, 1.5])
    doubled = TrainCrops(source, tiny_options(pack, tmp_path / "run", people_weight=6.0)).weights()
    np.testing.assert_allclose(doubled, [1.0, 6.0, 0.5, 3.0])
    with pytest.raises(ValueError, match="people_weight"):
        tiny_options(pack, tmp_path / "run", people_weight=0)
