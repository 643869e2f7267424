"""The queue database's log is copied back by the checkpoint thread, never inside a commit on the GUI thread."""

from __future__ import annotations

import time
from pathlib import Path

from desktop.queue_model import QueueItem, State
from desktop.queue_store import QueueStore


def _wait_for(condition, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_commits_leave_the_log_to_the_checkpoint_thread_and_lose_nothing(tmp_path: Path) -> None:
    store = QueueStore(tmp_path)
    store._connect()
    checkpointer = store._checkpointer
    assert checkpointer is not None
    checkpointer.quiet_s = 0.05
    db_file = tmp_path / "queue.sqlite"
    items = [QueueItem(path=tmp_path / f"photo{i:05d}.jpg") for i in range(20_000)]
    for first in range(0, len(items), 1000):  # 6 MB of log: SQLite's own checkpoint would have run
        store.write([(first + n + 1, item) for n, item in enumerate(items[first : first + 1000])])
        assert db_file.stat().st_size < 1_000_000  # no commit copied the log into the database file
    assert _wait_for(lambda: checkpointer.checkpoints >= 1)
    assert _wait_for(lambda: db_file.stat().st_size > 3_000_000)  # copied back, by the thread

    items[7].state = State.FAILED
    store.write([(8, items[7])])
    store.close()
    assert not (tmp_path / "queue.sqlite-wal").exists()  # the last connection closed copies the rest back
    loaded = QueueStore(tmp_path).load()
    assert [item.id for item in loaded.items] == [item.id for item in items]
    assert loaded.items[7].state == State.FAILED


def test_an_unreadable_database_stops_the_checkpoints_but_not_the_app(tmp_path: Path) -> None:
    store = QueueStore(tmp_path)
    store.write([(1, QueueItem(path=tmp_path / "a.jpg"))])
    checkpointer = store._checkpointer
    assert checkpointer is not None
    checkpointer.db_file = tmp_path / "missing" / "queue.sqlite"  # cannot be opened
    checkpointer.quiet_s = 0.01
    store.write([(2, QueueItem(path=tmp_path / "b.jpg"))])
    assert _wait_for(lambda: checkpointer._thread is not None and not checkpointer._thread.is_alive())
    store.write([(3, QueueItem(path=tmp_path / "c.jpg"))])  # commits go on
    store.close()
    assert len(QueueStore(tmp_path).load().items) == 3
