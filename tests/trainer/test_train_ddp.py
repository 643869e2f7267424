"""Data-parallel training under torchrun: 2 gloo CPU processes on a tiny pack.

The multi-process tests start real ``torchrun`` jobs (``python -m torch.distributed.run``), each about half a
minute on a shared 2-core machine.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_train_step import _cli_args, write_pack

from trainer import distributed, train
from trainer.checkpoint import load_checkpoint
from trainer.dataset import WeightedStepBatchSampler
from trainer.distributed import ShardedStepBatchSampler

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    sizes = [(96, 128), (128, 96), (80, 80), (100, 150), (96, 96), (120, 90)]
    return write_pack(tmp_path / "pack.npz", sizes, [0, 0, 0, 0, 1, 1], [1, 1, 3, 1, 1, 1])


def torchrun(args: list[str], nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def metric_rows(out: Path) -> list[dict]:
    with (out / "metrics.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_two_gloo_processes_train_in_step_and_checkpoint_once(pack: Path, tmp_path: Path) -> None:
    out, dump = tmp_path / "run", tmp_path / "dump"
    dump.mkdir()
    args = _cli_args(pack, out, pretrain_steps=2, gan_steps=2, checkpoint_every=1)  # GAN steps run D's DDP too
    proc = torchrun([str(REPO / "tests" / "trainer" / "ddp_worker.py"), str(dump), *args])
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "distributed: 2 processes (gloo), batch 2 per process = 4 crops a step" in log
    assert log.count("finished at step 4/4") == 1  # only rank 0 speaks

    # One run folder, written by rank 0 alone: one checkpoint set, each metric logged once per step.
    assert sorted(p.name for p in out.iterdir()) == [
        "best.pt", "last.pt", "losses.png", "metrics.csv", "options.json", "pretrain.pt", "samples"
    ]
    rows = metric_rows(out)
    keys = [(r["step"], r["name"]) for r in rows]
    assert len(keys) == len(set(keys)) and ("4", "loss_d") in keys
    state = load_checkpoint(out / "last.pt")
    assert state["step"] == 4 and state["sampler"]["world_size"] == 2

    # The replicas hold identical generator weights, and they are the checkpoint's.
    rank0, rank1 = torch.load(dump / "rank0.pt"), torch.load(dump / "rank1.pt")
    assert rank0.keys() == rank1.keys() and len(rank0) > 50
    for name, value in rank0.items():
        assert torch.equal(value, rank1[name]), name
        assert torch.equal(value, state["G"][name]), name

    # Resume with another world size (a single process): the step count continues.
    assert train.main(["--resume", *_cli_args(pack, out, pretrain_steps=2, gan_steps=3)]) == 0
    assert load_checkpoint(out / "last.pt")["step"] == 5
    assert max(int(r["step"]) for r in metric_rows(out)) == 5


def test_torchrun_resumes_a_single_process_run_with_two(pack: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert train.main(_cli_args(pack, out, pretrain_steps=2, gan_steps=0, val_every=100)) == 0
    assert load_checkpoint(out / "last.pt")["step"] == 2
    args = _cli_args(pack, out, pretrain_steps=4, gan_steps=0, val_every=100)
    proc = torchrun(["-m", "trainer.train", "--resume", *args])
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "resuming" in log and "written by 1 process(es), this run has 2" in log
    state = load_checkpoint(out / "last.pt")
    assert state["step"] == 4 and state["sampler"]["world_size"] == 2
    steps = [int(r["step"]) for r in metric_rows(out) if r["name"] == "loss_l1"]
    assert steps == [1, 2, 3, 4]


def test_sharded_sampler_splits_one_global_batch_between_ranks() -> None:
    weights = [1.0, 2.0, 0.0, 1.0, 5.0]
    single = WeightedStepBatchSampler(weights, 3, seed=9, start_step=4, end_step=7)
    assert list(ShardedStepBatchSampler(weights, 3, 9, 4, 7, rank=0, world_size=1)) == list(single)
    glob = WeightedStepBatchSampler(weights, 6, seed=9).batch(5)
    ranks = [ShardedStepBatchSampler(weights, 3, 9, 4, 7, rank=r, world_size=2) for r in (0, 1)]
    assert ranks[0].batch(5) + ranks[1].batch(5) == glob
    assert ranks[0].batch(5) != ranks[1].batch(5)  # different crops (item seeds differ)
    assert len(ranks[1]) == 3 and all(len(b) == 3 for b in ranks[1])


def test_learning_rate_scale_and_single_process_collectives() -> None:
    assert distributed.lr_scale("none", 4) == 1.0
    assert distributed.lr_scale("sqrt", 4) == 2.0
    assert distributed.lr_scale("linear", 4) == 4.0
    with pytest.raises(ValueError, match="lr_scaling"):
        distributed.lr_scale("cubic", 2)
    single = distributed.SINGLE
    assert not single.enabled and single.is_main
    assert distributed.any_rank(single, True) and not distributed.any_rank(single, False)
    assert distributed.broadcast(single, (3, 4)) == (3, 4)
    assert distributed.init_from_env("cpu") == single  # no torchrun variables: an ordinary run
