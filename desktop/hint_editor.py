"""The hint tool: turns what the overlay reports (place, drag, remove, click) into undoable edits of the
shown photo's hints, and offers the colour popover, the Qt colour dialog and the eyedropper.

Every edit goes through :class:`desktop.hint_commands.SetHintsCommand` onto one QUndoStack, whose apply
function is the controller's ``set_hints``: the model re-runs on the engine thread (latest change wins) and
the sidecar is rewritten shortly after. Undo therefore restores the colour and the file as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, QPointF, QTimer, Signal
from PySide6.QtGui import QColor, QUndoStack
from PySide6.QtWidgets import QColorDialog, QWidget

from desktop.batch import BatchController
from desktop.hint_commands import SetHintsCommand, copy_command
from desktop.hint_points import HintPoint, Points, colour_at
from desktop.hint_popover import HintPopover
from desktop.hints_overlay import HintsOverlay
from desktop.queue_model import State
from desktop.settings import AppSettings
from engine.pipeline import Prediction

RECENT_KEPT = 8
DRAG_RUN_MS = 120


class HintEditor(QObject):
    #: Something to tell the user in the status bar.
    message = Signal(str)

    def __init__(self, view, controller: BatchController, prediction: Callable[[], Prediction | None],
                 select: Callable[[str], None], parent: QWidget, settings: AppSettings | None = None) -> None:
        super().__init__(parent)
        self.view, self.controller, self._prediction, self._select = view, controller, prediction, select
        self.parent_widget = parent
        self.overlay = HintsOverlay(view)
        self.undo_stack = QUndoStack(self)
        self.item_id: str | None = None
        self.settings = settings
        self.recent: list[str] = settings.recent_hint_colours if settings is not None else []
        #: When the last edit was made (perf_counter): the window measures click -> new colour from it.
        self.changed_at: float | None = None
        #: The photo and point the eyedropper picks a colour for.
        self._picking: tuple[str, int] | None = None
        self.popover: HintPopover | None = None
        self.overlay.placeRequested.connect(self.add)
        self.overlay.dragFinished.connect(self.move)
        self.overlay.dragged.connect(self._on_dragged)
        #: While a point is dragged the colour follows it, at most one run per interval (each cancels the last).
        self._drag_timer = QTimer(self, singleShot=True, interval=DRAG_RUN_MS)
        self._drag_timer.timeout.connect(self._run_dragged)
        self.overlay.removeRequested.connect(self.remove)
        self.overlay.pointClicked.connect(self.show_popover)
        self.overlay.picked.connect(self._on_picked)
        controller.hintsChanged.connect(self._on_hints_changed)

    # --- the photo on show --------------------------------------------------------------------------
    def set_item(self, item_id: str | None) -> None:
        self.item_id = item_id
        item = self.controller.model.item(item_id) if item_id else None
        self.overlay.selected = None
        self.overlay.set_points(item.hints if item is not None else ())

    def hints(self) -> Points:
        item = self.controller.model.item(self.item_id) if self.item_id else None
        return item.hints if item is not None else ()

    def _on_hints_changed(self, item_id: str) -> None:
        if item_id == self.item_id:
            self.overlay.set_points(self.hints())

    def _push(self, item_id: str, after: Points, text: str) -> None:
        item = self.controller.model.item(item_id)
        if item is None or tuple(after) == item.hints:
            return
        self.undo_stack.push(SetHintsCommand(self._apply, item_id, item.hints, tuple(after), text))

    def _apply(self, item_id: str, hints: Points) -> None:
        """What every command (and its undo) does: the photo gets these hints, and the clock starts for the
        colour that follows."""
        self.changed_at = time.perf_counter()
        self.controller.set_hints(item_id, hints)

    # --- edits --------------------------------------------------------------------------------------
    def add(self, x: float, y: float) -> None:
        """A new point at fractions (x, y), starting with the colour the model gives that spot now."""
        item = self.controller.model.item(self.item_id) if self.item_id else None
        prediction = self._prediction()
        if item is None:
            return
        if item.state != State.DONE or prediction is None:
            self.message.emit("Colorize this photo first (Start, or Re-run), then place colour hints on it")
            return
        colour = colour_at(prediction.lightness, prediction.ab, x, y, item.strength)
        self._push(item.id, item.hints + (HintPoint(x, y, colour),), "Add hint")
        self.overlay.selected = len(item.hints) - 1

    def _on_dragged(self, _index: int, _x: float, _y: float) -> None:
        if not self._drag_timer.isActive():
            self._drag_timer.start()

    def _run_dragged(self) -> None:
        if self.item_id and self.overlay._dragging:
            self.changed_at = time.perf_counter()
            self.controller.request_hint_run(self.item_id, passing=self.overlay.points)

    def move(self, index: int, x: float, y: float) -> None:
        self._drag_timer.stop()
        hints = self.hints()
        if self.item_id and 0 <= index < len(hints):
            moved = hints[:index] + (hints[index].moved(x, y),) + hints[index + 1:]
            if moved == hints:  # dropped where it was: the colour shown mid-drag goes back to the kept one
                self.controller.request_hint_run(self.item_id)
            self._push(self.item_id, moved, "Move hint")

    def recolour(self, index: int, colour: str, item_id: str | None = None) -> None:
        item_id = item_id or self.item_id
        item = self.controller.model.item(item_id) if item_id else None
        if item is None or not 0 <= index < len(item.hints):
            return
        point = item.hints[index].recoloured(colour)
        self._remember(point.color)
        self._push(item.id, item.hints[:index] + (point,) + item.hints[index + 1:], "Change hint colour")

    def remove(self, index: int) -> None:
        hints = self.hints()
        if self.item_id and 0 <= index < len(hints):
            self.overlay.selected = None
            self._push(self.item_id, hints[:index] + hints[index + 1:], "Delete hint")

    def clear(self) -> None:
        """Remove every hint of the photo on show (undoable; its sidecar keeps an empty list of points)."""
        if self.item_id and self.hints():
            self.overlay.selected = None
            self._push(self.item_id, (), "Clear hints")

    def copy_to(self, item_ids: list[str]) -> int:
        """Give the photos ``item_ids`` the hints of the photo on show (a series of similar scans)."""
        source = self.hints()
        targets = {}
        for item_id in item_ids:
            item = self.controller.model.item(item_id)
            if item is not None and item_id != self.item_id and item.hints != source:
                targets[item_id] = item.hints
        if source and targets:
            self.undo_stack.push(copy_command(self._apply, source, targets))
        return len(targets)

    # --- colour choice ------------------------------------------------------------------------------
    def _remember(self, colour: str) -> None:
        if colour in self.recent:
            self.recent.remove(colour)
        self.recent.insert(0, colour)
        del self.recent[RECENT_KEPT:]
        if self.settings is not None:
            self.settings.recent_hint_colours = self.recent

    def show_popover(self, index: int, position: QPoint) -> HintPopover:
        item_id = self.item_id
        popover = HintPopover(self.recent, self.parent_widget)
        popover.colourChosen.connect(lambda colour: self.recolour(index, colour, item_id))
        popover.moreRequested.connect(lambda: self.open_colour_dialog(index, item_id))
        popover.eyedropperRequested.connect(lambda: self.start_eyedropper(index, item_id))
        popover.deleteRequested.connect(lambda: self.remove(index))
        popover.show_at(position)
        self.popover = popover
        return popover

    def open_colour_dialog(self, index: int, item_id: str | None) -> QColorDialog:
        item = self.controller.model.item(item_id) if item_id else None
        hints = item.hints if item is not None else ()
        start = QColor(hints[index].color) if 0 <= index < len(hints) else QColor("gray")
        dialog = QColorDialog(start, self.parent_widget)
        dialog.setObjectName("hintColourDialog")
        dialog.colorSelected.connect(lambda colour: self.recolour(index, colour.name(), item_id))
        dialog.open()  # window-modal, no nested event loop
        return dialog

    def start_eyedropper(self, index: int, item_id: str | None) -> None:
        """The next click on the view picks a colour for this point, from whichever queued photo is on show
        (select a colour reference photo in the queue first); the hint's photo comes back afterwards."""
        if item_id is None:
            return
        self._picking = (item_id, index)
        self.overlay.set_eyedropper(True)
        self.message.emit("Eyedropper: click a colour in any photo (select another photo in the queue to pick from it)")

    def cancel_eyedropper(self) -> None:
        self._picking = None
        self.overlay.set_eyedropper(False)

    def _on_picked(self, position: QPointF) -> None:
        picking, self._picking = self._picking, None
        self.overlay.set_eyedropper(False)
        image = self.view.image_at(position)
        fraction = self.view.fraction_at(position)
        if picking is None or image is None or fraction is None:
            return
        x = min(image.width() - 1, int(fraction.x() * image.width()))
        y = min(image.height() - 1, int(fraction.y() * image.height()))
        colour = QColor(image.pixel(x, y)).name()
        item_id, index = picking
        if item_id != self.item_id:
            self._select(item_id)
        self.recolour(index, colour, item_id)
        self.message.emit(f"Hint colour {colour} picked")
