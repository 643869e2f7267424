"""``rechroma-train``: pix2pix training of the colorizer, in two phases by step count.

``pretrain`` optimises L1 only (a solid, slightly desaturated colorizer), then ``gan`` adds the PatchGAN
loss for a short while to bring back colour. Runs on CUDA with mixed precision when available, else on all
CPU cores. Safe to stop at any time: SIGTERM/SIGINT and ``--max-minutes`` save ``last.pt`` and exit, and
``--resume`` continues with exactly the batches an uninterrupted run would have seen.

Under ``torchrun`` the same command trains data-parallel (DDP) on N processes: one per GPU with NCCL, or
CPU processes with gloo; rank 0 alone logs, validates, samples and checkpoints (see trainer.distributed
for the batch and learning-rate scale).

Usage::

    rechroma-train --config trainer/configs/rechroma-v1.toml --out work/runs/v1 --resume --max-minutes 50
    rechroma-train --data my-photos/ --init resources/models/rechroma-v2.onnx --minutes 30   (trainer.finetune)
    torchrun --nproc_per_node 4 -m trainer.train --config trainer/configs/rechroma-v2.toml --out work/runs/v3

This module is the command line; the model and its step are trainer.pix2pix, the loop trainer.loop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from trainer import distributed, finetune
from trainer.checkpoint import load_checkpoint
from trainer.dataset import DataError, open_source
from trainer.distributed import DistInfo
from trainer.loop import write_options
from trainer.options import Options, add_option_flags, option_differences, options_from_args
from trainer.pix2pix import Trainer, configure_runtime


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rechroma-train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="TOML or JSON config (see trainer/configs/)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if it exists")
    finetune.add_arguments(parser)
    add_option_flags(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(argv)[0]


def run(argv: list[str] | None = None) -> tuple[int, Trainer | None]:
    """``main`` that also hands back the trainer (tests look at each DDP rank's weights)."""
    args = parse_args(argv)
    if args.init is not None:
        return finetune.run(args), None
    try:
        opts = options_from_args(args, args.config)
    except (OSError, ValueError) as exc:
        print(f"rechroma-train: {exc}", file=sys.stderr)
        return 2, None
    out = Path(opts.out)
    last = out / "last.pt"
    if last.exists() and not args.resume:
        print(f"rechroma-train: {last} exists; pass --resume to continue it or choose another --out",
              file=sys.stderr)
        return 2, None
    try:
        dist = distributed.init_from_env(opts.device)
    except (RuntimeError, ValueError) as exc:
        print(f"rechroma-train: {exc}", file=sys.stderr)
        return 2, None
    try:
        return _train(args, opts, dist, out, last)
    finally:
        distributed.shutdown(dist)


def _train(args: argparse.Namespace, opts: Options, dist: DistInfo, out: Path, last: Path
           ) -> tuple[int, Trainer | None]:
    def say(message: str) -> None:
        if dist.is_main:
            print(message, file=sys.stderr)

    try:
        source = open_source(opts.data, opts.folder_val_fraction)
        device = configure_runtime(opts, dist)
        trainer = Trainer(opts, device, dist)
        if args.resume and last.exists():
            # Load on the CPU: RNG states must stay CPU tensors; load_state_dict moves weights to the device.
            state = load_checkpoint(last, map_location="cpu")
            changed = option_differences(Options.from_dict(state["options"]), opts)
            if changed:
                say(f"note: options changed since the checkpoint: {changed}")
            trainer.load_state_dict(state)
            saved_world = int(state.get("sampler", {}).get("world_size", 1))
            say(f"resuming {last} at step {trainer.step} ({trainer.phase()})")
            if saved_world != dist.world_size:
                say(f"note: the checkpoint was written by {saved_world} process(es), this run has "
                    f"{dist.world_size}: the global batch is now {opts.batch_size * dist.world_size}")
        elif args.resume:
            say(f"no {last} yet: starting a new run")
    except (DataError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"rechroma-train: {exc}", file=sys.stderr)
        return 2, None
    if dist.is_main:
        write_options(out, opts)
    say(f"data: {source.summary()}\ndevice: {device}, threads {torch.get_num_threads()}, amp {trainer.amp}")
    if dist.enabled:
        say(f"distributed: {dist.world_size} processes ({dist.backend}), batch {opts.batch_size} per process = "
            f"{opts.batch_size * dist.world_size} crops a step; learning rates x{trainer.lr_mult:.3g} "
            f"(lr_scaling {opts.lr_scaling})")
    step = trainer.fit(source, out)
    done = step >= opts.total_steps
    say(f"{'finished' if done else 'paused'} at step {step}/{opts.total_steps}; checkpoints in {out}")
    return 0, trainer



if __name__ == "__main__":
    sys.exit(main())
