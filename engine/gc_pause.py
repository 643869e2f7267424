"""No cycle collection while a batch's 100,000 small objects are made (found photos, jobs, names).

CPython's collector runs after every 700 new container objects and now and then walks all the older ones
too: while a scan and a plan build 100,000 photos and their jobs, that came to a fifth of the planning
time, to find nothing (these objects hold no cycles). The pause is process-wide, so it nests and is
shared between threads (the app scans folders on a worker): collection resumes when the last pause ends,
and only if it was on when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off for the ``with`` block (reference counting frees memory as always)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()


def freeze_long_lived(*, collect_young: bool = True) -> None:
    """Keep every object alive now out of the collector's full passes (``gc.freeze``) until :func:`thaw`.

    A queue of 50,000 photos is a few hundred thousand objects that live as long as the queue; each full
    pass walked them all, finding nothing, and held the app's event loop for 80-250 ms. Frozen objects are
    still freed by reference counting; only cycles among them wait for :func:`thaw`. ``collect_young``: first
    collect the two young generations (cheap: only what is new), so new cyclic garbage is not frozen too.
    """
    if collect_young:
        gc.collect(1)
    gc.freeze()


def thaw() -> None:
    """Hand frozen objects back to the collector (the queue they belonged to is closing)."""
    gc.unfreeze()
