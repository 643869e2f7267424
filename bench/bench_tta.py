"""What test-time flip averaging costs: end to end with and without it, interleaved in one run; prints a table.

    python bench/bench_tta.py [--model PATH] [--threads 2] [--runs 5]

``Generator(flip_average=True)`` runs the network on the photo and on its mirror image (one batch of two) and
averages the a*b*; the rest of the pipeline (decode, L*, the full-resolution merge, encode) is unchanged, so
the cost is one more network pass at the render size. Photos are bench_engine's realistic grey scans (12 MP
and 1 MP JPEG with grain and EXIF); both settings run alternately in one process, so a load from other work
hits both alike. Targets (issue #12): 12 MP end to end <= 1.0 s, 1 MP >= 5 photos/s, on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from bench_engine import SIZES, cpu_name, save_grey, scene  # noqa: E402

from engine.model import Generator, default_model_path  # noqa: E402
from engine.pipeline import colorize_file  # noqa: E402

PHOTOS = {"12 MP JPEG stored grey": ("12mp", 1), "1 MP JPEG stored grey": ("1mp", 5)}


def time_file(src: Path, dst: Path, generator: Generator) -> tuple[float, float]:
    start, start_cpu = time.perf_counter(), time.process_time()
    colorize_file(src, dst, generator, overwrite=True)
    return time.perf_counter() - start, time.process_time() - start_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    model = args.model or default_model_path()
    if model is None:
        sys.exit("no model: pass --model")
    plain = Generator(model, device="cpu", threads=args.threads)
    flipped = Generator(model, device="cpu", threads=args.threads, flip_average=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tta-") as tmp:
        work = Path(tmp)
        files = {}
        for label, (size, seed) in PHOTOS.items():
            files[label] = work / f"{size}.jpg"
            save_grey(files[label], scene(*SIZES[size], seed=seed), seed)
        for label, src in files.items():
            times: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
            for generator in (plain, flipped):  # warm-up: first-run costs are not TTA's
                time_file(src, work / "out.jpg", generator)
            for _ in range(args.runs):
                times["off"].append(time_file(src, work / "out.jpg", plain))
                times["on"].append(time_file(src, work / "out.jpg", flipped))
            best = {k: min(t for t, _ in v) for k, v in times.items()}
            median = {k: statistics.median(t for t, _ in v) for k, v in times.items()}
            cpu = {k: min(c for _, c in v) for k, v in times.items()}
            rows.append((label, best, median, cpu))
    print(f"model {plain.name}, {args.threads} threads, {cpu_name()}, load average {os.getloadavg()[0]:.1f}, "
          f"best (median) of {args.runs}\n")
    print("| photo | TTA off, s | TTA on, s | on ÷ off, best (median) | CPU time on ÷ off | TTA on: target |")
    print("|---|---|---|---|---|---|")
    for label, best, median, cpu in rows:
        if label.startswith("12"):
            target = f"≤ 1.0 s: {'met' if best['on'] <= 1.0 else 'not met'}"
        else:
            target = f"≥ 5 photos/s: {1 / best['on']:.1f}/s, {'met' if best['on'] <= 0.2 else 'not met'}"
        print(f"| {label} | {best['off']:.3f} ({median['off']:.3f}) | {best['on']:.3f} ({median['on']:.3f}) | "
              f"{best['on'] / best['off']:.2f} ({median['on'] / median['off']:.2f}) | {cpu['on'] / cpu['off']:.2f} "
              f"| {target} |")


if __name__ == "__main__":
    main()
