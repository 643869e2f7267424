"""Where a training step's time goes on a GPU machine: start-up, the data workers, the GPU itself.

The shipped v2 ran at ~830 crops/s on an H100 after ~2 minutes of start-up; this separates the causes so the
next run's recipe (batch, model size, workers, cuDNN autotuning) can be sized to the device time a task gets.

Measured 2026-11-26 on one H100, 16 CPUs, v2 config (batch 64 x 256 px), 15 workers:

| what | time |
|---|---|
| process start -> models built (imports included) | 15.2 s |
| pretrain step, cudnn.benchmark=True: first / steady | 39.1 s / 56 ms (1135 crops/s) |
| pretrain step, cudnn.benchmark=False: first / steady | 0.1 s / 57 ms (1120 crops/s) |
| GAN step, steady | 70 ms (918 crops/s) |
| pretrain step, 5-stage decoder, nothing frozen | 72 ms (892 crops/s) |
| data loader, 15 workers: first batch | 63.2 s |
| data loader alone, steady | 55 ms a batch (1160 crops/s) |

So the GPU step and the data workers each cap the run near 1,100 crops/s (together ~830), and start-up is
cuDNN autotuning (now off) plus spawning the workers.

    python tools/gpu_probe.py CONFIG PACK [WORKERS]

Prints a markdown table. Needs no pretrained weights (timing only) and any pack in the training format.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.dataset import TrainCrops, open_source, train_loader  # noqa: E402
from trainer.options import load_config, make_options  # noqa: E402
from trainer.pix2pix import Trainer, configure_runtime  # noqa: E402


def timed_steps(trainer: Trainer, batch: dict, count: int) -> float:
    """Mean seconds per step over ``count`` steps (after the caller's warm-up), synchronised."""
    torch.cuda.synchronize() if trainer.device.type == "cuda" else None
    start = time.perf_counter()
    for _ in range(count):
        trainer.train_step(batch)
    torch.cuda.synchronize() if trainer.device.type == "cuda" else None
    return (time.perf_counter() - start) / count


def main(config: str, pack: str, workers: int) -> None:
    rows: list[tuple[str, str]] = []
    opts = make_options({**load_config(config), "data": pack, "pretrained": False, "num_workers": workers})
    tick = time.perf_counter()
    device = configure_runtime(opts)
    trainer = Trainer(opts, device)
    rows.append(("build models on " + str(device), f"{time.perf_counter() - tick:.1f} s"))
    rows.append(("process start -> models built (imports included)", f"{time.perf_counter() - STARTED:.1f} s"))
    n, c = opts.batch_size, opts.crop_size
    batch = {"l": torch.rand(n, 1, c, c) * 2 - 1, "ab": (torch.rand(n, 2, c, c) - 0.5) * 0.6}
    for benchmark in (True, False):
        torch.backends.cudnn.benchmark = benchmark
        tick = time.perf_counter()
        trainer.train_step(batch)
        first = time.perf_counter() - tick
        per_step = timed_steps(trainer, batch, 30)
        rows.append((f"pretrain step, cudnn.benchmark={benchmark}: first / steady",
                     f"{first:.1f} s / {per_step * 1000:.0f} ms ({n / per_step:.0f} crops/s)"))
    trainer.step = opts.pretrain_steps  # GAN phase: the discriminator runs too
    trainer.train_step(batch)
    per_step = timed_steps(trainer, batch, 20)
    rows.append(("GAN step, steady", f"{per_step * 1000:.0f} ms ({n / per_step:.0f} crops/s)"))
    # Would a bigger generator be free? The Options defaults: a 5-stage decoder up to full resolution.
    big = Trainer(make_options({**opts.to_dict(), "decoder_channels": (256, 128, 64, 32, 16),
                                "decoder_convs": (2, 2, 2, 1, 1), "freeze_encoder_stages": 0}), device)
    big.train_step(batch)
    per_step = timed_steps(big, batch, 20)
    rows.append(("pretrain step, 5-stage decoder, nothing frozen",
                 f"{per_step * 1000:.0f} ms ({n / per_step:.0f} crops/s)"))
    del big

    source = open_source(pack)
    tick = time.perf_counter()
    loader = iter(train_loader(TrainCrops(source, opts), opts, 0, 10**6, pin_memory=device.type == "cuda"))
    next(loader)
    rows.append((f"data loader, {workers} workers: first batch", f"{time.perf_counter() - tick:.1f} s"))
    tick = time.perf_counter()
    for _ in range(60):
        next(loader)
    per_batch = (time.perf_counter() - tick) / 60
    rows.append(("data loader alone, steady", f"{per_batch * 1000:.0f} ms a batch ({n / per_batch:.0f} crops/s)"))
    print(f"\n{torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, {os.cpu_count()} CPUs, "
          f"batch {n} x {c} px\n\n| what | time |\n|---|---|")
    for what, value in rows:
        print(f"| {what} | {value} |")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else (os.cpu_count() or 2) - 1)
