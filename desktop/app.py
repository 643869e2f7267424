"""Entry point of the ``rechroma`` desktop app.

``RECHROMA_STARTUP_PROBE=<unix time of launch>`` makes the app print ``first-window-shown <seconds>`` once
its window is first shown, then quit: ``bench/bench_gui.py`` uses it to time the start-up.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

PROBE_ENV = "RECHROMA_STARTUP_PROBE"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rechroma", description="Colorize black-and-white photographs.")
    parser.add_argument("photos", nargs="*", type=Path, help="photos or folders to add to the queue")
    parser.add_argument("--model", type=Path, default=None, help="a Rechroma .onnx model to use")
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
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    problem = binding_problem()
    if problem:
        logging.getLogger("rechroma").warning(problem)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop import crash_log
    from desktop.main_window import MainWindow, app_icon
    from desktop.queue_store import default_data_dir
    from desktop.settings import APPLICATION, ORGANISATION

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setWindowIcon(app_icon())
    crash_log.enable(default_data_dir())  # a native crash leaves every thread's stack there
    window = MainWindow(model_path=args.model)
    if args.photos:
        window.add_paths(args.photos)
    window.show()

    probe = os.environ.get(PROBE_ENV)
    if probe:

        def report() -> None:
            shown = window.first_shown_at or time.time()
            print(f"first-window-shown {shown - float(probe):.3f}", flush=True)
            window.close()

        QTimer.singleShot(0, report)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
