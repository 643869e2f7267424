"""The app's two engine lanes on the real engine: two photos in flight at once on the shared model (one on
each session), every result the same colour a one-thread engine gives, and quitting joins both threads."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from desktop.queue_model import State
from engine.model import Generator
from engine.photo_io import read_photo
from engine.pipeline import colorize

TIMEOUT_MS = 30_000


def test_two_photos_run_at_once_with_the_colour_of_one_at_a_time(
    qtbot, make_window, spy_generator, photo_dir: Path, standin_model: Path
) -> None:
    window = make_window(threads=2)
    controller = window.controller
    assert len(controller.lanes) == 2
    shared = controller.worker.shared
    # The one-thread session comes just after the model is announced (its warm-up does not delay that).
    qtbot.waitUntil(lambda: shared.paired is not None, timeout=TIMEOUT_MS)
    assert shared.paired is not shared.generator and shared.paired.device == "cpu"
    alone, beside = spy_generator(shared.generator), spy_generator(shared.paired)
    window.add_paths([photo_dir])
    alone.hold()
    beside.hold()
    controller.start()
    # The first photo runs on the main session; the second starts beside it, on the one-thread session.
    qtbot.waitUntil(lambda: alone.entered.is_set() and beside.entered.is_set(), timeout=TIMEOUT_MS)
    working = controller.working_ids
    assert len(working) == 2
    assert [controller.model.item(i).state for i in working] == [State.WORKING, State.WORKING]
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        alone.release()
        beside.release()
    items = controller.model.items()
    assert [item.state for item in items] == [State.DONE] * 6

    reference = Generator(standin_model, threads=1)
    for item in items:
        expected = colorize(read_photo(item.path), reference).ab
        got = np.load(item.ab_file)
        assert got.shape == expected.shape, item.name
        # The cache keeps a*b* as float16 (steps of 1/64 near 20): any real difference is far larger.
        np.testing.assert_allclose(got.astype(np.float32), expected, atol=0.05, err_msg=item.name)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_engine_threads_run_below_the_window(qtbot, make_window, photo_dir: Path) -> None:
    window = make_window(threads=2)
    window.add_paths([photo_dir / "colour.jpg", photo_dir / "grey.jpg"])
    with qtbot.waitSignal(window.controller.batchFinished, timeout=TIMEOUT_MS):
        window.controller.start()
    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    for lane in window.controller.lanes:
        assert lane.worker.native_id is not None
        assert os.getpriority(os.PRIO_PROCESS, lane.worker.native_id) > gui


def test_another_model_replaces_both_sessions(qtbot, make_window, standin_model: Path, photo_dir: Path) -> None:
    window = make_window(threads=2)
    shared = window.controller.worker.shared
    qtbot.waitUntil(lambda: shared.paired is not None, timeout=TIMEOUT_MS)
    old_main, old_paired = shared.generator, shared.paired
    window.load_model(standin_model)
    qtbot.waitUntil(lambda: shared.generator is not old_main and shared.paired not in (None, old_paired),
                    timeout=TIMEOUT_MS)
    window.add_paths([photo_dir / "colour.jpg", photo_dir / "grey.jpg"])
    with qtbot.waitSignal(window.controller.batchFinished, timeout=TIMEOUT_MS):
        window.controller.start()
    assert window.controller.model.count(State.DONE) == 2
