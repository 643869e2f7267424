"""Colour hints in the desktop app: placing points where the user clicked (at any zoom, after a pan, on an
EXIF-rotated photo), the colour following them on the engine thread, undo/redo, the queue store and the
sidecar file the CLI reads, latest-wins re-runs, copying to other photos, and the tool's enabled state."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QPushButton, QToolButton
from standin_model import build_hint_copy_model

from desktop import dialogs
from desktop.hint_points import HintPoint
from desktop.images import qimage_to_array
from desktop.queue_store import QueueStore
from engine import colour
from engine.cli import main as cli_main
from engine.hints import parse_colour
from engine.sidecar import hints_for_photo, read_sidecar, sidecar_path

TIMEOUT_MS = 30_000
GRASS = "#6e9140"  # an album swatch: clearly green (a* about -25)


def ready(qtbot, make_window, run_batch, photos: list[Path]):
    """A window whose photos are colorized, the first on show with its colour, the hint tool on."""
    window = make_window()
    window.add_paths(photos)
    run_batch(window)
    window.select_row(0)
    qtbot.waitUntil(lambda: window.compare.after is not None, timeout=TIMEOUT_MS)
    window.actions.hint_tool.setChecked(True)
    return window


def screen_pos(view, px: float, py: float, pan: QPointF | None = None) -> QPoint:
    """Where the centre of original pixel (px, py) is on screen, worked out from the zoom alone: the photo's
    centre sits at the view's centre (fit, or a zoom without an anchor), moved by any pan."""
    pan = pan or QPointF()
    zoom = view.zoom()
    width, height = view.original_size.width(), view.original_size.height()
    x = view.width() / 2 + (px + 0.5 - width / 2) * zoom + pan.x()
    y = view.height() / 2 + (py + 0.5 - height / 2) * zoom + pan.y()
    return QPoint(math.floor(x), math.floor(y))  # the screen pixel holding that pixel's centre


def click(qtbot, window, position: QPoint, button=Qt.MouseButton.LeftButton) -> None:
    qtbot.mouseClick(window.compare, button, pos=position)


def hints_of(window, row: int = 0) -> tuple[HintPoint, ...]:
    return window.controller.model.item_at(row).hints


def wait_for_new_colour(qtbot, window, renders_before: int) -> None:
    qtbot.waitUntil(lambda: window.hint_renders > renders_before, timeout=TIMEOUT_MS)


def a_star(rgb: np.ndarray) -> float:
    return float(colour.rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 1].mean())


def test_click_places_a_point_on_the_photo_pixel_at_fit_100_400_percent_and_after_a_pan(
    qtbot, make_window, run_batch, photo_dir: Path
) -> None:
    window = ready(qtbot, make_window, run_batch, [photo_dir / "colour.jpg"])  # 320 x 240
    view = window.compare
    view.setFixedSize(700, 500)  # even sides: at 100 % screen and photo pixels line up exactly
    qtbot.waitUntil(lambda: view.width() == 700 and view.height() == 500, timeout=TIMEOUT_MS)
    width, height = 320, 240

    def place(px: int, py: int, pan: QPointF | None = None) -> HintPoint:
        before = len(hints_of(window))
        click(qtbot, window, screen_pos(view, px, py, pan))
        assert len(hints_of(window)) == before + 1, f"no point placed for pixel {(px, py)}"
        point = hints_of(window)[-1]
        assert (int(point.x * width), int(point.y * height)) == (px, py)
        return point

    view.fit()
    place(40, 30)
    view.set_zoom(1.0)
    place(100, 200)
    view.set_zoom(4.0)
    place(150, 100)
    # Pan with the tool off, then with it on: a drag on the photo pans and places nothing.
    window.actions.hint_tool.setChecked(False)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(300, 300))
    qtbot.mouseMove(view, QPoint(260, 330))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(260, 330))
    window.actions.hint_tool.setChecked(True)
    count = len(hints_of(window))
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(260, 330))
    qtbot.mouseMove(view, QPoint(240, 350))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(240, 350))
    assert len(hints_of(window)) == count, "a drag placed a point"
    place(170, 110, pan=QPointF(-60, 50))
    assert len(hints_of(window)) == 4

    # Each new point starts with the colour the model gives that spot (the shown colour, so near it).
    shown = qimage_to_array(window.compare.after)
    point = hints_of(window)[0]
    placed_rgb = np.array([int(point.color[i:i + 2], 16) for i in (1, 3, 5)], np.float32)
    y, x = int(point.y * shown.shape[0]), int(point.x * shown.shape[1])
    assert np.abs(shown[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(axis=0) - placed_rgb).max() < 40


def test_points_on_an_exif_rotated_photo_are_in_the_upright_photo(
    qtbot, make_window, run_batch, tmp_path: Path
) -> None:
    upright = np.full((200, 120, 3), 40, np.uint8)  # portrait as displayed
    upright[150:161, 20:31] = 250  # a white mark at x 20..30, y 150..160 of the upright photo
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # landscape as stored; orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(photo, quality=95, exif=exif.tobytes())

    window = ready(qtbot, make_window, run_batch, [photo])
    view = window.compare
    assert (view.before.width(), view.before.height()) == (120, 200)
    view.set_zoom(2.0)
    click(qtbot, window, screen_pos(view, 25, 155))
    point = hints_of(window)[0]
    assert (int(point.x * 120), int(point.y * 200)) == (25, 155)
    before = qimage_to_array(view.before)
    assert before[int(point.y * 200), int(point.x * 120)].min() > 200, "the point is not on the white mark"


def test_colour_follows_a_hint_and_the_sidecar_drives_the_cli(
    qtbot, make_window, run_batch, photo_dir: Path, standin_model: Path, tmp_path: Path
) -> None:
    photo = photo_dir / "colour.jpg"
    window = ready(qtbot, make_window, run_batch, [photo])
    item = window.controller.model.item_at(0)
    view = window.compare
    view.set_divider(0.0)  # all colour
    ab_before = np.load(item.ab_file).astype(np.float32)

    renders = window.hint_renders
    click(qtbot, window, screen_pos(view, 80, 60))
    wait_for_new_colour(qtbot, window, renders)
    # The popover's album swatch recolours the point, and the photo turns green around it.
    renders = window.hint_renders
    popover = window.hints.show_popover(0, view.mapToGlobal(QPoint(10, 10)))
    qtbot.mouseClick(popover.findChild(QToolButton, f"swatch {GRASS}"), Qt.MouseButton.LeftButton)
    assert hints_of(window)[0].color == GRASS
    wait_for_new_colour(qtbot, window, renders)
    shown = qimage_to_array(view.after)
    y, x = int(0.25 * shown.shape[0]), int(0.25 * shown.shape[1])
    assert a_star(shown[y - 2:y + 3, x - 2:x + 3]) < -10, "the colour did not follow the green hint"
    assert window.hints.recent[0] == GRASS

    # The cached result (what export and thumbnails use) carries the hint.
    def cached_a_at_hint() -> float:
        ab = np.load(item.ab_file).astype(np.float32)
        return float(ab[int(0.25 * ab.shape[0]), int(0.25 * ab.shape[1]), 0])

    assert ab_before[int(0.25 * ab_before.shape[0]), int(0.25 * ab_before.shape[1]), 0] > -5
    qtbot.waitUntil(lambda: cached_a_at_hint() < -10, timeout=TIMEOUT_MS)

    # The sidecar appears beside the photo, in the format the CLI reads. On a slow machine the point may have
    # been written once before the swatch recoloured it (writes follow 600 ms of quiet): wait for the recolour.
    def sidecar_colour() -> tuple[float, float] | None:
        if not sidecar_path(photo).exists():
            return None
        points = read_sidecar(sidecar_path(photo))
        return (points[0].a, points[0].b) if points else None

    qtbot.waitUntil(lambda: (c := sidecar_colour()) is not None and np.allclose(c, parse_colour(GRASS), atol=0.01),
                    timeout=TIMEOUT_MS)
    read = read_sidecar(sidecar_path(photo))
    assert len(read) == 1 and abs(read[0].fx - 0.2516) < 0.01 and abs(read[0].fy - 0.2521) < 0.01
    assert np.allclose((read[0].a, read[0].b), parse_colour(GRASS), atol=0.01)
    assert hints_for_photo(photo) == read

    # rechroma-cli on the same photo and model picks the sidecar up and gives the app's colour.
    out = tmp_path / "cli"
    assert cli_main([str(photo), "-o", str(out), "--format", "png", "--model", str(standin_model),
                     "--threads", "1"]) == 0
    exported = tmp_path / "app"
    from desktop.messages import ExportOptions

    with qtbot.waitSignal(window.controller.exportFinished, timeout=TIMEOUT_MS):
        window.controller.export([item.id], ExportOptions(exported, fmt="png"))
    cli_rgb = np.asarray(Image.open(next(out.glob("*.png"))).convert("RGB"), np.float32)
    app_rgb = np.asarray(Image.open(next(exported.glob("*.png"))).convert("RGB"), np.float32)
    assert np.abs(cli_rgb - app_rgb).mean() < 1.5, "the app's export and the CLI disagree about the hints"
    assert a_star(app_rgb[55:66, 75:86]) < -10


def test_move_delete_undo_redo_and_clear(qtbot, make_window, run_batch, photo_dir: Path) -> None:
    window = ready(qtbot, make_window, run_batch, [photo_dir / "colour.jpg"])
    view = window.compare
    view.set_zoom(2.0)
    click(qtbot, window, screen_pos(view, 100, 100))
    click(qtbot, window, screen_pos(view, 200, 150))
    first, second = hints_of(window)

    # Drag the first point to another pixel.
    start, end = screen_pos(view, 100, 100), screen_pos(view, 130, 80)
    runs = []
    window.controller._runHint.connect(runs.append)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, QPoint(start.x() + 10, start.y()))
    qtbot.mouseMove(view, end)
    # While the button is down the colour follows the point (runs that are shown, not kept)...
    qtbot.waitUntil(lambda: bool(runs), timeout=TIMEOUT_MS)
    assert not runs[-1].keep and runs[-1].hints[0] != first and hints_of(window)[0] == first
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    assert runs[-1].keep and runs[-1].hints[0] != first  # ...and the drop is the change that is kept
    moved = hints_of(window)[0]
    assert (int(moved.x * 320), int(moved.y * 240)) == (130, 80) and moved.color == first.color

    window.hints.recolour(1, "#3d5a7d")
    # Right-click removes the point under the cursor; Delete removes the selected one, not the photo.
    click(qtbot, window, screen_pos(view, 200, 150), Qt.MouseButton.RightButton)
    assert hints_of(window) == (moved,)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=screen_pos(view, 130, 80))  # selects it
    window.hints.popover.close()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert hints_of(window) == () and window.controller.model.rowCount() == 1

    undo, redo = window.actions.undo, window.actions.redo
    undo.trigger()
    assert hints_of(window) == (moved,)
    undo.trigger()
    assert hints_of(window) == (moved, second.recoloured("#3d5a7d"))
    undo.trigger()
    assert hints_of(window) == (moved, second)
    undo.trigger()
    assert hints_of(window) == (first, second)
    redo.trigger()
    assert hints_of(window) == (moved, second)
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert hints_of(window) == (first, second)
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert hints_of(window) == (moved, second)

    window.actions.clear_hints.trigger()
    assert hints_of(window) == ()
    assert "0" not in window.controller.model.data(window.controller.model.index(0, 0))
    undo.trigger()
    assert hints_of(window) == (moved, second)
    # The queue row says how many hints the photo has.
    assert "2 colour hints" in window.controller.model.data(window.controller.model.index(0, 0))


def test_hints_survive_a_restart_and_a_damaged_hints_entry_is_dropped_with_its_reason(
    qtbot, make_window, run_batch, photo_dir: Path, tmp_path: Path
) -> None:
    window = ready(qtbot, make_window, run_batch, [photo_dir / "colour.jpg", photo_dir / "grey.png"])
    click(qtbot, window, screen_pos(window.compare, 60, 60))
    placed = hints_of(window)
    window.close()

    again = make_window()
    assert hints_of(again) == placed and hints_of(again, 1) == ()
    assert again.hints.recent == [], "a colour nobody chose became a recent one"
    again.hints.recolour(0, GRASS)
    again.close()
    assert make_window().hints.recent == [GRASS]  # the popover's recent colours are remembered too
    again.close()

    bad = QueueStore(tmp_path / "appdata").load().items[1]
    data = bad.to_dict() | {"hints": [{"x": 1.5, "y": 0.2, "color": "#123456"}]}
    with sqlite3.connect(tmp_path / "appdata" / "queue.sqlite") as db:
        db.execute("UPDATE items SET data = ? WHERE id = ?", (json.dumps(data), bad.id))
    reloaded = QueueStore(tmp_path / "appdata").load()
    assert [i.name for i in reloaded.items] == ["colour.jpg"]
    assert reloaded.items[0].hints == (placed[0].recoloured(GRASS),)
    assert "grey.png" in reloaded.dropped[0] and "outside 0..1" in reloaded.dropped[0]


def test_a_newer_change_cancels_the_run_for_the_older_one(
    qtbot, make_window, run_batch, spy_model, photo_dir: Path
) -> None:
    window = ready(qtbot, make_window, run_batch, [photo_dir / "colour.jpg"])
    view = window.compare
    results = []
    window.controller.worker.hintRendered.connect(lambda result: results.append(result.hints))
    spy = spy_model(window)
    spy.hold()
    click(qtbot, window, screen_pos(view, 50, 50))
    assert spy.entered.wait(TIMEOUT_MS / 1000), "the model was not re-run for the new hint"
    older = window.controller._hint_jobs[window.controller.model.item_at(0).id]
    click(qtbot, window, screen_pos(view, 250, 180))
    assert older.cancel.cancelled, "the run for the older hints was not cancelled"
    renders = window.hint_renders
    spy.release()
    wait_for_new_colour(qtbot, window, renders)
    assert len(hints_of(window)) == 2
    assert results and all(len(hints) == 2 for hints in results), "an outdated result was shown"


def test_copy_hints_to_selected_photos_as_one_undo_step(qtbot, make_window, run_batch, photo_dir: Path) -> None:
    window = ready(qtbot, make_window, run_batch, [photo_dir / "colour.jpg", photo_dir / "grey.png",
                                                   photo_dir / "sepia.jpg"])
    click(qtbot, window, screen_pos(window.compare, 60, 60))
    window.hints.recolour(0, GRASS)
    placed = hints_of(window)
    window.queue_view.selectAll()
    assert window.actions.copy_hints.isEnabled()
    window.actions.copy_hints.trigger()
    assert [hints_of(window, row) for row in range(3)] == [placed] * 3
    qtbot.waitUntil(lambda: all(sidecar_path(p).exists() for p in (photo_dir / "grey.png", photo_dir / "sepia.jpg")),
                    timeout=TIMEOUT_MS)

    # Each photo is re-coloured with them: copying to several does not cancel one photo's run for another's.
    def green_at_hint(row: int) -> bool:
        ab = np.load(window.controller.model.item_at(row).ab_file).astype(np.float32)
        return float(ab[int(placed[0].y * ab.shape[0]), int(placed[0].x * ab.shape[1]), 0]) < -10

    qtbot.waitUntil(lambda: all(green_at_hint(row) for row in range(3)), timeout=TIMEOUT_MS)
    window.actions.undo.trigger()
    assert [hints_of(window, row) for row in range(3)] == [placed, (), ()]


def test_hint_tool_is_off_without_a_model_that_can_use_hints(qtbot, make_window, photo_dir: Path) -> None:
    window = make_window()
    info = window.controller.model_info
    assert info.accepts_hints and not info.takes_hints  # the stand-in: hints propagate over its colour
    assert window.actions.hint_tool.isEnabled()
    window.actions.hint_tool.setChecked(True)
    window.controller._on_model_loaded(dataclasses.replace(info, accepts_hints=False, name="nohints"))
    assert not window.actions.hint_tool.isEnabled() and not window.actions.hint_tool.isChecked()
    assert "does not take colour hints" in window.actions.hint_tool.toolTip()
    assert not window.hint_button.isEnabled()


def test_sidecars_are_read_on_add_and_an_unreadable_one_is_kept_until_the_user_agrees(
    qtbot, make_window, run_batch, photo_dir: Path, monkeypatch
) -> None:
    good, bad = photo_dir / "colour.jpg", photo_dir / "grey.png"
    sidecar_path(good).write_text('{"version": 1, "points": [{"x": 0.5, "y": 0.25, "color": "#A63"}]}')
    sidecar_path(bad).write_text('{"version": 1, "points": [{"x": 0.5}]}')
    bad_bytes = sidecar_path(bad).read_bytes()
    asked = []
    monkeypatch.setattr(dialogs, "confirm_replace_hint_file",
                        lambda parent, name, reason, on_yes: asked.append((name, reason, on_yes)))

    window = ready(qtbot, make_window, run_batch, [good, bad])
    assert hints_of(window) == (HintPoint(0.5, 0.25, "#aa6633"),)
    item = window.controller.model.item_at(1)
    assert item.hints == () and "no \"y\"" in item.hint_note
    window.select_row(1)
    qtbot.waitUntil(lambda: window.compare.after is not None, timeout=TIMEOUT_MS)
    assert "Hint file not used" in window.hint_label.text()

    click(qtbot, window, screen_pos(window.compare, 20, 20))
    qtbot.waitUntil(lambda: bool(asked), timeout=TIMEOUT_MS)
    assert asked[0][0] == "grey.png" and sidecar_path(bad).read_bytes() == bad_bytes  # untouched
    asked[0][2]()  # the user says Replace
    qtbot.waitUntil(lambda: sidecar_path(bad).read_bytes() != bad_bytes, timeout=TIMEOUT_MS)
    assert len(read_sidecar(sidecar_path(bad))) == 1

    # Clearing writes an empty list of points: the file stays.
    window.actions.clear_hints.trigger()
    qtbot.waitUntil(lambda: read_sidecar(sidecar_path(bad)) == [], timeout=TIMEOUT_MS)


def test_a_photo_in_a_folder_that_is_not_writable_keeps_its_hints_in_the_app_data(
    qtbot, make_window, run_batch, photo_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import errno

    from engine import atomic_file

    locked = tmp_path / "locked"
    locked.mkdir()
    photo = locked / "scan.png"
    Image.open(photo_dir / "grey.png").save(photo)
    locked.chmod(0o555)
    real_create = atomic_file._create_temp

    def refuse(folder: Path, name: str, mode: int):  # what the kernel says to a user without write permission
        if Path(folder) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))
        return real_create(folder, name, mode)

    monkeypatch.setattr(atomic_file, "_create_temp", refuse)
    try:
        window = ready(qtbot, make_window, run_batch, [photo])
        click(qtbot, window, screen_pos(window.compare, 30, 30))
        qtbot.waitUntil(lambda: "not writable" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)
        saved = list((tmp_path / "appdata" / "hints").rglob("scan.png.hints.json"))
        assert len(saved) == 1 and str(saved[0]) in window.statusBar().currentMessage()
        assert not sidecar_path(photo).exists()
        placed = hints_of(window)
        window.controller.remove([window.controller.model.item_at(0).id])
        window.add_paths([photo])  # added again: the hints come back from the app's copy
        assert hints_of(window) == placed
    finally:
        locked.chmod(0o755)


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_sidecar_write_is_atomic_and_never_deletes(tmp_path: Path) -> None:
    from desktop.hint_sidecar_sync import write_sidecar

    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    assert write_sidecar(photo, (), tmp_path / "data") is None and not sidecar_path(photo).exists()
    written = write_sidecar(photo, (HintPoint(0.1, 0.2, "#112233"),), tmp_path / "data")
    assert written.path == sidecar_path(photo) and not written.fallback
    assert write_sidecar(photo, (), tmp_path / "data").path == sidecar_path(photo)
    assert read_sidecar(sidecar_path(photo)) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.jpg.hints.json"]  # no temp files left


def test_a_batch_and_a_rerun_at_another_render_size_use_the_sidecar_hints(
    qtbot, make_window, run_batch, photo_dir: Path
) -> None:
    photo = photo_dir / "colour.jpg"
    sidecar_path(photo).write_text(json.dumps({"version": 1, "points": [{"x": 0.3, "y": 0.3, "color": GRASS}]}))
    window = ready(qtbot, make_window, run_batch, [photo])
    item = window.controller.model.item_at(0)

    def a_at_hint() -> tuple[float, tuple[int, ...]]:
        ab = np.load(item.ab_file).astype(np.float32)
        return float(ab[int(0.3 * ab.shape[0]), int(0.3 * ab.shape[1]), 0]), ab.shape

    value, shape = a_at_hint()
    assert value < -10 and max(shape) == 512
    with qtbot.waitSignal(window.controller.itemFinished, timeout=TIMEOUT_MS):
        window.controller.rerun(item.id, 256)
    value, shape = a_at_hint()
    assert value < -10 and max(shape) == 256


def test_eyedropper_picks_a_colour_from_another_photo_in_the_queue(
    qtbot, make_window, run_batch, photo_dir: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.png"
    Image.fromarray(np.full((60, 80, 3), (200, 40, 30), np.uint8)).save(reference)  # a red colour reference
    window = ready(qtbot, make_window, run_batch, [photo_dir / "grey.png", reference])
    click(qtbot, window, screen_pos(window.compare, 40, 40))
    scan = window.controller.model.item_at(0)
    window.hints.start_eyedropper(0, scan.id)
    window.select_row(1)
    qtbot.waitUntil(lambda: window.compare.before is not None and window.compare.before.width() == 80,
                    timeout=TIMEOUT_MS)
    window.compare.set_divider(1.0)  # the reference's original everywhere
    click(qtbot, window, screen_pos(window.compare, 20, 20))
    assert window.selected_id == scan.id, "the hint's photo did not come back"
    picked = QColor(scan.hints[0].color)
    assert abs(picked.red() - 200) < 6 and abs(picked.green() - 40) < 6 and abs(picked.blue() - 30) < 6
    assert window.controller.model.item_at(1).hints == ()


def test_more_colours_opens_the_qt_colour_dialog(qtbot, make_window, run_batch, photo_dir: Path) -> None:
    window = ready(qtbot, make_window, run_batch, [photo_dir / "colour.jpg"])
    click(qtbot, window, screen_pos(window.compare, 40, 40))
    popover = window.hints.show_popover(0, window.compare.mapToGlobal(QPoint(5, 5)))
    qtbot.mouseClick(popover.findChild(QPushButton, "moreColours"), Qt.MouseButton.LeftButton)
    dialog = window.findChild(QColorDialog, "hintColourDialog")
    assert dialog is not None and dialog.isVisible()
    dialog.setCurrentColor(QColor("#123456"))
    dialog.accept()
    assert hints_of(window)[0].color == "#123456"


def test_with_a_model_that_reads_hints_the_hint_lands_on_the_clicked_pixel_of_a_rotated_photo(
    qtbot, make_window, run_batch, tmp_path: Path
) -> None:
    # This model's colour is the sparse hint planes themselves: a*b* only where the engine drew a hint.
    model = build_hint_copy_model(tmp_path / "copy.onnx")
    upright = np.full((200, 120, 3), 40, np.uint8)
    upright[150:161, 20:31] = 250
    photo = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1))).save(photo, quality=95, exif=exif.tobytes())

    window = make_window(model)
    assert window.controller.model_info.takes_hints and window.actions.hint_tool.isEnabled()
    window.add_paths([photo])
    run_batch(window)
    window.select_row(0)
    qtbot.waitUntil(lambda: window.compare.after is not None, timeout=TIMEOUT_MS)
    window.actions.hint_tool.setChecked(True)
    window.compare.set_zoom(2.0)
    click(qtbot, window, screen_pos(window.compare, 25, 155))
    window.hints.recolour(0, "#c83232")
    item = window.controller.model.item_at(0)

    def hinted_pixels() -> np.ndarray:
        ab = np.load(item.ab_file).astype(np.float32)
        return np.argwhere(np.abs(ab[..., 0]) > 1.0), ab.shape

    qtbot.waitUntil(lambda: len(hinted_pixels()[0]) > 0, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.hint_renders > 0 and not window.controller._hint_jobs, timeout=TIMEOUT_MS)
    pixels, shape = hinted_pixels()
    centre_y, centre_x = pixels.mean(axis=0) / np.array(shape[:2])
    assert abs(centre_x * 120 - 25.5) < 2 and abs(centre_y * 200 - 155.5) < 2, "the hint is not on the white mark"
    ab = np.load(item.ab_file).astype(np.float32)
    row, col = pixels[len(pixels) // 2]
    assert np.allclose(ab[row, col], parse_colour("#c83232"), atol=1.0)


@pytest.mark.parametrize(
    ("hints", "reason"),
    [
        ("#ff0000", "not a list"),
        ([{"x": 0.1, "y": 0.1, "color": "red"}], "not an sRGB hex colour"),
        ([{"x": 0.1, "color": "#ff0000"}], 'no "y"'),
        ([{"x": float("nan"), "y": 0.1, "color": "#ff0000"}], "outside 0..1"),
    ],
)
def test_a_saved_entry_with_bad_hints_is_refused_with_the_reason(tmp_path: Path, hints, reason: str) -> None:
    from desktop.queue_model import EntryError, QueueItem

    good = QueueItem(path=tmp_path / "a.jpg", hints=(HintPoint(0.25, 0.5, "#a4633c"),)).to_dict()
    assert QueueItem.from_dict(json.loads(json.dumps(good))).hints == (HintPoint(0.25, 0.5, "#a4633c"),)
    with pytest.raises(EntryError, match="hints") as error:
        QueueItem.from_dict(good | {"hints": hints})
    assert reason in str(error.value)


def test_points_are_drawn_on_the_colour_side_at_one_size_whatever_the_zoom(qtbot) -> None:
    from PySide6.QtCore import QSize

    from desktop.compare_view import CompareView
    from desktop.hints_overlay import HintsOverlay
    from desktop.images import to_qimage

    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    grey = np.full((100, 200, 3), 128, np.uint8)
    view.set_images(to_qimage(grey), to_qimage(grey), QSize(800, 400))
    overlay = HintsOverlay(view)
    overlay.set_points((HintPoint(0.75, 0.5, "#ff00ff"),))

    def magenta_pixels() -> np.ndarray:
        shot = qimage_to_array(view.grab().toImage()).astype(int)
        return (shot[..., 0] > 200) & (shot[..., 1] < 60) & (shot[..., 2] > 200)

    def disc_at(at: QPointF) -> int:
        mask = magenta_pixels()
        x, y = round(at.x()), round(at.y())
        return int(mask[y - 12:y + 13, x - 12:x + 13].sum())

    at = view.widget_points(0.75, 0.5)[0]
    view.set_divider(0.5)
    fitted = disc_at(at)
    assert fitted > 50, "the point is not drawn on the colour side"
    view.set_divider(1.0)  # all original: no points
    assert not magenta_pixels().any()
    view.set_divider(0.5)
    view.set_zoom(2.0, QPointF(at))  # the point stays under the anchor; its disc keeps its size
    assert abs(disc_at(view.widget_points(0.75, 0.5)[0]) - fitted) <= 8

    view.fit()
    view.set_side_by_side(True)
    left, right = view.widget_points(0.75, 0.5)
    assert disc_at(right) > 50 and disc_at(left) == 0
