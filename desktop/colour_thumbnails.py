"""Colour thumbnails of finished photos, with the thumbnail-size photo and its a*b* kept for the last few.

A strength change re-renders the shown photo's queue thumbnail too. Made from scratch that decoded the
original again (a 12 MP JPEG: 30-150 ms of a core on a busy 2-core machine) beside the live render of the
same change, which then took up to twice its time; from the kept source it is a 96 px render, about 1 ms.
Used from the thread pool, so the few kept sources sit behind a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from desktop.queue_store import QueueStore
from desktop.worker import load_thumbnail, source_stamp
from engine.pipeline import Prediction

#: Sources kept (each about 1.5 MB: the a*b* at render size).
KEPT_SOURCES = 8


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        return source_stamp(path)
    except OSError:
        return None  # the load below then fails with the reason


class ColourThumbnails:
    def __init__(self, kept: int = KEPT_SOURCES) -> None:
        self.kept = kept
        self._lock = threading.Lock()
        #: (photo, a*b* file, hints, their mtimes and sizes) -> the thumbnail-size Prediction and the photo's size.
        self._sources: OrderedDict[tuple, tuple[Prediction, tuple[int, int] | None]] = OrderedDict()
        #: Originals decoded so far (tests read it).
        self.decoded = 0

    def render(
        self, path: Path, ab_file: Path, strength: float, variant: tuple = ()
    ) -> tuple[np.ndarray, tuple[int, int] | None]:
        """The thumbnail at ``strength`` and the photo's size. A rewritten photo or a*b* file, or another
        ``variant`` (the hints the a*b* were made with), is read again."""
        key = (path, ab_file, variant, _stamp(path), _stamp(ab_file))
        with self._lock:
            kept = self._sources.get(key)
            if kept is not None:
                self._sources.move_to_end(key)
        if kept is None:
            pixels, dims = load_thumbnail(path)
            kept = (Prediction.from_pixels(pixels, QueueStore.load_ab(ab_file)), dims)
            with self._lock:
                self.decoded += 1
                self._sources[key] = kept
                while len(self._sources) > self.kept:
                    self._sources.popitem(last=False)
        source, dims = kept
        return source.render(strength), dims
