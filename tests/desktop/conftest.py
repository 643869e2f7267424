"""Desktop test fixtures: offscreen Qt, a window factory on temp settings/data, and a model spy."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt
os.environ.setdefault("OMP_NUM_THREADS", "1")

import faulthandler  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from desktop import dialogs  # noqa: E402
from desktop.main_window import MainWindow  # noqa: E402
from desktop.queue_store import QueueStore  # noqa: E402
from desktop.settings import AppSettings  # noqa: E402

#: Generous for a slow, shared 2-core machine.
TIMEOUT_MS = 30_000


def pytest_configure(config) -> None:
    """A native crash in Qt must leave every thread's stack: pytest's faulthandler plugin does that by
    default; if it was turned off (-p no:faulthandler), turn faulthandler on here."""
    if not faulthandler.is_enabled():
        faulthandler.enable(all_threads=True)


class ModelSpy:
    """Wraps a Generator's predict_ab: counts calls and can hold them at a gate until released or cancelled."""

    def __init__(self, generator) -> None:
        self.generator = generator
        self.real = generator.predict_ab
        self.calls = 0
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        generator.predict_ab = self

    def __call__(self, l_norm, cancel=None):
        self.calls += 1
        self.entered.set()
        while not self.gate.is_set() and not (cancel is not None and cancel.cancelled):
            time.sleep(0.005)
        return self.real(l_norm, cancel=cancel)

    def hold(self) -> None:
        self.entered.clear()
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()


class QuitAnswers(list):
    """Queued answers for the 'quit during a batch?' question (yes once they run out) and what was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[bool] = []

    def __call__(self, _parent) -> bool:
        value = self.pop(0) if self else True
        self.asked.append(value)
        return value


@pytest.fixture
def quit_answers(monkeypatch) -> QuitAnswers:
    answers = QuitAnswers()
    monkeypatch.setattr(dialogs, "confirm_quit_during_batch", answers)
    return answers


@pytest.fixture
def make_window(qtbot, standin_model: Path, tmp_path: Path, quit_answers) -> Callable[..., MainWindow]:
    """Build a shown MainWindow on this test's own ini file and data folder (reused by later calls)."""
    windows: list[MainWindow] = []

    def make(model_path: Path | None | str = "standin", wait_for_model: bool = True, threads: int = 1) -> MainWindow:
        """``threads`` 1 gives one engine lane (jobs strictly one at a time), 2 the app's two on two cores."""
        settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        path = standin_model if model_path == "standin" else model_path
        window = MainWindow(settings, QueueStore(tmp_path / "appdata"), path, threads=threads)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        if wait_for_model:
            qtbot.waitUntil(lambda: window.controller.model_info is not None, timeout=TIMEOUT_MS)
        return window

    yield make
    for window in windows:
        window.close()
        assert not any(lane.thread.isRunning() for lane in window.controller.lanes), "engine thread still running"


@pytest.fixture
def spy_generator() -> Callable[[object], ModelSpy]:
    """Install a :class:`ModelSpy` on any Generator (e.g. one engine lane's session)."""
    return ModelSpy


@pytest.fixture
def spy_model() -> Callable[[MainWindow], ModelSpy]:
    """Install a :class:`ModelSpy` on the window's one Generator (the worker is idle when tests call this)."""

    def install(window: MainWindow) -> ModelSpy:
        generator = window.controller.worker.generator
        assert generator is not None, "no model loaded"
        return ModelSpy(generator)

    return install


@pytest.fixture
def run_batch(qtbot) -> Callable[[MainWindow], None]:
    """Start the batch with the Start command and wait until it finishes."""

    def run(window: MainWindow) -> None:
        with qtbot.waitSignal(window.controller.batchFinished, timeout=TIMEOUT_MS):
            window.actions.start.trigger()

    return run
