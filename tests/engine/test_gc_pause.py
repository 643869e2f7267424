"""gc_paused: the collector is off for a batch's planning and back as it was after, however pauses nest."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from engine.gc_pause import freeze_long_lived, gc_paused, thaw
from engine.photo_finder import find_photos


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_pauses_nest_and_the_collector_comes_back(collector_on) -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause is still on
    assert gc.isenabled()


def test_an_error_inside_still_resumes_it(collector_on) -> None:
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("a bad photo")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector_on) -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_on_two_threads_end_with_the_collector_on(collector_on) -> None:
    inside, leave = threading.Event(), threading.Event()

    def scan() -> None:
        with gc_paused():
            inside.set()
            leave.wait(10)

    worker = threading.Thread(target=scan)
    worker.start()
    inside.wait(10)
    with gc_paused():  # begins while the worker's pause is on, ends after it
        leave.set()
        worker.join(10)
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_scan_leaves_the_collector_on(collector_on, tmp_path: Path) -> None:
    (tmp_path / "a.jpg").touch()
    assert len(find_photos([tmp_path]).photos) == 1
    assert gc.isenabled()


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_frozen_objects_skip_full_passes_young_cycles_are_collected_first_and_thaw_hands_them_back(
    collector_on,
) -> None:
    import weakref

    kept = [_Node() for _ in range(1000)]  # a queue's worth of long-lived rows
    garbage = _Node()
    garbage.other = _Node()
    garbage.other.other = garbage  # a cycle nobody holds: only the collector frees it
    dead = weakref.ref(garbage)
    del garbage
    try:
        with gc_paused():
            freeze_long_lived()
        assert dead() is None  # collected by the young pass, not frozen with the rest
        assert gc.get_freeze_count() >= len(kept)
        assert not {id(o) for o in kept} & {id(o) for o in gc.get_objects()}  # out of every generation
    finally:
        thaw()
    assert gc.get_freeze_count() == 0
    assert {id(o) for o in kept} <= {id(o) for o in gc.get_objects()}
