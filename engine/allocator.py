"""Keep big freed temporaries inside the process instead of handing them back to the OS after each photo.

glibc returns every block above its mmap threshold (128 KiB to start with) to the kernel when it is freed,
and trims the heap's free top above 128 KiB. A render allocates and frees the same few megabyte-sized
strip temporaries over and over, so each 12 MP photo re-faulted ~33 k fresh zero pages: about 110 ms of
system CPU, more than the render's own arithmetic on one thread. Raising both thresholds lets those blocks
be reused. The memory is not lost: it is reused by the next photo, and :func:`release_freed_memory` (for an
app that goes idle) gives it back. Elsewhere than glibc (macOS, Windows, musl) both calls do nothing.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from functools import lru_cache

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap and are reused after free (glibc's maximum is 32 MiB on
#: 64-bit): every strip temporary of a render (a few MB) and a 12 MP photo's grey pixels.
MMAP_THRESHOLD = 32 << 20
#: Free heap top kept instead of trimmed: enough for a render's strip working set on every thread.
TRIM_THRESHOLD = 256 << 20

_lock = threading.Lock()
_tuned = False


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    malloc_trim.argtypes, malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    return libc


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds, once per process; True if they are in effect."""
    global _tuned
    with _lock:
        if not _tuned:
            libc = _glibc()
            _tuned = libc is not None and bool(
                libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
            )
        return _tuned


def release_freed_memory() -> bool:
    """Give freed memory back to the OS now (``malloc_trim``), e.g. when an app has gone idle.

    True if some memory was released.
    """
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))
