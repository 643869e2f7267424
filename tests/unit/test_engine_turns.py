"""Whose turn it is on the shared model (desktop.worker.SharedModel): small photos share the engine, the
second on the one-thread session; a large photo waits for the ones in progress and runs alone, and photos
that come meanwhile go after it; a cancel ends a wait. Real threads, stand-in sessions, real headers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from desktop.worker import SharedModel
from engine.cancel import Cancelled, CancelToken

WAIT_S = 5.0


@pytest.fixture
def shared() -> SharedModel:
    model = SharedModel(lanes=2, threads=2)
    model.generator, model.paired = "main", "paired"  # type: ignore[assignment] - only handed back
    return model


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.png"
    Image.new("L", (400, 300)).save(path)
    return path


@pytest.fixture
def large(tmp_path: Path) -> Path:
    """4.8 MP: above the 4 MP up to which a photo takes one thread."""
    path = tmp_path / "large.png"
    Image.new("L", (2400, 2000)).save(path)
    return path


class Turn(threading.Thread):
    """Takes a turn on another thread and holds it until :attr:`done` is set."""

    def __init__(self, shared: SharedModel, path: Path) -> None:
        super().__init__(daemon=True)
        self.shared, self.path = shared, path
        self.cancel = CancelToken()
        self.entered, self.done = threading.Event(), threading.Event()
        self.session: object = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            with self.shared.turn(self.path, self.cancel) as session:
                self.session = session
                self.entered.set()
                self.done.wait(WAIT_S)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc
            self.entered.set()

    def finish(self) -> None:
        self.done.set()
        self.join(WAIT_S)


def test_two_small_photos_share_the_engine(shared, small) -> None:
    first = Turn(shared, small)
    assert first.entered.wait(WAIT_S) and first.session == "main"
    second = Turn(shared, small)
    assert second.entered.wait(WAIT_S) and second.session == "paired"
    second.finish()
    first.finish()
    alone = Turn(shared, small)
    assert alone.entered.wait(WAIT_S) and alone.session == "main"  # alone again: all the threads
    alone.finish()


def test_a_large_photo_waits_runs_alone_and_goes_first(shared, small, large) -> None:
    first = Turn(shared, small)
    assert first.entered.wait(WAIT_S)
    big = Turn(shared, large)
    assert not big.entered.wait(0.2)  # a small photo is in progress
    later = Turn(shared, small)
    assert not later.entered.wait(0.2)  # it came while the large one waits: after it
    first.finish()
    assert big.entered.wait(WAIT_S) and big.session == "main"
    assert not later.entered.wait(0.2)  # the large photo has the engine to itself
    big.finish()
    assert later.entered.wait(WAIT_S) and later.session == "main"
    later.finish()
    assert first.error is big.error is later.error is None


def test_a_cancel_ends_the_wait(shared, small, large) -> None:
    first = Turn(shared, small)
    assert first.entered.wait(WAIT_S)
    big = Turn(shared, large)
    assert not big.entered.wait(0.2)
    big.cancel.cancel()
    assert big.entered.wait(WAIT_S) and isinstance(big.error, Cancelled)
    other = Turn(shared, small)  # no large photo waits any more: it shares at once
    assert other.entered.wait(WAIT_S) and other.session == "paired"
    other.finish()
    first.finish()


def test_with_one_lane_a_large_photo_does_not_wait_for_anything(small, large) -> None:
    shared = SharedModel(lanes=1)
    shared.generator = "main"  # type: ignore[assignment]
    big = Turn(shared, large)
    assert big.entered.wait(WAIT_S) and big.session == "main"
    big.finish()
