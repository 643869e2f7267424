"""The batch controller: owns the queue, the engine thread and the persistence; no widgets.

The main window (view) and the QActions (commands) call its methods; it answers with signals. Jobs are
chosen in this order: pending exports, photos the user asked to re-run, then the queue in order while the
batch runs unpaused. A photo that fails is marked failed with its reason and the batch moves on.

The engine has two lanes on a CPU with two cores or more (sharing one model), as the CLI runs two photo
workers: decoding, L* and the merge are single-threaded, so two small photos at once keep both cores busy.
The lanes themselves let a large photo run alone (desktop.worker.SharedModel); on a GPU, or with one core,
one lane does everything. A photo is never in two lanes at once (an export and a re-run of it both touch
its cached colour).
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import cast

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QThread, QThreadPool, QTimer, Signal

from desktop.colour_thumbnails import ColourThumbnails
from desktop.hint_points import Points
from desktop.hint_sidecar_sync import SidecarSync, load_hints
from desktop.images import to_qimage
from desktop.messages import (
    ColorizeJob,
    ColorizeResult,
    ExportJob,
    ExportOptions,
    HintJob,
    HintResult,
    ModelInfo,
    ModelRequest,
    Preview,
)
from desktop.queue_model import QueueItem, QueueModel, State
from desktop.queue_store import LoadedQueue, QueueStore
from desktop.worker import (
    EngineWorker,
    PoolSignals,
    SharedModel,
    load_preview,
    load_thumbnail,
    run_in_pool,
)
from engine.gc_pause import freeze_long_lived, gc_paused, thaw
from engine.naming import DEFAULT_PATTERN
from engine.photo_finder import find_photos
from engine.pipeline import provenance
from engine.thread_pool import available_cpu_count

log = logging.getLogger(__name__)

PREVIEW_CACHE_SIZE = 4
#: Items saved per transaction while a large add is written in the background of the event loop (500: about
#: 9 ms of the GUI thread, JSON and SQLite; a turn of the add also inserts a slice of rows).
SAVE_SLICE = 500
#: Rows inserted into the queue per event-loop turn when a large folder is added (2,000: about 10 ms).
ADD_SLICE = 2000
#: Saved rows shown before the window (more than a screenful), then per event-loop turn (500 rows: a median
#: of 11 ms, at worst 75 ms of the GUI thread on a busy 2-core machine, under the 100 ms a stall may take).
RESTORE_FIRST = 1000
RESTORE_SLICE = 500
#: Thumbnail size in the queue (the view's icon size).
THUMBNAIL_PX = 56
#: Engine lanes on a CPU with at least this many threads (more lanes only cost memory on a desktop).
ENGINE_LANES = 2

Job = ColorizeJob | ExportJob


class EngineLane(QObject):
    """One engine thread, its worker, and the job in flight on it (GUI-thread bookkeeping only)."""

    #: The engine thread; it hides QObject.thread(), as BatchController.thread does.
    thread: QThread  # type: ignore[assignment]
    run = Signal(object)

    def __init__(self, worker: EngineWorker, name: str, parent: QObject) -> None:
        super().__init__(parent)
        self.worker = worker
        self.job: Job | None = None
        self.started = 0  # dispatch sequence number of the job in flight
        self.thread = QThread(parent)
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.finished.connect(worker.deleteLater)
        self.run.connect(worker.run_job)


def expand_paths(paths: Iterable[Path], pattern: str = DEFAULT_PATTERN) -> list[Path]:
    """Resolved paths: files as given (an unsupported one fails visibly later); folders recursively through
    engine.photo_finder, so "a folder of photos" means what it means for the CLI (symlinked folders followed
    once, earlier results that carry Rechroma's provenance skipped). A path that is not there is dropped."""
    found = find_photos(paths, recursive=True, skip_results=True, pattern=pattern, follow_links=True)
    return [photo.resolved for photo in found.photos]


@gc_paused()
def _new_items(
    paths: Iterable[Path], known: set[Path], strength: float, render_size: int | None, hints_dir: Path | None = None
) -> list[QueueItem]:
    """Queue items for the photos under ``paths`` that are not in ``known`` (runs off the GUI thread), with
    the hints of their sidecar files (one folder listing per folder, a read only where a sidecar is).
    Without cycle collection meanwhile (engine.gc_pause): it walked the new items over and over, a quarter
    of the time of adding 100,000 photos; and kept out of its full passes after (the first one over them
    took 40 ms of the GUI thread)."""
    items = []
    listings: dict[str, tuple[set[str], set[str]]] = {}
    for path in expand_paths(paths):  # absolute and resolved, like the paths already queued
        if path in known:
            continue
        known.add(path)
        item = QueueItem(path=path, strength=strength, render_size=render_size)
        item.hints, item.hint_note = load_hints(path, listings, hints_dir)
        items.append(item)
    freeze_long_lived(collect_young=False)  # they live as long as the queue; a first pass took 40 ms
    return items


class BatchController(QObject):
    #: The engine thread. It hides QObject.thread() (kept for the tests and tools that use the attribute).
    thread: QThread  # type: ignore[assignment]
    progressChanged = Signal(int, int, float)  # finished, total, ETA seconds (-1: unknown)
    busyChanged = Signal(bool)  # a job is in flight
    runningChanged = Signal(bool, bool)  # batch running, paused
    modelChanged = Signal(object)  # ModelInfo
    modelError = Signal(str, str)  # title, message
    previewReady = Signal(str, object)  # item id, Preview or an error message (str)
    itemFinished = Signal(str, str)  # item id, new state value
    batchFinished = Signal()
    exportFinished = Signal(int, list)  # saved, [(name, reason)] of the failed ones
    message = Signal(str)  # one-line status for the status bar
    #: Something the user must read about the saved queue (a damaged file set aside, entries dropped).
    queueNotice = Signal(str)
    #: A photo's colour changed with its hints: item id, the preview to show (its prediction re-coloured),
    #: and whether it is the final colour (else the quick half-size run that comes first).
    hintPreview = Signal(str, object, bool)
    hintsChanged = Signal(str)  # item id: its hints changed (the view redraws them)

    _loadModel = Signal(object)
    _runHint = Signal(object)
    _prepareHints = Signal(object)

    def __init__(
        self,
        store: QueueStore,
        *,
        threads: int | None = None,
        worker: EngineWorker | None = None,
        workers: list[EngineWorker] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``workers`` run the jobs, one engine lane each (default: :data:`ENGINE_LANES` lanes of
        :class:`EngineWorker` sharing one model on ``store``; one lane below two threads); ``worker`` is
        one lane. Tests pass stand-ins with the same signals and slots to drive the controller without a
        model; the first lane loads the model and runs the hint runs."""
        super().__init__(parent)
        self.store = store
        self.model = QueueModel(self)
        self.model_info: ModelInfo | None = None
        self.running = False
        self.paused = False
        self.closing = False
        self._priority: deque[str] = deque()
        self._exports: deque[ExportJob] = deque()
        self._export_tally: tuple[int, list[tuple[str, str]]] = (0, [])
        self._durations: list[float] = []
        #: When the last colorized photos finished (perf_counter), for the ETA: with two lanes, a photo's
        #: own duration overstates the time per photo by up to twice.
        self._finish_times: deque[float] = deque(maxlen=21)
        self._previews: OrderedDict[str, Preview] = OrderedDict()
        self._resume_when_ready = False
        #: Render size of photos without their own (``QueueItem.render_size`` None): Preferences; 0 = the model's.
        self.default_render_size = 0
        #: The photo whose preview the window last asked for: only it gets a preview from the worker.
        self._wanted_preview: str | None = None
        #: What :meth:`restore` had to report about the saved queue (None when all was well).
        self.restore_notice: str | None = None
        self._restoring: LoadedQueue | None = None  # a restore under way (see restore())
        self._adding_rest = False  # add_paths is inserting its second or a later slice
        #: Each photo's hint run in flight or waiting (latest wins: a newer change to that photo cancels it;
        #: other photos' runs, e.g. after Copy hints, go on), and the generation of each photo's newest.
        self._hint_jobs: dict[str, HintJob] = {}
        self._hint_generation = 0
        self._latest_hint: dict[str, int] = {}
        self._dispatched = 0

        if workers is None:
            if worker is not None:
                workers = [worker]
            else:
                lanes = ENGINE_LANES if (threads or available_cpu_count()) >= ENGINE_LANES else 1
                shared = SharedModel(lanes, threads)
                workers = [EngineWorker(store, threads, shared) for _ in range(lanes)]
        self.lanes = [EngineLane(w, f"rechroma-engine-{i}" if i else "rechroma-engine", self)
                      for i, w in enumerate(workers)]
        self.worker = self.lanes[0].worker
        self.thread = self.lanes[0].thread
        self._loadModel.connect(self.worker.load_model)
        self.worker.modelLoaded.connect(self._on_model_loaded)
        self.worker.modelFailed.connect(self._on_model_failed)
        self._runHint.connect(self.worker.run_hint)
        self._prepareHints.connect(self.worker.prepare_hints)
        self.worker.hintRendered.connect(self._on_hint_rendered)
        self.worker.hintSaved.connect(self._on_hint_saved)
        self.worker.hintFailed.connect(self._on_hint_failed)
        for lane in self.lanes:
            lane.worker.colorized.connect(self._on_colorized)
            lane.worker.exported.connect(self._on_exported)
            lane.worker.jobFailed.connect(self._on_failed)
            lane.worker.jobCancelled.connect(self._on_cancelled)
            lane.thread.start()

        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.pool_signals = PoolSignals(self)
        self.pool_signals.done.connect(self._on_pool_done)

        self._save_timer = QTimer(self, singleShot=True, interval=0)
        self._save_timer.timeout.connect(self._save_slice)
        #: Brings the rest of a restored queue, a slice per turn. A timer, not a posted call: Qt's event loop
        #: puts its timers after posted calls, so a chain of posted slices kept other timers waiting two slices.
        self._restore_timer = QTimer(self, singleShot=True, interval=0)
        self._restore_timer.timeout.connect(self._restore_more)
        self.model.changed.connect(self._save_timer.start)
        self.model.thumbnailWanted.connect(self._request_thumbnail)
        self.colour_thumbnails = ColourThumbnails()  # a strength change re-renders, without a decode
        #: Writes each photo's hints to its sidecar file shortly after the last change.
        self.sidecars = SidecarSync(self.store.hints_dir, self)

    # --- lifecycle ----------------------------------------------------------------------------------
    def restore(self) -> None:
        """Load the queue the app had; a batch that was running resumes once the model is ready.

        The first rows come at once, the rest in slices from the event loop (a timer), so a window with
        50,000 photos queued shows in about a second and stays responsive while the rest fills in.
        """
        with gc_paused():
            loaded = self.store.load(first=RESTORE_FIRST)
            freeze_long_lived()
        self._restoring = loaded
        # Known now: a save while the rest loads must not forget that the batch was running.
        self._resume_when_ready = loaded.running
        self.model.add(loaded.items, positions=loaded.positions)  # thumbnails come as rows are painted
        if loaded.rest:
            self._restore_timer.start()
        else:
            self._restored()

    @property
    def restoring(self) -> bool:
        """Saved rows are still being added to the queue (see :meth:`restore`)."""
        return self._restoring is not None

    @property
    def inserting_rest(self) -> bool:
        """The rows being inserted continue a restore or an add already on screen: a view that followed
        them would jump away from the user's rows (and load a screenful of thumbnails per slice)."""
        return self._restoring is not None or self._adding_rest

    def finish_restore(self) -> None:
        """The rest of the saved queue now: new photos are checked against the whole queue."""
        while self._restoring is not None and not self.closing:
            self._restore_more()

    def _restore_more(self) -> None:
        loaded = self._restoring
        if loaded is None or self.closing:
            return
        with gc_paused():  # a full pass over the rows loaded so far took up to 250 ms (engine.gc_pause)
            items, positions = self.store.load_more(loaded, RESTORE_SLICE)
            freeze_long_lived()
        self.model.add(items, positions=positions)
        if loaded.rest:
            self._restore_timer.start()
        else:
            self._restored()
        self._emit_progress()

    def _restored(self) -> None:
        loaded, self._restoring = self._restoring, None
        if loaded is None:
            return
        self.restore_notice = loaded.notice
        if loaded.notice:
            self.queueNotice.emit(loaded.notice)
        if self._resume_when_ready:  # still waiting for the model (it may have started the batch meanwhile)
            self._resume_when_ready = self.model.count(State.QUEUED) > 0
            if self._resume_when_ready and self.model_info is not None:
                self.start()
        self._emit_progress()

    def load_model(self, path: Path | None, device: str = "auto") -> None:
        self._loadModel.emit(ModelRequest(Path(path) if path else None, device))

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Persist, stop the jobs in flight, and join the engine threads; True if they stopped in time."""
        if self.closing:
            return not any(lane.thread.isRunning() for lane in self.lanes)
        self.save_now()
        self.sidecars.flush()
        self.closing = True
        self._save_timer.stop()
        for job in self._in_flight():
            job.cancel.cancel()
        for hint_job in self._hint_jobs.values():
            hint_job.cancel.cancel()
        self.pool.clear()
        for lane in self.lanes:
            lane.thread.quit()
        stopped = all([lane.thread.wait(timeout_ms) for lane in self.lanes])
        self.pool.waitForDone(timeout_ms)
        self.store.close()
        thaw()  # the queue's items go back to the collector (see restore)
        return stopped

    def save_now(self, *, limit: int | None = None, only: str | None = None) -> None:
        """Write what changed in one transaction: everything, ``limit`` items, or the one item ``only``."""
        if self.closing:
            return
        changed, removed = self.model.take_changes(limit, only)
        try:
            # A batch waiting for the model to resume is still running: quitting during start-up keeps it so.
            self.store.write(changed, removed, (self.running and not self.paused) or self._resume_when_ready)
        except OSError as exc:
            self.message.emit(f"Could not save the queue: {exc.strerror or exc}")

    def _save_slice(self) -> None:
        """Save in slices, so adding a 50,000-photo folder never holds the event loop for long."""
        self.save_now(limit=SAVE_SLICE)
        if self.model.has_changes() and not self.closing:
            self._save_timer.start()

    # --- adding and removing ------------------------------------------------------------------------
    def add_paths(
        self, paths: Iterable[Path], *, strength: float = 1.0, render_size: int | None = None
    ) -> list[QueueItem]:
        """Queue the photos under ``paths`` (not yet queued) and return them.

        Folders are scanned on a thread while the event loop goes on, and a large result is inserted in
        slices, so adding a 50,000-photo folder never freezes the window.
        """
        self.finish_restore()  # a photo must be checked against the whole saved queue
        paths = [Path(p) for p in paths]
        known = self.model.paths()
        if any(p.is_dir() for p in paths):
            items = self._off_thread(lambda: _new_items(paths, known, strength, render_size, self.sidecars.folder))
        else:
            items = _new_items(paths, known, strength, render_size, self.sidecars.folder)
        added: list[QueueItem] = []
        try:
            for first in range(0, len(items), ADD_SLICE):
                if self.closing:
                    return added
                if first:
                    QCoreApplication.processEvents()
                self._adding_rest = bool(added)
                # Checked slice by slice (not 50,000 paths in one turn): photos added meanwhile are not added twice.
                fresh = [item for item in items[first : first + ADD_SLICE] if not self.model.has_path(item.path)]
                self.model.add(fresh)
                added += fresh
        finally:
            self._adding_rest = False
        items = added
        self._emit_progress()
        if items and self.running:
            self._dispatch()
        return items

    def remove(self, item_ids: Iterable[str]) -> None:
        ids = set(item_ids)
        for job in self._in_flight():
            if job.item_id in ids:
                job.cancel.cancel()
        self._priority = deque(i for i in self._priority if i not in ids)
        self._exports = deque(job for job in self._exports if job.item_id not in ids)
        busy = self._busy_items()
        for item in self.model.remove(list(ids)):
            self._previews.pop(item.id, None)
            if item.id not in busy:
                self.store.discard_ab(item)
        self._emit_progress()

    # --- batch commands -----------------------------------------------------------------------------
    def start(self) -> None:
        self._resume_when_ready = False
        self.running, self.paused = True, False
        self._finish_times.clear()  # the pace is the running batch's, not across a stop
        self._running_changed()
        if self.model_info is None:
            self.message.emit("Waiting for a model before starting")
        self._dispatch()

    def pause(self) -> None:
        if self.running and not self.paused:
            self.paused = True
            self._running_changed()
            self.message.emit("Paused: the photo in progress finishes, then the batch waits")

    def resume(self) -> None:
        if self.running and self.paused:
            self.paused = False
            self._finish_times.clear()
            self._running_changed()
            self._dispatch()
        elif not self.running:
            self.start()

    def cancel_current(self) -> None:
        """Stop the photos in progress (one per engine lane); the batch goes on with the next."""
        for job in self._in_flight():
            job.cancel.cancel()

    def cancel_all(self) -> None:
        self.running = self.paused = False
        self._priority.clear()
        for job in self._exports:
            self._note_export(job.item_id, "export cancelled")
        self._exports.clear()
        for item in self.model.items():
            if item.state == State.QUEUED:
                item.state = State.CANCELLED
                self.model.update(item)
        self.cancel_current()
        self._running_changed()
        self._emit_progress()

    def retry_failed(self) -> None:
        retried = 0
        for item in self.model.items():
            if item.state in (State.FAILED, State.CANCELLED):
                item.state, item.error = State.QUEUED, ""
                self.model.update(item)
                retried += 1
        if retried:
            self.start()

    def rerun(self, item_id: str, render_size: int | None) -> None:
        """Run one photo again now, whether or not a batch runs; ``render_size`` becomes the photo's own
        (0: the model's native size; None: back to the Preferences default)."""
        item = self.model.item(item_id)
        if item is None or item.state == State.WORKING:
            return
        item.render_size = render_size
        item.state, item.error = State.QUEUED, ""
        self._previews.pop(item_id, None)
        self.model.update(item)
        self._priority.append(item_id)
        self._dispatch()

    def set_strength(self, item_ids: Iterable[str], strength: float) -> None:
        for item_id in item_ids:
            item = self.model.item(item_id)
            if item is not None and item.strength != strength:
                item.strength = strength
                self.model.update(item)

    def export(self, item_ids: Iterable[str], options: ExportOptions) -> int:
        """Queue exports of finished photos at their own strength; returns how many were queued."""
        description = provenance(self.model_info.label if self.model_info else None)
        queued = 0
        for item_id in item_ids:
            item = self.model.item(item_id)
            if item is None or item.state != State.DONE or item.ab_file is None:
                continue
            self._exports.append(
                ExportJob(
                    item_id=item.id,
                    path=item.path,
                    ab_file=item.ab_file,
                    strength=item.strength,
                    source_stamp=item.source_stamp,
                    options=options,
                    description=description,
                )
            )
            queued += 1
        if queued:
            self.message.emit(f"Exporting {queued} photo(s) to {options.out_dir}")
            self._dispatch()
        return queued

    # --- colour hints --------------------------------------------------------------------------------
    def set_hints(self, item_id: str, hints: Points, *, save_sidecar: bool = True) -> None:
        """Give a photo these hints: saved with the queue, re-coloured on the engine thread (latest change
        wins), and written to its sidecar shortly after (unless ``save_sidecar`` is False, e.g. mid-drag)."""
        item = self.model.item(item_id)
        if item is None:
            return
        hints = tuple(hints)
        changed = hints != item.hints
        if changed:
            item.hints = hints
            self.model.update(item)
            self.hintsChanged.emit(item_id)
            self.request_hint_run(item_id)
        if save_sidecar:
            self.sidecars.schedule(item)

    def request_hint_run(self, item_id: str, passing: Points | None = None) -> None:
        """Re-run the model with the photo's hints; cancels the run for any older state. ``passing`` hints
        (a point being dragged) are shown but not kept: the drop makes the real change."""
        item = self.model.item(item_id)
        if item is None or self.closing or self.model_info is None:
            return
        if item.state != State.DONE:
            return  # a queued or running photo gets its hints when it is colorized
        older = self._hint_jobs.get(item_id)
        if older is not None:
            older.cancel.cancel()
        self._hint_generation += 1
        self._latest_hint[item_id] = self._hint_generation
        hints = item.hints if passing is None else tuple(passing)
        job = HintJob(item.id, item.path, self.render_size_of(item), hints, self._hint_generation,
                      keep=passing is None)
        self._hint_jobs[item_id] = job
        self._runHint.emit(job)

    def prepare_hints(self, item_id: str) -> None:
        """Warm the engine for hint runs on this photo (its render-size L*), so the first click is quick."""
        item = self.model.item(item_id)
        if item is not None and item.state == State.DONE and not self.closing:
            self._prepareHints.emit(HintJob(item.id, item.path, self.render_size_of(item), item.hints, 0))

    def _on_hint_rendered(self, result: HintResult) -> None:
        if self.closing or self._latest_hint.get(result.item_id) != result.generation:
            return
        preview = self._previews.get(result.item_id)
        if preview is not None and preview.prediction is not None:
            old = preview.prediction
            preview.prediction = old.with_ab(result.ab)
            self.hintPreview.emit(result.item_id, preview, result.final)

    def _on_hint_saved(self, item_id: str, generation: int, ab_file: Path) -> None:
        item = self.model.item(item_id)
        if item is None and not self.closing:  # removed while its hints ran: leave no orphan result behind
            Path(ab_file).unlink(missing_ok=True)
            return
        if self.closing or item is None or self._latest_hint.get(item_id) != generation:
            return
        self._hint_jobs.pop(item_id, None)
        item.ab_file = Path(ab_file)
        item.output = None  # an export made before these hints no longer shows this colour
        self.model.thumbnails.mark_stale(item_id)  # its thumbnail is read again from the new result
        self.model.update(item)

    def _on_hint_failed(self, item_id: str, generation: int, reason: str) -> None:
        if not self.closing and self._latest_hint.get(item_id) == generation:
            item = self.model.item(item_id)
            self.message.emit(f"Hints could not be applied to {item.name if item else item_id}: {reason}")

    # --- previews -----------------------------------------------------------------------------------
    def cached_preview(self, item_id: str) -> Preview | None:
        preview = self._previews.get(item_id)
        if preview is not None:
            self._previews.move_to_end(item_id)
        return preview

    def request_preview(self, item_id: str) -> None:
        """Emit previewReady for the item: at once if cached, else after reading it on the pool."""
        preview = self.cached_preview(item_id)
        if preview is not None:
            self.previewReady.emit(item_id, preview)
            return
        item = self.model.item(item_id)
        if item is None:
            return
        self._wanted_preview = item_id
        ab_file = item.ab_file if item.state == State.DONE else None
        path = item.path
        run_in_pool(self.pool, self.pool_signals, "preview", item_id, lambda: load_preview(path, ab_file))

    # --- state queries ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return any(lane.job is not None for lane in self.lanes)

    @property
    def current_item_id(self) -> str | None:
        """The photo started last of those in progress (the one the queue follows)."""
        working = [lane for lane in self.lanes if lane.job is not None]
        return max(working, key=lambda lane: lane.started).job.item_id if working else None  # type: ignore[union-attr]

    @property
    def working_ids(self) -> list[str]:
        """Every photo in progress, oldest first."""
        working = sorted((lane for lane in self.lanes if lane.job is not None), key=lambda lane: lane.started)
        return [lane.job.item_id for lane in working if lane.job is not None]

    def has_unfinished_work(self) -> bool:
        return self.busy or bool(self._exports) or (self.running and self.model.count(State.QUEUED) > 0)

    # --- internals ----------------------------------------------------------------------------------
    def _next_job(self) -> Job | None:
        """The next job, or None; one for a photo already in flight waits at the front for it to finish."""
        busy = self._busy_items()
        if self._exports:
            return None if self._exports[0].item_id in busy else self._exports.popleft()
        if self.model_info is None:
            return None
        while self._priority:
            item = self.model.item(self._priority[0])
            if item is None or item.state != State.QUEUED:
                self._priority.popleft()
                continue
            if item.id in busy:
                return None
            self._priority.popleft()
            return self._colorize_job(item)
        if self.running and not self.paused:
            row = self.model.next_queued_row()
            if row >= 0:
                item = self.model.item_at(row)
                return None if item.id in busy else self._colorize_job(item)
        return None

    def _in_flight(self) -> list[Job]:
        return [lane.job for lane in self.lanes if lane.job is not None]

    def _busy_items(self) -> set[str]:
        return {job.item_id for job in self._in_flight()}

    def _usable_lanes(self) -> list[EngineLane]:
        """All lanes on a CPU; the first only on a GPU (photos take turns on it, as in the CLI)."""
        if self.model_info is not None and self.model_info.device != "cpu":
            return self.lanes[:1]
        return self.lanes

    def render_size_of(self, item: QueueItem) -> int | None:
        """The size this photo runs at: its own, else the default; None means the model's native size."""
        size = item.render_size if item.render_size is not None else self.default_render_size
        return size or None

    def _colorize_job(self, item: QueueItem) -> ColorizeJob:
        # Only the photo on show gets a preview built with its result; others are read back if selected.
        return ColorizeJob(
            item.id,
            item.path,
            self.render_size_of(item),
            want_preview=item.id == self._wanted_preview,
            hints=item.hints,
        )

    def _dispatch(self) -> None:
        """Fill the free engine lanes; say the batch finished once nothing is left and nothing runs."""
        if self.closing:
            return
        started = False
        for lane in self._usable_lanes():
            if lane.job is not None:
                continue
            job = self._next_job()
            if job is None:
                break
            if isinstance(job, ColorizeJob):
                item = self.model.item(job.item_id)
                if item is not None:  # a job is only made for a queued photo, so it is there
                    item.state = State.WORKING
                    self.model.update(item)
            self._dispatched += 1
            lane.job, lane.started = job, self._dispatched
            lane.run.emit(job)
            started = True
        if started:
            self.busyChanged.emit(True)
            return
        if self.busy:
            return
        if self.running and not self.paused and self.model_info is not None:
            self.running = False
            self._running_changed()
            self.batchFinished.emit()
        self.busyChanged.emit(False)

    def _finish(self, item_id: str, kind: str, state: str) -> None:
        for lane in self.lanes:
            if lane.job is not None and lane.job.item_id == item_id and lane.job.kind == kind:
                lane.job = None
                break
        if self.model.item(item_id) is None and item_id not in self._busy_items():
            self.store.discard_prediction(item_id)  # removed while it ran: drop whatever it had cached
        self.save_now(only=item_id)  # a finished photo is on disk before anything else happens
        if self.model.has_changes():
            self._save_timer.start()
        self.itemFinished.emit(item_id, state)
        self._emit_progress()
        exporting = any(isinstance(job, ExportJob) for job in self._in_flight())
        if not self._exports and not exporting and (self._export_tally[0] or self._export_tally[1]):
            saved, failed = self._export_tally
            self._export_tally = (0, [])
            self.exportFinished.emit(saved, failed)
        self._dispatch()

    def _on_colorized(self, result: ColorizeResult) -> None:
        if self.closing:
            return
        item = self.model.item(result.item_id)
        if item is not None:
            item.state, item.error, item.output = State.DONE, "", None
            item.ab_file = result.ab_file
            item.width, item.height = result.size
            item.set_source_stamp(result.source_stamp)
            item.seconds = result.seconds
            self.model.update(item)
            self._durations.append(result.seconds)
            self._finish_times.append(time.perf_counter())
            if result.preview is not None:
                self._cache_preview(item.id, result.preview)
                self.previewReady.emit(item.id, result.preview)
        self._finish(result.item_id, "colorize", State.DONE.value)
        if item is not None and result.preview is None and item.id == self._wanted_preview:
            self.request_preview(item.id)  # selected while it ran: read its result back
        if item is not None and item.hints != result.hints:
            self.request_hint_run(item.id)  # hints changed while it ran: colour it with the new ones

    def _on_exported(self, item_id: str, path: Path) -> None:
        if self.closing:
            return
        saved, failed = self._export_tally
        self._export_tally = (saved + 1, failed)
        item = self.model.item(item_id)
        if item is not None:
            item.output, item.error = Path(path), ""
            self.model.update(item)
        self._finish(item_id, "export", State.DONE.value)

    def _on_failed(self, item_id: str, kind: str, reason: str) -> None:
        if self.closing:
            return
        item = self.model.item(item_id)
        if kind == "export":
            self._note_export(item_id, f"export failed: {reason}")
            self._finish(item_id, kind, State.DONE.value)
            return
        if item is not None:
            item.state, item.error = State.FAILED, reason
            self.model.update(item)
        self._finish(item_id, kind, State.FAILED.value)

    def _on_cancelled(self, item_id: str, kind: str) -> None:
        if self.closing:
            return
        item = self.model.item(item_id)
        if kind == "export":
            self._note_export(item_id, "export cancelled")
            self._finish(item_id, kind, State.DONE.value)
            return
        if item is not None:
            item.state = State.CANCELLED
            self.model.update(item)
        self._finish(item_id, kind, State.CANCELLED.value)

    def _note_export(self, item_id: str, reason: str) -> None:
        item = self.model.item(item_id)
        saved, failed = self._export_tally
        failed.append((item.name if item else item_id, reason))
        self._export_tally = (saved, failed)
        if item is not None:
            item.error, item.output = reason, None
            self.model.update(item)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        if self.closing:
            return
        self.model_info = info
        self.modelChanged.emit(info)
        self.message.emit(f"Model {info.name} v{info.version} on {info.device.upper()}")
        if self._resume_when_ready:
            self.start()
        else:
            self._dispatch()

    def _on_model_failed(self, title: str, message: str) -> None:
        if not self.closing:
            self.modelError.emit(title, message)

    def _off_thread(self, fn: Callable[[], list[QueueItem]]) -> list[QueueItem]:
        """Run ``fn`` on a thread of its own and wait for it in a local event loop (so the window paints
        and timers fire meanwhile); re-raises what it raised."""
        loop = QEventLoop()
        outcome: list[list[QueueItem] | Exception] = []

        def task() -> None:
            try:
                outcome.append(fn())
            except Exception as exc:  # handed to the GUI thread and raised there
                outcome.append(exc)
            self.pool_signals.done.emit("scan", "", None)

        def done(kind: str, *_args: object) -> None:
            if kind == "scan" and outcome:
                loop.quit()

        waiting = self.pool_signals.done.connect(done)
        threading.Thread(target=task, name="rechroma-scan", daemon=True).start()
        if not outcome:
            loop.exec()
        self.pool_signals.done.disconnect(waiting)
        result = outcome[0]
        if isinstance(result, Exception):
            raise result
        return result

    def _on_pool_done(self, kind: str, key: str, result: object) -> None:
        if self.closing or kind == "scan":
            return
        item = self.model.item(key)
        if item is None:
            return
        if kind == "thumbnail":
            if isinstance(result, Exception):
                return  # the photo will fail with its reason when it is run (the model does not ask again)
            pixels, dims, shows = cast(tuple[np.ndarray, tuple[int, int] | None, tuple], result)
            image = to_qimage(pixels).scaled(
                THUMBNAIL_PX,
                THUMBNAIL_PX,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            self.model.set_thumbnail(item, image, shows)
            if dims is not None and item.width is None:
                item.width, item.height = dims
                self.model.update(item)
        elif kind == "preview":
            if isinstance(result, Exception):
                self.previewReady.emit(key, str(result))
                return
            preview = cast(Preview, result)
            if item.width and item.height:
                preview.original_size = (item.width, item.height)
            if preview.prediction is not None:
                self._cache_preview(key, preview)
            self.previewReady.emit(key, preview)

    def _request_thumbnail(self, item_id: str, key: tuple) -> None:
        """Load a thumbnail for a row the view painted: the original, or the colour result once done."""
        item = self.model.item(item_id)
        if item is None or self.closing:
            return
        path, ab_file = item.path, item.ab_file
        if key[0] == "colour" and ab_file is not None:
            strength, thumbnails = key[1], self.colour_thumbnails
            task = lambda: (*thumbnails.render(path, ab_file, strength, key[2:]), key)  # noqa: E731
        else:
            task = lambda: (*load_thumbnail(path), key)  # noqa: E731
        run_in_pool(self.pool, self.pool_signals, "thumbnail", item_id, task)

    def _cache_preview(self, item_id: str, preview: Preview) -> None:
        self._previews[item_id] = preview
        self._previews.move_to_end(item_id)
        while len(self._previews) > PREVIEW_CACHE_SIZE:
            self._previews.popitem(last=False)

    def _running_changed(self) -> None:
        self.runningChanged.emit(self.running, self.paused)
        self._save_timer.start()

    def _seconds_per_photo(self) -> float:
        """From the pace of the last finishes while they came one after another; else from the photos' own
        durations, shared by the lanes."""
        times = self._finish_times
        if len(times) >= 3 and times[-1] > times[0]:
            return (times[-1] - times[0]) / (len(times) - 1)
        return statistics.fmean(self._durations[-20:]) / len(self._usable_lanes())

    def _emit_progress(self) -> None:
        total = self.model.rowCount()
        finished = self.model.count(State.DONE, State.FAILED, State.CANCELLED)
        remaining = self.model.count(State.QUEUED, State.WORKING)
        eta = -1.0
        if self._durations and self.running and remaining:
            eta = self._seconds_per_photo() * remaining
        self.progressChanged.emit(finished, total, eta)


def format_eta(seconds: float) -> str:
    if seconds < 0:
        return ""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
