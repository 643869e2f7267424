"""The colour hints drawn over the compare view, and the mouse and keys that place, move and remove them.

An event filter on :class:`desktop.compare_view.CompareView` (which only paints) rather than more modes in
the view: with the hint tool off it lets every event through, so zoom, pan and the divider work as before.
It edits nothing itself: it says what the user asked for by signal, and the hint editor turns that into
undoable commands. Points are fractions of the upright photo, so they stay on their spot at any zoom.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen, QPixmap

from desktop.hint_points import Points

if TYPE_CHECKING:
    from desktop.compare_view import CompareView

#: On-screen radius of a hint's colour disc (screen pixels, the same at every zoom).
RADIUS = 7.0
#: A press this close to a point's centre takes that point.
GRAB_PX = RADIUS + 4
#: A press that moves less than this before release is a click (places a point), more is a pan.
CLICK_SLOP_PX = 4.0


def pixel_centre(position: QPointF) -> QPointF:
    """The centre of the screen pixel under the cursor: what the user points at, never a pixel's edge."""
    return QPointF(math.floor(position.x()) + 0.5, math.floor(position.y()) + 0.5)


#: Side of the square a point is drawn in (logical pixels): the disc, both rings and the selection's growth.
SPRITE_PX = int(2 * (RADIUS + 5)) + 2


def point_sprite(colour: QColor, selected: bool, ratio: float = 1.0) -> QPixmap:
    """A hint as it looks on screen: its colour in a disc, a dark ring inside a light one (one of the two
    contrasts with any photo under it); a selected one is larger."""
    pixmap = QPixmap(round(SPRITE_PX * ratio), round(SPRITE_PX * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    centre = QPointF(SPRITE_PX / 2, SPRITE_PX / 2)
    radius = RADIUS + (2 if selected else 0)
    painter.setBrush(colour)
    painter.setPen(QPen(QColor(0, 0, 0, 220), 1.5))
    painter.drawEllipse(centre, radius, radius)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(255, 255, 255, 235), 2.0 if selected else 1.5))
    painter.drawEllipse(centre, radius + 1.6, radius + 1.6)
    painter.end()
    return pixmap


class HintsOverlay(QObject):
    placeRequested = Signal(float, float)  # fractions of the photo
    dragged = Signal(int, float, float)  # point index, where it is now (while the button is down)
    dragFinished = Signal(int, float, float)
    removeRequested = Signal(int)
    pointClicked = Signal(int, QPoint)  # point index, global position (for the colour popover)
    picked = Signal(QPointF)  # eyedropper: where the user clicked (view coordinates)

    def __init__(self, view: CompareView) -> None:
        super().__init__(view)
        self.view = view
        self.points: Points = ()
        self.active = False
        self.eyedropper = False
        self.selected: int | None = None
        self._press: tuple[QPointF, int | None] | None = None
        self._dragging = False
        self._sprites: dict[tuple, QPixmap] = {}
        view.overlay = self
        view.installEventFilter(self)

    # --- state --------------------------------------------------------------------------------------
    def set_points(self, points: Points) -> None:
        self.points = tuple(points)
        if self.selected is not None and self.selected >= len(self.points):
            self.selected = None
        self.view.update()

    def set_active(self, active: bool) -> None:
        self.active = active
        self._press, self._dragging = None, False
        if active:
            self.view.setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.selected = None
            self.view.unsetCursor()
        self.view.update()

    def set_eyedropper(self, on: bool) -> None:
        self.eyedropper = on
        if on:
            self.view.setCursor(Qt.CursorShape.CrossCursor)
        elif not self.active:
            self.view.unsetCursor()

    def point_at(self, position: QPointF) -> int | None:
        """The point drawn nearest ``position`` within grab distance (the topmost when they overlap)."""
        best, best_distance = None, GRAB_PX
        for index in range(len(self.points) - 1, -1, -1):
            point = self.points[index]
            for at in self.view.widget_points(point.x, point.y):
                distance = (at - position).manhattanLength()
                if distance < best_distance:
                    best, best_distance = index, distance
        return best

    # --- painting -----------------------------------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        areas = self.view.colour_areas()
        if not self.points or not areas:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for area in areas:
            painter.setClipRect(area)
            for index, point in enumerate(self.points):
                for at in self.view.widget_points(point.x, point.y):
                    if area.adjusted(-GRAB_PX, -GRAB_PX, GRAB_PX, GRAB_PX).contains(at):
                        self._paint_point(painter, at, QColor(point.color), index == self.selected)
        painter.restore()

    def _paint_point(self, painter: QPainter, at: QPointF, colour: QColor, selected: bool) -> None:
        ratio = self.view.devicePixelRatioF()
        key = (colour.rgb(), selected, ratio)
        pixmap = self._sprites.get(key)
        if pixmap is None:  # antialiased circles are slow to draw: each look is drawn once, then blitted
            pixmap = self._sprites[key] = point_sprite(colour, selected, ratio)
        half = SPRITE_PX / 2
        painter.drawPixmap(QPointF(at.x() - half, at.y() - half), pixmap)

    # --- input --------------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.view or not (self.active or self.eyedropper) or self.view.before is None:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress:
            return self._press_event(cast(QMouseEvent, event))
        if kind == QEvent.Type.MouseMove:
            return self._move_event(cast(QMouseEvent, event))
        if kind == QEvent.Type.MouseButtonRelease:
            return self._release_event(cast(QMouseEvent, event))
        if kind == QEvent.Type.MouseButtonDblClick and self.active:
            self._press_event(cast(QMouseEvent, event))  # a second click is a second point, not a zoom
            return True
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and self.active:
            return self._key_event(cast(QKeyEvent, event))
        return False

    def _press_event(self, event: QMouseEvent) -> bool:
        position = event.position()
        if self.eyedropper:
            if event.button() == Qt.MouseButton.LeftButton:
                self.picked.emit(position)
            return True
        index = self.point_at(position)
        if event.button() == Qt.MouseButton.RightButton:
            if index is not None:
                self.removeRequested.emit(index)
                return True
            return False
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        self._press, self._dragging = (position, index), False
        if index is not None:
            self.selected = index
            self.view.update()
            return True
        return False  # the view starts a pan (or a divider drag); a release on the spot places a point

    def _move_event(self, event: QMouseEvent) -> bool:
        if self._press is None:
            if self.eyedropper or not self.view._near_divider(event.position().x()):
                self.view.setCursor(Qt.CursorShape.CrossCursor)
                return True
            return False
        origin, index = self._press
        if index is None:
            return False
        if not self._dragging and (event.position() - origin).manhattanLength() < CLICK_SLOP_PX:
            return True
        self._dragging = True
        fraction = self._clamped_fraction(pixel_centre(event.position()))
        self.points = self.points[:index] + (self.points[index].moved(fraction.x(), fraction.y()),) + self.points[
            index + 1:]
        self.dragged.emit(index, fraction.x(), fraction.y())
        self.view.update()
        return True

    def _release_event(self, event: QMouseEvent) -> bool:
        press, self._press = self._press, None
        if press is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        origin, index = press
        position = event.position()
        if index is not None:
            if self._dragging:
                fraction = self._clamped_fraction(pixel_centre(position))
                self.dragFinished.emit(index, fraction.x(), fraction.y())
            else:
                self.pointClicked.emit(index, self.view.mapToGlobal(position.toPoint()))
            self._dragging = False
            return True
        if (position - origin).manhattanLength() < CLICK_SLOP_PX and not self.view._near_divider(origin.x()):
            at = self.view.fraction_at(pixel_centre(position))
            if at is not None:
                self.placeRequested.emit(at.x(), at.y())
        return False  # the view ends its (empty) pan

    def _key_event(self, event: QKeyEvent) -> bool:
        if event.key() not in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) or self.selected is None:
            return False
        if event.type() == QEvent.Type.ShortcutOverride:
            event.accept()  # Delete removes the point, not the photo (the window's Remove shortcut)
            return True
        self.removeRequested.emit(self.selected)
        return True

    def _clamped_fraction(self, position: QPointF) -> QPointF:
        rects = [
            (viewport, self.view._image_rect(viewport)) for viewport in self.view._viewports()
        ]
        viewport, rect = next(((v, r) for v, r in rects if v.contains(position)), rects[0])
        fx = (position.x() - rect.left()) / rect.width()
        fy = (position.y() - rect.top()) / rect.height()
        return QPointF(min(1.0, max(0.0, fx)), min(1.0, max(0.0, fy)))
