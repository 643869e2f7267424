"""Keeps the queue on disk so it survives a restart or a crash.

``queue.json`` is rewritten atomically (temp file in the same folder + ``os.replace``) after every change,
and each photo's model output (the small a*b* array at render size) is cached as ``predictions/<id>.npy``,
so finished photos stay finished and exportable after a restart without running the model again.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QStandardPaths

from desktop.queue_model import QueueItem

log = logging.getLogger(__name__)

#: Tests and portable installs point the app at another folder with this variable.
DATA_DIR_ENV = "RECHROMA_DATA_DIR"
FORMAT_VERSION = 1


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


class QueueStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.queue_file = self.folder / "queue.json"
        self.predictions_dir = self.folder / "predictions"

    def load(self) -> tuple[list[QueueItem], bool]:
        """Items and whether a batch was running when the app last stopped. A broken file is set aside."""
        try:
            raw = json.loads(self.queue_file.read_text(encoding="utf-8"))
            items = [QueueItem.from_dict(entry) for entry in raw.get("items", [])]
            return items, bool(raw.get("running", False))
        except FileNotFoundError:
            return [], False
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("queue file %s is unreadable (%s); starting with an empty queue", self.queue_file, exc)
            broken = self.queue_file.with_suffix(".json.broken")
            try:
                os.replace(self.queue_file, broken)
            except OSError:
                pass
            return [], False

    def save(self, items: list[QueueItem], running: bool) -> None:
        payload: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "running": running,
            "items": [item.to_dict() for item in items],
        }
        data = json.dumps(payload, indent=1).encode("utf-8")
        _atomic_write(self.queue_file, lambda handle: handle.write(data))

    def save_ab(self, item_id: str, ab: np.ndarray) -> Path:
        """Cache one photo's a*b* (float16 halves the size; far below a*b*'s visible precision)."""
        target = self.predictions_dir / f"{item_id}.npy"
        _atomic_write(target, lambda handle: np.save(handle, np.asarray(ab, dtype=np.float16)))
        return target

    @staticmethod
    def load_ab(path: Path) -> np.ndarray:
        return np.load(path).astype(np.float32)

    def discard_ab(self, item: QueueItem) -> None:
        if item.ab_file is not None:
            item.ab_file.unlink(missing_ok=True)
            item.ab_file = None
