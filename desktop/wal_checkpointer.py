"""Copies the queue database's write-ahead log back into the database on a thread of its own.

SQLite's automatic checkpoint runs inside the commit that fills the log past 1,000 pages, on the thread that
commits, and it syncs the log and the database to disk: on the app's GUI thread, saving a 50,000-photo add
hit one every few slices, each holding the window 40-100 ms waiting for the disk. The store turns the
automatic checkpoint off (``PRAGMA wal_autocheckpoint=0``) and calls :meth:`WalCheckpointer.nudge` after each
commit; this thread then runs a passive checkpoint (it never waits for, nor blocks, the app's writes) once
the commits pause. A crash loses nothing: committed pages are in the log until they are copied, and
SQLite replays the log when the database is next opened.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(self, db_file: Path, quiet_s: float = 0.3, max_delay_s: float = 5.0) -> None:
        self.db_file = Path(db_file)
        #: A checkpoint waits for ``quiet_s`` without commits (so it does not compete for the disk with a burst
        #: of them, like the save of a large add), but not longer than ``max_delay_s`` (a batch commits often).
        self.quiet_s = quiet_s
        self.max_delay_s = max_delay_s
        #: Checkpoints run so far (tests read it).
        self.checkpoints = 0
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def nudge(self) -> None:
        """Something was committed: checkpoint soon (once for any number of nudges meanwhile)."""
        if self._stopped.is_set():
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rechroma-queue-checkpoint", daemon=True)
            self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Let a checkpoint under way finish and end the thread (closing the store copies the rest)."""
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _quiet(self) -> bool:
        """Wait for a pause in the commits (or the longest delay); False if stopped meanwhile."""
        since = time.monotonic()
        while True:
            self._wake.clear()
            if self._stopped.wait(self.quiet_s):
                return False
            if not self._wake.is_set() or time.monotonic() - since >= self.max_delay_s:
                return True

    def _run(self) -> None:
        db: sqlite3.Connection | None = None
        try:
            while self._wake.wait() and self._quiet():
                if db is None:
                    db = sqlite3.connect(self.db_file, isolation_level=None)
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
        except sqlite3.Error as exc:  # the app's own commits go on; the log is copied when the store closes
            log.warning("checkpointing %s failed: %s", self.db_file, exc)
        finally:
            if db is not None:
                db.close()
