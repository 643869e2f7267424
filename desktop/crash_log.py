"""A trace for crashes that Python cannot catch (a segfault in Qt or a native library).

:func:`enable` points :mod:`faulthandler` at ``crash.log`` in the app's data folder, so a SIGSEGV, SIGABRT,
SIGBUS or SIGFPE leaves every thread's Python stack there instead of vanishing with the process.
"""

from __future__ import annotations

import faulthandler
import logging
from pathlib import Path
from typing import IO

CRASH_LOG = "crash.log"

#: faulthandler writes to the file's descriptor at crash time: the file must stay open until exit.
_open_log: list[IO[str]] = []


def enable(folder: Path) -> Path | None:
    """Dump all threads' stacks to ``folder/crash.log`` (appended) on a fatal signal; the log's path,
    or None if the folder cannot be written (then faulthandler reports to stderr)."""
    path = Path(folder) / CRASH_LOG
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - must outlive this function
    except OSError as exc:
        logging.getLogger(__name__).warning("crash log %s cannot be written (%s); using stderr", path, exc)
        faulthandler.enable(all_threads=True)
        return None
    faulthandler.enable(handle, all_threads=True)
    _open_log[:] = [handle]
    return path
