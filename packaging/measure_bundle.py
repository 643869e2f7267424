"""Measure a built bundle: where its size goes, and how fast it starts; prints two tables.

    python packaging/measure_bundle.py [--bundle build/bundle-dist/rechroma] [--model PATH] [--photo PATH]
                                       [--runs 5] [--source]

Targets (docs/packaging.md): at most 320 MB unpacked, first window at most 3 s after launch. Start-up is timed
with the desktop's RECHROMA_STARTUP_PROBE (launch time in, "first-window-shown <s>" out), offscreen, with
settings and queue in a throw-away home. --source also times ``python -m desktop.app`` for comparison.
Uses the stand-in model from tests/ and a synthetic photo when none is given (say so in any report).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Bundle paths (prefixes under _internal/) per component, first match wins.
COMPONENTS = [
    ("Qt (PySide6, shiboken6)", ("PySide6", "shiboken6", "libQt6", "libicu", "libpyside6", "libshiboken6")),
    ("OpenCV (cv2 + vendored libs)", ("cv2", "opencv_python_headless.libs", "opencv_contrib_python_headless.libs")),
    ("onnxruntime", ("onnxruntime",)),
    ("numpy (+ OpenBLAS)", ("numpy",)),
    ("Pillow", ("PIL", "pillow")),
    ("Python runtime + stdlib", ("libpython", "python3", "base_library.zip")),
    ("resources (model, icons, samples)", ("resources",)),
]


def _size(path: Path) -> int:
    return path.lstat().st_size  # symlinks count as links, not twice


def size_table(bundle: Path) -> list[tuple[str, int]]:
    internal = bundle / "_internal"
    totals: dict[str, int] = {}
    for folder, _, files in os.walk(bundle):
        for name in files:
            path = Path(folder) / name
            relative = path.relative_to(internal).as_posix() if internal in path.parents else None
            if relative is None:
                group = "executables (+ embedded Python archives)"
            else:
                group = next((label for label, prefixes in COMPONENTS if relative.startswith(prefixes)), None)
                if group is None:
                    group = "system libraries (X11/xcb, ...)" if ".so" in name else "other"
            totals[group] = totals.get(group, 0) + _size(path)
    return sorted(totals.items(), key=lambda item: -item[1])


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home))
    env.update(XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local" / "share"))
    return env


def first_window(command: list[str], home: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        env = _env(home)
        env["RECHROMA_STARTUP_PROBE"] = repr(time.time())
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120).stdout
        values = [float(line.split()[1]) for line in out.splitlines() if line.startswith("first-window-shown")]
        if not values:
            raise RuntimeError(f"{command[0]} printed no first-window-shown line")
        times.append(values[0])
    return times


def wall(command: list[str], home: Path) -> float:
    started = time.perf_counter()
    run = subprocess.run(command, env=_env(home), capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return time.perf_counter() - started


def stand_ins(scratch: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    from PIL import Image
    from standin_model import build_standin_model, make_scene, to_grey

    photo = scratch / "synthetic.jpg"
    Image.fromarray(to_grey(make_scene(2000, 3000, seed=5))).save(photo, quality=90)  # 6 MP
    return build_standin_model(scratch / "standin.onnx"), photo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "build" / "bundle-dist" / "rechroma")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--photo", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", action="store_true", help="also time the app started from source")
    args = parser.parse_args(argv)
    gui, cli = args.bundle / "rechroma", args.bundle / "rechroma-cli"
    if not gui.is_file():
        parser.error(f"no bundle at {args.bundle}: build it with .ci/build-bundle or pyinstaller build.spec")

    total = sum(size for _, size in size_table(args.bundle))
    print(f"\nBundle {args.bundle}: {total / 2**20:.1f} MB unpacked (budget 320 MB)\n")
    print(f"| {'component':<42} | {'MB':>6} | {'share':>5} |\n|{'-' * 44}|{'-' * 8}|{'-' * 7}|")
    for label, size in size_table(args.bundle):
        print(f"| {label:<42} | {size / 2**20:6.1f} | {size / total:5.0%} |")

    with tempfile.TemporaryDirectory(prefix="rechroma-measure-") as tmp:
        scratch = Path(tmp)
        model, photo = args.model, args.photo
        if model is None or photo is None:
            standin_model, synthetic = stand_ins(scratch)
            model, photo = model or standin_model, photo or synthetic
            print(f"\n(model: {model.name}; photo: {photo.name}, {photo.stat().st_size >> 10} KB)")
        home = scratch / "home"
        home.mkdir()
        rows = []
        frozen = first_window([str(gui), "--model", str(model)], home, args.runs)
        rows.append(("first window, frozen (target <= 3 s)", frozen))
        if args.source:
            source = first_window([sys.executable, "-m", "desktop.app", "--model", str(model)], home, args.runs)
            rows.append(("first window, from source", source))
        rows.append(("rechroma --self-test --no-window (wall)",
                     [wall([str(gui), "--self-test", "--no-window", "--model", str(model), "--photo", str(photo)],
                           home)]))
        out = scratch / "out"
        rows.append(("rechroma-cli, 1 photo incl. start-up (wall)",
                     [wall([str(cli), str(photo), "-o", str(out), "--format", "png", "--model", str(model)], home)]))
    print(f"\n| {'measure':<44} | {'runs':>4} | {'median s':>8} | {'min s':>6} | {'max s':>6} |")
    print(f"|{'-' * 46}|{'-' * 6}|{'-' * 10}|{'-' * 8}|{'-' * 8}|")
    for label, values in rows:
        print(f"| {label:<44} | {len(values):4d} | {statistics.median(values):8.3f} | {min(values):6.3f} | "
              f"{max(values):6.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
