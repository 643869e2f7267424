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
