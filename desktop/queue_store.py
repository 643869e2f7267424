"""Keeps the queue on disk so it survives a restart or a crash.

The queue lives in ``queue.sqlite`` (the standard library's sqlite3, WAL journal): one row per photo holding
:meth:`QueueItem.to_dict` as JSON plus its position, so a state change is one small transaction instead of
a rewrite of the whole queue. A finished photo's transaction is committed before the next photo starts, so
a crash or a kill -9 of the app keeps it. ``synchronous=NORMAL`` skips an fsync per commit on the GUI
thread (that fsync froze the window for hundreds of ms on a busy disk): a power cut can only roll back the
last few changes, never damage the file, and such photos are simply run again. The log is copied back into
the database by a thread of its own (desktop.wal_checkpointer), not inside a commit. Each photo's model output
(the small a*b* array at render size) is cached as ``predictions/<id>.npy``, so finished photos stay
finished and exportable after a restart without running the model again.

Loading checks every entry on its own: a bad one is dropped with its reason (and kept in a
``dropped-*.json`` file), the rest load. A damaged database or old ``queue.json`` is set aside under a
``.broken-*`` name and reported in :attr:`LoadedQueue.notice` for the window to show. A ``queue.json``
from earlier versions is migrated once and kept as ``queue.json.bak``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QStandardPaths

from desktop.queue_model import QueueItem
from desktop.wal_checkpointer import WalCheckpointer

log = logging.getLogger(__name__)

#: Tests and portable installs point the app at another folder with this variable.
DATA_DIR_ENV = "RECHROMA_DATA_DIR"
SCHEMA_VERSION = 2  # 1 was queue.json

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_position ON items (position);
"""


def default_data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(location or Path.home() / ".rechroma")


def _atomic_write(target: Path, write) -> None:
    """Write via ``write(file)`` into a temp file next to ``target``, then rename it over ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _free_name(path: Path) -> Path:
    """``path`` or ``path-2``, ``-3``, … : setting a file aside never replaces an earlier one."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


@dataclass
class LoadedQueue:
    """What :meth:`QueueStore.load` found: the good items (with their saved positions) and what went wrong."""

    items: list[QueueItem] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    running: bool = False
    #: One reason per entry that was dropped ("entry 3: strength nan is not a number").
    dropped: list[str] = field(default_factory=list)
    #: Where the dropped entries were kept, if any.
    dropped_file: Path | None = None
    #: A damaged queue file, set aside: where it was kept and why it could not be read.
    broken_file: Path | None = None
    broken_reason: str = ""
    #: Saved rows not converted yet (a load with ``first``): :meth:`QueueStore.load_more` takes them in slices.
    rest: list[tuple[str | None, int, Any]] = field(default_factory=list, repr=False)
    _seen: set[str] = field(default_factory=set, repr=False)
    _dropped_raw: list[tuple[str | None, Any]] = field(default_factory=list, repr=False)
    _taken: int = 0

    @property
    def notice(self) -> str | None:
        """A message for the window, or None when everything loaded."""
        parts = []
        if self.broken_file is not None:
            parts.append(
                f"The saved queue could not be read ({self.broken_reason}), so the queue starts empty. "
                f"The damaged file was kept as {self.broken_file}."
            )
        if self.dropped:
            count = len(self.dropped)
            shown = "; ".join(self.dropped[:3]) + (f"; and {count - 3} more" if count > 3 else "")
            kept = f" They were kept in {self.dropped_file}." if self.dropped_file else ""
            entries = "1 saved queue entry was" if count == 1 else f"{count} saved queue entries were"
            parts.append(f"{entries} dropped because they were damaged ({shown}).{kept}")
        return " ".join(parts) or None


class QueueStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.db_file = self.folder / "queue.sqlite"
        self.legacy_file = self.folder / "queue.json"
        self.predictions_dir = self.folder / "predictions"
        #: Hint sidecars of photos whose own folder cannot be written.
        self.hints_dir = self.folder / "hints"
        self._db: sqlite3.Connection | None = None
        self._checkpointer: WalCheckpointer | None = None

    # --- the database -------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.db_file, isolation_level=None)  # explicit BEGIN/COMMIT below
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # see the module docstring
                db.execute("PRAGMA wal_autocheckpoint=0")  # a thread of its own does it (desktop.wal_checkpointer)
                db.executescript(SCHEMA)
                db.execute("SELECT count(*) FROM items").fetchone()  # a foreign or damaged file fails here
            except BaseException:
                db.close()
                raise
            self._db = db
            self._checkpointer = WalCheckpointer(self.db_file)
        return self._db

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()  # first: the last connection to close copies the log back and drops it
            self._checkpointer = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def _set_aside(self, path: Path) -> Path:
        """Move a damaged queue file out of the way (with its WAL side files); returns where it went."""
        target = _free_name(path.with_name(f"{path.name}.broken-{_stamp()}"))
        os.replace(path, target)
        for side in ("-wal", "-shm"):
            extra = path.with_name(path.name + side)
            if extra.exists():
                os.replace(extra, target.with_name(target.name + side))
        return target

    # --- loading ------------------------------------------------------------------------------------
    def load(self, *, first: int | None = None) -> LoadedQueue:
        """The saved queue; never raises for a damaged file (see :class:`LoadedQueue`).

        With ``first``, only the first ``first`` saved rows become items now and the rest wait in
        ``result.rest`` for :meth:`load_more`: checking 50,000 entries took the app seconds before its window
        could show. The dropped entries are dealt with (kept aside, deleted) once the last row is taken.
        """
        result = LoadedQueue()
        migrate = not self.db_file.exists() and self.legacy_file.exists()
        try:
            rows = self._read_rows(result) if not migrate else None
        except sqlite3.DatabaseError as exc:
            self.close()
            log.warning("queue database %s is unreadable (%s); set aside", self.db_file, exc)
            result.broken_reason = str(exc)
            try:
                result.broken_file = self._set_aside(self.db_file)
            except OSError as move_error:
                result.broken_reason += f"; it could not be moved aside: {move_error.strerror or move_error}"
                result.broken_file = self.db_file
            rows = []
        if migrate:
            rows = self._read_legacy(result)
        if first is not None and not migrate and rows is not None:
            rows, result.rest = rows[:first], rows[first:]
        self._take(rows or [], result, raw=not migrate)
        if migrate and rows is not None:
            self._settle(result)
            self._finish_migration(result)
        elif not result.rest:
            self._settle(result, delete=True)
        return result

    def load_more(self, result: LoadedQueue, count: int) -> tuple[list[QueueItem], list[int]]:
        """The next ``count`` rows of a queue loaded with ``first``, as items and their saved positions."""
        rows, result.rest = result.rest[:count], result.rest[count:]
        start = len(result.items)
        self._take(rows, result)
        if not result.rest:
            self._settle(result, delete=True)
        return result.items[start:], result.positions[start:]

    def _take(self, rows: list[tuple[str | None, int, Any]], result: LoadedQueue, *, raw: bool = True) -> None:
        """Accept ``rows`` into ``result``; ``raw``: their data is still the database's JSON text."""
        result._dropped_raw += self._accept(_parsed(rows) if raw else rows, result, before=result._taken)
        result._taken += len(rows)

    def _settle(self, result: LoadedQueue, *, delete: bool = False) -> None:
        """Keep the dropped entries in a file of their own and (``delete``) take them out of the database."""
        dropped_raw = result._dropped_raw
        if not dropped_raw:
            return
        result.dropped_file = self._keep_dropped(dropped_raw)
        if delete:
            self._write([], [entry_id for entry_id, _raw in dropped_raw if entry_id is not None], None)
        log.warning("dropped %d damaged queue entries: %s", len(result.dropped), "; ".join(result.dropped))

    def _read_rows(self, result: LoadedQueue) -> list[tuple[str | None, int, Any]]:
        db = self._connect()
        running = db.execute("SELECT value FROM meta WHERE key = 'running'").fetchone()
        result.running = bool(running and running[0] == "1")
        # The JSON texts are parsed slice by slice as they are taken (see _parsed).
        return db.execute("SELECT id, position, data FROM items ORDER BY position").fetchall()

    def _read_legacy(self, result: LoadedQueue) -> list[tuple[str | None, int, Any]] | None:
        """Entries of an old ``queue.json``; None (and the file set aside) if it is not a queue at all."""
        try:
            raw = json.loads(self.legacy_file.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or not isinstance(raw.get("items", []), list):
                raise ValueError("it does not hold a list of photos")
        except (OSError, ValueError) as exc:
            log.warning("queue file %s is unreadable (%s); set aside", self.legacy_file, exc)
            result.broken_reason = str(exc) if not isinstance(exc, OSError) else (exc.strerror or str(exc))
            try:
                result.broken_file = self._set_aside(self.legacy_file)
            except OSError:
                result.broken_file = self.legacy_file
            return None
        result.running = raw.get("running") is True
        return [(None, n, entry) for n, entry in enumerate(raw.get("items", []), start=1)]

    @staticmethod
    def _accept(
        rows: list[tuple[str | None, int, Any]], result: LoadedQueue, *, before: int = 0
    ) -> list[tuple[str | None, Any]]:
        """Fill ``result`` with the entries that pass :meth:`QueueItem.from_dict`; returns the others.
        ``before``: rows taken before these (entries are reported by their number in the whole queue)."""
        dropped: list[tuple[str | None, Any]] = []
        seen = result._seen
        for number, (entry_id, position, data) in enumerate(rows, start=before + 1):
            try:
                if isinstance(data, _Unreadable):
                    raise ValueError("not valid JSON")
                item = QueueItem.from_dict(data)
                if entry_id is not None:
                    item.id = entry_id  # the row's key is the id the cache files are named after
                if item.id in seen:
                    raise ValueError(f"id {item.id} appears twice")
            except ValueError as exc:
                name = data.get("path") if isinstance(data, dict) and isinstance(data.get("path"), str) else None
                label = f"entry {number}" + (f" ({Path(name).name})" if name else "")
                result.dropped.append(f"{label}: {exc}")
                dropped.append((entry_id, data.text if isinstance(data, _Unreadable) else data))
                continue
            seen.add(item.id)
            result.items.append(item)
            result.positions.append(position)
        return dropped

    def _keep_dropped(self, dropped: list[tuple[str | None, Any]]) -> Path | None:
        target = _free_name(self.folder / f"dropped-{_stamp()}.json")
        try:
            data = json.dumps([entry for _id, entry in dropped], indent=1, default=str).encode("utf-8")
            _atomic_write(target, lambda handle: handle.write(data))
        except OSError as exc:
            log.warning("could not keep the dropped queue entries in %s: %s", target, exc)
            return None
        return target

    def _finish_migration(self, result: LoadedQueue) -> None:
        """Write the migrated items, then rename queue.json to a backup (so this happens once)."""
        try:
            self._write(list(zip(result.positions, result.items, strict=True)), [], result.running)
            os.replace(self.legacy_file, _free_name(self.legacy_file.with_name("queue.json.bak")))
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not migrate %s: %s", self.legacy_file, exc)

    # --- saving -------------------------------------------------------------------------------------
    def write(
        self, changed: Iterable[tuple[int, QueueItem]], removed: Iterable[str] = (), running: bool | None = None
    ) -> None:
        """Save changed items (position, item), forget removed ids, and the running flag: one transaction.

        Raises OSError (with a readable strerror) if the database cannot be written.
        """
        try:
            self._write(changed, removed, running)
        except sqlite3.Error as exc:
            raise OSError(f"the queue database cannot be written: {exc}") from exc

    def _write(self, changed: Iterable[tuple[int, QueueItem]], removed: Iterable[str], running: bool | None) -> None:
        db = self._connect()
        rows = [(item.id, position, json.dumps(item.to_dict())) for position, item in changed]
        gone = [(item_id,) for item_id in removed]
        db.execute("BEGIN IMMEDIATE")
        try:
            if rows:
                db.executemany(
                    "INSERT INTO items (id, position, data) VALUES (?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET position = excluded.position, data = excluded.data",
                    rows,
                )
            if gone:
                db.executemany("DELETE FROM items WHERE id = ?", gone)
            if running is not None:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('running', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    ("1" if running else "0",),
                )
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO NOTHING",
                (str(SCHEMA_VERSION),),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if self._checkpointer is not None:
            self._checkpointer.nudge()

    # --- cached model outputs -----------------------------------------------------------------------
    def save_ab(self, item_id: str, ab: np.ndarray) -> Path:
        """Cache one photo's a*b* (float16 halves the size; far below a*b*'s visible precision)."""
        target = self.prediction_file(item_id)
        _atomic_write(target, lambda handle: np.save(handle, np.asarray(ab, dtype=np.float16)))
        return target

    def prediction_file(self, item_id: str) -> Path:
        return self.predictions_dir / f"{item_id}.npy"

    def discard_prediction(self, item_id: str) -> None:
        """Drop a photo's cached a*b* by its id (the item itself may be gone already)."""
        self.prediction_file(item_id).unlink(missing_ok=True)

    @staticmethod
    def load_ab(path: Path) -> np.ndarray:
        return np.load(path).astype(np.float32)

    def discard_ab(self, item: QueueItem) -> None:
        if item.ab_file is not None:
            item.ab_file.unlink(missing_ok=True)
            item.ab_file = None


def _parsed(rows: list[tuple[str | None, int, Any]]) -> list[tuple[str | None, int, Any]]:
    """Rows with their JSON text parsed: one parse for the whole slice is twice as fast; a damaged row sends
    us row by row."""
    try:
        parsed = json.loads("[" + ",".join(text for _id, _pos, text in rows) + "]")
        if len(parsed) != len(rows):
            raise ValueError("rows ran into each other")
    except (TypeError, ValueError):
        parsed = [_parse(text) for _id, _pos, text in rows]
    return [(entry_id, position, data) for (entry_id, position, _text), data in zip(rows, parsed, strict=True)]


def _parse(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return _Unreadable(text)


class _Unreadable:
    """A row whose JSON could not be parsed (kept verbatim in the dropped file)."""

    def __init__(self, text: Any) -> None:
        self.text = text
