"""Adding photos, running a batch, failures, cancel/pause/retry, export: the real engine on real files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from desktop.messages import ExportOptions
from desktop.queue_model import State
from engine.photo_io import write_photo
from engine.pipeline import provenance

TIMEOUT_MS = 30_000


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def answer_remove(window) -> None:
    """Say "Remove" to the question asked before colorized, never exported photos are removed."""
    from PySide6.QtWidgets import QMessageBox

    box = window.findChild(QMessageBox, "confirmRemoveBox")
    assert box is not None and box.isVisible(), "removing unexported colorized photos did not ask"
    next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole).click()


def states(window) -> dict[str, State]:
    return {item.name: item.state for item in window.controller.model.items()}


def test_add_files_folder_and_drop(qtbot, make_window, photo_dir: Path, tmp_path: Path) -> None:
    window = make_window()
    nested = photo_dir / "more" / "deeper"
    nested.mkdir(parents=True)
    Image.new("L", (64, 48), 128).save(nested / "nested.png")
    (photo_dir / "notes.txt").write_text("not a photo")
    # an earlier result (Rechroma's provenance in it): not queued again
    write_photo(photo_dir / "colour_color.jpg", np.zeros((32, 32, 3), np.uint8), description=provenance("x"))

    assert window.add_paths([photo_dir / "colour.jpg"]) == 1
    added = window.add_paths([photo_dir])  # recursive; the .txt is skipped, colour.jpg is not added twice
    names = sorted(states(window))
    assert added == 6
    assert names == sorted(["colour.jpg", "grey.jpg", "grey.png", "sepia.jpg", "alpha.png", "deep.png", "nested.png"])
    assert set(states(window).values()) == {State.QUEUED}

    dropped = tmp_path / "dropped.jpg"
    Image.new("RGB", (40, 30), (90, 90, 90)).save(dropped)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped)), QUrl.fromLocalFile(str(photo_dir / "grey.png"))])
    event = QDropEvent(
        QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    assert "dropped.jpg" in states(window) and len(states(window)) == 8

    model = window.controller.model
    thumbnails = model.thumbnails
    qtbot.waitUntil(lambda: all(thumbnails.image(item.id) is not None for item in model.items()), timeout=TIMEOUT_MS)
    colour = next(item for item in model.items() if item.name == "colour.jpg")
    assert (colour.width, colour.height) == (320, 240)
    thumbnail = thumbnails.image(colour.id)
    assert max(thumbnail.width(), thumbnail.height()) <= 56


def test_a_users_own_file_named_like_a_result_is_queued(make_window, photo_dir: Path) -> None:
    """Only our provenance marks an earlier result: the user's own ``colour_color.jpg`` is a photo."""
    Image.new("RGB", (32, 32), (200, 120, 40)).save(photo_dir / "colour_color.jpg")
    write_photo(photo_dir / "grey_color.jpg", np.zeros((32, 32, 3), np.uint8), description=provenance("x"))
    window = make_window()
    window.add_paths([photo_dir])
    names = set(states(window))
    assert "colour_color.jpg" in names and "colour.jpg" in names
    assert "grey_color.jpg" not in names


def test_batch_colorizes_every_photo_and_exports_full_size(
    qtbot, make_window, run_batch, photo_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    originals = {p.name: digest(p) for p in photo_dir.iterdir()}
    window.add_paths([photo_dir])
    progress = []
    window.controller.progressChanged.connect(lambda done, total, _eta: progress.append((done, total)))
    run_batch(window)

    assert set(states(window).values()) == {State.DONE}
    assert progress[-1] == (6, 6)
    assert "6 of 6 finished" in window.progress_label.text()

    out_dir = tmp_path / "out"
    ids = [item.id for item in window.controller.model.items()]
    with qtbot.waitSignal(window.controller.exportFinished, timeout=TIMEOUT_MS) as blocker:
        assert window.controller.export(ids, ExportOptions(out_dir, fmt="png")) == 6
    saved, failed = blocker.args
    assert (saved, failed) == (6, [])
    outputs = [item.output for item in window.controller.model.items()]
    assert len(set(outputs)) == 6 and all(p.parent == out_dir and p.suffix == ".png" for p in outputs)
    assert sorted(p.name for p in outputs) == sorted(  # grey.jpg and grey.png: the second gets a free name
        [
            "alpha_color.png",
            "colour_color.png",
            "deep_color.png",
            "grey_color.png",
            "grey_color-2.png",
            "sepia_color.png",
        ]
    )
    for item in window.controller.model.items():
        with Image.open(item.path) as source, Image.open(item.output) as result:
            assert result.size == source.size
    with Image.open(out_dir / "colour_color.png") as result:
        rgb = np.asarray(result.convert("RGB"), dtype=np.int16)
    assert np.abs(rgb[..., 0] - rgb[..., 2]).mean() > 1.0, "the export has no colour"

    # A second export never overwrites the first one, and the originals were never touched.
    first = digest(out_dir / "colour_color.png")
    colour_id = next(i.id for i in window.controller.model.items() if i.name == "colour.jpg")
    with qtbot.waitSignal(window.controller.exportFinished, timeout=TIMEOUT_MS):
        window.controller.export([colour_id], ExportOptions(out_dir, fmt="jpg", pattern="{stem}_color"))
    with qtbot.waitSignal(window.controller.exportFinished, timeout=TIMEOUT_MS):
        window.controller.export([colour_id], ExportOptions(out_dir, fmt="png"))
    assert (out_dir / "colour_color.jpg").is_file()
    assert (out_dir / "colour_color-2.png").is_file()
    assert digest(out_dir / "colour_color.png") == first
    assert {p.name: digest(p) for p in photo_dir.iterdir()} == originals
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".")], "temp files left behind"


def test_corrupt_files_fail_with_a_reason_and_the_batch_goes_on(
    qtbot, make_window, run_batch, photo_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    (photo_dir / "broken.jpg").write_bytes(b"this is not a jpeg at all")
    good = (photo_dir / "colour.jpg").read_bytes()
    (photo_dir / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (photo_dir / "empty.png").write_bytes(b"")
    window.add_paths([photo_dir])
    run_batch(window)

    by_name = {item.name: item for item in window.controller.model.items()}
    for name in ("broken.jpg", "empty.png"):
        assert by_name[name].state == State.FAILED
        assert by_name[name].error and "\n" not in by_name[name].error and "Traceback" not in by_name[name].error
    assert by_name["truncated.jpg"].state in (State.FAILED, State.DONE)  # decoders may salvage a partial JPEG
    assert by_name["colour.jpg"].state == State.DONE
    assert window.controller.model.count(State.DONE) >= 6
    assert "failed" in window.progress_label.text()

    # Selecting a failed photo shows why instead of an image.
    window.select_row(window.controller.model.row_of(by_name["empty.png"].id))
    assert window.compare.before is None and by_name["empty.png"].error in window.compare.message
    qtbot.wait(200)  # the original cannot be read either: the reason stays on screen
    assert window.compare.before is None and by_name["empty.png"].error in window.compare.message

    # An export into a folder that cannot exist fails visibly for each photo and loses nothing.
    blocker_file = tmp_path / "a-file"
    blocker_file.write_text("x")
    with qtbot.waitSignal(window.controller.exportFinished, timeout=TIMEOUT_MS) as blocker:
        window.controller.export([by_name["colour.jpg"].id], ExportOptions(blocker_file / "sub", fmt="png"))
    saved, failed = blocker.args
    assert saved == 0 and len(failed) == 1 and "output folder" in failed[0][1]
    assert by_name["colour.jpg"].state == State.DONE and "export failed" in by_name["colour.jpg"].error
    assert blocker_file.read_text() == "x"


def test_cancel_current_cancel_all_and_retry(qtbot, make_window, spy_model, photo_dir: Path) -> None:
    window = make_window()
    controller = window.controller
    spy = spy_model(window)
    window.add_paths([photo_dir])
    spy.hold()
    controller.start()
    qtbot.waitUntil(spy.entered.is_set, timeout=TIMEOUT_MS)
    first = controller.current_item_id
    assert controller.model.item(first).state == State.WORKING

    with qtbot.waitSignal(controller.itemFinished, timeout=TIMEOUT_MS) as blocker:
        window.actions.cancel_current.trigger()
    assert blocker.args == [first, State.CANCELLED.value]
    assert controller.model.item(first).state == State.CANCELLED

    # The batch went on with the next photo; cancel everything while it is held in the model.
    qtbot.waitUntil(lambda: spy.calls == 2, timeout=TIMEOUT_MS)
    second = controller.current_item_id
    with qtbot.waitSignal(controller.itemFinished, timeout=TIMEOUT_MS):
        window.actions.cancel_all.trigger()
    assert controller.model.count(State.CANCELLED) == 6
    assert controller.model.item(second).state == State.CANCELLED
    assert not controller.running

    spy.release()
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        window.actions.retry_failed.trigger()
    assert set(states(window).values()) == {State.DONE}


def test_pause_waits_after_the_current_photo_and_resume_continues(
    qtbot, make_window, spy_model, photo_dir: Path
) -> None:
    window = make_window()
    controller = window.controller
    spy = spy_model(window)
    window.add_paths([photo_dir])
    spy.hold()
    controller.start()
    qtbot.waitUntil(spy.entered.is_set, timeout=TIMEOUT_MS)
    window.actions.pause.trigger()
    with qtbot.waitSignal(controller.itemFinished, timeout=TIMEOUT_MS):
        spy.release()
    qtbot.wait(200)
    assert not controller.busy and spy.calls == 1
    assert controller.model.count(State.DONE) == 1 and controller.model.count(State.QUEUED) == 5
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        window.actions.resume.trigger()
    assert controller.model.count(State.DONE) == 6


def test_remove_and_rerun_at_another_render_size(qtbot, make_window, run_batch, spy_model, photo_dir: Path) -> None:
    window = make_window()
    controller = window.controller
    window.add_paths([photo_dir / "colour.jpg", photo_dir / "grey.jpg"])
    run_batch(window)
    colour = controller.model.items()[0]
    old_ab = np.load(colour.ab_file)

    spy = spy_model(window)
    window.select_row(0)
    window.render_size.setValue(128)
    with qtbot.waitSignal(controller.itemFinished, timeout=TIMEOUT_MS):
        window.actions.rerun.trigger()
    assert spy.calls == 1 and colour.state == State.DONE and colour.render_size == 128
    new_ab = np.load(colour.ab_file)
    assert max(new_ab.shape[:2]) == 128 and new_ab.shape != old_ab.shape

    ab_file = colour.ab_file
    window.select_row(0)
    window.actions.remove.trigger()  # colorized, never exported: it asks first (see test_desktop_new_user)
    answer_remove(window)
    assert [item.name for item in controller.model.items()] == ["grey.jpg"]
    assert not ab_file.exists()


@pytest.mark.parametrize("bad", ["missing", "garbage"])
def test_missing_or_incompatible_model_shows_a_dialog_and_the_app_stays_usable(
    qtbot, make_window, standin_model: Path, tmp_path: Path, monkeypatch, bad: str
) -> None:
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setenv("RECHROMA_MODELS_DIR", str(tmp_path / "no-models-here"))
    model_path = None
    if bad == "garbage":
        model_path = tmp_path / "bad.onnx"
        model_path.write_bytes(b"\x00not an onnx model")
    window = make_window(model_path=model_path, wait_for_model=False)
    qtbot.waitUntil(lambda: bool(window.findChildren(QMessageBox)), timeout=TIMEOUT_MS)
    box = window.findChildren(QMessageBox)[0]
    expected = "no colorization model" if bad == "missing" else "bad.onnx"
    assert expected in box.text() and "Open model" in box.text()
    assert window.controller.model_info is None
    assert not window.actions.rerun.isEnabled()
    box.close()

    window.load_model(standin_model)
    qtbot.waitUntil(lambda: window.controller.model_info is not None, timeout=TIMEOUT_MS)
    assert window.device_label.text() == "using CPU"
    assert window.settings.model_path == str(standin_model)


def test_removing_the_photo_in_progress_cancels_it_and_the_batch_goes_on(
    qtbot, make_window, spy_model, photo_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    controller = window.controller
    spy = spy_model(window)
    window.add_paths([photo_dir / "colour.jpg", photo_dir / "grey.jpg", photo_dir / "sepia.jpg"])
    spy.hold()
    controller.start()
    qtbot.waitUntil(spy.entered.is_set, timeout=TIMEOUT_MS)
    working = controller.current_item_id
    window.select_row(controller.model.row_of(working))
    spy.release()
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        window.actions.remove.trigger()
    assert controller.model.item(working) is None
    assert [item.state for item in controller.model.items()] == [State.DONE, State.DONE]
    cached = sorted(p.stem for p in (tmp_path / "appdata" / "predictions").glob("*.npy"))
    assert cached == sorted(item.id for item in controller.model.items())
