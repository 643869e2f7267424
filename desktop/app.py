"""Entry point of the ``rechroma`` desktop app.

``RECHROMA_STARTUP_PROBE=<unix time of launch>`` makes the app print ``first-window-shown <seconds>`` once
its window is first shown, then quit: ``bench/bench_gui.py`` uses it to time the start-up.

Only one app runs per user (and data folder): a second ``rechroma PHOTOS`` (say, "Open with Rechroma" in a
file manager) hands the photos to the running one and exits; see :mod:`desktop.single_instance`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import cast

PROBE_ENV = "RECHROMA_STARTUP_PROBE"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from engine import __version__

    parser = argparse.ArgumentParser(
        prog="rechroma",
        description="Colorize black-and-white photographs (opens the desktop app; rechroma-cli is the "
        "command line). If Rechroma is already running, the photos go to its queue.",
    )
    parser.add_argument("photos", nargs="*", type=Path, help="photos or folders to add to the queue")
    parser.add_argument("--model", type=Path, default=None, help="a Rechroma .onnx model to use")
    parser.add_argument("--version", action="version", version=f"rechroma {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation without a screen (colorizes a bundled sample, opens the window "
        "offscreen) and exit; see rechroma --self-test --help",
    )
    parser.add_argument(
        "--install-desktop-file",
        action="store_true",
        help="Linux: add Rechroma to the applications menu and to \"Open with\" for photos (this user only)",
    )
    parser.add_argument(
        "--new-instance", action="store_true", help="open a window of its own even if Rechroma is running"
    )
    return parser.parse_args(argv)


def binding_problem() -> str | None:
    """PySide6 6.12.0 drops a reference to None on every void call under Python < 3.12 (where None is not
    immortal): the app then dies with "Fatal Python error: none_dealloc" after a few thousand calls."""
    import PySide6

    if PySide6.__version__.startswith("6.12.0") and sys.version_info < (3, 12):
        return (
            f"PySide6 {PySide6.__version__} on Python {sys.version_info.major}.{sys.version_info.minor} "
            "corrupts None's reference count and crashes; install PySide6-Essentials<6.12 or use Python 3.12+"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--self-test" in argv:  # same flag as the bundle's: verify an install without a screen
        from desktop import selftest

        return selftest.main([a for a in argv if a != "--self-test"])
    args = parse_args(argv)
    if args.install_desktop_file:
        from desktop import desktop_entry

        return desktop_entry.main()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("rechroma")
    problem = binding_problem()
    if problem:
        log.warning(problem)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop import crash_log
    from desktop.desktop_entry import APP_ID
    from desktop.main_window import MainWindow, app_icon
    from desktop.queue_store import default_data_dir
    from desktop.settings import APPLICATION, ORGANISATION
    from desktop.single_instance import InstanceServer, instance_name, send_to_running

    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv[:1]))
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName(APP_ID)  # the taskbar matches the window to rechroma.desktop and its icon
    app.setWindowIcon(app_icon())
    crash_log.enable(default_data_dir())  # a native crash leaves every thread's stack there

    probe = os.environ.get(PROBE_ENV)
    single = not (args.new_instance or probe)  # the start-up probe times a fresh start, never a hand-over
    name = instance_name(default_data_dir())
    if single and send_to_running(name, args.photos):
        print(f"Rechroma is already running: {len(args.photos)} photo(s) or folder(s) added to its queue")
        return 0

    window = MainWindow(model_path=args.model)
    if single:
        server = InstanceServer(name, window)
        server.pathsReceived.connect(window.open_from_elsewhere)
        server.pathsReceived.connect(
            lambda paths: log.info("another launch handed over %d photo(s) or folder(s)", len(paths))
        )
        if server.listen():
            log.info("listening for photos from later launches")
        else:
            log.warning("another Rechroma is starting: this one runs on its own")
    if args.photos:
        window.add_paths(args.photos)
    window.show()

    if probe:

        def report() -> None:
            shown = window.first_shown_at or time.time()
            print(f"first-window-shown {shown - float(probe):.3f}", flush=True)
            window.close()

        QTimer.singleShot(0, report)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
