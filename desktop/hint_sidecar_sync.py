"""Keeping a photo's hints in its sidecar file, ``<photo file name>.hints.json``, beside the photo.

That file is what ``rechroma-cli`` reads, so hints made in the app drive the CLI and hints made elsewhere
show up in the app. Rules, because a sidecar is the user's work:

- written atomically (the engine's temp file + ``os.replace``), shortly after the last change, off the GUI
  thread, one write at a time;
- a photo whose folder is not writable gets its sidecar in the app's data folder instead (``hints/``), and
  the window says where;
- clearing hints writes an empty list of points: nothing here ever deletes a sidecar;
- a sidecar that cannot be read is left untouched until the user confirms that new hints replace it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from desktop.hint_points import Points, read_points, sidecar_bytes
from desktop.worker import PoolSignals, run_in_pool
from engine.hints import HintsError
from engine.photo_io.errors import PhotoError
from engine.photo_io.write import write_file
from engine.sidecar import SUFFIX, read_sidecar, sidecar_path

log = logging.getLogger(__name__)

#: Quiet time after the last change before the sidecar is written (a drag or a run of clicks is one write).
WRITE_DELAY_MS = 600


class SidecarBlocked(Exception):
    """The photo's sidecar exists but cannot be read: it is not replaced without the user's word."""


@dataclass(frozen=True)
class Written:
    path: Path
    fallback: bool  #: in the app's data folder, because the photo's folder is not writable


def fallback_path(photo: Path, folder: Path) -> Path:
    """Where a photo's sidecar goes when its own folder is not writable: one subfolder per photo folder."""
    digest = hashlib.sha1(os.fsencode(photo.parent)).hexdigest()[:16]
    return folder / digest / (photo.name + SUFFIX)


def _sidecar_names(folder: Path) -> set[str]:
    try:
        return {name for name in os.listdir(folder) if name.lower().endswith(SUFFIX)}
    except OSError:
        return set()


def load_hints(
    photo: Path, listings: dict[str, tuple[set[str], set[str]]], folder: Path | None
) -> tuple[Points, str]:
    """The hints of a photo being added, and why its sidecar could not be used ("" if it could).

    ``listings`` caches each photo folder's sidecar names (and those of its spare folder in the app data),
    keyed by the folder as text, so adding 50,000 photos lists each folder once, reads only the sidecars that
    exist and builds no Path for the others (four Paths a photo were most of the time of adding a folder).
    """
    parent, own_name = os.path.split(os.fspath(photo))
    own_name += SUFFIX
    names = listings.get(parent)
    if names is None:
        spare_folder = fallback_path(photo, folder).parent if folder is not None else None
        names = listings[parent] = (
            _sidecar_names(photo.parent),
            _sidecar_names(spare_folder) if spare_folder is not None else set(),
        )
    if own_name not in names[0] and not (folder is not None and own_name in names[1]):
        return (), ""
    own = sidecar_path(photo)
    candidates = [own] if own_name in names[0] else []
    if folder is not None and own_name in names[1]:
        candidates.append(fallback_path(photo, folder))  # written there when the photo's folder was not writable
    newest = max(candidates, key=lambda p: p.stat().st_mtime_ns if p.exists() else 0)
    try:
        return read_points(newest), ""
    except (HintsError, OSError, ValueError) as exc:
        return (), f"Hint file not used: {exc}. It is left as it is."


def write_sidecar(photo: Path, points: Points, folder: Path, *, replace_unreadable: bool = False) -> Written | None:
    """Write ``points`` as the photo's sidecar; None when there was nothing to write (no hints, no file)."""
    own, spare = sidecar_path(photo), fallback_path(photo, folder)
    if own.exists() and not replace_unreadable:
        try:
            read_sidecar(own)
        except HintsError as exc:
            raise SidecarBlocked(str(exc)) from None
    if not points and not own.exists() and not spare.exists():
        return None  # never create an empty file just because hints were cleared
    data = sidecar_bytes(points)
    try:
        write_file(own, data, overwrite=True)
        return Written(own, False)
    except PhotoError as exc:
        log.info("sidecar %s not writable (%s): using %s", own, exc, spare)
    write_file(spare, data, overwrite=True)
    return Written(spare, True)


class SidecarSync(QObject):
    """Schedules sidecar writes: one per photo, after :data:`WRITE_DELAY_MS` of quiet, on a thread of its own."""

    written = Signal(str, object)  # item id, Written
    blocked = Signal(str, str)  # item id, why its sidecar cannot be read
    failed = Signal(str, str)  # item id, reason

    def __init__(self, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # writes of one photo's file land in the order they were made
        self._signals = PoolSignals(self)
        self._signals.done.connect(self._on_done)
        self._pending: dict[str, tuple[Path, Points]] = {}
        #: Photos whose unreadable sidecar the user agreed to replace (for this session).
        self.confirmed: set[str] = set()
        self._timer = QTimer(self, singleShot=True, interval=WRITE_DELAY_MS)
        self._timer.timeout.connect(self._write_pending)

    def schedule(self, item) -> None:
        self._pending[item.id] = (item.path, tuple(item.hints))
        self._timer.start()

    def confirm_replace(self, item) -> None:
        """The user agreed that the app's hints replace the unreadable file: write them."""
        self.confirmed.add(item.id)
        self.schedule(item)

    def has_pending(self) -> bool:
        return bool(self._pending) or self.pool.activeThreadCount() > 0

    def flush(self) -> None:
        """Write what is pending now and wait for it (on quit)."""
        self._timer.stop()
        self._write_pending()
        self.pool.waitForDone()

    def _write_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for item_id, (photo, points) in pending.items():
            replace = item_id in self.confirmed
            folder = self.folder

            def task(photo=photo, points=points, replace=replace, folder=folder) -> Written | None:
                return write_sidecar(photo, points, folder, replace_unreadable=replace)

            run_in_pool(self.pool, self._signals, "sidecar", item_id, task)

    def _on_done(self, _kind: str, item_id: str, result: object) -> None:
        if isinstance(result, SidecarBlocked):
            self.blocked.emit(item_id, str(result))
        elif isinstance(result, Exception):
            self.failed.emit(item_id, str(result))
        elif result is not None:
            self.written.emit(item_id, result)
