"""Cooperative cancellation that also reaches into a running onnxruntime inference.

The desktop app cancels from the GUI thread while a worker thread is inside ``session.run``; setting
``RunOptions.terminate`` is onnxruntime's own way to stop that call early, so the token carries one.
"""

from __future__ import annotations

import threading

import onnxruntime as ort


class Cancelled(Exception):
    """The operation was cancelled by the user; nothing was written."""


class CancelToken:
    """Set once with :meth:`cancel` (from any thread); checked with :meth:`raise_if_cancelled`."""

    def __init__(self) -> None:
        self._event = threading.Event()
        #: Pass to ``session.run(..., run_options)``; :meth:`cancel` sets its ``terminate`` flag.
        self.run_options = ort.RunOptions()

    def cancel(self) -> None:
        self._event.set()
        self.run_options.terminate = True

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")
