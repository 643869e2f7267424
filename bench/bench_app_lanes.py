"""The app's batch with one engine lane against two, on photos of a few megapixels; prints a table.

    python bench/bench_app_lanes.py [--photos 24] [--rounds 3] [--sides 1600,2300]

Each run is a fresh process (its own peak RSS) with a real window offscreen and the shipped model: the
photos are added, the batch started, and the time until every photo is done is taken. "one lane" is a
single EngineWorker on all the threads (the app before it had lanes); "two lanes" is the app's default on
two cores. The modes alternate round by round, so a load from other work hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]


def run_once(mode: str, side: int, photos: int, model: Path) -> dict:
    """In this process: the app's batch over ``photos`` synthetic photos of ``side`` px long side."""
    import resource

    import bench_gui as bg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from desktop.batch import BatchController
    from desktop.main_window import MainWindow
    from desktop.queue_model import State
    from desktop.queue_store import QueueStore
    from desktop.settings import AppSettings
    from desktop.worker import EngineWorker

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        sources = [bg.synthetic_photo(scratch / f"p{i}.jpg", side, side * 3 // 4, i) for i in range(photos)]
        settings = AppSettings(QSettings(str(scratch / "s.ini"), QSettings.Format.IniFormat))
        store = QueueStore(scratch / "data")
        if mode == "one":
            controller = BatchController(store, workers=[EngineWorker(store)])
            window = MainWindow(settings, store, model, controller=controller)
        else:
            window = MainWindow(settings, store, model)
            controller = window.controller
        window.show()
        shared = controller.worker.shared
        bg.wait_until(app, lambda: controller.model_info is not None
                      and (len(controller.lanes) == 1 or shared.paired is not None), 120)
        window.add_paths(sources)
        started = time.perf_counter()
        controller.start()
        bg.wait_until(app, lambda: not controller.has_unfinished_work(), 3600)
        seconds = time.perf_counter() - started
        done = controller.model.count(State.DONE)
        window.close()
    return {"rate": photos / seconds, "done": done, "lanes": len(controller.lanes),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sides", default="1600,2300", help="long sides in px (1600: 1.9 MP, 2300: 4 MP)")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    model = args.model or sorted((ROOT / "resources" / "models").glob("*.onnx"))[-1]
    if args.child:
        print(json.dumps(run_once(args.child[0], int(args.child[1]), args.photos, model)))
        return 0

    results: dict[tuple[int, str], list[dict]] = {}
    load_start = os.getloadavg()
    for _ in range(args.rounds):
        for side in (int(s) for s in args.sides.split(",")):
            for mode in ("one", "two"):
                out = subprocess.run(
                    [sys.executable, __file__, "--photos", str(args.photos), "--model", str(model),
                     "--child", mode, str(side)], capture_output=True, text=True, check=True, timeout=3600,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                if result["done"] != args.photos:
                    raise SystemExit(f"{mode} lane(s) finished {result['done']} of {args.photos} photos")
                results.setdefault((side, mode), []).append(result)
    print(f"{args.photos} photos a run, {args.rounds} rounds, model {model.name}, cpus {os.cpu_count()}; "
          f"load average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f}")
    print()
    print("| photos | engine | lanes | photos/s best / median | two ÷ one (medians) | peak RSS, worst |")
    print("|---|---|---|---|---|---|")
    for side in (int(s) for s in args.sides.split(",")):
        one = statistics.median(r["rate"] for r in results[(side, "one")])
        for mode, label in (("one", "one lane, all threads"), ("two", "two lanes")):
            runs = results[(side, mode)]
            rates = [r["rate"] for r in runs]
            ratio = f"{statistics.median(rates) / one:.2f}x" if mode == "two" else ""
            print(f"| {side}x{side * 3 // 4} ({side * (side * 3 // 4) / 1e6:.1f} MP) | {label} | {runs[0]['lanes']} "
                  f"| {max(rates):.2f} / {statistics.median(rates):.2f} | {ratio} "
                  f"| {max(r['rss_mb'] for r in runs):.0f} MB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
