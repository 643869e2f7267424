"""What survives a restart or a crash, and a clean shutdown while a batch runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from desktop.queue_model import State
from desktop.queue_store import QueueStore

TIMEOUT_MS = 30_000


def saved_queue(folder: Path) -> tuple[list[dict], bool]:
    """What is in the queue database now, read with plain sqlite3 (as a crash would leave it)."""
    with sqlite3.connect(folder / "queue.sqlite") as db:
        entries = [json.loads(text) for (text,) in db.execute("SELECT data FROM items ORDER BY position")]
        running = db.execute("SELECT value FROM meta WHERE key = 'running'").fetchone()
    return entries, bool(running and running[0] == "1")


def test_settings_and_finished_queue_survive_a_new_window(
    qtbot, make_window, run_batch, spy_model, photo_dir: Path, tmp_path: Path
) -> None:
    first = make_window()
    preferences = first.show_preferences()  # what new photos start with (the slider is per photo: issue 14)
    preferences.strength.setValue(150)
    preferences.render_size.setValue(256)
    preferences.accept()
    first.device.setCurrentIndex(first.device.findData("cpu"))
    first.resize(760, 520)  # within the offscreen screen, which restoreGeometry clamps to
    first.add_paths([photo_dir / "colour.jpg", photo_dir / "grey.png"])
    run_batch(first)
    first.close()

    second = make_window()
    assert second.strength.value() == 150
    assert second.render_size.value() == 256
    assert second.device.currentData() == "cpu"
    assert second.size() == first.size()
    items = second.controller.model.items()
    assert [(i.name, i.state, i.render_size) for i in items] == [
        ("colour.jpg", State.DONE, None),  # None: the Preferences size, 256 (shown in the box above)
        ("grey.png", State.DONE, None),
    ]
    # Finished photos show and export from the cached result: the model is not run again.
    spy = spy_model(second)
    second.select_row(0)
    qtbot.waitUntil(lambda: second.compare.after is not None, timeout=TIMEOUT_MS)
    assert spy.calls == 0


def test_queue_is_on_disk_after_every_change_and_unfinished_photos_resume(
    qtbot, make_window, spy_model, photo_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    spy = spy_model(window)
    window.add_paths([photo_dir])
    qtbot.wait(50)
    entries, _running = saved_queue(tmp_path / "appdata")
    assert len(entries) == 6  # already on disk, before any close: a crash would keep it

    spy.hold()
    window.controller.start()
    qtbot.waitUntil(spy.entered.is_set, timeout=TIMEOUT_MS)
    qtbot.wait(50)
    entries, running = saved_queue(tmp_path / "appdata")
    assert running and "working" in {entry["state"] for entry in entries}

    # "Crash": read what is on disk now, as a fresh start would (a working photo counts as queued).
    loaded = QueueStore(tmp_path / "appdata").load()
    assert loaded.running and {i.state for i in loaded.items} == {State.QUEUED}
    assert loaded.notice is None

    window.close()  # asks (answered yes), cancels the photo in flight, keeps the queue
    assert not window.controller.thread.isRunning()

    resumed = make_window()
    qtbot.waitUntil(lambda: resumed.controller.model.count(State.DONE) == 6, timeout=TIMEOUT_MS)


def test_closing_during_a_batch_asks_and_shuts_the_engine_thread_down_cleanly(
    qtbot, make_window, spy_model, photo_dir: Path, quit_answers, capfd
) -> None:
    window = make_window()
    spy = spy_model(window)
    window.add_paths([photo_dir])
    spy.hold()
    window.controller.start()
    qtbot.waitUntil(spy.entered.is_set, timeout=TIMEOUT_MS)

    quit_answers.append(False)
    assert not window.close()  # the user said no: the batch goes on
    assert window.isVisible() and window.controller.thread.isRunning()

    quit_answers.append(True)
    assert window.close()
    assert quit_answers.asked == [False, True]
    assert window.controller.thread.isFinished()
    spy.release()
    assert "QThread: Destroyed" not in capfd.readouterr().err
