"""The batch queue: one :class:`QueueItem` per photo and the Qt table model the queue view shows.

The items are plain dataclasses (persisted by :mod:`desktop.queue_store`); the model only adapts them to
Qt's roles so that the view, the controller and the store never share widget state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage

Index = QModelIndex | QPersistentModelIndex


class State(str, Enum):
    QUEUED = "queued"
    WORKING = "working"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: States a batch still has to process.
UNFINISHED = (State.QUEUED, State.WORKING)


@dataclass(eq=False)
class QueueItem:
    """One photo in the queue. ``ab_file`` is the cached model output, so strength/export never re-run it."""

    path: Path
    state: State = State.QUEUED
    error: str = ""
    strength: float = 1.0
    render_size: int | None = None
    ab_file: Path | None = None
    width: int | None = None
    height: int | None = None
    #: (mtime_ns, size) of the source when it was colorized: an edited original must be run again.
    source_stamp: tuple[int, int] | None = None
    seconds: float | None = None
    output: Path | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    thumbnail: QImage | None = field(default=None, repr=False)
    _file_bytes: int | None = field(default=None, repr=False)

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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueueItem:
        """Rebuild an item; work that was cut short (working, or done without its cached result) is queued."""
        state = State(data.get("state", State.QUEUED.value))
        ab_file = Path(data["ab_file"]) if data.get("ab_file") else None
        if state == State.WORKING or (state == State.DONE and (ab_file is None or not ab_file.is_file())):
            state, ab_file = State.QUEUED, None
        stamp = data.get("source_stamp")
        return cls(
            path=Path(data["path"]),
            state=state,
            error=str(data.get("error") or ""),
            strength=float(data.get("strength", 1.0)),
            render_size=data.get("render_size"),
            ab_file=ab_file,
            width=data.get("width"),
            height=data.get("height"),
            source_stamp=(int(stamp[0]), int(stamp[1])) if stamp else None,
            seconds=data.get("seconds"),
            output=Path(data["output"]) if data.get("output") else None,
            id=str(data.get("id") or uuid.uuid4().hex),
        )


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


class QueueModel(QAbstractTableModel):
    """Columns: photo (thumbnail + name), size, state. Emits :attr:`changed` when persisted data changes."""

    COL_NAME, COL_SIZE, COL_STATE = range(3)
    HEADERS = ("Photo", "Size", "State")
    ItemRole = Qt.ItemDataRole.UserRole + 1

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[QueueItem] = []
        self._rows: dict[str, int] = {}

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
                return item.name
            if column == self.COL_SIZE:
                dims = f"{item.width}×{item.height}" if item.width and item.height else ""
                return f"{dims}\n{human_size(item.file_size())}".strip()
            if column == self.COL_STATE:
                return state_text(item)
        if role == Qt.ItemDataRole.DecorationRole and column == self.COL_NAME:
            return item.thumbnail
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{item.path}\n{state_text(item)}"
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
        return {item.path for item in self._items}

    def count(self, *states: State) -> int:
        return sum(1 for item in self._items if item.state in states)

    # --- mutation -----------------------------------------------------------------------------------
    def add(self, items: list[QueueItem]) -> None:
        if not items:
            return
        first = len(self._items)
        self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
        self._items.extend(items)
        self._reindex()
        self.endInsertRows()
        self.changed.emit()

    def remove(self, item_ids: list[str]) -> list[QueueItem]:
        """Remove the given items (row by row, from the bottom, so indexes stay valid); returns them."""
        removed = []
        for row in sorted((self._rows[i] for i in item_ids if i in self._rows), reverse=True):
            self.beginRemoveRows(QModelIndex(), row, row)
            removed.append(self._items.pop(row))
            self._reindex()
            self.endRemoveRows()
        if removed:
            self.changed.emit()
        return removed

    def update(self, item: QueueItem, *, persist: bool = True) -> None:
        """Tell views an item's fields changed; ``persist`` False for display-only data like thumbnails."""
        row = self._rows.get(item.id)
        if row is None:
            return
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))
        if persist:
            self.changed.emit()

    def _reindex(self) -> None:
        self._rows = {item.id: row for row, item in enumerate(self._items)}


def state_text(item: QueueItem) -> str:
    if item.state == State.FAILED and item.error:
        return f"failed: {item.error}"
    if item.state == State.DONE and item.output is not None:
        return f"done · saved {item.output.name}"
    if item.state == State.DONE and item.error:
        return f"done · {item.error}"
    return item.state.value
