"""The queue at scale and its thumbnails: work happens for what is on screen, not per photo in the queue."""

from __future__ import annotations

import os
import pathlib
from pathlib import Path

import numpy as np

from desktop import batch
from desktop.images import qimage_to_array
from desktop.queue_model import QueueItem, State
from desktop.queue_store import QueueStore
from engine import photo_finder
from engine.photo_io import write_photo
from engine.pipeline import provenance

TIMEOUT_MS = 30_000


def chroma(image) -> float:
    """Mean |R-G| + |G-B| of a thumbnail: 0 for a grey picture."""
    rgb = qimage_to_array(image).astype(np.int16)
    return float(np.abs(rgb[..., 0] - rgb[..., 1]).mean() + np.abs(rgb[..., 1] - rgb[..., 2]).mean())


def test_thumbnail_turns_to_the_colour_result_once_done_and_follows_strength(
    qtbot, make_window, run_batch, photo_dir: Path
) -> None:
    window = make_window()
    window.add_paths([photo_dir / "grey.jpg"])
    item = window.controller.model.item_at(0)
    thumbnails = window.controller.model.thumbnails
    qtbot.waitUntil(lambda: thumbnails.image(item.id) is not None, timeout=TIMEOUT_MS)
    assert thumbnails.key(item.id) == ("grey",) and chroma(thumbnails.image(item.id)) < 1.0

    run_batch(window)
    qtbot.waitUntil(lambda: thumbnails.key(item.id) == ("colour", 1.0), timeout=TIMEOUT_MS)
    coloured = chroma(thumbnails.image(item.id))
    assert coloured > 3.0
    thumbnail = thumbnails.image(item.id)
    assert max(thumbnail.width(), thumbnail.height()) <= batch.THUMBNAIL_PX

    window.controller.set_strength([item.id], 0.0)  # strength 0 keeps the photo grey: so does its thumbnail
    qtbot.waitUntil(lambda: thumbnails.key(item.id) == ("colour", 0.0), timeout=TIMEOUT_MS)
    assert chroma(thumbnails.image(item.id)) < 1.0 < coloured


def test_only_painted_rows_get_thumbnails_and_scrolling_loads_more(
    qtbot, make_window, photo_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        os.link(photo_dir / "grey.jpg", folder / f"photo{i:03d}.jpg")
    window = make_window()
    window.add_paths([folder])
    model = window.controller.model
    assert model.rowCount() == 300
    qtbot.waitUntil(lambda: model.thumbnails.image(model.item_at(0).id) is not None, timeout=TIMEOUT_MS)
    qtbot.wait(200)
    with_thumbnails = [row for row in range(300) if model.thumbnails.image(model.item_at(row).id) is not None]
    assert 0 < len(with_thumbnails) < 60 and max(with_thumbnails) < 60  # the visible rows, not 300

    window.queue_view.scrollToBottom()
    qtbot.waitUntil(lambda: model.thumbnails.image(model.item_at(299).id) is not None, timeout=TIMEOUT_MS)
    assert sum(model.thumbnails.image(model.item_at(row).id) is not None for row in range(300)) < 120


def test_only_the_photo_on_show_gets_a_preview_built_with_its_result(
    qtbot, make_window, run_batch, photo_dir: Path
) -> None:
    window = make_window()
    window.add_paths([photo_dir])
    window.select_row(2)
    shown = window.controller.model.item_at(2).id
    with_preview = []
    window.controller.worker.colorized.connect(lambda result: with_preview.append(result.preview is not None))
    run_batch(window)
    qtbot.waitUntil(lambda: len(with_preview) == 6, timeout=TIMEOUT_MS)  # queued calls to the lambda
    assert with_preview.count(True) == 1
    qtbot.waitUntil(lambda: window.compare.after is not None, timeout=TIMEOUT_MS)
    assert window.selected_id == shown

    window.select_row(4)  # another finished photo: its preview is read back from the cached result
    qtbot.waitUntil(lambda: window.shown_strength is not None, timeout=TIMEOUT_MS)


def test_adding_20000_photos_does_no_per_photo_path_work_and_survives_a_restart(
    qtbot, make_window, tmp_path: Path, monkeypatch
) -> None:
    folder = tmp_path / "archive"
    for sub in ("a", "b"):
        (folder / sub).mkdir(parents=True)
        for i in range(10_000):
            (folder / sub / f"photo{i:05d}.jpg").touch()  # never decoded, except the few rows on screen
    # an earlier result (with Rechroma's provenance) is still recognised and skipped
    write_photo(folder / "a" / "photo00001_color.jpg", np.zeros((8, 8, 3), np.uint8), description=provenance("x"))
    window = make_window()

    calls = {"resolve": 0, "output_check": 0}
    real_resolve, real_check = pathlib.Path.resolve, photo_finder.made_by_rechroma

    def counting_resolve(self, *args, **kwargs):
        calls["resolve"] += 1
        return real_resolve(self, *args, **kwargs)

    def counting_check(*args, **kwargs):
        calls["output_check"] += 1
        return real_check(*args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "resolve", counting_resolve)
    monkeypatch.setattr(photo_finder, "made_by_rechroma", counting_check)
    assert window.add_paths([folder]) == 20_000
    monkeypatch.undo()
    # A quadratic plan would resolve or compare every path per photo (4e8 steps); this does a handful.
    assert calls["resolve"] <= 5 and calls["output_check"] == 1

    model = window.controller.model
    assert model.item_at(0).path == folder.resolve() / "a" / "photo00000.jpg"
    assert model.count(State.QUEUED) == 20_000
    assert window.add_paths([folder]) == 0  # already queued: nothing twice
    window.close()

    loaded = QueueStore(tmp_path / "appdata").load()
    assert len(loaded.items) == 20_000 and loaded.items[-1].name == "photo09999.jpg"
    assert loaded.positions == sorted(loaded.positions)


def _linked_photos(photo_dir: Path, folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    for i in range(count):
        os.link(photo_dir / "grey.jpg", folder / f"photo{i:03d}.jpg")
    return sorted(folder.resolve().iterdir())


def _rows_with_thumbnails(model) -> list[int]:
    return [row for row in range(model.rowCount()) if model.thumbnails.image(model.item_at(row).id) is not None]


def test_a_long_restore_keeps_the_view_on_its_first_rows_and_resumes_the_batch(
    qtbot, make_window, photo_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """The rest of a saved queue comes in slices below the rows on screen: the view does not follow each
    slice (it used to scroll down to every one and load a screenful of thumbnails for it), every row comes
    back in its saved order, the running batch resumes, and the collector gets the rows back at close."""
    import gc

    monkeypatch.setattr(batch, "RESTORE_FIRST", 20)
    monkeypatch.setattr(batch, "RESTORE_SLICE", 30)
    saved = [QueueItem(path=path) for path in _linked_photos(photo_dir, tmp_path / "many", 400)]
    store = QueueStore(tmp_path / "appdata")
    store.write(list(enumerate(saved, start=1)), running=True)
    store.close()

    window = make_window(wait_for_model=False)
    controller, model = window.controller, window.controller.model
    assert controller.restoring and model.rowCount() == 20
    qtbot.waitUntil(lambda: not controller.restoring, timeout=TIMEOUT_MS)
    assert [item.id for item in model.items()] == [item.id for item in saved]
    assert gc.get_freeze_count() > 0  # the restored rows are kept out of the collector's full passes
    qtbot.waitUntil(lambda: controller.running, timeout=TIMEOUT_MS)  # resumed once the model was ready
    qtbot.wait(200)
    assert window.queue_view.verticalScrollBar().value() == 0
    shown = _rows_with_thumbnails(model)
    assert shown and max(shown) < 60  # the first screenful only, not one per slice
    window.close()
    assert gc.get_freeze_count() == 0


def test_a_large_add_shows_its_first_photos_and_the_later_slices_leave_the_view_be(
    qtbot, make_window, photo_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(batch, "ADD_SLICE", 50)
    window = make_window()
    model = window.controller.model
    assert window.add_paths([photo_dir / "grey.jpg"]) == 1
    linked = _linked_photos(photo_dir, tmp_path / "many", 300)
    window.queue_view.scrollToBottom()
    assert window.add_paths([tmp_path / "many"]) == 300
    qtbot.waitUntil(lambda: model.thumbnails.image(model.item_at(1).id) is not None, timeout=TIMEOUT_MS)
    qtbot.wait(200)
    assert [item.path for item in model.items()[1:]] == linked
    first = window.queue_view.visualRect(model.index(1, 0))
    assert first.isValid() and window.queue_view.viewport().rect().intersects(first)  # the add's first photo
    shown = _rows_with_thumbnails(model)
    assert max(shown) < 60  # not the last slice's rows

    # The size column is fixed (not re-measured on every change) yet wide enough for what its rows say.
    view = window.queue_view
    assert model.item_at(1).width is not None  # read with its thumbnail: the column shows "W×H" and size
    assert view.horizontalHeader().sectionSize(model.COL_SIZE) >= view.sizeHintForColumn(model.COL_SIZE)


def test_a_strength_change_re_renders_the_colour_thumbnail_without_decoding_the_photo_again(
    photo_dir: Path, tmp_path: Path
) -> None:
    from desktop.colour_thumbnails import ColourThumbnails
    from desktop.worker import load_thumbnail
    from engine.pipeline import Prediction

    store = QueueStore(tmp_path / "appdata")
    photo = photo_dir / "grey.jpg"
    ab_file = store.save_ab("one", np.dstack([np.full((24, 32), 30.0), np.full((24, 32), -20.0)]))
    thumbnails = ColourThumbnails()
    full, dims = thumbnails.render(photo, ab_file, 1.0)
    half, _ = thumbnails.render(photo, ab_file, 0.5)
    assert thumbnails.decoded == 1 and dims is not None
    fresh = Prediction.from_pixels(load_thumbnail(photo)[0], QueueStore.load_ab(ab_file))
    np.testing.assert_array_equal(half, fresh.render(0.5))  # the same pixels as made from scratch
    np.testing.assert_array_equal(full, fresh.render(1.0))

    # New hints: the thumbnail's key names them, and the a*b* file may be rewritten in place.
    store.save_ab("one", np.zeros((24, 32, 2)))
    grey, _ = thumbnails.render(photo, ab_file, 1.0, variant=(("hint",),))
    assert thumbnails.decoded == 2
    rgb = grey.astype(np.int16)
    assert np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 1  # read again: no colour left
