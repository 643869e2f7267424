"""The saved queue: bad entries and bad fields are dropped one by one with a reason, a damaged file is set
aside and named in the window, an old queue.json is migrated once, and a kill -9 keeps finished photos."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.queue_model import QueueItem, State
from desktop.queue_store import QueueStore

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 30_000


def entry(path: Path, **fields) -> dict:
    data = QueueItem(path=path).to_dict()
    data.update(fields)
    return data


def write_legacy(folder: Path, entries: list, running: bool = False) -> Path:
    """A queue.json as versions before the SQLite store wrote it."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "queue.json"
    target.write_text(json.dumps({"version": 1, "running": running, "items": entries}), encoding="utf-8")
    return target


def corrupt_row(folder: Path, item_id: str, field: str, value) -> None:
    """Replace one field of one saved row, as a damaged disk or a hand edit would."""
    with sqlite3.connect(folder / "queue.sqlite") as db:
        (text,) = db.execute("SELECT data FROM items WHERE id = ?", (item_id,)).fetchone()
        data = json.loads(text)
        if value is _MISSING:
            data.pop(field)
        else:
            data[field] = value
        db.execute("UPDATE items SET data = ? WHERE id = ?", (json.dumps(data), item_id))


_MISSING = object()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("strength", math.nan, "strength nan is not a number"),
        ("strength", math.inf, "strength inf is not a number"),
        ("strength", "1.0", "strength '1.0' is not a number"),
        ("strength", 7.5, "strength 7.5 is not between 0 and 2"),
        ("strength", True, "strength True is not a number"),
        ("render_size", "big", "render_size 'big' is not a whole number"),
        ("render_size", 512.5, "render_size 512.5 is not a whole number"),
        ("render_size", 0, "render_size 0 is not between 1 and 16384"),
        ("width", "abc", "width 'abc' is not a whole number"),
        ("height", -3, "height -3 is not at least 1"),
        ("state", "exploded", "state 'exploded' is not one of"),
        ("path", 12, "path 12 is not text"),
        ("path", _MISSING, "path is missing"),
        ("path", "", "path is empty"),
        ("source_stamp", [1], "source_stamp [1] is not two whole numbers"),
        ("seconds", "slow", "seconds 'slow' is not a number"),
        ("error", 5, "error 5 is not text"),
        ("ab_file", 3, "ab_file 3 is not text"),
        ("output", ["x"], "output ['x'] is not text"),
    ],
)
def test_each_bad_field_drops_only_its_entry_with_the_reason(
    tmp_path: Path, photo_dir: Path, field: str, value, reason: str
) -> None:
    folder = tmp_path / "appdata"
    store = QueueStore(folder)
    good = QueueItem(path=photo_dir / "grey.jpg", strength=1.5, render_size=384)
    bad = QueueItem(path=photo_dir / "colour.jpg")
    after = QueueItem(path=photo_dir / "sepia.jpg")
    store.write([(1, good), (2, bad), (3, after)], running=True)
    store.close()
    corrupt_row(folder, bad.id, field, value)

    loaded = QueueStore(folder).load()
    assert [(i.id, i.strength, i.render_size) for i in loaded.items] == [
        (good.id, 1.5, 384),
        (after.id, 1.0, None),
    ]
    assert loaded.running
    assert len(loaded.dropped) == 1 and reason in loaded.dropped[0]
    assert "1 saved queue entry was dropped" in loaded.notice and reason in loaded.notice
    kept = json.loads(loaded.dropped_file.read_text())  # nothing the user had is thrown away
    assert len(kept) == 1 and kept[0]["id"] == bad.id
    assert str(loaded.dropped_file) in loaded.notice

    again = QueueStore(folder).load()  # dropped once: the next start is clean
    assert [i.id for i in again.items] == [good.id, after.id] and again.notice is None


def test_a_row_that_is_not_json_is_dropped(tmp_path: Path, photo_dir: Path) -> None:
    folder = tmp_path / "appdata"
    store = QueueStore(folder)
    good, bad = QueueItem(path=photo_dir / "grey.jpg"), QueueItem(path=photo_dir / "colour.jpg")
    store.write([(1, good), (2, bad)])
    store.close()
    with sqlite3.connect(folder / "queue.sqlite") as db:
        db.execute("UPDATE items SET data = ? WHERE id = ?", ('{"path": "x', bad.id))
    loaded = QueueStore(folder).load()
    assert [i.id for i in loaded.items] == [good.id]
    assert loaded.dropped == ["entry 2: not valid JSON"]


def test_one_bad_entry_in_an_old_queue_json_is_dropped_and_the_window_says_so(
    qtbot, make_window, photo_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "appdata"
    legacy = write_legacy(
        folder,
        [
            entry(photo_dir / "grey.jpg"),
            entry(photo_dir / "colour.jpg", strength=math.nan),  # json writes NaN, and reads it back
            "not an entry",
            entry(photo_dir / "sepia.jpg", width="abc"),
            entry(photo_dir / "grey.png", render_size=256),
        ],
    )
    window = make_window()
    names = [(i.name, i.render_size) for i in window.controller.model.items()]
    assert names == [("grey.jpg", None), ("grey.png", 256)]

    notice = window.controller.restore_notice
    assert window.notice_bar.isVisible() and window.notice_bar.label.text() == notice
    assert "3 saved queue entries were dropped" in notice
    assert "entry 2 (colour.jpg): strength nan is not a number" in notice
    assert "entry 3: entry is str, not an object" in notice
    assert "entry 4 (sepia.jpg): width 'abc' is not a whole number" in notice
    dropped = next(folder.glob("dropped-*.json"))
    assert str(dropped) in notice and len(json.loads(dropped.read_text())) == 3

    # Migrated once: queue.json is kept as a backup and the database holds the good entries.
    assert not legacy.exists() and (folder / "queue.json.bak").is_file()
    window.close()
    again = make_window()
    assert [i.name for i in again.controller.model.items()] == ["grey.jpg", "grey.png"]
    assert not again.notice_bar.isVisible()


@pytest.mark.parametrize("kind", ["sqlite", "json"])
def test_a_corrupt_queue_file_is_set_aside_and_named_in_the_window(
    qtbot, make_window, run_batch, photo_dir: Path, tmp_path: Path, kind: str
) -> None:
    folder = tmp_path / "appdata"
    folder.mkdir()
    damaged = folder / ("queue.sqlite" if kind == "sqlite" else "queue.json")
    garbage = b"SQLite format 3\x00" + bytes(range(256)) * 8 if kind == "sqlite" else b'{"items": [{"path": '
    damaged.write_bytes(garbage)

    window = make_window()
    assert window.controller.model.rowCount() == 0
    kept = next(folder.glob(f"{damaged.name}.broken-*"))
    assert kept.read_bytes() == garbage  # the damaged file is kept as it was, for the user or a bug report
    text = window.notice_bar.label.text()
    assert window.notice_bar.isVisible()
    assert "could not be read" in text and f"The damaged file was kept as {kept}" in text

    # The app goes on with a fresh queue that is saved as usual.
    window.add_paths([photo_dir / "grey.jpg"])
    run_batch(window)
    window.close()
    loaded = QueueStore(folder).load()
    assert [(i.name, i.state) for i in loaded.items] == [("grey.jpg", State.DONE)] and loaded.notice is None


def test_old_queue_json_with_a_finished_photo_migrates_once(tmp_path: Path, photo_dir: Path) -> None:
    folder = tmp_path / "appdata"
    ab_file = folder / "predictions" / "abc.npy"
    ab_file.parent.mkdir(parents=True)
    np.save(ab_file, np.zeros((4, 4, 2), np.float16))
    write_legacy(
        folder,
        [
            entry(photo_dir / "grey.jpg", id="abc", state="done", ab_file=str(ab_file), strength=0.5),
            entry(photo_dir / "colour.jpg", state="working"),
        ],
        running=True,
    )
    loaded = QueueStore(folder).load()
    assert [(i.id, i.state, i.strength) for i in loaded.items][0] == ("abc", State.DONE, 0.5)
    assert loaded.items[1].state == State.QUEUED and loaded.running and loaded.notice is None
    assert (folder / "queue.json.bak").is_file() and not (folder / "queue.json").exists()

    write_legacy(folder, [entry(photo_dir / "sepia.jpg")])  # a stray queue.json later is not merged in
    again = QueueStore(folder).load()
    assert [i.id for i in again.items] == [i.id for i in loaded.items]


KILL_DRIVER = r"""
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from desktop.batch import BatchController
from desktop.queue_store import QueueStore

app = QApplication([])
data, model, photos = Path(sys.argv[1]), Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]]
controller = BatchController(QueueStore(data), threads=1)
controller.restore()
controller.add_paths(photos)
controller.load_model(model)
controller.start()
controller.itemFinished.connect(lambda item_id, state: print("finished", item_id, state, flush=True))
app.exec()
"""


def test_kill_9_during_a_batch_keeps_every_finished_photo(tmp_path: Path, photo_dir: Path, standin_model) -> None:
    folder = tmp_path / "appdata"
    photos = sorted(p for p in photo_dir.iterdir() if p.is_file())
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-c", KILL_DRIVER, str(folder), str(standin_model), *map(str, photos)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    finished = []
    try:
        deadline = time.monotonic() + 120
        while len(finished) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("finished"):
                finished.append(line.split()[1])
        os.kill(proc.pid, signal.SIGKILL)  # no chance to save anything on the way out
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(finished) == 2, proc.stderr.read()

    loaded = QueueStore(folder).load()
    by_id = {item.id: item for item in loaded.items}
    assert len(loaded.items) == len(photos) and loaded.running and loaded.notice is None
    for item_id in finished:  # announced as finished before the kill: on disk, with its cached result
        assert by_id[item_id].state == State.DONE and by_id[item_id].ab_file.is_file()
    assert {i.state for i in loaded.items} <= {State.DONE, State.QUEUED, State.FAILED}


def test_a_long_saved_queue_comes_back_in_slices_in_order_and_a_damaged_entry_far_down_is_reported(
    qtbot, make_window, photo_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """Past RESTORE_FIRST rows the window shows first and the rest follows from the event loop; nothing is
    lost, reordered or added twice, and an entry dropped in a later slice is reported like an early one."""
    from desktop import batch

    monkeypatch.setattr(batch, "RESTORE_FIRST", 3)
    monkeypatch.setattr(batch, "RESTORE_SLICE", 2)
    folder = tmp_path / "appdata"
    photos = sorted(p for p in photo_dir.iterdir() if p.is_file())
    saved = [QueueItem(path=tmp_path / f"gone{i}.jpg") for i in range(8)]
    saved[5] = QueueItem(path=photos[1])  # a real photo, far down the queue
    store = QueueStore(folder)
    store.write(list(enumerate(saved, start=1)))
    store.close()
    corrupt_row(folder, saved[6].id, "strength", math.nan)

    window = make_window(wait_for_model=False)  # the event loop has not run yet
    controller = window.controller
    assert controller.restoring and controller.model.rowCount() == 3  # shown with the first slice
    qtbot.waitUntil(lambda: not controller.restoring, timeout=TIMEOUT_MS)
    kept = [item for n, item in enumerate(saved) if n != 6]
    assert [item.id for item in controller.model.items()] == [item.id for item in kept]
    assert "entry 7 (gone6.jpg): strength nan is not a number" in (controller.restore_notice or "")
    window.close()

    # Photos added while the rest is still loading go after the whole saved queue, each once.
    window = make_window(wait_for_model=False)  # the event loop has not run yet
    controller = window.controller
    assert controller.restoring
    assert window.add_paths([photos[1], photos[0]]) == 1  # photos[1] was still to come: not added twice
    assert [item.path for item in controller.model.items()] == [item.path for item in kept] + [photos[0]]
    window.close()
    assert [item.path for item in QueueStore(folder).load().items] == [item.path for item in kept] + [photos[0]]
