"""Unit-test fixtures: offscreen Qt, and stand-ins for the engine worker and the queue store.

The controller talks to its worker by signals and slots only, so a fake with the same signals drives it
through every path in milliseconds, without a model or a decoder.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt

import threading  # noqa: E402
from collections.abc import Iterable  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QObject, Signal, Slot  # noqa: E402

from desktop.batch import BatchController  # noqa: E402
from desktop.messages import (  # noqa: E402
    ColorizeJob,
    ColorizeResult,
    ExportJob,
    HintJob,
    ModelInfo,
    ModelRequest,
)
from desktop.queue_model import QueueItem  # noqa: E402
from desktop.queue_store import LoadedQueue  # noqa: E402

TIMEOUT_MS = 10_000


class Lanes:
    """What the fake workers of one controller share: the gate, the jobs in the order they started, and
    for each start the photos that were running at that moment (``together``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.jobs: list[ColorizeJob | ExportJob] = []
        self.running: set[str] = set()
        self.together: list[frozenset[str]] = []


class FakeWorker(QObject):
    """Answers jobs at once: a photo whose name contains "broken" fails, every other one colorizes.

    It has :class:`desktop.worker.EngineWorker`'s signals and slots; the jobs it was given are kept in
    :attr:`jobs`, and :attr:`gate` (set by default) holds a job until the test releases it.
    """

    modelLoaded = Signal(object)
    modelFailed = Signal(str, str)
    jobStarted = Signal(str)
    colorized = Signal(object)
    exported = Signal(str, object)
    jobFailed = Signal(str, str, str)
    jobCancelled = Signal(str, str)
    hintRendered = Signal(object)
    hintSaved = Signal(str, int, object)
    hintFailed = Signal(str, int, str)

    def __init__(self, scratch: Path, lanes: Lanes | None = None) -> None:
        """``lanes``: what the workers of one controller share (one gate, every job, what ran at once)."""
        super().__init__()
        self.scratch = scratch
        self.lanes = lanes if lanes is not None else Lanes()
        self.jobs: list[ColorizeJob | ExportJob] = self.lanes.jobs
        self.hint_jobs: list[HintJob] = []
        self.gate = self.lanes.gate

    @Slot(object)
    def load_model(self, request: ModelRequest) -> None:
        if request.path is not None and not request.path.is_file():
            self.modelFailed.emit("No colorization model", f"{request.path} does not exist")
            return
        device = "cpu" if request.device == "auto" else request.device
        self.modelLoaded.emit(ModelInfo("fake", "1.0", device, Path("fake.onnx"), 512, 16, label="fake v1.0"))

    @Slot(object)
    def run_job(self, job: ColorizeJob | ExportJob) -> None:
        with self.lanes.lock:
            self.jobs.append(job)
            self.lanes.running.add(job.item_id)
            self.lanes.together.append(frozenset(self.lanes.running))
        self.jobStarted.emit(job.item_id)
        while not self.gate.wait(0.005):
            if job.cancel.cancelled:
                break
        with self.lanes.lock:
            self.lanes.running.discard(job.item_id)
        kind = job.kind
        if job.cancel.cancelled:
            self.jobCancelled.emit(job.item_id, kind)
        elif "broken" in job.path.name:
            self.jobFailed.emit(job.item_id, kind, "not an image")
        elif isinstance(job, ExportJob):
            self.exported.emit(job.item_id, job.options.out_dir / f"{job.path.stem}_color.jpg")
        else:
            ab_file = self.scratch / f"{job.item_id}.npy"
            ab_file.write_bytes(b"ab")
            self.colorized.emit(
                ColorizeResult(job.item_id, ab_file, None, (40, 30), (1, 1234), 0.25, "cpu", job.hints)
            )

    @Slot(object)
    def run_hint(self, job: HintJob) -> None:
        self.hint_jobs.append(job)

    @Slot(object)
    def prepare_hints(self, job: HintJob) -> None:
        pass


class FakeStore:
    """The queue store's interface, in memory: what was loaded, and every write the controller made."""

    def __init__(self, folder: Path, items: Iterable[QueueItem] = (), running: bool = False) -> None:
        self.folder = folder
        self.hints_dir = folder / "hints"
        self.saved: dict[str, QueueItem] = {}
        self.removed: set[str] = set()
        self.running: bool | None = None
        self.closed = False
        self._loaded = LoadedQueue(items=list(items), positions=[], running=running)
        self._loaded.positions = list(range(1, len(self._loaded.items) + 1))

    def load(self, *, first: int | None = None) -> LoadedQueue:
        return self._loaded  # all at once: slices are the real store's business (tests/desktop)

    def write(self, changed, removed, running: bool | None = None) -> None:
        for _position, item in changed:
            self.saved[item.id] = item
        self.removed.update(removed)
        self.running = running

    def discard_ab(self, item: QueueItem) -> None:
        if item.ab_file is not None:
            item.ab_file.unlink(missing_ok=True)
            item.ab_file = None

    def discard_prediction(self, item_id: str) -> None:
        (self.folder / f"{item_id}.npy").unlink(missing_ok=True)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    """Three files the fake worker 'colorizes' (their bytes are never read); the second one fails."""
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = [folder / name for name in ("a.jpg", "b_broken.jpg", "c.jpg")]
    for path in paths:
        path.write_bytes(b"not read")
    return paths


@pytest.fixture
def make_controller(qtbot, tmp_path: Path):
    """A BatchController on a FakeStore and a FakeWorker; shut down (engine thread joined) after the test."""
    made: list[BatchController] = []

    def make(
        items: Iterable[QueueItem] = (), running: bool = False, lanes: int = 1
    ) -> tuple[BatchController, FakeWorker, FakeStore]:
        """``lanes`` fake workers (engine lanes) sharing one gate; the first is returned."""
        scratch = tmp_path / "scratch"
        scratch.mkdir(exist_ok=True)
        store = FakeStore(scratch, items, running)
        shared = Lanes()
        workers = [FakeWorker(scratch, shared) for _ in range(lanes)]
        controller = BatchController(store, workers=workers)  # type: ignore[arg-type]
        made.append(controller)
        return controller, workers[0], store

    yield make
    for controller in made:
        controller.worker.gate.set()
        assert controller.shutdown(TIMEOUT_MS)
