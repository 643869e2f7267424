"""Live strength: re-render a cached preview Prediction off the GUI thread, latest request wins.

``Prediction.render`` of a 1600 px preview takes from tens to hundreds of milliseconds on a slow CPU; done
on the GUI thread it would freeze the slider. Here one pool thread renders, progressively: first a small
stage (about the size the view shows a fitted photo at), then the full preview. While it works, a newer
request replaces the pending one, so a dragged slider converges on its latest value and never queues up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage

from desktop.images import to_qimage
from desktop.worker import PoolSignals, run_in_pool
from engine.pipeline import Prediction

#: Long side of the quick first stage.
FAST_SIDE = 720


@dataclass(frozen=True)
class RenderRequest:
    key: str
    stages: tuple[Prediction, ...]
    strength: float
    requested_at: float
    stage: int = 0

    @property
    def final(self) -> bool:
        return self.stage == len(self.stages) - 1


def render_stages(prediction: Prediction, fast_side: int = FAST_SIDE) -> tuple[Prediction, ...]:
    """A quick small stage then the full preview (just the preview if it is already small)."""
    if max(prediction.lightness.shape) <= fast_side * 1.25:
        return (prediction,)
    return prediction.preview(fast_side), prediction


class LiveRenderer(QObject):
    rendered = Signal(str, float, QImage, float, bool)  # key, strength, image, ms since the request, final

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._signals = PoolSignals(self)
        self._signals.done.connect(self._on_done)
        self._pending: RenderRequest | None = None
        self._busy = False
        self._closed = False

    def request(self, key: str, stages: tuple[Prediction, ...], strength: float) -> None:
        self._pending = RenderRequest(key, stages, strength, time.perf_counter())
        if not self._busy:
            self._start_next()

    def cancel(self) -> None:
        self._pending = None

    def close(self) -> None:
        self._closed = True
        self._pending = None
        self.pool.clear()
        self.pool.waitForDone()

    def _start_next(self) -> None:
        request, self._pending = self._pending, None
        if request is None or self._closed:
            self._busy = False
            return
        self._busy = True

        def render() -> tuple[RenderRequest, QImage]:
            # QImage (unlike QPixmap) may be built outside the GUI thread.
            stage = request.stages[request.stage]
            return request, to_qimage(stage.render(request.strength), stage.alpha)

        run_in_pool(self.pool, self._signals, "render", request.key, render)

    def _on_done(self, _kind: str, key: str, result: object) -> None:
        if self._closed:
            return
        if not isinstance(result, Exception):
            request, image = cast(tuple[RenderRequest, QImage], result)
            elapsed = (time.perf_counter() - request.requested_at) * 1000
            self.rendered.emit(key, request.strength, image, elapsed, request.final)
            if self._pending is None and not request.final:
                self._pending = RenderRequest(
                    request.key, request.stages, request.strength, request.requested_at, request.stage + 1
                )
        self._start_next()
