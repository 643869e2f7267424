"""What a new user trips over (issue 14): export formats, defaults per photo, the queue's housekeeping, help.

The real window, engine and files, on the stand-in model; dialogs are answered by clicking their buttons.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTableWidget, QTextBrowser

from desktop.compare_view import CHECKER_DARK, CHECKER_LIGHT, CompareView
from desktop.export_dialog import ExportDialog
from desktop.images import qimage_to_array
from desktop.preferences_dialog import PreferencesDialog
from desktop.queue_model import QueueModel, State

TIMEOUT_MS = 30_000


def names(window) -> list[str]:
    return [item.name for item in window.controller.model.items()]


def item_named(window, name: str):
    return next(item for item in window.controller.model.items() if item.name == name)


def make_photos(folder: Path, count: int, prefix: str = "p") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"{prefix}{n:02d}.png"
        Image.new("L", (40, 32), 40 + n * 3).save(path)
        paths.append(path)
    return paths


def set_preferences(qtbot, window, strength: int, render_size: int) -> None:
    window.actions.preferences.trigger()
    dialog = window.findChild(PreferencesDialog, "preferencesDialog")
    assert dialog is not None and dialog.isVisible()
    dialog.strength.setValue(strength)
    dialog.render_size.setValue(render_size)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()


def remove_box(window) -> QMessageBox | None:
    boxes = [b for b in window.findChildren(QMessageBox, "confirmRemoveBox") if b.isVisible()]
    return boxes[-1] if boxes else None


def click(box: QMessageBox, role: QMessageBox.ButtonRole) -> None:
    next(b for b in box.buttons() if box.buttonRole(b) == role).click()


# --- 1. export keeps what the photo has ----------------------------------------------------------------
def test_export_defaults_to_each_photos_own_format_keeping_alpha_and_16_bit(
    qtbot, make_window, run_batch, photo_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    window.add_paths([photo_dir / "alpha.png", photo_dir / "deep.png", photo_dir / "colour.jpg"])
    run_batch(window)
    window.queue_view.selectAll()
    window.actions.export_selected.trigger()
    dialog = window.findChild(ExportDialog, "exportDialog")
    assert dialog is not None and dialog.isVisible()
    assert dialog.fmt() == "same" and dialog.warning_row.isHidden()
    dialog.set_format("jpg")  # JPEG would lose the alpha and the 16 bits: the dialog says so
    assert dialog.warning_row.isVisible() and "transparency" in dialog.warning.text()
    dialog.set_format("same")
    dialog.folder.setText(str(tmp_path / "out"))
    with qtbot.waitSignal(window.controller.exportFinished, timeout=TIMEOUT_MS) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert blocker.args == [3, []]
    outputs = {p.name for p in (tmp_path / "out").iterdir()}
    assert outputs == {"alpha_color.png", "deep_color.png", "colour_color.jpg"}
    with Image.open(tmp_path / "out" / "alpha_color.png") as result:
        assert result.mode == "RGBA"
        assert np.asarray(result)[..., 3].min() < 10  # the transparent corner is still transparent
    import cv2

    deep = cv2.imread(str(tmp_path / "out" / "deep_color.png"), cv2.IMREAD_UNCHANGED)
    assert deep.dtype == np.uint16
    assert window.settings.output_format == "same"


# --- 2. transparency over a checkerboard ---------------------------------------------------------------
def test_viewer_shows_transparent_areas_over_a_checkerboard(qtbot) -> None:
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(200, 200)
    view.show()
    clear = QImage(QSize(100, 100), QImage.Format.Format_RGBA8888)
    clear.fill(Qt.GlobalColor.transparent)
    view.set_images(clear, None)
    shot = qimage_to_array(view.grab().toImage())
    centre = shot[60:140, 60:140].reshape(-1, 3)
    colours = {tuple(int(v) for v in c) for c in np.unique(centre, axis=0)}
    light, dark = CHECKER_LIGHT.getRgb()[:3], CHECKER_DARK.getRgb()[:3]
    assert light in colours and dark in colours, f"no checkerboard behind the transparent photo: {colours}"

    opaque = QImage(QSize(100, 100), QImage.Format.Format_RGB888)
    opaque.fill(Qt.GlobalColor.red)
    view.set_images(opaque, None)
    shot = qimage_to_array(view.grab().toImage())
    assert tuple(int(v) for v in shot[100, 100]) == (255, 0, 0)


def test_a_transparent_photo_reaches_the_viewer_with_its_alpha(
    qtbot, make_window, run_batch, photo_dir: Path
) -> None:
    window = make_window()
    window.add_paths([photo_dir / "alpha.png"])
    run_batch(window)
    window.select_row(0)
    qtbot.waitUntil(lambda: window.compare.after is not None, timeout=TIMEOUT_MS)
    assert window.compare.before.hasAlphaChannel() and window.compare.after.hasAlphaChannel()


# --- 3. strength: Preferences for new photos, the slider for the selected ones -----------------------------
def test_new_photos_take_the_preferences_strength_and_the_slider_changes_only_the_selection(
    qtbot, make_window, tmp_path: Path
) -> None:
    window = make_window()
    first = make_photos(tmp_path / "a", 3)
    window.add_paths(first)
    window.select_row(0)
    window.strength.setValue(200)  # one photo at 200 %...
    assert [i.strength for i in window.controller.model.items()] == [2.0, 1.0, 1.0]
    assert window.settings.strength_percent == 100  # ...is not the default

    window.add_paths(make_photos(tmp_path / "b", 2))  # a folder added later comes in at the default
    assert [i.strength for i in window.controller.model.items()][3:] == [1.0, 1.0]

    window.queue_view.selectAll()  # the slider changes every selected photo, only those
    window.strength.setValue(50)
    assert {i.strength for i in window.controller.model.items()} == {0.5}

    set_preferences(qtbot, window, strength=130, render_size=0)
    assert window.settings.strength_percent == 130
    assert {i.strength for i in window.controller.model.items()} == {0.5}  # photos keep their own
    window.add_paths(make_photos(tmp_path / "c", 1))
    assert window.controller.model.items()[-1].strength == 1.3
    window.close()

    again = make_window()  # the preference survives a restart, the slider's last value does not leak
    again.add_paths(make_photos(tmp_path / "d", 1))
    assert again.controller.model.items()[-1].strength == 1.3


# --- 4. render size per photo, default from Preferences, warning far from native --------------------------
def test_render_size_is_per_photo_with_the_default_from_preferences_and_a_warning_far_from_native(
    qtbot, make_window, run_batch, tmp_path: Path
) -> None:
    window = make_window()
    native = window.controller.model_info.default_render_size
    set_preferences(qtbot, window, strength=100, render_size=256)
    photos = make_photos(tmp_path / "a", 2)
    big = tmp_path / "a" / "big.png"
    Image.new("L", (640, 480), 90).save(big)
    window.add_paths([big, *photos])
    assert all(item.render_size is None for item in window.controller.model.items())  # "the default"
    run_batch(window)
    big_item = item_named(window, "big.png")
    assert max(np.load(big_item.ab_file).shape[:2]) == 256  # ran at the Preferences size

    window.select_row(0)
    assert window.render_size.value() == 256
    window.render_size.setValue(128)
    assert window.settings.render_size == 256  # the box is the photo's, not the default
    with qtbot.waitSignal(window.controller.itemFinished, timeout=TIMEOUT_MS):
        window.actions.rerun.trigger()
    assert big_item.render_size == 128 and max(np.load(big_item.ab_file).shape[:2]) == 128
    assert [i.render_size for i in window.controller.model.items()][1:] == [None, None]

    window.add_paths(make_photos(tmp_path / "b", 1))
    assert window.controller.model.items()[-1].render_size is None
    window.select_row(3)
    assert window.render_size.value() == 256
    window.select_row(0)
    assert window.render_size.value() == 128

    warning = window.render_size_warning
    cases = ((native // 2 - 32, True, "below"), (native, False, ""), (2 * native + 32, True, "above"))
    for size, shown, words in cases:
        window.render_size.setValue(size)
        assert warning.isVisible() == shown, size
        assert words in warning.text()
    window.close()

    again = make_window()
    assert again.controller.default_render_size == 256
    assert [i.render_size for i in again.controller.model.items()][:3] == [128, None, None]


def test_preferences_warn_about_a_default_render_size_far_from_native(qtbot, make_window) -> None:
    window = make_window()
    dialog = window.show_preferences()
    native = window.controller.model_info.default_render_size
    dialog.render_size.setValue(64)
    assert dialog.warning.isVisible() and f"{native} px" in dialog.warning.text()
    dialog.render_size.setValue(native)
    assert not dialog.warning.isVisible()
    dialog.reject()


# --- 5. scrolling to new photos and to the one being worked on -------------------------------------------
def test_new_photos_and_the_photo_in_progress_scroll_into_view(
    qtbot, make_window, spy_model, tmp_path: Path
) -> None:
    window = make_window()
    window.resize(700, 400)
    view = window.queue_view
    window.add_paths(make_photos(tmp_path / "a", 30))
    qtbot.wait(50)

    def visible(row: int) -> bool:
        rect = view.visualRect(window.controller.model.index(row, 0))
        return rect.isValid() and view.viewport().rect().intersects(rect)

    view.scrollToTop()
    assert not visible(29)
    window.add_paths(make_photos(tmp_path / "b", 2))
    assert visible(30) and visible(31)

    view.scrollToTop()
    spy = spy_model(window)
    spy.hold()
    far = window.controller.model.item_at(25)
    window.controller.rerun(far.id, None)
    assert far.state == State.WORKING and visible(25)
    with qtbot.waitSignal(window.controller.itemFinished, timeout=TIMEOUT_MS):
        spy.release()


# --- 6, 7. clear finished; removing colorized photos that were never exported asks first --------------------
def test_clear_finished_and_removal_of_unexported_photos_asks_first(
    qtbot, make_window, run_batch, photo_dir: Path, tmp_path: Path
) -> None:
    from desktop.messages import ExportOptions

    window = make_window()
    (photo_dir / "broken.jpg").write_bytes(b"not a photo")
    window.add_paths([photo_dir / "colour.jpg", photo_dir / "grey.jpg", photo_dir / "broken.jpg"])
    run_batch(window)
    window.add_paths([photo_dir / "sepia.jpg"])  # still queued: "Clear finished" leaves it
    colour = item_named(window, "colour.jpg")
    with qtbot.waitSignal(window.controller.exportFinished, timeout=TIMEOUT_MS):
        window.controller.export([colour.id], ExportOptions(tmp_path / "out", fmt="png"))

    # Exported or failed photos go without a question.
    window.remove([colour.id, item_named(window, "broken.jpg").id])
    assert remove_box(window) is None and names(window) == ["grey.jpg", "sepia.jpg"]

    # grey.jpg is colorized but was never exported: Ctrl+A, Delete asks, and Cancel keeps everything.
    grey = item_named(window, "grey.jpg")
    ab_file = grey.ab_file
    window.queue_view.selectAll()
    window.actions.remove.trigger()
    box = remove_box(window)
    assert box is not None and "not exported" in box.text()
    click(box, QMessageBox.ButtonRole.RejectRole)
    assert names(window) == ["grey.jpg", "sepia.jpg"] and ab_file.is_file()

    assert window.actions.clear_finished.isEnabled()
    window.actions.clear_finished.trigger()
    click(remove_box(window), QMessageBox.ButtonRole.DestructiveRole)
    assert names(window) == ["sepia.jpg"] and not ab_file.exists()
    assert not window.actions.clear_finished.isEnabled()


# --- 9, 10. names, the empty queue, "paused" ---------------------------------------------------------------
def test_names_elide_in_the_middle_with_the_full_path_in_a_tooltip(make_window, tmp_path: Path) -> None:
    window = make_window()
    long_name = tmp_path / ("mountains-above-the-lake-in-the-evening-" * 3 + "1952.png")
    Image.new("L", (20, 20), 100).save(long_name)
    window.add_paths([long_name])
    assert window.queue_view.textElideMode() == Qt.TextElideMode.ElideMiddle
    index = window.controller.model.index(0, QueueModel.COL_NAME)
    assert str(long_name) in window.controller.model.data(index, Qt.ItemDataRole.ToolTipRole)


def test_empty_queue_shows_where_photos_come_from_and_eta_reads_paused(
    qtbot, make_window, spy_model, tmp_path: Path
) -> None:
    window = make_window()
    assert window.queue_stack.currentWidget().objectName() == "emptyQueue"
    placeholder = window.queue_stack.currentWidget()
    assert placeholder.isVisible() and "Drop photos or folders here" in placeholder.findChild(
        type(window.progress_label), "emptyQueueLabel"
    ).text()
    actions = [button.defaultAction() for button in window.placeholder_buttons]
    assert actions == [window.actions.open_files, window.actions.open_folder]

    window.add_paths(make_photos(tmp_path / "a", 3))
    assert window.queue_stack.currentWidget() is window.queue_view
    spy = spy_model(window)
    spy.hold()
    window.actions.start.trigger()
    qtbot.waitUntil(spy.entered.is_set, timeout=TIMEOUT_MS)
    window.actions.pause.trigger()
    assert "paused" in window.progress_label.text() and "left" not in window.progress_label.text()
    with qtbot.waitSignal(window.controller.itemFinished, timeout=TIMEOUT_MS):
        spy.release()
    assert "paused" in window.progress_label.text()
    with qtbot.waitSignal(window.controller.batchFinished, timeout=TIMEOUT_MS):
        window.actions.resume.trigger()
    assert "paused" not in window.progress_label.text()

    window.actions.clear_finished.trigger()
    click(remove_box(window), QMessageBox.ButtonRole.DestructiveRole)
    assert window.queue_stack.currentWidget().objectName() == "emptyQueue"


# --- 14, 15. help ------------------------------------------------------------------------------------------
def test_keyboard_shortcuts_lists_every_shortcut(make_window) -> None:
    window = make_window()
    window.actions.shortcuts.trigger()
    dialog = window.findChild(QDialog, "shortcutsDialog")
    table = dialog.findChild(QTableWidget, "shortcutsTable")
    listed = {table.item(row, 0).text() for row in range(table.rowCount())}
    with_keys = [a for a in window.actions.all() if not a.shortcut().isEmpty()]
    assert len(with_keys) >= 15
    for action in with_keys:
        assert action.shortcut().toString(QKeySequence.SequenceFormat.NativeText) in listed, action.text()
    assert "Mouse wheel" in listed and "Double-click" in listed
    dialog.close()


def test_about_the_model_starts_with_a_plain_summary_then_the_tables(
    qtbot, make_window, standin_model: Path, tmp_path: Path
) -> None:
    import shutil

    model = tmp_path / "models" / "tiny-v9.onnx"
    model.parent.mkdir()
    shutil.copy(standin_model, model)
    model.with_suffix(".md").write_text(
        "# Model card: tiny v9\n\nContract: input L [N,1,H,W].\n\n## Method\nU-Net.\n\n"
        "## Evaluation\n| set | grey | tiny |\n|---|---|---|\n| held-out | 12.1 | 12.3 |\n\n"
        "## In short\n- **Good at**: skies.\n- **Gets wrong**: cars.\n- Trained on 300-px photos.\n",
        encoding="utf-8",
    )
    window = make_window(model)
    window.actions.model_card.trigger()
    dialog = window.findChild(QDialog, "modelCardDialog")
    text = dialog.findChild(QTextBrowser, "modelCardText").toPlainText()
    order = [text.index(s) for s in ("Model card: tiny v9", "Good at", "Colour strength", "Contract", "12.3")]
    assert order == sorted(order), text
    assert "512 px" in text  # the render size it runs at, from the model's contract
    dialog.close()


def test_shipped_model_card_has_the_plain_summary() -> None:
    from desktop.dialogs import split_card
    from engine.model import default_model_path

    card = default_model_path().with_suffix(".md").read_text(encoding="utf-8")
    _title, summary, _rest = split_card(card)
    for words in ("Good at", "Gets wrong", "learned from", "px"):
        assert words in summary
