"""Data loader, one training step, exact resume and the rechroma-train command, on a tiny pack."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from standin_model import make_scene

from engine import colour
from trainer import loop, pix2pix, train
from trainer.checkpoint import load_checkpoint
from trainer.dataset import (
    DataError,
    TrainCrops,
    ValCrops,
    WeightedStepBatchSampler,
    batch_ab,
    open_source,
    train_loader,
)
from trainer.degrade import Degrader
from trainer.losses import lab_norm_to_rgb
from trainer.options import Options, add_option_flags, load_config, make_options, options_from_args

REPO = Path(__file__).resolve().parents[2]


def write_pack(path: Path, sizes: list[tuple[int, int]], split: list[int], weight: list[float]) -> Path:
    """A pack in the agreed format (np.savez, no pickle) holding synthetic colour photos."""
    blobs, names = [], []
    for i, (h, w) in enumerate(sizes):
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(make_scene(h, w, seed=i), cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        blobs.append(buf.ravel())
        names.append(f"scene{i}.jpg")
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    np.savez(
        path,
        jpeg=np.concatenate(blobs).astype(np.uint8),
        offsets=offsets,
        split=np.array(split, np.uint8),
        people=np.array([i % 2 for i in range(len(sizes))], np.uint8),
        weight=np.array(weight, np.float32),
        source=np.array(["synthetic"] * len(sizes)),
        name=np.array(names),
    )
    return path


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    sizes = [(96, 128), (128, 96), (80, 80), (100, 150), (96, 96), (120, 90)]
    return write_pack(tmp_path / "pack.npz", sizes, [0, 0, 0, 0, 1, 1], [1, 1, 3, 1, 1, 1])


def tiny_options(pack: Path, out: Path, **changes) -> Options:
    values = dict(
        data=str(pack), out=str(out), pretrained=False, crop_size=64, batch_size=4, num_workers=0,
        decoder_channels=(32, 24, 16, 16, 8), pretrain_steps=2, gan_steps=3, warmup_steps=0,
        log_every=1, val_every=100, sample_every=100, checkpoint_every=100, sample_count=2, seed=7,
        freeze_encoder_stages=1, best_metric="val_l1",
    )
    values.update(changes)
    return Options(**values).validate()


def test_dataset_yields_normalised_pairs_from_the_pack(pack: Path) -> None:
    opts = tiny_options(pack, pack.parent / "run")
    source = open_source(pack)
    assert source.summary()["photos_train"] == 4 and source.summary()["photos_val"] == 2
    train_set = TrainCrops(source, opts)
    batch = next(iter(train_loader(train_set, opts, 0, 1)))
    ab = batch_ab(batch)  # the crops' RGB travel; their ab target is made on the training device
    assert batch["rgb"].shape == (4, 3, 64, 64) and batch["rgb"].dtype == torch.uint8
    assert batch["l"].shape == (4, 1, 64, 64) and ab.shape == (4, 2, 64, 64)
    assert batch["l"].dtype == ab.dtype == torch.float32
    assert -1.0 <= batch["l"].min() and batch["l"].max() <= 1.0
    assert ab.abs().max() <= 1.2
    assert ab.abs().mean() > 0.02  # colour photos: the target is not grey


def test_clean_full_crop_equals_the_colour_module_pair(pack: Path) -> None:
    """No degradation, crop = the whole (square, crop-sized) photo: L and ab are exactly engine.colour's."""
    source = open_source(pack)
    opts = tiny_options(pack, pack.parent / "run", crop_size=96, crop_min_fraction=1.0, hflip=False)
    train_set = TrainCrops(source, opts, Degrader.off())
    train_set.photos = np.array([4])  # the 96x96 photo
    item = train_set[(0, 123)]
    rgb = source.load(4).astype(np.float32) / 255.0
    lab = colour.rgb_to_lab(rgb)
    np.testing.assert_allclose(item["l"][0].numpy(), colour.normalize_l(lab[..., 0]), atol=1e-6)
    target = batch_ab({k: v[None] for k, v in item.items()})[0]
    # (1e-6 of the normalised scale when numpy made the target; the device's conversion is held to 1e-4 L*a*b*.)
    np.testing.assert_allclose(target.numpy().transpose(1, 2, 0), colour.normalize_ab(lab[..., 1:]),
                               atol=1e-4 / colour.AB_SCALE)


def test_degradation_touches_l_only(pack: Path) -> None:
    source = open_source(pack)
    opts = tiny_options(pack, pack.parent / "run")
    always = Degrader(noise_p=1, blur_p=1, jpeg_p=1, contrast_p=1, grain_p=1)
    clean, dirty = TrainCrops(source, opts, Degrader.off())[(1, 5)], TrainCrops(source, opts, always)[(1, 5)]
    assert torch.equal(clean["rgb"], dirty["rgb"])  # the ab target is made from these
    assert (clean["l"] - dirty["l"]).abs().mean() > 0.01
    assert -1.0 <= dirty["l"].min() and dirty["l"].max() <= 1.0


def test_val_crops_are_fixed_centre_crops(pack: Path) -> None:
    val = ValCrops(open_source(pack), 64)
    assert len(val) == 2
    first, again = val[0], val[0]
    assert torch.equal(first["l"], again["l"]) and first["l"].shape == (1, 64, 64)


def test_sampler_follows_weights_and_depends_on_step_only() -> None:
    sampler = WeightedStepBatchSampler([0.0, 1.0, 3.0], batch_size=400, seed=1)
    batch = sampler.batch(10)
    assert batch == WeightedStepBatchSampler([0.0, 1.0, 3.0], 400, seed=1).batch(10)
    assert batch != sampler.batch(11)
    drawn = np.bincount([i for i, _ in batch], minlength=3)
    assert drawn[0] == 0 and 2.0 < drawn[2] / drawn[1] < 4.5
    with pytest.raises(DataError):
        WeightedStepBatchSampler([0.0, 0.0], 2, seed=1)


def test_bad_pack_gets_a_clear_error(tmp_path: Path) -> None:
    np.savez(tmp_path / "bad.npz", jpeg=np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="missing arrays"):
        open_source(tmp_path / "bad.npz")
    with pytest.raises(DataError, match="not found"):
        open_source(tmp_path / "nothing.npz")


def test_folder_source_reads_photos_recursively(tmp_path: Path) -> None:
    for i in range(12):
        sub = tmp_path / "photos" / f"set{i % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(sub / f"p{i}.png"), make_scene(500, 700, seed=i))
    (tmp_path / "photos" / "notes.txt").write_text("not a photo")
    source = open_source(tmp_path / "photos", folder_val_fraction=0.3)
    assert len(source) == 12 and set(source.split) <= {0, 1}
    assert min(source.load(0).shape[:2]) == 384  # downscaled like the pack's photos


def test_l1_drops_when_training_on_one_batch(pack: Path) -> None:
    opts = tiny_options(pack, pack.parent / "run", pretrain_steps=100, freeze_encoder_stages=0)
    trainer = pix2pix.Trainer(opts)
    batch = next(iter(train_loader(TrainCrops(open_source(pack), opts), opts, 0, 1)))
    losses = [trainer.train_step(batch)["loss_l1"] for _ in range(20)]
    assert losses[-1] < losses[0]
    assert trainer.step == 20


def test_gan_step_updates_discriminator(pack: Path) -> None:
    opts = tiny_options(pack, pack.parent / "run", pretrain_steps=0)
    trainer = pix2pix.Trainer(opts)
    before = [p.detach().clone() for p in trainer.D.parameters()]
    batch = next(iter(train_loader(TrainCrops(open_source(pack), opts), opts, 0, 1)))
    out = trainer.train_step(batch)
    assert {"loss_d", "loss_g_gan", "loss_l1"} <= set(out)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.D.parameters(), strict=True))
    assert trainer.opt_G.param_groups[0]["betas"] == (0.5, 0.999)


def _step_at(trainer: pix2pix.Trainer, opts: Options, pack: Path) -> dict[str, float]:
    loader = train_loader(TrainCrops(open_source(pack), opts), opts, trainer.step, trainer.step + 1)
    return trainer.train_step(next(iter(loader)))


def test_resume_gives_exactly_the_same_next_step(pack: Path, tmp_path: Path) -> None:
    """Train 3 steps (2 pretrain + 1 GAN), save; step 4 -> A. Load the step-3 checkpoint, step -> A again."""
    out = tmp_path / "run"
    opts = tiny_options(pack, out)
    first = pix2pix.Trainer(opts)
    assert first.fit(open_source(pack), out, until_step=3) == 3
    shutil.copy(out / "last.pt", tmp_path / "step3.pt")
    loss_a = _step_at(first, opts, pack)

    second = pix2pix.Trainer(opts)
    second.load_state_dict(load_checkpoint(tmp_path / "step3.pt"))
    assert second.step == 3
    loss_b = _step_at(second, opts, pack)
    assert loss_a == loss_b and "loss_d" in loss_a
    for a, b in zip(first.G.state_dict().values(), second.G.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_lab_to_rgb_for_the_perceptual_loss_matches_engine_colour() -> None:
    rgb = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    lab = colour.rgb_to_lab(rgb)
    lum = torch.from_numpy(colour.normalize_l(lab[..., 0]))[None, None]
    ab = torch.from_numpy(colour.normalize_ab(lab[..., 1:]).transpose(2, 0, 1))[None]
    back = lab_norm_to_rgb(lum, ab)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(back, rgb, atol=5e-3)


def _cli_args(pack: Path, out: Path, **changes) -> list[str]:
    values = dict(data=pack, out=out, pretrained="false", crop_size=64, batch_size=2, num_workers=0,
                  decoder_channels="32,24,16,16", decoder_convs="1,1,1,1",
                  pretrain_steps=2, gan_steps=1, log_every=1, val_every=2,
                  sample_every=2, checkpoint_every=1, best_metric="val_l1", threads=1)
    values.update(changes)
    return [a for k, v in values.items() for a in ("--" + k.replace("_", "-"), str(v))]


def test_rechroma_train_runs_refuses_to_clobber_and_resumes(pack: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = REPO / "trainer" / "configs" / "rechroma-v1.toml"
    assert train.main(["--config", str(config), *_cli_args(pack, out)]) == 0
    for name in ("last.pt", "best.pt", "pretrain.pt", "metrics.csv", "losses.png", "options.json"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_0000002.png", "step_0000003.png"]
    assert load_checkpoint(out / "last.pt")["step"] == 3
    assert train.main(["--config", str(config), *_cli_args(pack, out)]) == 2  # would overwrite the run
    assert train.main(["--config", str(config), "--resume", *_cli_args(pack, out, gan_steps=2)]) == 0
    assert load_checkpoint(out / "last.pt")["step"] == 4
    steps = [int(line.split(",")[0]) for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == sorted(steps) and max(steps) == 4
    assert not list(out.glob("*.tmp"))


def test_max_minutes_stops_early_and_saves(pack: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert train.main(_cli_args(pack, out, pretrain_steps=1000, max_minutes=1e-6, val_every=1000)) == 0
    assert load_checkpoint(out / "last.pt")["step"] == 1


def test_interrupt_saves_and_exits_cleanly_with_workers(pack: Path, tmp_path: Path) -> None:
    """SIGINT/SIGTERM (same handler): finish the step, save last.pt, exit 0."""
    out = tmp_path / "run"
    args = _cli_args(pack, out, pretrain_steps=100000, val_every=100000, log_every=1, num_workers=1)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "trainer.train", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _logged_steps(out / "metrics.csv"):
            time.sleep(0.2)
        assert _logged_steps(out / "metrics.csv"), "training did not start"
        os.killpg(proc.pid, signal.SIGINT)  # like Ctrl-C: the DataLoader worker gets it too
        output = proc.communicate(timeout=120)[0].decode()
    finally:
        proc.kill()
    assert proc.returncode == 0, output
    assert "SIGINT" in output
    assert 1 <= load_checkpoint(out / "last.pt")["step"] < 100000


def _logged_steps(path: Path) -> bool:
    return path.is_file() and len(path.read_text().splitlines()) > 1


WEIGHTS = REPO / "work" / "weights" / "mobilenet_v2-b0353104.pth"


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="ImageNet weights not downloaded (work/weights)")
def test_perceptual_loss_joins_the_step(pack: Path) -> None:
    opts = tiny_options(pack, pack.parent / "run", lambda_perceptual=1.0, encoder_weights=str(WEIGHTS))
    trainer = pix2pix.Trainer(opts)
    batch = next(iter(train_loader(TrainCrops(open_source(pack), opts), opts, 0, 1)))
    out = trainer.train_step(batch)
    assert out["loss_perceptual"] > 0


def test_config_file_and_overrides(tmp_path: Path) -> None:
    config = REPO / "trainer" / "configs" / "rechroma-v1.toml"
    opts = make_options(load_config(config))
    assert opts.crop_size % 32 == 0 and opts.lambda_de00 == 1.0 and opts.decoder_channels == (192, 96, 48, 32)
    parser = argparse.ArgumentParser()
    add_option_flags(parser)
    args = parser.parse_args(["--crop-size", "128", "--pretrained", "false", "--decoder-convs", "1,1,1,2"])
    opts = options_from_args(args, config)
    assert (opts.crop_size, opts.pretrained, opts.decoder_convs) == (128, False, (1, 1, 1, 2))
    bad = tmp_path / "bad.toml"
    bad.write_text("[data]\ncrop_sise = 192\n")
    with pytest.raises(ValueError, match="crop_sise"):
        load_config(bad)
    with pytest.raises(ValueError, match="multiple of 32"):
        options_from_args(parser.parse_args(["--crop-size", "100"]), config)
    with pytest.raises(ValueError, match="pretrained"):
        options_from_args(parser.parse_args(["--pretrained", "maybe"]), config)


def test_de00_loss_term_is_logged_and_lowers_the_colour_error() -> None:
    opts = Options(pretrained=False, crop_size=64, batch_size=2, decoder_channels=(32, 24, 16, 16),
                   decoder_convs=(1, 1, 1, 1), lambda_l1=1.0, lambda_de00=1.0, warmup_steps=0, lr=1e-3,
                   pretrain_steps=100, threads=1, num_workers=0)
    trainer = pix2pix.Trainer(opts)
    gen = torch.Generator().manual_seed(0)
    batch = {"l": torch.rand(2, 1, 64, 64, generator=gen) * 2 - 1, "ab": torch.full((2, 2, 64, 64), 0.3)}
    first = trainer.train_step(batch)
    for _ in range(15):
        last = trainer.train_step(batch)
    assert "loss_de00" in first and last["loss_de00"] < first["loss_de00"]


def test_schedule_fitted_to_a_budget_fills_it_and_keeps_the_phase_ratio() -> None:
    step, sec_step, sec_val, val_every, left = 90, 0.08, 2.0, 600, 420.0
    pretrain, gan = loop.fit_schedule_to_budget(8500, 1500, step, sec_step, sec_val, val_every, left, 1.4)
    assert abs(pretrain / gan - 8500 / 1500) < 0.01
    spent = (pretrain - step) * sec_step + gan * sec_step * 1.4 + (pretrain + gan) / val_every * sec_val
    assert abs(spent - left) < 1.0
    # A slower machine gets a shorter schedule; one already past its budget stops after the next step.
    assert sum(loop.fit_schedule_to_budget(8500, 1500, step, 2 * sec_step, sec_val, val_every, left)) < pretrain + gan
    assert loop.fit_schedule_to_budget(8500, 1500, step, 10.0, 0.0, val_every, 1.0)[0] == step + 1
    assert loop.fit_schedule_to_budget(8500, 1500, step, sec_step, sec_val, val_every, -5.0) == (step + 1, 0)


def test_time_budget_resolves_step_counts_and_finishes_the_schedule(
    pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "CALIBRATION_SKIP", 1)
    monkeypatch.setattr(loop, "CALIBRATION_STEPS", 2)
    out = tmp_path / "run"
    args = _cli_args(pack, out, pretrain_steps=1000, gan_steps=250, val_every=10**6, time_budget_minutes=0.1)
    assert train.main(args) == 0
    resolved = json.loads((out / "options.json").read_text())
    assert resolved["time_budget_minutes"] == 0.0  # a resume continues the resolved schedule as it is
    total = resolved["pretrain_steps"] + resolved["gan_steps"]
    assert 3 < total < 1250 and resolved["gan_steps"] > 0  # rescaled, both phases kept
    state = load_checkpoint(out / "last.pt")
    assert state["step"] == total and state["options"]["pretrain_steps"] == resolved["pretrain_steps"]
    assert (out / "pretrain.pt").is_file()  # the phase boundary moved with the schedule


def test_slim_checkpoint_keeps_what_export_needs(pack: Path, tmp_path: Path) -> None:
    from trainer.checkpoint import slim_checkpoint
    from trainer.export import generator_from_checkpoint

    out = tmp_path / "run"
    assert train.main(_cli_args(pack, out)) == 0
    slim = slim_checkpoint(out / "last.pt", tmp_path / "slim.pt")
    state = load_checkpoint(slim)
    assert {"D", "opt_G", "opt_D", "rng"}.isdisjoint(state) and state["step"] == 3
    assert slim.stat().st_size < (out / "last.pt").stat().st_size / 2
    full, _ = generator_from_checkpoint(out / "last.pt")
    small, _ = generator_from_checkpoint(slim)
    lum = torch.rand(1, 1, 64, 96) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(small(lum), full(lum))
