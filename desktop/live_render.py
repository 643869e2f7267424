"""Live strength: re-render a cached preview Prediction off the GUI thread, latest request wins.

``Prediction.render`` of a 1600 px preview takes from tens to hundreds of milliseconds on a slow CPU; done
on the GUI thread it would freeze the slider. Here one pool thread renders, progressively: first a small
stage (about the size the view shows a fitted photo at), then the full preview. While it works, a newer
request replaces the pending one, so a dragged slider converges on its latest value and never queues up.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import cast

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage

from desktop.images import to_qimage
from desktop.worker import PoolSignals, run_in_pool
from engine.pipeline import Prediction

log = logging.getLogger(__name__)

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
        self.pool.setMaxThreadCount(2)  # the render wanted, and at most one full-size render nobody waits for
        self._signals = PoolSignals(self)
        self._signals.done.connect(self._on_done)
        self._pending: RenderRequest | None = None
        self._wanted: RenderRequest | None = None  # the render in flight whose image will be shown
        self._in_flight = 0  # renders in flight, the wanted one and at most one whose image is not wanted
        self._closed = False
        #: Renders started so far (tests read it).
        self.started = 0

    def request(self, key: str, stages: tuple[Prediction, ...], strength: float) -> None:
        self._pending = RenderRequest(key, stages, strength, time.perf_counter())
        wanted = self._wanted
        if wanted is not None and wanted.final and len(wanted.stages) > 1 and self._in_flight < 2:
            # A full-size render (3-4 times the quick stage's time) is not waited for: it finishes beside the
            # new request's quick stage and its image is dropped. Waiting for it made the first move of the
            # slider after a photo was shown take 60-100 ms instead of 15.
            self._wanted = None
        if self._wanted is None:
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
            return
        self._wanted = request
        self._in_flight += 1
        self.started += 1

        def render() -> tuple[RenderRequest, QImage | Exception]:
            # QImage (unlike QPixmap) may be built outside the GUI thread.
            try:
                stage = request.stages[request.stage]
                return request, to_qimage(stage.render(request.strength), stage.alpha)
            except Exception as exc:  # noqa: BLE001 - nothing to show for it; the next request tries again
                log.warning("rendering the preview at strength %g failed", request.strength, exc_info=True)
                return request, exc

        run_in_pool(self.pool, self._signals, "render", request.key, render)

    def _on_done(self, _kind: str, key: str, result: object) -> None:
        request, image = cast(tuple[RenderRequest, "QImage | Exception"], result)
        self._in_flight -= 1
        if self._closed or request is not self._wanted:  # a superseded full-size render: dropped
            return
        self._wanted = None
        if not isinstance(image, Exception):
            elapsed = (time.perf_counter() - request.requested_at) * 1000
            self.rendered.emit(key, request.strength, image, elapsed, request.final)  # may request anew
            if self._pending is None and self._wanted is None and not request.final:
                self._pending = RenderRequest(
                    request.key, request.stages, request.strength, request.requested_at, request.stage + 1
                )
        if self._wanted is None:
            self._start_next()
