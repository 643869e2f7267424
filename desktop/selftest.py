"""``rechroma --self-test``: prove that an installed or frozen Rechroma works, without a screen.

It colorizes a bundled sample photo through the real engine and checks the result (the output exists, has the
input's size, keeps its luminance and has colour), then starts Qt offscreen, checks the SVG icon renders,
opens the main window on the same model, and hands a photo from a "second launch" to a local server (the
single-instance path, which needs QtNetwork in a bundle). Exit status 0 when every check passed, 1 otherwise;
each check prints one ``ok``/``FAIL`` line so a build log says what broke. It lives in ``desktop`` because it
must be importable from the bundle (``packaging/`` is not a package) and it exercises the desktop's own window.

    rechroma --self-test [--model PATH] [--photo PATH] [--out DIR]
    python -m desktop.selftest [...]            # the same from a source checkout
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

#: Most L* change allowed between a photo and its colorization, on average and at the 99.9th percentile: the
#: pipeline keeps the photo's own L* and fits colours into sRGB by chroma only, so the remaining differences
#: are 8-bit rounding (measured with the stand-in model: mean <= 0.1, 99.9th percentile <= 0.25 L*).
MAX_MEAN_L_CHANGE = 0.5
MAX_P999_L_CHANGE = 2.5
#: Least mean chroma (C*ab) of a colorization: a grey photo has ~0; any model that colours at all gives more.
MIN_MEAN_CHROMA = 1.0
WINDOW_TIMEOUT_S = 60.0


@dataclass
class Report:
    """What the self-test found: one line per check, and whether all passed."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def ok(self, check: str, detail: str) -> None:
        self._say(f"ok   {check}: {detail}")

    def fail(self, check: str, detail: str) -> None:
        self.failed = True
        self._say(f"FAIL {check}: {detail}")

    def _say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rechroma --self-test", description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)  # the bundle passes it on
    parser.add_argument("--model", type=Path, help="ONNX generator to test with (default: the shipped one)")
    parser.add_argument("--photo", type=Path, help="photo to colorize (default: the first bundled sample)")
    parser.add_argument("--out", type=Path, help="keep the colorized photo in this folder (default: discarded)")
    parser.add_argument("--no-window", action="store_true", help="skip the Qt checks (engine only)")
    return parser.parse_args(argv)


def find_sample() -> Path | None:
    """The first bundled sample photo (sorted by name), or None when none is shipped."""
    from engine.photo_io import SUPPORTED_SUFFIXES
    from engine.resources import samples_dir

    folder = samples_dir()
    if not folder.is_dir():
        return None
    photos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
    return photos[0] if photos else None


def _lightness(path: Path) -> np.ndarray:
    from engine.photo_io import read_photo
    from engine.pipeline import lightness_of

    return lightness_of(read_photo(path).pixels)


def _mean_chroma(path: Path) -> float:
    from engine import colour
    from engine.photo_io import read_photo

    pixels = read_photo(path).pixels
    scale = 65535.0 if pixels.dtype == np.uint16 else 255.0
    lab = colour.rgb_to_lab(pixels.astype(np.float32) / scale)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def check_colorized(src: Path, dst: Path, report: Report) -> None:
    """The checks on one colorization: exists, same size, luminance kept, colour present."""
    if not dst.is_file() or dst.stat().st_size == 0:
        report.fail("output", f"{dst} was not written")
        return
    # Compared as the engine decodes them (EXIF orientation applied), not by raw header sizes.
    src_l, dst_l = _lightness(src), _lightness(dst)
    if src_l.shape != dst_l.shape:
        report.fail("size", f"output is {dst_l.shape[1]}x{dst_l.shape[0]}, input {src_l.shape[1]}x{src_l.shape[0]}")
        return
    report.ok("size", f"{dst_l.shape[1]}x{dst_l.shape[0]} like the input")
    change = np.abs(dst_l - src_l)
    mean, p999 = float(change.mean()), float(np.percentile(change, 99.9))
    detail = (f"L* change mean {mean:.2f}, 99.9th percentile {p999:.2f} "
              f"(limits {MAX_MEAN_L_CHANGE}, {MAX_P999_L_CHANGE})")
    if mean > MAX_MEAN_L_CHANGE or p999 > MAX_P999_L_CHANGE:
        report.fail("luminance", detail)
    else:
        report.ok("luminance", detail)
    chroma = _mean_chroma(dst)
    detail = f"mean chroma {chroma:.1f} (at least {MIN_MEAN_CHROMA})"
    if chroma < MIN_MEAN_CHROMA:
        report.fail("colour", detail + ": the output is grey")
    else:
        report.ok("colour", detail)


def check_engine(model: Path | None, photo: Path | None, out_dir: Path, report: Report):
    """Load the generator and colorize ``photo`` into ``out_dir``; returns the generator (None on failure)."""
    from engine.model import Generator, how_to_get_a_model
    from engine.pipeline import colorize_file
    from engine.resources import models_dir, samples_dir

    if model is None:
        from engine.model import default_model_path

        model = default_model_path()
        if model is None:
            report.fail("model", f"no shipped model in {models_dir()}: the bundle has no generator; "
                        + how_to_get_a_model())
            return None
    try:
        started = time.perf_counter()
        generator = Generator(model)
    except Exception as exc:  # noqa: BLE001 - any failure to load is the finding, reported as such
        report.fail("model", f"{model}: {exc}")
        return None
    report.ok("model", f"{generator.name} from {generator.path} on {generator.device} ({generator.provider}), "
              f"loaded in {time.perf_counter() - started:.2f} s")

    if photo is None:
        photo = find_sample()
        if photo is None:
            report.fail("sample", f"no sample photo in {samples_dir()}; pass --photo PATH")
            return generator
    if not photo.is_file():
        report.fail("sample", f"{photo} does not exist")
        return generator
    report.ok("sample", str(photo))

    dst = out_dir / f"{photo.stem}_selftest.png"
    try:
        started = time.perf_counter()
        colorize_file(photo, dst, generator, fmt="png", overwrite=True)
    except Exception as exc:  # noqa: BLE001
        report.fail("colorize", f"{type(exc).__name__}: {exc}")
        return generator
    report.ok("colorize", f"{dst.name} in {time.perf_counter() - started:.2f} s")
    check_colorized(photo, dst, report)
    return generator


#: Qt messages that the offscreen platform prints about itself, not about Rechroma: a window asked to pass on
#: its size hints, which only a real window manager can take. Kept out of the self-test's output so that its
#: every line means something.
OFFSCREEN_NOISE = ("This plugin does not support propagateSizeHints()",)


def quiet_offscreen_messages() -> None:
    """Drop :data:`OFFSCREEN_NOISE`; every other Qt message still goes to stderr as Qt would print it."""
    from PySide6.QtCore import QtMsgType, qFormatLogMessage, qInstallMessageHandler

    def handler(kind: QtMsgType, context, message: str) -> None:
        if message in OFFSCREEN_NOISE:
            return
        print(qFormatLogMessage(kind, context, message), file=sys.stderr, flush=True)

    qInstallMessageHandler(handler)


def check_single_instance(scratch: Path, report: Report) -> None:
    """A second launch can hand photos to this one (QtNetwork's local socket, which a bundle must keep)."""
    from PySide6.QtWidgets import QApplication

    from desktop.single_instance import InstanceServer, instance_name, send_to_running

    server = InstanceServer(instance_name(scratch / "instance"))
    received: list = []
    server.pathsReceived.connect(received.append)
    if not server.listen():
        report.fail("single instance", f"cannot listen on {server.name}: {server.server.errorString()}")
        return
    sent = send_to_running(server.name, [scratch / "photo.jpg"])
    deadline = time.monotonic() + 5
    while sent and not received and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.005)
    server.close()
    if received and received[0] == [(scratch / "photo.jpg").absolute()]:
        report.ok("single instance", "a second launch hands its photos to the running app")
    else:
        report.fail("single instance", f"sent {sent}, received {received}")


def check_qt(model: Path, scratch: Path, report: Report) -> None:
    """Qt starts (offscreen), the SVG icon renders, and the main window opens and loads the model."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if os.environ["QT_QPA_PLATFORM"] == "offscreen":
        quiet_offscreen_messages()
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtGui import QImageReader
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow, app_icon
    from desktop.queue_store import QueueStore
    from desktop.settings import AppSettings
    from engine.resources import icons_dir

    app = cast(
        QApplication, QApplication.instance() or QApplication([sys.argv[0], "-platform", os.environ["QT_QPA_PLATFORM"]])
    )
    report.ok("qt", f"platform {app.platformName()}")

    formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
    svg = icons_dir() / "rechroma.svg"
    pixmap = app_icon().pixmap(64, 64)
    if "svg" not in formats or not svg.is_file() or pixmap.isNull():
        report.fail("icon", f"SVG support {'svg' in formats}, {svg} present {svg.is_file()}, "
                    f"icon renders {not pixmap.isNull()}")
    else:
        report.ok("icon", f"SVG icon renders at {pixmap.width()}x{pixmap.height()}; image formats: "
                  + ", ".join(sorted(formats)))

    settings = AppSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    started = time.perf_counter()
    window = MainWindow(settings, QueueStore(scratch / "queue"), model)
    modal_text: list[str] = []

    def dismiss_modal() -> None:  # a modal error box would otherwise block the test forever
        modal = QApplication.activeModalWidget()
        if modal is not None:
            modal_text.append(getattr(modal, "text", lambda: modal.windowTitle())())
            modal.close()

    QTimer.singleShot(int(WINDOW_TIMEOUT_S * 1000), dismiss_modal)
    window.show()
    deadline = time.monotonic() + WINDOW_TIMEOUT_S
    while time.monotonic() < deadline and not modal_text:
        app.processEvents()
        if window.first_shown_at is not None and window.controller.model_info is not None:
            break
        time.sleep(0.005)
    shown = window.first_shown_at is not None
    info = window.controller.model_info
    if shown and info is not None and not modal_text:
        report.ok("window", f"main window shown and model {info.name} loaded in {time.perf_counter() - started:.2f} s")
    else:
        report.fail("window", f"shown {shown}, model loaded {info is not None}"
                    + (f", dialog: {modal_text[0]}" if modal_text else f" after {WINDOW_TIMEOUT_S:.0f} s"))
    window.close()
    app.processEvents()
    check_single_instance(scratch, report)


def run(model: Path | None = None, photo: Path | None = None, out: Path | None = None,
        window: bool = True) -> Report:
    """Every check, in order; engine first so a Qt problem never hides an engine result."""
    report = Report()
    with tempfile.TemporaryDirectory(prefix="rechroma-selftest-") as tmp:
        scratch = Path(tmp)
        out_dir = out if out is not None else scratch
        out_dir.mkdir(parents=True, exist_ok=True)
        generator = check_engine(model, photo, out_dir, report)
        if window and generator is not None:
            try:
                check_qt(generator.path, scratch, report)
            except Exception as exc:  # noqa: BLE001 - a missing Qt plugin/module in a bundle shows up here
                report.fail("qt", f"{type(exc).__name__}: {exc}")
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    frozen = "frozen" if getattr(sys, "frozen", False) else "from source"
    print(f"Rechroma self-test ({frozen}, Python {sys.version.split()[0]}, {sys.platform})", flush=True)
    report = run(args.model, args.photo, args.out, window=not args.no_window)
    print("self-test FAILED" if report.failed else "self-test passed", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
