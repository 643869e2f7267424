"""The batch queue: one :class:`QueueItem` per photo and the Qt table model the queue view shows.

The items are plain dataclasses (persisted by :mod:`desktop.queue_store`); the model only adapts them to
Qt's roles so that the view, the controller and the store never share widget state.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from enum import Enum
from itertools import chain
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage

from desktop.hint_points import Points, points_from_json, points_to_json
from engine.pipeline import MAX_STRENGTH

Index = QModelIndex | QPersistentModelIndex


class State(str, Enum):
    QUEUED = "queued"
    WORKING = "working"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: States a batch still has to process.
UNFINISHED = (State.QUEUED, State.WORKING)


#: Render sizes a saved entry may ask for (the model runs at this long side; far beyond is a typo).
MAX_RENDER_SIZE = 16384


class EntryError(ValueError):
    """A saved queue entry that cannot be used; the message names the field and the bad value."""


@dataclass(eq=False)
class QueueItem:
    """One photo in the queue. ``ab_file`` is the cached model output, so strength/export never re-run it.

    Persisted fields go through :meth:`to_dict` / :meth:`from_dict` only (the store keeps that dict as
    JSON), so a new per-photo field is one line in each, plus its check in ``from_dict``.
    """

    path: Path
    state: State = State.QUEUED
    error: str = ""
    strength: float = 1.0
    #: Long side the model runs at for this photo; None means the default from Preferences.
    render_size: int | None = None
    ab_file: Path | None = None
    width: int | None = None
    height: int | None = None
    #: (mtime_ns, size) of the source when it was colorized: an edited original must be run again.
    source_stamp: tuple[int, int] | None = None
    seconds: float | None = None
    output: Path | None = None
    #: Colour hints (fractions of the upright photo), also kept in the sidecar next to the photo.
    hints: Points = ()
    id: str = field(default_factory=lambda: secrets.token_hex(16))  # a third of uuid4's cost: 50,000 at once
    _file_bytes: int | None = field(default=None, repr=False)
    #: Why the photo's hint sidecar could not be used (shown with the photo; not saved: read again on add).
    hint_note: str = field(default="", repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    def file_size(self) -> int | None:
        """Bytes on disk, read once (the view asks on every repaint)."""
        if self._file_bytes is None:
            try:
                self._file_bytes = self.path.stat().st_size
            except OSError:
                return None
        return self._file_bytes

    def set_source_stamp(self, stamp: tuple[int, int]) -> None:
        """Record the source as it was colorized; its size is the file's size, so no stat on repaint."""
        self.source_stamp = stamp
        self._file_bytes = stamp[1]

    def wanted_thumbnail(self) -> tuple:
        """The thumbnail this item should show now: its colour result once done, else the original."""
        if self.state == State.DONE and self.ab_file is not None:
            # the hints are part of the key: a changed hint re-colours the photo, so its thumbnail too
            return ("colour", self.strength, self.hints) if self.hints else ("colour", self.strength)
        return ("grey",)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "state": self.state.value,
            "error": self.error,
            "strength": self.strength,
            "render_size": self.render_size,
            "ab_file": str(self.ab_file) if self.ab_file else None,
            "width": self.width,
            "height": self.height,
            "source_stamp": list(self.source_stamp) if self.source_stamp else None,
            "seconds": self.seconds,
            "output": str(self.output) if self.output else None,
            "hints": points_to_json(self.hints),
        }

    @classmethod
    def from_dict(cls, data: Any) -> QueueItem:
        """Rebuild a saved item, checking every field; raises :class:`EntryError` naming the first bad one.

        Work that was cut short (working, or done without its cached result) comes back queued.
        """
        if not isinstance(data, dict):
            raise EntryError(f"entry is {type(data).__name__}, not an object")
        path = _text(data, "path", optional=False)
        if not path:
            raise EntryError("path is empty")
        state_value = _text(data, "state", default=State.QUEUED.value)
        try:
            state = State(state_value)
        except ValueError:
            raise EntryError(f"state {state_value!r} is not one of {', '.join(s.value for s in State)}") from None
        ab_text = _text(data, "ab_file")
        ab_file = Path(ab_text) if ab_text else None
        if state == State.WORKING or (state == State.DONE and (ab_file is None or not ab_file.is_file())):
            state, ab_file = State.QUEUED, None
        stamp = data.get("source_stamp")
        if stamp is not None and not (
            isinstance(stamp, list) and len(stamp) == 2 and all(_is_int(v) and v >= 0 for v in stamp)
        ):
            raise EntryError(f"source_stamp {stamp!r} is not two whole numbers")
        output = _text(data, "output")
        item_id = _text(data, "id") or secrets.token_hex(16)
        try:
            hints = points_from_json(data["hints"]) if data.get("hints") is not None else ()
        except ValueError as exc:
            raise EntryError(str(exc)) from None
        return cls(
            path=Path(path),
            state=state,
            error=_text(data, "error", default=""),
            strength=_number(data, "strength", 0.0, MAX_STRENGTH, default=1.0),
            render_size=_whole(data, "render_size", 1, MAX_RENDER_SIZE),
            ab_file=ab_file,
            width=_whole(data, "width", 1, None),
            height=_whole(data, "height", 1, None),
            source_stamp=(stamp[0], stamp[1]) if stamp else None,
            seconds=_number(data, "seconds", 0.0, None, default=None),
            output=Path(output) if output else None,
            hints=hints,
            id=item_id,
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(data: dict, key: str, *, default: str | None = None, optional: bool = True) -> Any:
    value = data.get(key)
    if value is None:
        if not optional:
            raise EntryError(f"{key} is missing")
        return default
    if not isinstance(value, str):
        raise EntryError(f"{key} {value!r} is not text")
    return value


def _number(data: dict, key: str, low: float, high: float | None, *, default: float | None) -> Any:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EntryError(f"{key} {value!r} is not a number")
    if value < low or (high is not None and value > high):
        limit = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise EntryError(f"{key} {value!r} is not {limit}")
    return float(value)


def _whole(data: dict, key: str, low: int, high: int | None) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not _is_int(value):
        raise EntryError(f"{key} {value!r} is not a whole number")
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise EntryError(f"{key} {value} is not {limit}")
    return value


def human_size(num_bytes: int | None) -> str:
    if num_bytes is None:
        return "?"
    size = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


STATE_COLOURS = {
    State.QUEUED: QColor("#8a8f98"),
    State.WORKING: QColor("#2f7de1"),
    State.DONE: QColor("#2e9d57"),
    State.FAILED: QColor("#d0433b"),
    State.CANCELLED: QColor("#b7862d"),
}


class ThumbnailCache:
    """Each row's thumbnail and what it shows, kept beside the model so a QueueItem stays plain data.

    The key is ("grey",) or ("colour", strength[, hints]) (see :meth:`QueueItem.wanted_thumbnail`); the
    model asks for a new thumbnail when the key differs from the wanted one. Only painted rows have one.
    """

    def __init__(self) -> None:
        self._images: dict[str, QImage] = {}
        self._keys: dict[str, tuple | None] = {}

    def image(self, item_id: str) -> QImage | None:
        return self._images.get(item_id)

    def key(self, item_id: str) -> tuple | None:
        return self._keys.get(item_id)

    def put(self, item_id: str, image: QImage, key: tuple) -> None:
        self._images[item_id], self._keys[item_id] = image, key

    def mark_stale(self, item_id: str) -> None:
        """Keep showing the old thumbnail but fetch a new one when the row is next painted."""
        self._keys[item_id] = None

    def drop(self, item_id: str) -> None:
        self._images.pop(item_id, None)
        self._keys.pop(item_id, None)


class QueueModel(QAbstractTableModel):
    """Columns: photo (thumbnail + name), size, state. A virtual model: rows are painted from the item list,
    so 50,000 photos cost no widgets, and counts are kept as items change (the view asks on every repaint).

    Changes to persisted fields are collected for :meth:`take_changes` (the store writes them in small
    transactions) and announced by :attr:`changed`. A visible row whose thumbnail is missing or stale asks
    for one with :attr:`thumbnailWanted`: only what the view paints gets a thumbnail.
    """

    COL_NAME, COL_SIZE, COL_STATE = range(3)
    HEADERS = ("Photo", "Size", "State")
    ItemRole = Qt.ItemDataRole.UserRole + 1

    changed = Signal()
    thumbnailWanted = Signal(str, object)  # item id, the thumbnail key wanted

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[QueueItem] = []
        self._rows: dict[str, int] = {}
        self._paths: set[Path] = set()
        self._state_of: dict[str, State] = {}
        self._counts: dict[State, int] = dict.fromkeys(State, 0)
        self._position: dict[str, int] = {}
        self._next_position = 1
        self._dirty: dict[str, QueueItem] = {}
        self._removed: set[str] = set()
        self._thumbnail_asked: dict[str, tuple] = {}
        self.thumbnails = ThumbnailCache()
        self._queued_from = 0

    # --- Qt model interface -------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = self._items[index.row()]
        column = index.column()
        if role == self.ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.COL_NAME:
                count = len(item.hints)
                return f"{item.name}\n● {count} colour hint{'s' if count != 1 else ''}" if count else item.name
            if column == self.COL_SIZE:
                dims = f"{item.width}×{item.height}" if item.width and item.height else ""
                return f"{dims}\n{human_size(item.file_size())}".strip()
            if column == self.COL_STATE:
                return state_text(item)
        if role == Qt.ItemDataRole.DecorationRole and column == self.COL_NAME:
            wanted = item.wanted_thumbnail()
            if self.thumbnails.key(item.id) != wanted and self._thumbnail_asked.get(item.id) != wanted:
                self._thumbnail_asked[item.id] = wanted
                self.thumbnailWanted.emit(item.id, wanted)
            return self.thumbnails.image(item.id)
        if role == Qt.ItemDataRole.ToolTipRole:
            note = f"\n{item.hint_note}" if item.hint_note else ""
            return f"{item.path}\n{state_text(item)}{note}"
        if role == Qt.ItemDataRole.ForegroundRole and column == self.COL_STATE:
            return QBrush(STATE_COLOURS[item.state])
        return None

    # --- item access --------------------------------------------------------------------------------
    def items(self) -> list[QueueItem]:
        return list(self._items)

    def item(self, item_id: str) -> QueueItem | None:
        row = self._rows.get(item_id)
        return None if row is None else self._items[row]

    def item_at(self, row: int) -> QueueItem:
        return self._items[row]

    def row_of(self, item_id: str) -> int:
        return self._rows.get(item_id, -1)

    def paths(self) -> set[Path]:
        return set(self._paths)

    def has_path(self, path: Path) -> bool:
        return path in self._paths

    def count(self, *states: State) -> int:
        return sum(self._counts[state] for state in states)

    def next_queued_row(self) -> int:
        """The first queued row, or -1. Rows before ``_queued_from`` are known not to be queued, so a batch
        over 50,000 photos scans the list once instead of once per photo."""
        if self._counts[State.QUEUED] == 0:
            return -1
        start = min(self._queued_from, len(self._items))
        for row in chain(range(start, len(self._items)), range(start)):  # wraps round only if a hint was missed
            if self._items[row].state == State.QUEUED:
                self._queued_from = row
                return row
        return -1

    # --- mutation -----------------------------------------------------------------------------------
    def add(self, items: list[QueueItem], *, positions: list[int] | None = None) -> None:
        """Append items; ``positions`` (their saved order) marks items that came from the store as saved."""
        if not items:
            return
        first = len(self._items)
        self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
        self._items.extend(items)
        for offset, item in enumerate(items):
            self._rows[item.id] = first + offset
            self._paths.add(item.path)
            self._state_of[item.id] = item.state
            self._counts[item.state] += 1
            if positions is None:
                self._position[item.id] = self._next_position
                self._next_position += 1
                self._dirty[item.id] = item
            else:
                self._position[item.id] = positions[offset]
                self._next_position = max(self._next_position, positions[offset] + 1)
        self.endInsertRows()
        if positions is None:
            self.changed.emit()

    def remove(self, item_ids: list[str]) -> list[QueueItem]:
        """Remove the given items, one contiguous block of rows at a time from the bottom; returns them."""
        rows = sorted({self._rows[i] for i in item_ids if i in self._rows}, reverse=True)
        removed: list[QueueItem] = []
        while rows:
            last = first = rows.pop(0)
            while rows and rows[0] == first - 1:
                first = rows.pop(0)
            self.beginRemoveRows(QModelIndex(), first, last)
            self._queued_from = min(self._queued_from, first)
            block = self._items[first : last + 1]
            del self._items[first : last + 1]
            for item in block:
                self._forget(item)
            if first < len(self._items):
                self._reindex(first)
            self.endRemoveRows()
            removed.extend(block)
        if removed:
            self.changed.emit()
        return removed

    def update(self, item: QueueItem, *, persist: bool = True) -> None:
        """Tell views an item's fields changed; ``persist`` False for display-only data like thumbnails."""
        row = self._rows.get(item.id)
        if row is None:
            return
        old = self._state_of[item.id]
        if old != item.state:
            if item.state == State.QUEUED:
                self._queued_from = min(self._queued_from, row)
            self._counts[old] -= 1
            self._counts[item.state] += 1
            self._state_of[item.id] = item.state
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))
        if persist:
            self._dirty[item.id] = item
            self.changed.emit()

    def set_thumbnail(self, item: QueueItem, image: QImage, key: tuple) -> None:
        """Show ``image`` as the item's thumbnail (display-only: nothing to save)."""
        self.thumbnails.put(item.id, image, key)
        self._thumbnail_asked.pop(item.id, None)
        row = self._rows.get(item.id)
        if row is not None:
            index = self.index(row, self.COL_NAME)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    # --- persistence --------------------------------------------------------------------------------
    def has_changes(self) -> bool:
        return bool(self._dirty or self._removed)

    def take_changes(
        self, limit: int | None = None, only: str | None = None
    ) -> tuple[list[tuple[int, QueueItem]], list[str]]:
        """Changed items with their queue position, and removed ids, since the last call; the caller saves
        them. ``limit`` caps the items taken (large adds are saved in slices); ``only`` takes one item."""
        removed, self._removed = list(self._removed), set()
        if only is not None:
            item = self._dirty.pop(only, None)
            return ([(self._position[only], item)] if item is not None else []), removed
        if limit is None or len(self._dirty) <= limit:
            taken, self._dirty = list(self._dirty.values()), {}
        else:
            keys = list(self._dirty)[:limit]
            taken = [self._dirty.pop(key) for key in keys]
        return [(self._position[item.id], item) for item in taken], removed

    def _forget(self, item: QueueItem) -> None:
        self._rows.pop(item.id, None)
        self._paths.discard(item.path)
        self._counts[self._state_of.pop(item.id)] -= 1
        self._position.pop(item.id, None)
        self._thumbnail_asked.pop(item.id, None)
        self.thumbnails.drop(item.id)
        self._dirty.pop(item.id, None)
        self._removed.add(item.id)

    def _reindex(self, start: int = 0) -> None:
        for row in range(start, len(self._items)):
            self._rows[self._items[row].id] = row


def state_text(item: QueueItem) -> str:
    if item.state == State.FAILED and item.error:
        return f"failed: {item.error}"
    if item.state == State.DONE and item.output is not None:
        return f"done · saved {item.output.name}"
    if item.state == State.DONE and item.error:
        return f"done · {item.error}"
    return item.state.value
