"""Colour hints' speed against the issue's targets; prints a markdown table.

    python bench/bench_hints.py [--model PATH] [--threads N] [--repeats N]

Propagation (the fast global smoother, two passes) at render size 512, rasterising 100 hints, and the model's
render-size pass with and without hints (the shipped model, or --model). The photo is a generated grey scene
(a 12 MP one for the end-to-end row). Times are the median of --repeats runs, with the best in brackets; the
load average is printed because other work on the machine slows every row.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from bench_engine import cpu_name, scene  # noqa: E402

from engine.hints import Hint, rasterise  # noqa: E402
from engine.model import Generator, available_cpu_count  # noqa: E402
from engine.photo_io import Photo  # noqa: E402
from engine.pipeline import colorize, lightness_of, predict_ab, render_lightness  # noqa: E402
from engine.propagation import propagate  # noqa: E402


def timed(work, repeats: int) -> tuple[float, float]:
    """(median, best) seconds of ``repeats`` calls, after one warm-up call."""
    work()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def random_hints(count: int, size: tuple[int, int], seed: int = 0) -> list[Hint]:
    rng = np.random.default_rng(seed)
    width, height = size
    return [Hint(float(x), float(y), float(a), float(b)) for x, y, a, b in zip(
        rng.uniform(0, width, count), rng.uniform(0, height, count), rng.uniform(-40, 40, count),
        rng.uniform(-40, 40, count), strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    if args.threads:
        cv2.setNumThreads(args.threads)
    load_before = os.getloadavg()
    generator = Generator(args.model, device="cpu", threads=args.threads)
    photo_size = (4000, 3000)
    lightness = lightness_of(scene(photo_size[1], photo_size[0], seed=3))
    small = render_lightness(lightness, 512)
    render_size = small.shape[::-1]
    hints10, hints100 = random_hints(10, photo_size), random_hints(100, photo_size, seed=1)
    planes = rasterise(hints10, photo_size, render_size)
    rows = []

    def row(case: str, target: float | None, result: tuple[float, float]) -> None:
        median, best = result
        verdict = "" if target is None else ("pass" if median <= target else "FAIL")
        rows.append((case, "(info)" if target is None else f"<= {target * 1000:.0f} ms",
                     f"{median * 1000:.1f} ms ({best * 1000:.1f})", verdict))

    row(f"propagation at 512 ({render_size[0]}x{render_size[1]}, 10 hints)", 0.020,
        timed(lambda: propagate(small, planes), args.repeats))
    row("rasterising 100 hints at 512", 0.005, timed(lambda: rasterise(hints100, photo_size, render_size),
                                                      args.repeats))
    row("model at 512, no hints (incl. resize + pad)", None,
        timed(lambda: predict_ab(lightness, generator, render_size=512), args.repeats))
    row("model at 512 with 10 hints (rasterise + propagate + model + blend)", 0.150,
        timed(lambda: predict_ab(lightness, generator, render_size=512, hints=hints10), args.repeats))
    photo = Photo(pixels=scene(photo_size[1], photo_size[0], seed=4), alpha=None, exif=None, format="JPEG",
                  path=Path("bench.jpg"))
    row("12 MP decoded photo -> rendered pixels, 10 hints", 1.0,
        timed(lambda: colorize(photo, generator, hints=hints10).render(1.0), max(3, args.repeats // 5)))

    load_after = os.getloadavg()
    print(f"Machine: {cpu_name()}, {available_cpu_count()} cores available, OpenCV threads {cv2.getNumThreads()}, "
          f"load average {load_before[0]:.1f} before / {load_after[0]:.1f} after")
    print(f"Model: {generator.path.name} ({generator.name}), takes hints: {generator.takes_hints}\n")
    print("| case | target | median (best) | result |")
    print("|---|---|---|---|")
    for case in rows:
        print("| " + " | ".join(case) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
