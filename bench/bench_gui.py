"""Desktop responsiveness benchmark; prints a table.

    OMP_NUM_THREADS=1 python bench/bench_gui.py [--photos 4] [--side 3000] [--model PATH]

1. Event-loop stall: worst lateness of a 10 ms QTimer while a batch of photos is colorized (the engine runs
   on its own thread, so this should stay far below a frame or two).
2. Strength change -> repaint on a 12 MP photo's preview (target <= 50 ms): slider moved, compare view
   repainted synchronously.
3. Time to first window: ``python -m desktop.app`` in a subprocess, timed from launch to its first show.
4. The app's batch against the CLI on the same small photos (0.12 MP; target >= 0.8x the CLI's photos/s).
5. Adding a 50,000-photo folder (hard links to a few real JPEGs): time until ``add_paths`` returns with
   every row in the view (target <= 10 s) and until the queue database holds them all.
6. Restart with those 50,000 queued: ``python -m desktop.app`` to its first window (target <= 3 s).
7. Colour hints: a click with the hint tool on a 12 MP photo at render size 512 -> the preview with the new
   hint's colour (target <= 300 ms), while a 10 ms timer measures the event loop.
Every GUI step reports the worst lateness of a 10 ms timer while it ran (target < 100 ms).

    OMP_NUM_THREADS=1 python bench/bench_gui.py --batch-photos 3000 --folder-photos 50000

Uses the shipped model (resources/models/*.onnx) if there is one, else the test stand-in (say which).
Runs offscreen; photos are synthetic gradients+shapes written as JPEG into a temp folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.queue_model import State  # noqa: E402


def synthetic_photo(path: Path, width: int, height: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    grey = 0.5 + 0.3 * np.sin(xx / width * 5 + seed) * np.cos(yy / height * 3)
    for _ in range(6):
        cy, cx, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(0.05, 0.2) * min(width, height)
        grey[(yy - cy) ** 2 + (xx - cx) ** 2 < radius**2] = rng.uniform(0.1, 0.9)
    pixels = (np.clip(grey, 0, 1) * 255).astype(np.uint8)
    Image.fromarray(pixels).convert("RGB").save(path, quality=90)
    return path


def pick_model(scratch: Path, explicit: Path | None) -> tuple[Path, str]:
    if explicit:
        return explicit, explicit.name
    shipped = sorted((ROOT / "resources" / "models").glob("*.onnx"))
    if shipped:
        return shipped[-1], f"shipped {shipped[-1].name}"
    sys.path.insert(0, str(ROOT / "tests"))
    from standin_model import build_standin_model

    return build_standin_model(scratch / "standin.onnx"), "test stand-in (no shipped model yet)"


def wait_until(app: QApplication, condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.002)
    return False


def make_window(scratch: Path, model: Path, tag: str):
    from desktop.main_window import MainWindow
    from desktop.queue_store import QueueStore
    from desktop.settings import AppSettings

    settings = AppSettings(QSettings(str(scratch / f"{tag}.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, QueueStore(scratch / f"{tag}-data"), model)
    window.resize(1360, 820)
    window.show()
    return window


class StallMeter:
    """Worst lateness of a 10 ms QTimer: how long the event loop was kept from running (a frozen window).

    On a shared, oversubscribed machine lateness also counts time the GUI thread merely waited for a core,
    so the meter also keeps the GUI thread's own CPU time between ticks (``busy``): the work that held the
    event loop, whatever the load around it.
    """

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.busy: list[float] = []
        self._cpu = 0.0
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.lateness.append(max(0.0, self.clock.nsecsElapsed() / 1e6 - 10.0))
        self.clock.restart()
        cpu = time.thread_time()
        self.busy.append((cpu - self._cpu) * 1000)
        self._cpu = cpu

    def start(self) -> None:
        self._cpu = time.thread_time()
        self.clock.start()
        self.timer.start()

    @property
    def worst_busy(self) -> float:
        return max(self.busy)

    def stop(self) -> float:
        """Stops, counting the time since the last tick too; returns the worst lateness in ms."""
        self.timer.stop()
        self._tick()
        return max(self.lateness)


def linked_folder(folder: Path, sources: list[Path], count: int) -> Path:
    """``count`` photos made of hard links to ``sources`` (real JPEGs, no disk space or encoding time)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        source = sources[i % len(sources)]
        os.link(source, folder / f"photo{i:06d}{source.suffix}")
    return folder


def bench_app_vs_cli(app: QApplication, scratch: Path, model: Path, count: int) -> dict[str, float]:
    """Photos/s of the app's batch (colorize + cache) and of rechroma-cli (colorize + write) on one folder."""
    sources = [synthetic_photo(scratch / f"small{i}.jpg", 400, 300, 1000 + i) for i in range(40)]
    folder = linked_folder(scratch / "small-batch", sources, count)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-m", "engine.cli", str(folder), "-o", str(scratch / "cli-out"), "--model", str(model)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    cli_s = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    if cli.returncode != 0:
        raise SystemExit(f"rechroma-cli failed:\n{cli.stdout[-2000:]}\n{cli.stderr[-2000:]}")
    window = make_window(scratch, model, "batch")
    controller = window.controller
    wait_until(app, lambda: controller.model_info is not None, 60)
    window.add_paths([folder])
    meter = StallMeter()
    meter.start()
    cpu_started = time.process_time()  # every thread of this process: engine, pool and GUI
    started = time.perf_counter()
    controller.start()
    finished = wait_until(app, lambda: not controller.has_unfinished_work(), 3600)
    app_s = time.perf_counter() - started
    app_cpu = time.process_time() - cpu_started
    worst = meter.stop()
    busy = meter.worst_busy
    done = controller.model.count(State.DONE)
    window.close()
    if not finished or done != count:
        raise SystemExit(f"the app's batch finished {done} of {count} photos")
    return {
        "photos": count,
        "cli_rate": count / cli_s,
        "app_rate": count / app_s,
        "cli_cpu_ms": cli_cpu / count * 1000,
        "app_cpu_ms": app_cpu / count * 1000,
        "worst_ms": worst,
        "busy_ms": busy,
    }


def bench_add_folder(app: QApplication, scratch: Path, model: Path, count: int) -> dict[str, float]:
    """Add a ``count``-photo folder to a window that is up; its data folder is reused by the restart."""
    sources = [synthetic_photo(scratch / f"archive{i}.jpg", 400, 300, 2000 + i) for i in range(20)]
    folder = linked_folder(scratch / "archive", sources, count)
    window = make_window(scratch, model, "archive")
    controller = window.controller
    wait_until(app, lambda: controller.model_info is not None, 60)
    meter = StallMeter()
    meter.start()
    started = time.perf_counter()
    added = window.add_paths([folder])
    added_s = time.perf_counter() - started
    wait_until(app, lambda: not controller.model.has_changes(), 600)
    saved_s = time.perf_counter() - started
    wait_until(app, lambda: False, 1.0)  # the visible rows' thumbnails load meanwhile
    worst = meter.stop()
    window.close()
    if added != count:
        raise SystemExit(f"added {added} of {count} photos")
    return {"photos": count, "added_s": added_s, "saved_s": saved_s, "worst_ms": worst, "busy_ms": meter.worst_busy}


def bench_restart(app: QApplication, scratch: Path, model: Path, runs: int) -> dict[str, float]:
    """Time to first window with the archive's queue, in a fresh process; then in this one, the stall
    while the window comes up and its visible thumbnails load."""
    times = bench_startup(scratch, model, runs, data_dir=scratch / "archive-data")
    started = time.perf_counter()
    window = make_window(scratch, model, "archive")
    app.processEvents()
    shown_s = time.perf_counter() - started
    meter = StallMeter()
    meter.start()
    controller = window.controller
    # The rest of a long queue comes in slices from the event loop (BatchController.restore).
    wait_until(app, lambda: not getattr(controller, "restoring", False), 600)
    all_rows_s = time.perf_counter() - started
    wait_until(app, lambda: False, 2.0)
    worst = meter.stop()
    rows = controller.model.rowCount()
    window.close()
    return {
        "rows": rows,
        "first_window_s": statistics.median(times),
        "in_process_s": shown_s,
        "all_rows_s": all_rows_s,
        "worst_ms": worst,
        "busy_ms": meter.worst_busy,
    }


def bench_stall(app: QApplication, scratch: Path, model: Path, photos: list[Path]) -> dict[str, float]:
    window = make_window(scratch, model, "stall")
    controller = window.controller
    wait_until(app, lambda: controller.model_info is not None, 60)
    window.add_paths(photos)
    lateness: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(10)

    def tick() -> None:
        lateness.append(max(0.0, clock.nsecsElapsed() / 1e6 - 10.0))
        clock.restart()

    timer.timeout.connect(tick)
    started = time.perf_counter()
    clock.start()
    timer.start()
    controller.start()
    finished = wait_until(app, lambda: not controller.has_unfinished_work(), 900)
    elapsed = time.perf_counter() - started
    timer.stop()
    window.close()
    return {
        "photos": len(photos),
        "batch_s": elapsed,
        "finished": float(finished),
        "worst_ms": max(lateness),
        "p99_ms": float(np.percentile(lateness, 99)),
        "ticks": len(lateness),
    }


def show_colorized(app: QApplication, window, photo: Path) -> None:
    """Once the model is loaded, colorize ``photo`` and show it selected in the compare view."""
    controller = window.controller
    wait_until(app, lambda: controller.model_info is not None, 60)
    window.add_paths([photo])
    controller.start()
    wait_until(app, lambda: not controller.has_unfinished_work(), 600)
    window.select_row(0)
    wait_until(app, lambda: window.compare.after is not None, 60)


def bench_strength(app: QApplication, scratch: Path, model: Path, photo: Path) -> dict[str, float]:
    window = make_window(scratch, model, "strength")
    show_colorized(app, window, photo)
    totals, finals = [], []
    for value in [30, 60, 90, 120, 150, 180, 200, 170, 140, 110, 80, 50, 20, 0, 100] * 2:
        started = time.perf_counter()
        window.strength.setValue(value)
        # Rendered off the GUI thread: first a quick stage, then the full preview.
        wait_until(app, lambda v=value: window.shown_strength == v / 100, 30)
        window.compare.repaint()
        totals.append((time.perf_counter() - started) * 1000)
        wait_until(app, lambda: window.shown_final, 30)
        window.compare.repaint()
        finals.append((time.perf_counter() - started) * 1000)
    preview = window.compare.after.size()
    window.close()
    return {
        "preview": f"{preview.width()}x{preview.height()}",
        "median_ms": statistics.median(totals),
        "max_ms": max(totals),
        "final_median_ms": statistics.median(finals),
    }


class HintClock:
    """Times each hint edit to the first colour image with it (the quick stage) and to its full preview.

    It wraps the window's ``_on_rendered`` for the benchmark only, reading when the edit was made from the
    window's own bookkeeping, so the window carries no benchmark probes. Install before the window is made
    (the window connects its slot when it is built).
    """

    def __init__(self) -> None:
        self.quick_ms = 0.0
        self.final_ms = 0.0
        self._first_for: float | None = None
        self._original = None

    def install(self) -> None:
        from desktop.main_window import MainWindow

        self._original = original = MainWindow._on_rendered
        clock = self

        def timed(window, item_id, strength, image, milliseconds, final) -> None:
            edit, final_run = window._hint_from, window._hint_final
            shown = item_id == window.selected_id and window._shown is not None
            original(window, item_id, strength, image, milliseconds, final)
            if edit is None or not shown:
                return
            hint_ms = (time.perf_counter() - edit) * 1000
            if clock._first_for != edit:  # the first image with the edit's colour
                clock._first_for = edit
                clock.quick_ms = hint_ms
            if final and final_run:
                clock.final_ms = hint_ms

        MainWindow._on_rendered = timed

    def remove(self) -> None:
        from desktop.main_window import MainWindow

        if self._original is not None:
            MainWindow._on_rendered = self._original
            self._original = None


def bench_hints(app: QApplication, scratch: Path, model: Path, photo: Path, clicks: int = 12) -> dict[str, float]:
    """Click -> updated preview with the hint tool on a 12 MP photo at render size 512: the model re-runs
    with the hints on the engine thread, then the quick stage and the full preview are rendered."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    clock = HintClock()
    clock.install()
    try:
        window = make_window(scratch, model, "hints")
    finally:
        clock.remove()  # the window is connected to the timed slot already
    controller = window.controller
    controller.default_render_size = 512
    show_colorized(app, window, photo)
    window.actions.hint_tool.setChecked(True)  # also reads the photo's render-size L* ahead of the first click
    view = window.compare
    view.set_divider(0.0)
    rng = np.random.default_rng(5)

    def click_once() -> tuple[float, float]:
        renders = window.hint_renders
        x, y = int(rng.uniform(0.1, 0.9) * view.width()), int(rng.uniform(0.1, 0.9) * view.height())
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, y))
        wait_until(app, lambda: window.hint_renders > renders, 60)
        view.repaint()
        return clock.quick_ms, clock.final_ms

    click_once()  # warm-up: the first run builds the render-size L* if the tool's preparation has not yet
    meter = StallMeter()
    meter.start()
    quick, final = zip(*(click_once() for _ in range(clicks)), strict=True)
    worst = meter.stop()
    hints = len(controller.model.item_at(0).hints)
    window.close()
    return {
        "clicks": clicks,
        "hints": hints,
        "median_ms": statistics.median(quick),
        "max_ms": max(quick),
        "final_median_ms": statistics.median(final),
        "worst_ms": worst,
    }


def bench_startup(scratch: Path, model: Path, runs: int, data_dir: Path | None = None) -> list[float]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        RECHROMA_DATA_DIR=str(data_dir or scratch / "startup-data"),
        RECHROMA_MODELS_DIR=str(model.parent),
        XDG_CONFIG_HOME=str(scratch / "startup-config"),
        PYTHONPATH=str(ROOT),
    )
    times = []
    for _ in range(runs):
        env["RECHROMA_STARTUP_PROBE"] = repr(time.time())
        out = subprocess.run(
            [sys.executable, "-m", "desktop.app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("first-window-shown")), None)
        if line is None:
            raise SystemExit(f"app did not report its first window:\n{out.stdout}\n{out.stderr}")
        times.append(float(line.split()[1]))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description="Rechroma desktop responsiveness benchmark")
    parser.add_argument("--photos", type=int, default=4, help="photos in the stall batch")
    parser.add_argument("--side", type=int, default=3000, help="long side of the stall-batch photos")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--batch-photos", type=int, default=3000, help="small photos for app vs CLI (0: skip)")
    parser.add_argument("--folder-photos", type=int, default=50000, help="photos in the added folder (0: skip)")
    parser.add_argument("--skip-classic", action="store_true", help="only the queue measures (4-6)")
    parser.add_argument("--hint-clicks", type=int, default=12, help="hint tool clicks timed (0: skip)")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        model, model_note = pick_model(scratch, args.model)
        photos = [
            synthetic_photo(scratch / f"batch{i}.jpg", args.side, args.side * 2 // 3, i) for i in range(args.photos)
        ]
        big = synthetic_photo(scratch / "twelve_mp.jpg", 4000, 3000, 99)
        classic = not args.skip_classic
        stall = bench_stall(app, scratch, model, photos) if classic else None
        strength = bench_strength(app, scratch, model, big) if classic else None
        startup = bench_startup(scratch, model, args.startup_runs) if classic else None
        versus = bench_app_vs_cli(app, scratch, model, args.batch_photos) if args.batch_photos else None
        folder = bench_add_folder(app, scratch, model, args.folder_photos) if args.folder_photos else None
        restart = bench_restart(app, scratch, model, args.startup_runs) if folder else None
        hinting = bench_hints(app, scratch, model, big, args.hint_clicks) if args.hint_clicks else None

    print(
        f"model: {model_note}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
        f"cpus={len(os.sched_getaffinity(0))}"
    )
    print()
    print(f"| {'measure':<62} | {'value':>14} | {'target':>8} |")
    print(f"|{'-' * 64}|{'-' * 16}|{'-' * 10}|")
    rows = []
    if stall is not None:
        rows += [
            (f"batch of {stall['photos']} photos ({args.side}px), wall time", f"{stall['batch_s']:.1f} s", ""),
            ("event-loop stall during batch: worst 10 ms timer lateness", f"{stall['worst_ms']:.1f} ms", "< 100"),
            ("event-loop stall during batch: 99th percentile", f"{stall['p99_ms']:.1f} ms", ""),
            ("strength -> repaint, 12 MP photo, quick stage: median", f"{strength['median_ms']:.1f} ms", "<= 50"),
            ("strength -> repaint, 12 MP photo, quick stage: worst", f"{strength['max_ms']:.1f} ms", "<= 50"),
            ("  full 1600 px preview on screen (median)", f"{strength['final_median_ms']:.1f} ms", ""),
            (f"time to first window (median of {len(startup)})", f"{statistics.median(startup):.2f} s", ""),
        ]
    if versus is not None:
        n = versus["photos"]
        rows += [
            (f"rechroma-cli, {n} photos of 0.12 MP", f"{versus['cli_rate']:.1f} /s", ""),
            (f"app batch, same {n} photos", f"{versus['app_rate']:.1f} /s", ""),
            ("app batch / CLI", f"{versus['app_rate'] / versus['cli_rate']:.2f}x", ">= 0.8"),
            (
                "  CPU per photo: CLI (start-up included) / app",
                f"{versus['cli_cpu_ms']:.0f}/{versus['app_cpu_ms']:.0f} ms",
                "",
            ),
            ("  CPU-time throughput, app / CLI", f"{versus['cli_cpu_ms'] / versus['app_cpu_ms']:.2f}x", ">= 0.8"),
            ("  event-loop stall during the app batch: worst", f"{versus['worst_ms']:.1f} ms", "< 100"),
            ("    GUI thread's own CPU between two ticks: worst", f"{versus['busy_ms']:.1f} ms", "< 100"),
        ]
    if folder is not None:
        n = folder["photos"]
        rows += [
            (f"add a {n}-photo folder: all rows in the view", f"{folder['added_s']:.2f} s", "<= 10"),
            ("  ... and all of them in the queue database", f"{folder['saved_s']:.2f} s", ""),
            ("  event-loop stall while adding: worst", f"{folder['worst_ms']:.1f} ms", "< 100"),
            ("    GUI thread's own CPU between two ticks: worst", f"{folder['busy_ms']:.1f} ms", "< 100"),
            (
                f"restart with {restart['rows']} queued: first window (median of {args.startup_runs})",
                f"{restart['first_window_s']:.2f} s",
                "<= 3",
            ),
            ("  in-process window with the queue, shown", f"{restart['in_process_s']:.2f} s", ""),
            ("  ... and every saved row in the view", f"{restart['all_rows_s']:.2f} s", ""),
            ("  event-loop stall until then and 2 s more: worst", f"{restart['worst_ms']:.1f} ms", "< 100"),
            ("    GUI thread's own CPU between two ticks: worst", f"{restart['busy_ms']:.1f} ms", "< 100"),
        ]
    if hinting is not None:
        rows += [
            ("hint click -> new colour, 12 MP, render 512: median", f"{hinting['median_ms']:.1f} ms",
             "<= 300"),
            ("hint click -> new colour: worst", f"{hinting['max_ms']:.1f} ms", "<= 300"),
            (f"  final colour (full run), 1600 px preview (median of {hinting['clicks']})",
             f"{hinting['final_median_ms']:.1f} ms", ""),
            (f"  event-loop stall over {hinting['clicks']} clicks (up to {hinting['hints']} hints): worst",
             f"{hinting['worst_ms']:.1f} ms", "< 100"),
        ]
    for measure, value, target in rows:
        print(f"| {measure:<62} | {value:>14} | {target:>8} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
