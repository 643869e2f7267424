"""The engine's one pool of helper threads (render strips, JPEG parts), sized to the cores it may use.

OpenCV's float Lab->RGB, numpy and libjpeg-turbo run single-threaded but release the GIL, so the engine
splits such work into pieces itself; one shared pool keeps the thread count bounded however many photos a
front end has in flight.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor


def available_cpu_count() -> int:
    """Cores this process may run on (respects container/affinity limits, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@lru_cache(maxsize=1)
def shared_pool() -> ThreadPoolExecutor:
    """Made on first use: concurrent.futures (with logging) is 5 ms of the engine's import otherwise."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    return ThreadPoolExecutor(max_workers=available_cpu_count(), thread_name_prefix="rechroma-strip")
