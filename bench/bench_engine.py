"""Engine speed and memory against the project's targets; prints a markdown table.

    python bench/bench_engine.py [--model PATH] [--threads N]

Uses the shipped model (newest resources/models/*.onnx) when there is one, else a stand-in generator from
tests/standin_model.py sized to cost the real generator's CPU time (see STANDIN). Test photos are generated
into a temp folder. Every case runs in its own subprocess so that its peak RSS
(``resource.getrusage(...).ru_maxrss``) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from engine.model import Generator, available_cpu_count, default_model_path  # noqa: E402
from engine.photo_io import read_photo  # noqa: E402
from engine.pipeline import colorize, colorize_file  # noqa: E402

#: Stand-in size whose inference costs the CPU time of the real generator (trainer's MobileNetV2 U-Net,
#: 4.0 M parameters, exported untrained: ~0.2 CPU-s at 512 x 384 here); dense convs do more per FLOP than
#: depthwise ones, so it needs ~5 GMAC where the real network has fewer.
STANDIN = {"width": 12, "depth": 3, "levels": 5}
SIZES = {"12mp": (3000, 4000), "1mp": (866, 1155), "40mp": (5480, 7300)}
BATCH_1MP = 20
GB = 1e9


def scene(height: int, width: int, seed: int) -> np.ndarray:
    """A grey 'scan' with gradients, shapes and grain, made small and upscaled (cheap even at 40 MP)."""
    rng = np.random.default_rng(seed)
    h, w = max(2, height // 8), max(2, width // 8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    small = 0.5 + 0.3 * np.sin(xx / w * 5 + seed) * np.cos(yy / h * 3)
    for _ in range(12):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.05, 0.2) * min(h, w)
        small[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0.1, 0.9)
    grey = cv2.resize((small * 255).astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)
    grain = rng.integers(0, 12, size=(height, width), dtype=np.uint8)
    return cv2.add(grey, grain)


def make_photos(folder: Path) -> None:
    Image.fromarray(scene(*SIZES["12mp"], seed=1)).save(folder / "photo12.jpg", quality=90)
    for i in range(BATCH_1MP):
        Image.fromarray(scene(*SIZES["1mp"], seed=10 + i)).save(folder / f"small{i:02d}.jpg", quality=90)
    scan = scene(*SIZES["40mp"], seed=2)
    Image.fromarray(scan).save(folder / "scan40.jpg", quality=90)
    # The archival kind of scan: 16-bit grey TIFF (values not multiples of 257, as a scanner gives).
    tifffile.imwrite(folder / "scan40.tif", scan.astype(np.uint16) * 257 + 128)
    del scan
    Image.fromarray(scene(256, 256, seed=3)).save(folder / "warmup.jpg", quality=90)


# --- cases (each runs in a child process) ---------------------------------------------------------------


def case_load(model: Path, work: Path, threads: int | None) -> dict:
    start = time.perf_counter()
    generator = Generator(model, device="cpu", threads=threads)
    return {"seconds": time.perf_counter() - start, "device": f"{generator.device} ({generator.provider})"}


def _warm(generator: Generator, work: Path) -> None:
    colorize_file(work / "warmup.jpg", work / "out" / "warm.jpg", generator, overwrite=True)


def case_e2e12(model: Path, work: Path, threads: int | None) -> dict:
    generator = Generator(model, device="cpu", threads=threads)
    _warm(generator, work)
    runs, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        colorize_file(work / "photo12.jpg", work / "out" / "photo12.jpg", generator, overwrite=True)
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"seconds": min(runs), "median": statistics.median(runs), "cpu": min(cpu)}


def case_batch1mp(model: Path, work: Path, threads: int | None) -> dict:
    generator = Generator(model, device="cpu", threads=threads)
    _warm(generator, work)
    photos = sorted(work.glob("small*.jpg"))
    rates, cpu = [], []
    for _ in range(2):
        start, start_cpu = time.perf_counter(), time.process_time()
        for photo in photos:
            colorize_file(photo, work / "out" / photo.name, generator, overwrite=True)
        rates.append(len(photos) / (time.perf_counter() - start))
        cpu.append((time.process_time() - start_cpu) / len(photos))
    return {"per_second": max(rates), "median": min(rates), "cpu": min(cpu)}


def case_preview(model: Path, work: Path, threads: int | None) -> dict:
    generator = Generator(model, device="cpu", threads=threads)
    preview = colorize(read_photo(work / "photo12.jpg"), generator).preview(1600)
    preview.render(1.0)
    best = []  # per strength, the best of 3 renders
    for strength in (0.5, 0.8, 1.0, 1.2, 1.5, 2.0):
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            preview.render(strength)
            runs.append(time.perf_counter() - start)
        best.append(min(runs))
    return {"seconds": statistics.median(best), "max": max(best), "size": preview.size}


def case_mem40(model: Path, work: Path, threads: int | None) -> dict:
    generator = Generator(model, device="cpu", threads=threads)
    start = time.perf_counter()
    colorize_file(work / "scan40.jpg", work / "out" / "scan40.jpg", generator, overwrite=True)
    return {"seconds": time.perf_counter() - start}


def case_mem40_16(model: Path, work: Path, threads: int | None) -> dict:
    generator = Generator(model, device="cpu", threads=threads)
    start = time.perf_counter()
    colorize_file(work / "scan40.tif", work / "out" / "scan40.tif", generator, overwrite=True)
    return {"seconds": time.perf_counter() - start}


CASES = {"load": case_load, "e2e12": case_e2e12, "batch1mp": case_batch1mp, "preview": case_preview,
         "mem40": case_mem40, "mem40_16": case_mem40_16}


def run_case(name: str, model: Path, work: Path, threads: int | None) -> dict:
    command = [sys.executable, __file__, "--case", name, "--model", str(model), "--work", str(work)]
    if threads:
        command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"case {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(args: argparse.Namespace) -> None:
    result = CASES[args.case](args.model, args.work, args.threads)
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    print(json.dumps(result))


# --- report ---------------------------------------------------------------------------------------------


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_model(model: Path, kind: str) -> str:
    from standin_model import count_parameters

    params = count_parameters(model) / 1e6
    if kind == "stand-in":
        return f"stand-in U-Net {STANDIN} ({params:.1f} M parameters; no shipped model yet)"
    return f"{kind} model {model} ({params:.1f} M parameters)"


def parent(args: argparse.Namespace) -> None:
    threads = args.threads
    load_before = os.getloadavg()[0]
    shipped = default_model_path() if args.model is None else args.model
    kind = "shipped" if args.model is None else "given"
    with tempfile.TemporaryDirectory(prefix="rechroma-bench-") as tmp:
        work = Path(tmp)
        (work / "out").mkdir()
        if shipped is None:
            from standin_model import build_standin_model, estimate_macs

            model = build_standin_model(work / "standin.onnx", **STANDIN)
            macs = estimate_macs(STANDIN["width"], STANDIN["depth"], STANDIN["levels"], 384, 512)
            model_text = describe_model(model, "stand-in") + f", {macs / 1e9:.2f} GMAC at 512x384"
        else:
            model = Path(shipped)
            model_text = describe_model(model, kind)
        started = time.perf_counter()
        make_photos(work)
        generated = time.perf_counter() - started
        results = {name: run_case(name, model, work, threads) for name in CASES}

    load, e2e, batch, preview, mem, mem16 = (results[k] for k in CASES)
    rows = [
        ("model load (fresh process)", "(info)", f"{load['seconds'] * 1000:.0f} ms", ""),
        ("12 MP JPEG end to end (best of 5)", "<= 1.0 s",
         f"{e2e['seconds']:.2f} s (median {e2e['median']:.2f}; CPU time {e2e['cpu']:.2f} s)",
         "pass" if e2e["seconds"] <= 1.0 else "FAIL"),
        (f"1 MP JPEGs, batch of {BATCH_1MP} (better of 2)", ">= 5 photos/s",
         f"{batch['per_second']:.1f} photos/s (other {batch['median']:.1f}; CPU {batch['cpu'] * 1000:.0f} ms a photo)",
         "pass" if batch["per_second"] >= 5 else "FAIL"),
        (f"strength re-render, {preview['size'][0]}x{preview['size'][1]} preview, strengths 0.5-2",
         "<= 50 ms", f"{preview['seconds'] * 1000:.0f} ms (slowest strength {preview['max'] * 1000:.0f})",
         "pass" if preview["seconds"] <= 0.05 else "FAIL"),
        ("40 MP scan, 8-bit JPEG -> JPEG, peak RSS", "<= 1.5 GB",
         f"{mem['peak_rss'] / GB:.2f} GB ({mem['seconds']:.1f} s)", "pass" if mem["peak_rss"] <= 1.5 * GB else "FAIL"),
        ("40 MP scan, 16-bit TIFF -> TIFF, peak RSS", "<= 1.5 GB",
         f"{mem16['peak_rss'] / GB:.2f} GB ({mem16['seconds']:.1f} s)",
         "pass" if mem16["peak_rss"] <= 1.5 * GB else "FAIL"),
    ]
    print(f"Machine: {cpu_name()}, {available_cpu_count()} cores available ({platform.system()}), "
          f"threads: {threads or 'all'}, load average {load_before:.1f} before / "
          f"{os.getloadavg()[0]:.1f} after (a load above 0 means other work shared the cores)")
    print(f"Model: {model_text}; device {load['device']}")
    print(f"(test photos generated in {generated:.1f} s)\n")
    print("| case | target | measured | result |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="ONNX generator (default: shipped, else a stand-in)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
