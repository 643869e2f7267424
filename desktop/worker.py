"""The engine, off the GUI thread.

Each :class:`EngineWorker` lives in its own QThread (an engine lane of :class:`desktop.batch.BatchController`)
and runs one job per slot call, reporting back by signals only (never touching a widget). The lanes share
one :class:`SharedModel`: the first lane loads the model, every lane runs photos on it. Cancelling goes
through the job's :class:`engine.cancel.CancelToken`, which the GUI thread sets directly: that also
interrupts an onnxruntime run in flight, so a cancel does not wait for the event queue.

Small thread-pool tasks (thumbnails, re-reading a preview) run through :func:`run_in_pool`.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QThread, QThreadPool, Signal, Slot

from desktop.hint_points import engine_hints
from desktop.messages import (
    ColorizeJob,
    ColorizeResult,
    ExportJob,
    ExportOptions,  # noqa: F401 - still importable from here, where the messages used to live
    HintJob,
    HintResult,
    ModelInfo,
    ModelRequest,
    Preview,
)
from desktop.photo_traits import photo_traits
from desktop.queue_store import QueueStore
from engine.batch_workers import photo_pixels, threads_per_photo
from engine.cancel import Cancelled, CancelToken
from engine.contract import ModelContractError
from engine.model import DeviceError, Generator, NoModelError
from engine.naming import NamePlanner
from engine.photo_io import PhotoError, read_photo, read_preview, write_photo
from engine.pipeline import Prediction, colorize, lightness_of, predict_ab, render_lightness, warm_up
from engine.thread_pool import available_cpu_count

log = logging.getLogger(__name__)

#: Long side of the image the compare view shows and the strength slider re-renders.
PREVIEW_SIDE = 1600
#: A hint re-run first runs the model at this share of the render size (a quarter of the pixels), so the
#: colour follows a click at once; the run at the full render size replaces it moments later.
QUICK_HINT_SHARE = 0.5
#: Render sizes below this get no quick stage: the full run is already quick.
QUICK_HINT_FROM = 384
THUMBNAIL_SIDE = 96
#: How far an engine thread steps back for the window (Linux nice, per thread): with both cores on photos,
#: the GUI thread still gets one the moment it has work, so the window does not wait for the batch.
ENGINE_NICE = 5


# --- engine glue -----------------------------------------------------------------------------------
def source_stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def _resize_to(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    if pixels.shape[:2] == (height, width):
        return pixels
    return cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)


def yield_to_window() -> None:
    """Run the calling (engine) thread below the GUI thread's priority; threads it starts inherit it."""
    if sys.platform.startswith("linux"):  # nice is per thread there; Qt's priorities do nothing for SCHED_OTHER
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + ENGINE_NICE))
        except OSError:  # not allowed here: the batch runs at the window's priority, as before
            log.debug("could not lower the engine thread's priority", exc_info=True)
    else:
        thread = QThread.currentThread()
        if thread is not None:
            thread.setPriority(QThread.Priority.LowPriority)


def describe_error(exc: BaseException) -> str:
    """One line for the queue's state column; engine errors already are user-facing."""
    if isinstance(exc, PhotoError | ModelContractError | NoModelError | DeviceError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "not enough memory for this photo (try a smaller render size)"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return f"{type(exc).__name__}: {exc}"


def _warm(generator: Generator) -> None:
    try:  # the first photo's one-off costs (first model run, tables, threads) now, while nobody waits
        warm_up(generator)
    except Exception:  # noqa: BLE001 - only a head start is lost; real photos report their own errors
        log.warning("warming up %s failed", generator.path, exc_info=True)


class SharedModel:
    """The loaded model, shared by the engine lanes (onnxruntime runs are thread-safe), and whose turn it is.

    Small photos (up to 4 MP, the CLI's rule in engine.batch_workers) share the engine: two at once, one
    thread each, as the CLI's photo workers do. On two cores that beats one photo at a time on two threads,
    because decoding, L* and the merge are single-threaded (measured: CLI 13.9 photos/s, the one-lane app
    8.8). A photo alone runs on the session with all the threads, one beside another on the one-thread
    session (``paired``). A large photo waits for the photos in progress and then has the engine, its
    threads and the memory to itself; photos that come while it waits go after it. Lanes decide this
    themselves from the photo's header, so the GUI thread never reads a file to dispatch a job.
    """

    def __init__(self, lanes: int = 1, threads: int | None = None) -> None:
        self.lanes = lanes
        self.threads = threads
        self.generator: Generator | None = None
        #: The session a photo runs on beside another (one thread each; None with one lane or on a GPU).
        self.paired: Generator | None = None
        self._turns = threading.Condition()
        self._running = 0
        self._alone = False  # a large photo has the engine
        self._alone_waiting = 0  # large photos waiting for the ones in progress

    def paired_threads(self) -> int:
        return max(1, (self.threads or available_cpu_count()) // max(1, self.lanes))

    def load(self, request: ModelRequest) -> Generator:
        """Build and warm up the model's main session; the lanes switch to it only once it is ready (and
        run alone on it until :meth:`pair_up` adds the paired session)."""
        generator = Generator(request.path, device=request.device, threads=self.threads)
        _warm(generator)
        with self._turns:
            self.generator, self.paired = generator, None
        return generator

    def pair_up(self) -> None:
        """Add the one-thread session for photos that run beside another (CPU, more than one lane only).
        Called after the window has its model, so the second session's load and warm-up do not delay it."""
        generator = self.generator
        if self.lanes < 2 or generator is None or generator.device != "cpu":
            return
        paired = Generator(generator.path, device="cpu", threads=self.paired_threads())
        _warm(paired)
        with self._turns:
            if self.generator is generator:  # not replaced by another model meanwhile
                self.paired = paired

    @contextmanager
    def turn(self, path: Path, cancel: CancelToken) -> Iterator[Generator | None]:
        """One photo's turn on the engine (see the class); yields the session it runs on (None: no model
        loaded, which an export does not need). Waiting ends early with Cancelled."""
        alone = self.lanes > 1 and threads_per_photo(photo_pixels(path)) > 1  # header only
        with self._turns:
            self._alone_waiting += alone
            try:
                while self._alone or (self._running > 0 if alone else self._alone_waiting > 0):
                    cancel.raise_if_cancelled()
                    self._turns.wait(0.05)
            finally:
                self._alone_waiting -= alone
            self._running += 1
            self._alone = alone
            beside = self._running > 1 and self.paired is not None
            generator = self.paired if beside else self.generator
        try:
            yield generator
        finally:
            with self._turns:
                self._running -= 1
                self._alone = False
                self._turns.notify_all()


class EngineWorker(QObject):
    """One engine lane: one job at a time on the shared model; everything it learns goes out by signal."""

    modelLoaded = Signal(object)  # ModelInfo
    modelFailed = Signal(str, str)  # title, message
    jobStarted = Signal(str)  # item id
    colorized = Signal(object)  # ColorizeResult
    exported = Signal(str, object)  # item id, Path
    jobFailed = Signal(str, str, str)  # item id, kind ("colorize"/"export"), reason
    jobCancelled = Signal(str, str)  # item id, kind
    hintRendered = Signal(object)  # HintResult
    hintSaved = Signal(str, int, object)  # item id, generation, Path of the saved a*b*
    hintFailed = Signal(str, int, str)  # item id, generation, reason

    def __init__(self, store: QueueStore, threads: int | None = None, shared: SharedModel | None = None) -> None:
        """``shared``: the model this lane runs photos on (loaded by whichever lane gets ``load_model``)."""
        super().__init__()
        self.store = store
        self.shared = shared if shared is not None else SharedModel(threads=threads)
        self.native_id: int | None = None  # the lane thread's OS id, once it has run something
        #: (path, source stamp, render size) -> the photo's L* at the render size: a hint re-run starts here,
        #: so a click on a 12 MP photo costs one model run, not a decode. The last few photos only.
        self._small_lightness: dict[tuple, np.ndarray] = {}

    @property
    def generator(self) -> Generator | None:
        """The model's main session (hint runs, and photos that run alone)."""
        return self.shared.generator

    def _settle(self) -> None:
        """First call on this lane's thread: step back for the window (before any session makes threads)."""
        if self.native_id is None:
            self.native_id = threading.get_native_id()
            yield_to_window()

    @Slot(object)
    def load_model(self, request: ModelRequest) -> None:
        self._settle()
        try:
            generator = self.shared.load(request)
        except NoModelError as exc:
            self.modelFailed.emit("No colorization model", str(exc))
            return
        except ModelContractError as exc:
            self.modelFailed.emit("Incompatible model file", str(exc))
            return
        except DeviceError as exc:
            self.modelFailed.emit("Device not available", str(exc))
            return
        except Exception as exc:  # onnxruntime/CUDA errors: the old model, if any, stays in use
            log.exception("loading model %s failed", request.path)
            self.modelFailed.emit("The model could not be loaded", describe_error(exc))
            return
        self._small_lightness.clear()
        contract = generator.contract
        self.modelLoaded.emit(
            ModelInfo(
                name=contract.model_name,
                version=contract.model_version,
                label=generator.name,
                device=generator.device,
                path=Path(generator.path),
                default_render_size=contract.default_render_size,
                size_multiple=contract.size_multiple,
                accepts_hints=bool(getattr(generator, "accepts_hints", True)),
                takes_hints=generator.takes_hints,
            )
        )
        try:
            self.shared.pair_up()
        except Exception:  # noqa: BLE001 - photos then run on the main session, one lane after the other's
            log.warning("the second engine session could not be made", exc_info=True)

    @Slot(object)
    def run_job(self, job: ColorizeJob | ExportJob) -> None:
        self._settle()
        kind = job.kind
        self.jobStarted.emit(job.item_id)
        try:
            job.cancel.raise_if_cancelled()
            if isinstance(job, ExportJob):
                self.exported.emit(job.item_id, self._export(job))
            else:
                self.colorized.emit(self._colorize(job))
        except Cancelled:
            self.jobCancelled.emit(job.item_id, kind)
        except Exception as exc:
            if job.cancel.cancelled:  # an interrupted run may surface as an onnxruntime error
                self.jobCancelled.emit(job.item_id, kind)
                return
            if not isinstance(exc, PhotoError):
                log.exception("%s of %s failed", kind, job.path)
            self.jobFailed.emit(job.item_id, kind, describe_error(exc))

    def _colorize(self, job: ColorizeJob) -> ColorizeResult:
        stamp = source_stamp(job.path)
        with self.shared.turn(job.path, job.cancel) as generator:
            if generator is None:
                raise RuntimeError("no model is loaded")
            started = time.perf_counter()
            photo = read_photo(job.path)
            job.cancel.raise_if_cancelled()
            prediction = colorize(photo, generator, render_size=job.render_size, cancel=job.cancel,
                                  hints=engine_hints(job.hints) or None)
        job.cancel.raise_if_cancelled()
        ab_file = self.store.save_ab(job.item_id, prediction.ab)
        preview = None
        if job.want_preview:
            small = prediction.preview(PREVIEW_SIDE)
            before = _resize_to(photo.pixels, small.lightness.shape[:2])
            preview = Preview(before=before, prediction=small, original_size=photo.size, alpha=small.alpha)
        return ColorizeResult(
            item_id=job.item_id,
            ab_file=ab_file,
            preview=preview,
            size=photo.size,
            source_stamp=stamp,
            seconds=time.perf_counter() - started,
            device=generator.device,
            hints=job.hints,
        )

    @Slot(object)
    def run_hint(self, job: HintJob) -> None:
        """The photo's a*b* with ``job.hints``: emitted at once, then cached as its result (export, thumbnails).

        A job cancelled before it starts (a newer change came) costs nothing; one cancelled while the model
        runs stops inside onnxruntime.
        """
        self._settle()
        try:
            if job.cancel.cancelled:
                return
            if self.generator is None:
                raise RuntimeError("no model is loaded")
            small = self._lightness_for(job)
            hints = engine_hints(job.hints) or None
            side = max(small.shape)
            if side >= QUICK_HINT_FROM:
                quick = render_lightness(small, round(side * QUICK_HINT_SHARE))
                job.cancel.raise_if_cancelled()
                ab = predict_ab(quick, self.generator, render_size=max(quick.shape), cancel=job.cancel, hints=hints)
                job.cancel.raise_if_cancelled()
                self.hintRendered.emit(HintResult(job.item_id, job.generation, job.hints, ab, job.requested_at, False))
            job.cancel.raise_if_cancelled()
            ab = predict_ab(small, self.generator, render_size=side, cancel=job.cancel, hints=hints)
            job.cancel.raise_if_cancelled()
            self.hintRendered.emit(HintResult(job.item_id, job.generation, job.hints, ab, job.requested_at))
            if job.cancel.cancelled or not job.keep:  # a newer change will save its own
                return
            self.hintSaved.emit(job.item_id, job.generation, self.store.save_ab(job.item_id, ab))
        except Cancelled:
            return
        except Exception as exc:
            if job.cancel.cancelled:
                return
            if not isinstance(exc, PhotoError):
                log.exception("hint run for %s failed", job.path)
            self.hintFailed.emit(job.item_id, job.generation, describe_error(exc))

    def _lightness_for(self, job: HintJob) -> np.ndarray:
        """The photo's L* at the render size, as ``colorize`` computes it (from the full-resolution L*)."""
        assert self.generator is not None
        size = job.render_size or self.generator.contract.default_render_size
        key = (job.path, source_stamp(job.path), size)
        small = self._small_lightness.get(key)
        if small is None:
            photo = read_photo(job.path)
            job.cancel.raise_if_cancelled()
            small = render_lightness(lightness_of(photo.pixels, job.cancel), size)
            while len(self._small_lightness) >= 4:
                self._small_lightness.pop(next(iter(self._small_lightness)))
            self._small_lightness[key] = small
        return small

    @Slot(object)
    def prepare_hints(self, job: HintJob) -> None:
        """Read a photo's render-size L* ahead of the first click (the hint tool is on for it)."""
        try:
            if not job.cancel.cancelled and self.generator is not None:
                self._lightness_for(job)
        except Exception:  # the first real run reports it
            log.debug("preparing hints for %s failed", job.path, exc_info=True)

    def _export(self, job: ExportJob) -> Path:
        if job.source_stamp is not None and source_stamp(job.path) != job.source_stamp:
            raise PhotoError("the original changed since it was colorized: run it again")
        with self.shared.turn(job.path, job.cancel):  # two large exports at once would double the memory
            return self._export_now(job)

    def _export_now(self, job: ExportJob) -> Path:
        photo = read_photo(job.path)
        job.cancel.raise_if_cancelled()
        ab = QueueStore.load_ab(job.ab_file)
        prediction = Prediction.from_pixels(photo.pixels, ab, alpha=photo.alpha)
        pixels = prediction.render(job.strength)
        job.cancel.raise_if_cancelled()
        options = job.options
        try:
            options.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PhotoError(f"output folder {options.out_dir} cannot be created: {exc.strerror or exc}") from exc
        if not options.out_dir.is_dir():
            raise PhotoError(f"output folder {options.out_dir} is not a folder")
        # The CLI's planning rule: never the input, never a file on disk (the app does not replace files).
        target = NamePlanner([job.path]).plan(
            job.path, options.out_dir, options.fmt, options.pattern, avoid_existing=True
        )
        # The CLI's path: published without ever replacing a file; a name another program takes meanwhile
        # moves the photo to the next free -2, -3, ... name (engine.atomic_file).
        return write_photo(
            target,
            pixels,
            alpha=photo.alpha,
            fmt=options.fmt,
            quality=options.quality,
            exif=photo.exif if options.keep_metadata else None,
            description=job.description if options.keep_metadata else None,
            overwrite=False,
            next_free=True,
        )


# --- small tasks on the global thread pool -----------------------------------------------------------
class PoolSignals(QObject):
    """Lives in the GUI thread; pool tasks emit on it, so results arrive as queued calls."""

    done = Signal(str, str, object)  # kind, key, result (an Exception if the task failed)


def run_in_pool(pool: QThreadPool, signals: PoolSignals, kind: str, key: str, fn: Callable[[], object]) -> None:
    """Run ``fn`` on ``pool`` and emit ``signals.done(kind, key, result or exception)`` (queued to the GUI)."""

    def task() -> None:
        try:
            result = fn()
        except Exception as exc:  # reported to the GUI, which decides what to show
            result = exc
        signals.done.emit(kind, key, result)

    pool.start(task)


def load_thumbnail(path: Path) -> tuple[np.ndarray, tuple[int, int] | None]:
    from PySide6.QtGui import QImageReader  # header-only size read; safe outside the GUI thread

    reader = QImageReader(os.fspath(path))
    reader.setAutoTransform(True)
    size = reader.size()
    dims = (size.width(), size.height()) if size.isValid() else None
    return read_preview(path, THUMBNAIL_SIDE), dims


def load_preview(path: Path, ab_file: Path | None) -> Preview:
    """The original at preview size, plus its colour from the cached a*b* if it was colorized."""
    before = read_preview(path, PREVIEW_SIDE)
    height, width = before.shape[:2]
    alpha = None
    if photo_traits(path).alpha:  # only then the full decode, for the alpha the quick preview read drops
        full = read_photo(path).alpha
        if full is not None:
            alpha = cv2.resize(full, (width, height), interpolation=cv2.INTER_AREA)
    prediction = Prediction.from_pixels(before, QueueStore.load_ab(ab_file), alpha=alpha) if ab_file else None
    return Preview(before=before, prediction=prediction, original_size=(width, height), alpha=alpha)
