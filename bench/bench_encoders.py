"""Inference time of the generator's encoders (issue 12, lever 1): MobileNetV2 against EfficientNet-Lite2, both
with v2's decoder, exported to ONNX and run by the engine at 512x384 on 2 threads.

    python bench/bench_encoders.py [--runs N] [--threads N] [--width W --height H] [--model NAME=PATH ...]

Each encoder's generator is built untrained (weights do not change the time), exported with trainer.export and
loaded by ``engine.model.Generator``; the timed call is ``predict_ab`` on an L input of the given size (a
multiple of 32, so no padding). ``--model`` adds already exported files (e.g. the shipped v2 as a check that
the built MobileNetV2 row is v2's architecture). The models alternate run by run so that a shared machine's
drifting load affects them alike. Prints best and median milliseconds, each model's ratio to the first row, and
the load averages before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

#: v2's decoder (trainer/configs/rechroma-v2.toml), the one the app's speed targets were measured with.
V2_DECODER = dict(decoder_channels=(192, 96, 48, 32), decoder_convs=(2, 2, 1, 1))


def export_untrained(encoder: str, folder: Path) -> Path:
    import torch

    from engine.contract import ModelContract
    from trainer.export import export_onnx
    from trainer.networks import UNetGenerator

    torch.manual_seed(0)
    generator = UNetGenerator(encoder=encoder, pretrained=False, **V2_DECODER).eval()
    path = folder / f"{encoder}.onnx"
    export_onnx(generator, path, ModelContract(model_name=encoder, model_version="bench"))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--height", type=int, default=384)
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                        help="also time this exported model")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")

    from engine.model import Generator

    with tempfile.TemporaryDirectory(prefix="bench-encoders-") as tmp:
        paths = {f"{name} (v2 decoder)": export_untrained(name, Path(tmp))
                 for name in ("mobilenet_v2", "efficientnet_lite2")}
        for item in args.model:
            name, _, path = item.partition("=")
            paths[name] = Path(path)
        models = {name: Generator(path, device="cpu", threads=args.threads) for name, path in paths.items()}
        sizes = {name: path.stat().st_size / 2**20 for name, path in paths.items()}
    lum = np.random.default_rng(0).uniform(-1, 1, (args.height, args.width)).astype(np.float32)
    times: dict[str, list[float]] = {name: [] for name in models}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for run in range(args.runs + 1):
        for name, model in models.items():
            start = time.perf_counter()
            model.predict_ab(lum)
            if run:  # run 0 is the warm-up
                times[name].append(1000 * (time.perf_counter() - start))
    first = next(iter(times.values()))
    print(f"\nONNX predict_ab at {args.width}x{args.height}, {args.threads} threads, {args.runs} runs each\n")
    print("| model | MiB | best ms | median ms | best ratio | median ratio |\n|---|---|---|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {sizes[name]:.1f} | {min(t):.1f} | {statistics.median(t):.1f} | "
              f"{min(t) / min(first):.2f} | {statistics.median(t) / statistics.median(first):.2f} |")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
