"""Inference time at render size 512 on 2 cores for the speed options of issue 16 ("Do 6"): the fp32 model
against a quantised one, and the 32-px mirrored margin against 16 px.

    python bench/bench_inference_options.py [--model PATH] [--int8 PATH] [--photo PATH] [--runs N] [--threads N]

Times ``engine.pipeline.predict_ab`` (resize, pad, the ONNX run, crop) on one photo, after a warm-up run. The
options alternate run by run, so a shared machine's drifting load affects them alike; the table gives best and
median milliseconds. Prints load averages before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from engine import pipeline
from engine.model import Generator

ORIGINAL_PAD = pipeline._reflect_pad


def with_margin(margin: int):
    """A ``_reflect_pad`` that uses ``margin`` px of mirrored border instead of the contract's size multiple."""
    def pad(image, multiple, margin=0):  # the contract's margin, replaced by the outer one
        return ORIGINAL_PAD(image, multiple, margin=chosen)
    chosen = margin
    return pad


def scene(height: int = 2000, width: int = 3000) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return (50 + 30 * np.sin(xx / 97) * np.cos(yy / 61) + np.random.default_rng(0).normal(0, 3, (height, width)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("resources/models/rechroma-v2.onnx"))
    parser.add_argument("--int8", type=Path, default=Path("work/quant/rechroma-v2-int8.onnx"))
    parser.add_argument("--photo", type=Path, default=None, help="photo to time (default: a synthetic 6 MP L*)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--render-size", type=int, default=512)
    args = parser.parse_args(argv)

    if args.photo is not None:
        from engine.photo_io import read_photo
        lightness = pipeline.lightness_of(read_photo(args.photo).pixels)
    else:
        lightness = scene()
    models = {"fp32": Generator(args.model, device="cpu", threads=args.threads)}
    if args.int8.is_file():
        models["int8"] = Generator(args.int8, device="cpu", threads=args.threads)
    options = [(name, margin) for name in models for margin in (32, 16)]
    times: dict[tuple[str, int], list[float]] = {o: [] for o in options}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for run in range(args.runs + 1):
        for name, margin in options:
            pipeline._reflect_pad = with_margin(margin)
            start = time.perf_counter()
            ab = pipeline.predict_ab(lightness, models[name], render_size=args.render_size)
            if run:  # run 0 is the warm-up
                times[(name, margin)].append(1000 * (time.perf_counter() - start))
    pipeline._reflect_pad = ORIGINAL_PAD
    h, w = ab.shape[:2]
    print(f"\npredict_ab at render size {args.render_size} ({w}x{h} model-side), {args.threads} threads, "
          f"{args.runs} runs each\n")
    print("| model | margin px | best ms | median ms |\n|---|---|---|---|")
    for name, margin in options:
        t = times[(name, margin)]
        print(f"| {name} | {margin} | {min(t):.1f} | {statistics.median(t):.1f} |")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
