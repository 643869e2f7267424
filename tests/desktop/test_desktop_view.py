"""The before/after view, the live strength slider and the keyboard shortcuts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QSize, Qt
from PySide6.QtGui import QImage, QWheelEvent

from desktop.compare_view import CompareView
from desktop.images import qimage_to_array, to_qimage

TIMEOUT_MS = 30_000


def chroma(image: QImage) -> float:
    rgb = qimage_to_array(image).astype(np.float32)
    return float(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).mean())


def set_strength(qtbot, window, percent: int) -> QImage:
    """Move the slider and wait for the colour image at that strength to be on screen."""
    window.strength.setValue(percent)
    qtbot.waitUntil(lambda: window.shown_strength == percent / 100, timeout=TIMEOUT_MS)
    return window.compare.after


def test_strength_slider_rerenders_the_cached_preview_without_running_the_model(
    qtbot, make_window, run_batch, spy_model, photo_dir: Path
) -> None:
    window = make_window()
    window.add_paths([photo_dir / "colour.jpg", photo_dir / "grey.png"])
    run_batch(window)
    spy = spy_model(window)
    window.select_row(0)
    qtbot.waitUntil(lambda: window.compare.after is not None, timeout=TIMEOUT_MS)
    assert window.compare.before.size() == QSize(320, 240)

    normal = chroma(set_strength(qtbot, window, 100))
    grey = chroma(set_strength(qtbot, window, 0))
    strong = chroma(set_strength(qtbot, window, 200))
    assert grey < 1.0 < normal < strong
    assert spy.calls == 0, "the strength slider ran the model"
    assert window.controller.model.item_at(0).strength == 2.0
    assert window.controller.model.item_at(1).strength == 1.0

    window.actions.apply_strength_to_all.trigger()
    assert [item.strength for item in window.controller.model.items()] == [2.0, 2.0]

    # Selecting another photo shows its own strength and its own colour, still without the model.
    window.select_row(1)
    qtbot.waitUntil(
        lambda: window.compare.before is not None and window.compare.before.size() == QSize(160, 128),
        timeout=TIMEOUT_MS,
    )
    qtbot.waitUntil(lambda: window.shown_strength == 2.0, timeout=TIMEOUT_MS)
    assert window.strength.value() == 200
    assert spy.calls == 0


def test_view_shortcuts_zoom_and_side_by_side(qtbot, make_window, run_batch, photo_dir: Path) -> None:
    window = make_window()
    window.add_paths([photo_dir / "colour.jpg"])
    run_batch(window)
    window.select_row(0)
    qtbot.waitUntil(lambda: window.compare.after is not None, timeout=TIMEOUT_MS)
    view = window.compare
    view.setFocus()

    qtbot.keyClick(view, Qt.Key.Key_1)
    assert abs(view.zoom() - 1.0) < 1e-6 and window.zoom_label.text() == "100 %"
    qtbot.keyClick(view, Qt.Key.Key_F)
    fitted = view.zoom()
    image_on_screen = view._image_rect(view._viewports()[0])
    assert image_on_screen.width() <= view.width() + 1 and image_on_screen.height() <= view.height() + 1

    qtbot.keyClick(view, Qt.Key.Key_S)
    assert view.side_by_side and window.actions.side_by_side.isChecked()
    qtbot.keyClick(view, Qt.Key.Key_S)
    assert not view.side_by_side

    assert not view.show_before_only
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert view.show_before_only
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert not view.show_before_only
    assert fitted > 0


def test_compare_view_divider_drag_pan_and_wheel_zoom(qtbot) -> None:
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    gradient = np.dstack([np.tile(np.linspace(0, 255, 200, dtype=np.uint8), (100, 1))] * 3)
    colour = gradient.copy()
    colour[..., 0] = 255
    view.set_images(to_qimage(gradient), to_qimage(colour), QSize(800, 400))
    assert abs(view.zoom() - 0.5) < 1e-6  # 400 px wide view, 800 px original, 200 px preview

    # Dragging the divider moves it; the left side shows the original, the right the colour.
    x = int(view.divider_x())
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(x, 150))
    qtbot.mouseMove(view, QPoint(100, 150))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 150))
    assert abs(view.divider - 0.25) < 0.01
    shot = qimage_to_array(view.grab().toImage())
    assert shot[150, 60, 0] < 200 and shot[150, 300, 0] > 240  # grey gradient | red-tinted colour

    # Wheel zooms around the cursor; dragging elsewhere pans both images together.
    wheel = QWheelEvent(
        QPointF(200, 150),
        view.mapToGlobal(QPointF(200, 150)),
        QPoint(),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    view.wheelEvent(wheel)
    assert abs(view.zoom() - 0.625) < 1e-6
    centre = QPointF(view._center)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(300, 150))
    qtbot.mouseMove(view, QPoint(340, 150))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(340, 150))
    assert view._center.x() < centre.x() and abs(view._center.y() - centre.y()) < 1e-6


def test_about_box_names_the_model_and_device(qtbot, make_window) -> None:
    from PySide6.QtWidgets import QMessageBox

    window = make_window()
    window.actions.about.trigger()
    box = window.findChild(QMessageBox, "aboutBox")
    info = window.controller.model_info
    assert info.name in box.text() and info.version in box.text() and "CPU" in box.text()
    box.close()


def test_model_card_is_shown_from_the_file_beside_the_model(
    qtbot, make_window, standin_model: Path, tmp_path: Path
) -> None:
    import shutil

    from PySide6.QtWidgets import QDialog, QTextBrowser

    model = tmp_path / "models" / "tiny-v9.onnx"
    model.parent.mkdir()
    shutil.copy(standin_model, model)
    model.with_suffix(".md").write_text("# Model card: tiny v9\n\n| set | grey | tiny |\n|---|---|---|\n"
                                        "| held-out | 12.1 | 12.3 |\n", encoding="utf-8")
    window = make_window(model)
    window.actions.model_card.trigger()
    dialog = window.findChild(QDialog, "modelCardDialog")
    text = dialog.findChild(QTextBrowser, "modelCardText").toPlainText()
    assert "Model card: tiny v9" in text and "12.3" in text
    dialog.close()

    model.with_suffix(".md").unlink()
    window.actions.model_card.trigger()
    qtbot.waitUntil(lambda: window.findChild(QDialog, "modelCardDialog") is not None)
    dialogs = [d for d in window.findChildren(QDialog, "modelCardDialog") if d.isVisible()]
    assert "came without a model card" in dialogs[-1].findChild(QTextBrowser, "modelCardText").toPlainText()
