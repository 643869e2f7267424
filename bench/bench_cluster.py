"""Throughput of rechroma-cluster (Ray Data, 1 and 2 local workers) against the plain rechroma-cli.

    python bench/bench_cluster.py [--photos 24] [--model PATH]

Generates grey 1 MP JPEG scans into a temp folder and colorizes them with each command in a fresh process,
so every row pays its own start-up. "photos/s" is the tool's own figure (its summary line: colorizing only);
"wall" is the whole command, Ray's start-up and the model loads included. Needs the [cluster] extra.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from bench_engine import cpu_name, scene  # noqa: E402

from engine.model import available_cpu_count, default_model_path  # noqa: E402

SUMMARY = re.compile(r"done (\d+), skipped (\d+), failed (\d+) in ([\d.]+) s \(([\d.]+) photos/s")


def make_photos(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        cv2.imwrite(str(folder / f"scan{i:03d}.jpg"), scene(866, 1155, seed=i), [cv2.IMWRITE_JPEG_QUALITY, 92])


def run(command: list[str], photos: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_AUTH_MODE": "disabled"}
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - started
    match = SUMMARY.search(proc.stdout)
    if proc.returncode != 0 or not match or int(match[1]) != photos:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return {"wall": wall, "seconds": float(match[4]), "rate": float(match[5])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or default_model_path()
    if model is None:
        raise SystemExit("no model installed; pass --model PATH")
    cores = available_cpu_count()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        work = Path(tmp)
        make_photos(work / "scans", args.photos)
        cases = [
            (f"rechroma-cli, {cores} threads", [sys.executable, "-m", "engine.cli", "--threads", str(cores)]),
            (f"rechroma-cluster, 1 worker x {cores} threads",
             [sys.executable, "-m", "cluster.cli", "--workers", "1", "--threads", str(cores)]),
            (f"rechroma-cluster, 2 workers x {max(1, cores // 2)} threads",
             [sys.executable, "-m", "cluster.cli", "--workers", "2", "--threads", str(max(1, cores // 2))]),
        ]
        rows = []
        for n, (name, command) in enumerate(cases):
            result = run([*command, str(work / "scans"), "-o", str(work / f"out{n}"), "--model", str(model)],
                         args.photos)
            rows.append((name, result))
            print(f"{name}: {result}", file=sys.stderr, flush=True)
    load_after = os.getloadavg()[0]
    print(f"- Machine: {cpu_name()}, {cores} cores ({platform.system()}), load average {load_before:.1f} before / "
          f"{load_after:.1f} after")
    print(f"- Model: `{model}`; {args.photos} grey 1 MP JPEG scans, written as JPEG")
    print()
    print("| command | photos/s (colorizing) | wall, start-up included |")
    print("|---|---|---|")
    for name, result in rows:
        print(f"| {name} | {result['rate']:.2f} | {result['wall']:.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
