"""Engine speed and memory against the project's targets, each photo also against its floor; prints tables.

    python bench/bench_engine.py [--model PATH] [--threads N] [--runs N]

The floor of a photo is what no colorizer can avoid: ``cv2.imdecode`` of the file, ``cv2.imencode`` of a
same-size colour JPEG at quality 92, and the ONNX inference alone at the render size, each timed in the
same process and minute as the end-to-end ``colorize_file`` runs (interleaved with them, so a load from
other work hits both alike). Test photos are realistic: grainy scans stored as grey JPEG (with EXIF) and as
RGB JPEG (slightly uneven channels, EXIF and an ICC profile), a 16-bit TIFF scan, and a 40 MP JPEG.

Uses the shipped model (newest resources/models/*.onnx) when there is one, else a stand-in generator from
tests/standin_model.py sized to cost the real generator's CPU time (see STANDIN). Every case runs in its
own subprocess so that its peak RSS (``resource.getrusage(...).ru_maxrss``) and its first-photo costs are
its own. ``BENCH_ENGINE_ROOT=/path/to/other/checkout`` benchmarks that checkout's engine with this same
script (the before/after comparison of a change).
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
from PIL import Image, ImageCms

HERE = Path(__file__).resolve().parents[1]
REPO = Path(os.environ.get("BENCH_ENGINE_ROOT") or HERE).resolve()
sys.path[:0] = [str(REPO), str(HERE / "tests")]

from engine import pipeline  # noqa: E402
from engine.model import Generator, available_cpu_count, default_model_path  # noqa: E402
from engine.photo_io import read_photo  # noqa: E402
from engine.pipeline import colorize, colorize_file  # noqa: E402

#: Stand-in size whose inference costs the CPU time of the real generator (trainer's MobileNetV2 U-Net,
#: 4.0 M parameters, exported untrained: ~0.2 CPU-s at 512 x 384 here); dense convs do more per FLOP than
#: depthwise ones, so it needs ~5 GMAC where the real network has fewer.
STANDIN = {"width": 12, "depth": 3, "levels": 5}
SIZES = {"12mp": (3000, 4000), "1mp": (866, 1155), "40mp": (5480, 7300)}
#: name -> (file, description, target ratio end to end / floor)
PHOTOS = {
    "grey12": ("grey12.jpg", "12 MP JPEG stored grey", 1.6),
    "rgb12": ("rgb12.jpg", "12 MP JPEG stored RGB, EXIF + ICC", 1.6),
    "grey1": ("grey1.jpg", "1 MP JPEG stored grey", 1.25),
    "rgb1": ("rgb1.jpg", "1 MP JPEG stored RGB, EXIF + ICC", 1.25),
}
BATCH_1MP = 12
FIRST_PHOTO_PROCESSES = 5
IMPORT_PROCESSES = 7
#: Timed imports: the engine, the CLI, and what no engine can start without (its floor).
IMPORTED = ("engine.pipeline", "engine.cli", "numpy, cv2")
GB = 1e9


def scene(height: int, width: int, seed: int) -> np.ndarray:
    """A grey 'scan' with gradients, shapes and film grain, made small and upscaled (cheap even at 40 MP)."""
    rng = np.random.default_rng(seed)
    h, w = max(2, height // 8), max(2, width // 8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    small = 0.5 + 0.3 * np.sin(xx / w * 5 + seed) * np.cos(yy / h * 3)
    for _ in range(12):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.05, 0.2) * min(h, w)
        small[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0.1, 0.9)
    grey = cv2.resize((small * 235).astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.add(grey, _grain(rng, height, width, 20))


def _grain(rng: np.random.Generator, height: int, width: int, amount: int) -> np.ndarray:
    return rng.integers(0, amount, size=(height, width), dtype=np.uint8)


def _exif(seed: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Epson", "Perfection V600"  # Make, Model
    exif[0x0131], exif[0x0132] = "EPSON Scan", f"2019:0{seed % 9 + 1}:12 10:11:12"  # Software, DateTime
    exif[0x0112] = 1  # Orientation
    return exif


def save_grey(path: Path, grey: np.ndarray, seed: int) -> None:
    Image.fromarray(grey).save(path, quality=90, exif=_exif(seed))


def save_rgb(path: Path, grey: np.ndarray, seed: int) -> None:
    """A B&W scan stored as RGB: the channels differ by a little grain and a faint warm cast."""
    rng = np.random.default_rng(seed + 1000)
    h, w = grey.shape
    rgb = np.dstack([cv2.add(grey, _grain(rng, h, w, 4)), cv2.add(grey, _grain(rng, h, w, 3)), grey])
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(rgb).save(path, quality=90, exif=_exif(seed), icc_profile=icc)


def make_photos(folder: Path) -> None:
    save_grey(folder / "grey12.jpg", scene(*SIZES["12mp"], seed=1), 1)
    save_rgb(folder / "rgb12.jpg", scene(*SIZES["12mp"], seed=4), 4)
    save_grey(folder / "grey1.jpg", scene(*SIZES["1mp"], seed=5), 5)
    save_rgb(folder / "rgb1.jpg", scene(*SIZES["1mp"], seed=6), 6)
    for i in range(BATCH_1MP):
        saver = save_grey if i % 2 else save_rgb
        saver(folder / f"small{i:02d}.jpg", scene(*SIZES["1mp"], seed=10 + i), 10 + i)
    scan = scene(*SIZES["40mp"], seed=2)
    save_grey(folder / "scan40.jpg", scan, 2)
    # The archival kind of scan: 16-bit grey TIFF (values not multiples of 257, as a scanner gives).
    tifffile.imwrite(folder / "scan40.tif", scan.astype(np.uint16) * 257 + 128)
    del scan
    save_grey(folder / "warmup.jpg", scene(256, 256, seed=3), 3)


# --- cases (each runs in a child process) ---------------------------------------------------------------


def _generator(model: Path, threads: int | None) -> Generator:
    return Generator(model, device="cpu", threads=threads)


def _warm(generator: Generator, work: Path) -> None:
    colorize_file(work / "warmup.jpg", work / "out" / "warm.jpg", generator, overwrite=True)


def _network_input(data: np.ndarray, generator: Generator) -> np.ndarray:
    """The padded, normalised L the pipeline hands the network for this file (its size is what matters)."""
    grey = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    height, width = grey.shape
    render = generator.contract.default_render_size
    scale = render / max(height, width)
    small = cv2.resize(grey, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    l_norm = small.astype(np.float32) / 127.5 - 1.0
    multiple = generator.contract.size_multiple
    return pipeline._reflect_pad(l_norm, multiple, margin=pipeline.BORDER_MARGIN)[0]


def case_photo(name: str, model: Path, work: Path, threads: int | None, runs: int) -> dict:
    """End to end (colorize_file) and the floor (decode + encode + inference alone), interleaved."""
    generator = _generator(model, threads)
    _warm(generator, work)
    src, dst = work / PHOTOS[name][0], work / "out" / PHOTOS[name][0]
    data = np.fromfile(src, np.uint8)
    network_input = _network_input(data, generator)
    colorize_file(src, dst, generator, overwrite=True)  # the output to encode, and one warm-up run
    output = cv2.imread(str(dst), cv2.IMREAD_COLOR)
    params = [cv2.IMWRITE_JPEG_QUALITY, 92]
    e2e, decode, encode, infer, cpu, floor_cpu = [], [], [], [], [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        colorize_file(src, dst, generator, overwrite=True)
        e2e.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        start, start_cpu = time.perf_counter(), time.process_time()
        cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        decode.append(time.perf_counter() - start)
        start = time.perf_counter()
        generator.predict_ab(network_input)
        infer.append(time.perf_counter() - start)
        start = time.perf_counter()
        cv2.imencode(".jpg", output, params)
        encode.append(time.perf_counter() - start)
        floor_cpu.append(time.process_time() - start_cpu)
    floors = [d + i + e for d, i, e in zip(decode, infer, encode, strict=True)]
    return {
        "best": min(e2e), "median": statistics.median(e2e), "cpu": min(cpu), "floor_cpu": min(floor_cpu),
        "floor_best": min(decode) + min(infer) + min(encode), "floor_median": statistics.median(floors),
        "decode": min(decode), "infer": min(infer), "encode": min(encode), "load": os.getloadavg()[0],
    }


def case_first(model: Path, work: Path, threads: int | None, runs: int, warm: bool = False) -> dict:
    """A fresh process's first photo against the same photo again: the first-photo penalty, wall and CPU.

    With ``warm``, the model is warmed up first (engine.pipeline.warm_up), as the app does when it loads one.
    """
    generator = _generator(model, threads)
    started = time.perf_counter()
    if warm:
        pipeline.warm_up(generator)
    warm_up = time.perf_counter() - started
    src, dst = work / "rgb1.jpg", work / "out" / "first.jpg"
    times, cpu = [], []
    for _ in range(4):
        start, start_cpu = time.perf_counter(), time.process_time()
        colorize_file(src, dst, generator, overwrite=True)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return {"penalty": times[0] - min(times[1:]), "first": times[0], "cpu_penalty": cpu[0] - min(cpu[1:]),
            "warm_up": warm_up}


def case_batch1mp(model: Path, work: Path, threads: int | None, runs: int) -> dict:
    generator = _generator(model, threads)
    _warm(generator, work)
    photos = sorted(work.glob("small*.jpg"))
    rates = []
    for _ in range(2):
        start = time.perf_counter()
        for photo in photos:
            colorize_file(photo, work / "out" / photo.name, generator, overwrite=True)
        rates.append(len(photos) / (time.perf_counter() - start))
    return {"best": max(rates), "other": min(rates)}


def case_preview(model: Path, work: Path, threads: int | None, runs: int) -> dict:
    generator = _generator(model, threads)
    preview = colorize(read_photo(work / "rgb12.jpg"), generator).preview(1600)
    preview.render(1.0)
    best = []  # per strength, the best of 3 renders
    for strength in (0.5, 0.8, 1.0, 1.2, 1.5, 2.0):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            preview.render(strength)
            times.append(time.perf_counter() - start)
        best.append(min(times))
    return {"seconds": statistics.median(best), "max": max(best), "size": preview.size}


def case_mem40(model: Path, work: Path, threads: int | None, runs: int) -> dict:
    generator = _generator(model, threads)
    start = time.perf_counter()
    colorize_file(work / "scan40.jpg", work / "out" / "scan40.jpg", generator, overwrite=True)
    return {"seconds": time.perf_counter() - start}


def case_mem40_16(model: Path, work: Path, threads: int | None, runs: int) -> dict:
    generator = _generator(model, threads)
    start = time.perf_counter()
    colorize_file(work / "scan40.tif", work / "out" / "scan40.tif", generator, overwrite=True)
    return {"seconds": time.perf_counter() - start}


CASES = {"batch1mp": case_batch1mp, "preview": case_preview, "mem40": case_mem40, "mem40_16": case_mem40_16}


def run_child(args: list[str], env: dict | None = None) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False,
                          env=env)
    if done.returncode != 0:
        raise RuntimeError(f"case {args} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_case(name: str, model: Path, work: Path, threads: int | None, runs: int) -> dict:
    command = ["--case", name, "--model", str(model), "--work", str(work), "--runs", str(runs)]
    return run_child(command + (["--threads", str(threads)] if threads else []))


def import_seconds(modules: tuple[str, ...]) -> dict[str, list[float]]:
    """Import time of each entry (comma-separated modules) in fresh interpreters (interpreter start-up itself
    not counted), the entries interleaved so that a change in the machine's load hits them alike."""
    times: dict[str, list[float]] = {module: [] for module in modules}
    for _ in range(IMPORT_PROCESSES):
        for module in modules:
            code = (f"import sys, time; sys.path.insert(0, {str(REPO)!r}); t = time.perf_counter(); "
                    f"import {module}; print(time.perf_counter() - t)")
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            times[module].append(float(done.stdout.strip().splitlines()[-1]))
    return times


def child(args: argparse.Namespace) -> None:
    if args.case in PHOTOS:
        result = case_photo(args.case, args.model, args.work, args.threads, args.runs)
    elif args.case in ("first", "first_warm"):
        result = case_first(args.model, args.work, args.threads, args.runs, warm=args.case == "first_warm")
    else:
        result = CASES[args.case](args.model, args.work, args.threads, args.runs)
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
    return f"{kind} model {model.name} ({params:.1f} M parameters)"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def parent(args: argparse.Namespace) -> None:
    threads, runs = args.threads, args.runs
    loads = [os.getloadavg()]
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
        imports = import_seconds(IMPORTED)
        photos = {name: run_case(name, model, work, threads, runs) for name in PHOTOS}
        loads.append(os.getloadavg())
        firsts = [run_case("first", model, work, threads, runs) for _ in range(FIRST_PHOTO_PROCESSES)]
        warm_firsts = [run_case("first_warm", model, work, threads, runs) for _ in range(FIRST_PHOTO_PROCESSES)]
        results = {name: run_case(name, model, work, threads, runs) for name in CASES}
        loads.append(os.getloadavg())

    print(f"Machine: {cpu_name()}, {available_cpu_count()} cores available ({platform.system()}), "
          f"threads: {threads or 'all'}; load average (1/5/15 min) at start, after the photo cases, at end: "
          + ", ".join("/".join(f"{x:.2f}" for x in load) for load in loads)
          + " (a load above 0 means other work shared the cores)")
    print(f"Engine: {REPO}; model: {model_text}")
    print(f"(test photos generated in {generated:.1f} s; {runs} runs a photo, best and median; CPU time is the "
          "process's, all threads, best run: steadier than wall time when other work shares the cores)\n")
    print("| photo | end to end best / median | floor best / median (decode + infer + encode) "
          "| end to end / floor | target | result | CPU time: end to end / floor | load |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (_, text, target) in PHOTOS.items():
        r = photos[name]
        ratio, ratio_median = r["best"] / r["floor_best"], r["median"] / r["floor_median"]
        print(f"| {text} | {_ms(r['best'])} / {_ms(r['median'])} "
              f"| {_ms(r['floor_best'])} / {_ms(r['floor_median'])} "
              f"({_ms(r['decode'])} + {_ms(r['infer'])} + {_ms(r['encode'])}) "
              f"| {ratio:.2f} (median {ratio_median:.2f}) | <= {target} | {_verdict(ratio <= target)} "
              f"| {_ms(r['cpu'])} / {_ms(r['floor_cpu'])} = {r['cpu'] / r['floor_cpu']:.2f} | {r['load']:.2f} |")

    penalties = sorted(f["penalty"] for f in firsts)
    warm_penalties = sorted(f["penalty"] for f in warm_firsts)
    pipeline_import, cli_import, floor_import = (imports[m] for m in IMPORTED)
    floor_best = min(floor_import)
    batch, preview, mem, mem16 = (results[k] for k in CASES)
    rows = [
        (f"import engine.pipeline (fresh interpreter, {IMPORT_PROCESSES} runs)", "<= 120 ms",
         f"best {_ms(min(pipeline_import))}, median {_ms(statistics.median(pipeline_import))} "
         f"(numpy + OpenCV alone: best {_ms(floor_best)}, median {_ms(statistics.median(floor_import))}; "
         f"{min(pipeline_import) / floor_best:.2f}x)",
         _verdict(min(pipeline_import) <= 0.12)),
        (f"import engine.cli (fresh interpreter, {IMPORT_PROCESSES} runs)", "<= 120 ms",
         f"best {_ms(min(cli_import))}, median {_ms(statistics.median(cli_import))}",
         _verdict(min(cli_import) <= 0.12)),
        (f"first-photo penalty, 1 MP RGB, cold process ({FIRST_PHOTO_PROCESSES} fresh processes)", "(info)",
         f"best {_ms(penalties[0])}, median {_ms(statistics.median(penalties))}; CPU median "
         f"{_ms(statistics.median(f['cpu_penalty'] for f in firsts))}", ""),
        (f"first-photo penalty, 1 MP RGB, after the model's warm-up ({FIRST_PHOTO_PROCESSES} fresh processes)",
         "<= 30 ms",
         f"best {_ms(warm_penalties[0])}, median {_ms(statistics.median(warm_penalties))}; CPU median "
         f"{_ms(statistics.median(f['cpu_penalty'] for f in warm_firsts))}; warm-up "
         f"{_ms(statistics.median(f['warm_up'] for f in warm_firsts))}",
         _verdict(statistics.median(warm_penalties) <= 0.03)),
        (f"1 MP JPEGs, sequential batch of {BATCH_1MP} (better of 2)", "(info)",
         f"{batch['best']:.1f} photos/s (other {batch['other']:.1f})", ""),
        (f"strength re-render, {preview['size'][0]}x{preview['size'][1]} preview, strengths 0.5-2", "<= 50 ms",
         f"{_ms(preview['seconds'])} (slowest strength {_ms(preview['max'])})",
         _verdict(preview["seconds"] <= 0.05)),
        ("40 MP scan, 8-bit JPEG -> JPEG, peak RSS", "<= 1.0 GB",
         f"{mem['peak_rss'] / GB:.2f} GB ({mem['seconds']:.1f} s)", _verdict(mem["peak_rss"] <= 1.0 * GB)),
        ("40 MP scan, 16-bit TIFF -> TIFF, peak RSS", "<= 1.0 GB",
         f"{mem16['peak_rss'] / GB:.2f} GB ({mem16['seconds']:.1f} s)", _verdict(mem16["peak_rss"] <= 1.0 * GB)),
    ]
    print("\n| case | target | measured | result |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="ONNX generator (default: shipped, else a stand-in)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per photo (default 5)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.case:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
