"""Cooperative cancellation that also reaches into a running onnxruntime inference.

The desktop app cancels from the GUI thread while a worker thread is inside ``session.run``; setting
``RunOptions.terminate`` is onnxruntime's own way to stop that call early, so the token carries one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onnxruntime import RunOptions


class Cancelled(Exception):
    """The operation was cancelled by the user; nothing was written."""


class CancelToken:
    """Set once with :meth:`cancel` (from any thread); checked with :meth:`raise_if_cancelled`."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._run_options: RunOptions | None = None

    @property
    def run_options(self) -> RunOptions:
        """Pass to ``session.run(..., run_options)``; :meth:`cancel` sets its ``terminate`` flag.

        Made on first use, so that a token (every CLI run and app job has one) does not import onnxruntime
        (35-60 ms of start-up) before a model is loaded.
        """
        with self._lock:
            if self._run_options is None:
                import onnxruntime  # noqa: PLC0415 - lazily, see above

                options = onnxruntime.RunOptions()
                options.terminate = self._event.is_set()
                self._run_options = options
            return self._run_options

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            if self._run_options is not None:
                self._run_options.terminate = True

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")
