"""Keeping libjpeg's warnings ("Corrupt JPEG data: 101 extraneous bytes before marker 0xd9") off the terminal.

OpenCV lets libjpeg print its warnings straight to file descriptor 2, and has no switch for it; what matters
about a photo is said on its one "error:" line, or nowhere if it decodes (as Pillow, which silences them,
would decode it). So a JPEG decode runs with descriptor 2 pointed at the null device. That is process-wide:
lines the CLI prints (``speaking``) wait until no decode is silenced, and new decodes wait for a waiting
line, so no message is lost and none waits long. Several decodes share one silenced window.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_changed = threading.Condition()
_state = {"decoding": 0, "speakers": 0, "saved": -1}


@contextmanager
def silenced() -> Iterator[None]:
    """Descriptor 2 goes to the null device while the block runs (and any other silenced block)."""
    with _changed:
        while _state["speakers"]:
            _changed.wait()
        if _state["decoding"] == 0:
            _redirect()
        _state["decoding"] += 1
    try:
        yield
    finally:
        with _changed:
            _state["decoding"] -= 1
            if _state["decoding"] == 0:
                _restore()
                _changed.notify_all()


@contextmanager
def speaking() -> Iterator[None]:
    """Descriptor 2 reaches the terminal while the block runs: for printing a line that must be seen."""
    with _changed:
        _state["speakers"] += 1
        while _state["decoding"]:
            _changed.wait()
    try:
        yield
    finally:
        with _changed:
            _state["speakers"] -= 1
            _changed.notify_all()


def _redirect() -> None:
    try:
        sys.stderr.flush()  # what Python has buffered belongs to the terminal
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 at all (a GUI process on Windows): nothing to silence
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
    finally:
        os.close(null)
    _state["saved"] = saved


def _restore() -> None:
    saved = _state["saved"]
    if saved < 0:
        return
    _state["saved"] = -1
    try:
        os.dup2(saved, 2)
    finally:
        os.close(saved)
