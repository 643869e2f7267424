"""The queue model and the store on their own: counts, change tracking, the store's file layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from desktop.hint_points import HintPoint
from desktop.queue_model import QueueItem, QueueModel, State
from desktop.queue_store import QueueStore


def test_the_store_round_trips_items_and_owns_the_prediction_files(tmp_path: Path):
    store = QueueStore(tmp_path / "data")
    item = QueueItem(path=tmp_path / "a.jpg", strength=0.5, hints=(HintPoint(0.25, 0.5, "#aa6633"),))
    ab_file = store.save_ab(item.id, np.zeros((2, 3, 2), np.float32))
    assert ab_file == store.prediction_file(item.id) and ab_file.is_file()
    item.state, item.ab_file = State.DONE, ab_file
    store.write([(1, item)], [], running=True)
    store.close()

    loaded = QueueStore(tmp_path / "data").load()
    assert loaded.running and loaded.notice is None
    (back,) = loaded.items
    assert (back.id, back.path, back.state, back.strength, back.ab_file) == (
        item.id, item.path, State.DONE, 0.5, ab_file
    )
    assert back.hints == item.hints
    store.discard_prediction(item.id)
    assert not ab_file.exists()
    store.discard_prediction(item.id)  # already gone: nothing to do


def test_the_model_counts_states_and_hands_out_changes_in_slices(qtbot, tmp_path: Path):
    model = QueueModel()
    items = [QueueItem(path=tmp_path / f"{n}.jpg") for n in range(5)]
    model.add(items)
    assert model.count(State.QUEUED) == 5 and model.next_queued_row() == 0
    items[0].state = State.DONE
    model.update(items[0])
    assert model.count(State.QUEUED) == 4 and model.count(State.DONE) == 1
    assert model.next_queued_row() == 1

    first, removed = model.take_changes(limit=3)
    assert [position for position, _item in first] == [1, 2, 3] and removed == []
    rest, _ = model.take_changes()
    assert [position for position, _item in rest] == [4, 5]
    assert not model.has_changes()

    assert [item.id for item in model.remove([items[1].id, items[3].id])] == [items[3].id, items[1].id]
    _, removed = model.take_changes()
    assert sorted(removed) == sorted([items[1].id, items[3].id])
    assert [model.row_of(item.id) for item in items] == [0, -1, 1, -1, 2]


def test_a_colorized_item_knows_its_file_size_from_its_stamp(tmp_path: Path):
    item = QueueItem(path=tmp_path / "not-there.jpg")
    assert item.file_size() is None
    item.set_source_stamp((7, 4096))
    assert item.source_stamp == (7, 4096) and item.file_size() == 4096


def test_thumbnails_live_beside_the_model_and_go_with_their_row(qtbot, tmp_path: Path):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    model = QueueModel()
    item = QueueItem(path=tmp_path / "a.jpg")
    model.add([item])
    index = model.index(0, QueueModel.COL_NAME)
    with qtbot.waitSignal(model.thumbnailWanted) as wanted:
        assert model.data(index, Qt.ItemDataRole.DecorationRole) is None
    assert wanted.args == [item.id, ("grey",)]
    image = QImage(4, 3, QImage.Format.Format_RGB32)
    model.set_thumbnail(item, image, ("grey",))
    assert model.data(index, Qt.ItemDataRole.DecorationRole) == image
    model.thumbnails.mark_stale(item.id)  # still shown while a new one is fetched
    with qtbot.waitSignal(model.thumbnailWanted):
        assert model.data(index, Qt.ItemDataRole.DecorationRole) == image
    model.remove([item.id])
    assert model.thumbnails.image(item.id) is None and model.thumbnails.key(item.id) is None
