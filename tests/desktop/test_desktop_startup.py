"""Start-up with a running queue that holds a missing photo, in a loop, through the real entry point.

The app once died with SIGSEGV in this situation and it could not be reproduced; every run here has
faulthandler on (the app's own crash log, and ``-X faulthandler`` for anything before it), quits at a
different moment (at once, while thumbnails load, while the batch runs, after it), and must exit cleanly
with an empty crash log.
"""

from __future__ import annotations

import faulthandler
import os
import subprocess
import sys
from pathlib import Path

from desktop.crash_log import CRASH_LOG
from desktop.queue_model import QueueItem, State
from desktop.queue_store import QueueStore

ROOT = Path(__file__).resolve().parents[2]

DRIVER = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
from desktop import app as entry, dialogs
from desktop.main_window import MainWindow

dialogs.confirm_quit_during_batch = lambda parent: True  # quitting mid-batch is part of the test
quit_after = sys.argv[1]

def window():
    return next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)

def finished():
    w = window()
    return w is not None and w.controller.model_info is not None and not w.controller.has_unfinished_work()

def poll():
    w = window()
    if w is not None and (quit_after != "done" or finished()):
        w.close()
    else:
        QTimer.singleShot(20, poll)

QTimer.singleShot(0 if quit_after == "done" else int(quit_after), poll)
sys.exit(entry.main(["--model", sys.argv[2]]))
"""


def test_pytest_runs_the_desktop_tests_with_faulthandler_on() -> None:
    assert faulthandler.is_enabled()


def test_startup_loop_with_a_running_queue_that_holds_a_missing_photo(
    tmp_path: Path, photo_dir: Path, standin_model: Path
) -> None:
    data = tmp_path / "appdata"
    missing = QueueItem(path=tmp_path / "gone" / "missing.jpg")
    present = QueueItem(path=photo_dir / "grey.jpg")
    after = QueueItem(path=photo_dir / "colour.jpg")
    store = QueueStore(data)
    store.write([(1, missing), (2, present), (3, after)], running=True)
    store.close()
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(ROOT),
        OMP_NUM_THREADS="1",
        RECHROMA_DATA_DIR=str(data),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        HOME=str(tmp_path / "home"),
    )
    for quit_after in ("0", "30", "150", "400", "done", "0", "done"):
        run = subprocess.run(
            [sys.executable, "-X", "faulthandler", "-c", DRIVER, quit_after, str(standin_model)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert run.returncode == 0, f"quit after {quit_after}: rc {run.returncode}\n{run.stderr[-3000:]}"
        assert "Fatal Python error" not in run.stderr
        assert (data / CRASH_LOG).read_text() == "", "the app's crash log caught a native crash"

    loaded = QueueStore(data).load()
    states = {item.id: (item.state, item.error) for item in loaded.items}
    assert states[present.id][0] == State.DONE and states[after.id][0] == State.DONE
    assert states[missing.id][0] == State.FAILED and states[missing.id][1]
    assert not loaded.running and loaded.notice is None
