"""Batch planning speed against issue 16's targets; prints a markdown table.

    python bench/bench_planning.py [--model PATH] [--names N] [--photos N]   (--photos 0: case 1 only)

Case 1 plans outputs for N empty files (default 100,000): the folder scan and the naming plan, nothing is
decoded. Case 2 times ``rechroma-cli FOLDER`` in a fresh process from start to the first photo written, for a
folder of small generated photos (default 10,000), then stops the run. Uses the shipped model when there is
one, else the stand-in generator from tests/standin_model.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from engine.cli import expand_inputs, plan_outputs  # noqa: E402
from engine.model import default_model_path  # noqa: E402

PLAN_TARGET_S = 2.0
FIRST_PHOTO_TARGET_S = 2.0

#: Runs in a fresh interpreter: times main() from its start to the first colorize_file that returns,
#: then interrupts the batch (the rest of the folder is not the point here).
_FIRST_PHOTO = """
import json, sys, time
started = time.perf_counter()
import engine.cli as cli
real = cli.colorize_file
seen = {}
def first(*args, **kwargs):
    if seen:
        raise KeyboardInterrupt
    out = real(*args, **kwargs)
    seen["first"] = time.perf_counter() - started
    return out
cli.colorize_file = first
code = cli.main(sys.argv[1:])
print(json.dumps({"first": seen.get("first"), "total": time.perf_counter() - started, "code": code}))
"""


def plan_names(folder: Path, count: int) -> list[tuple[float, float]]:
    folder.mkdir()
    for i in range(count):
        (folder / f"scan{i:06d}.jpg").touch()
    times = []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        batch = expand_inputs([str(folder)], recursive=False, output_dir=None)
        args = argparse.Namespace(output=folder.parent / "out", format=None, skip_existing=False,
                                  overwrite_outputs=False)
        plan_outputs(batch.jobs, args)
        times.append((time.perf_counter() - started, time.process_time() - cpu))
        assert len(batch.jobs) == count
    return times


def first_photo(folder: Path, count: int, model: Path) -> list[dict]:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (48, 64), dtype=np.uint8)).save(folder / f"p{i:05d}.png",
                                                                              compress_level=1)
    runs = []
    for n in range(3):
        out = folder.parent / f"out{n}"
        result = subprocess.run(
            [sys.executable, "-c", _FIRST_PHOTO, str(folder), "-o", str(out), "--model", str(model)],
            cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--photos", type=int, default=10_000)
    args = parser.parse_args()
    model = args.model
    if model is None and args.photos:
        model = default_model_path()
    if model is None and args.photos:
        from standin_model import build_standin_model

        model = build_standin_model(Path(tempfile.mkdtemp()) / "standin.onnx")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        plans = plan_names(Path(tmp) / "names", args.names)
    firsts = []
    if args.photos:
        with tempfile.TemporaryDirectory() as tmp:
            firsts = first_photo(Path(tmp) / "photos", args.photos, model)
    print(f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load:.1f} before")
    if model is not None:
        print(f"- Model: `{model.name}`")
    print("\n| case | target | measured | result |")
    print("|---|---|---|---|")
    best, cpu = min(plans)
    print(f"| plan {args.names:,} names (scan + naming, best of 3) | <= {PLAN_TARGET_S:g} s | {best:.2f} s "
          f"(median {statistics.median(w for w, _ in plans):.2f}; CPU {cpu:.2f} s) | "
          f"{'pass' if best <= PLAN_TARGET_S else 'FAIL'} |")
    if firsts:
        first_times = [r["first"] for r in firsts]
        best = min(first_times)
        print(f"| first photo done after start, folder of {args.photos:,} (fresh process, best of 3) | "
              f"<= {FIRST_PHOTO_TARGET_S:g} s | {best:.2f} s (median {statistics.median(first_times):.2f}) | "
              f"{'pass' if best <= FIRST_PHOTO_TARGET_S else 'FAIL'} |")


if __name__ == "__main__":
    main()
