"""Before/after view: the original and the colour version painted from two QImages.

A custom QWidget rather than a QGraphicsScene because both halves must share one zoom/pan exactly and the
divider clips one image against the other; that is a few painter calls, where a scene would need two
synchronised views. Zoom is expressed relative to the *original* photo's pixels (100 % = one photo pixel per
screen pixel), even though the images painted are the preview-size renders.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_ZOOM, MAX_ZOOM = 0.02, 16.0
DIVIDER_GRAB_PX = 8
#: Side of one checkerboard square (screen pixels) behind transparent areas, and its two greys.
CHECKER_PX = 8
CHECKER_LIGHT, CHECKER_DARK = QColor("#cfcfcf"), QColor("#9a9a9a")


class Overlay(Protocol):
    """What the view paints over its images (the colour hints)."""

    def paint(self, painter: QPainter) -> None: ...


def checkerboard_brush(square: int = CHECKER_PX) -> QBrush:
    """The usual image-viewer checkerboard, so transparent areas read as transparent, not as black."""
    tile = QPixmap(2 * square, 2 * square)
    tile.fill(CHECKER_LIGHT)
    painter = QPainter(tile)
    painter.fillRect(0, 0, square, square, CHECKER_DARK)
    painter.fillRect(square, square, square, square, CHECKER_DARK)
    painter.end()
    return QBrush(tile)


class CompareView(QWidget):
    zoomChanged = Signal(float)  # zoom relative to the original photo (1.0 = 100 %)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 150)
        self.before: QImage | None = None
        self.after: QImage | None = None
        self.original_size = QSize()
        self.message = "Add photos with File → Open, or drop them here"
        self.side_by_side = False
        self.show_before_only = False
        self.divider = 0.5  # fraction of the viewport width
        self._scale = 1.0  # screen pixels per preview pixel
        self._center = QPointF()  # preview point shown at the centre of each viewport
        self._fit = True
        self._drag: str | None = None
        self._drag_origin = QPointF()
        self._drag_center = QPointF()
        self._checker: QBrush | None = None  # built on first use (a QPixmap needs the application)
        #: Painted over the images (the colour hints): any object with ``paint(painter)``.
        self.overlay: Overlay | None = None

    # --- content ------------------------------------------------------------------------------------
    def set_images(self, before: QImage | None, after: QImage | None, original_size: QSize | None = None) -> None:
        """Show a new photo; zoom and pan are kept if it has the same size (e.g. a strength change)."""
        same_size = self.before is not None and before is not None and before.size() == self.before.size()
        self.before, self.after = before, after
        self.original_size = original_size or (before.size() if before is not None else QSize())
        if not same_size or self._fit:
            self.fit()
        self.update()

    def set_after(self, after: QImage | None) -> None:
        """Replace only the colour image (live strength): no re-layout."""
        self.after = after
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.before = self.after = None
        self.update()

    # --- zoom/pan commands --------------------------------------------------------------------------
    def zoom(self) -> float:
        if self.before is None or self.original_size.width() <= 0:
            return 1.0
        return self._scale * self.before.width() / self.original_size.width()

    def fit(self) -> None:
        self._fit = True
        if self.before is None:
            return
        viewport = self._viewports()[0]
        image = QSize(self.before.size())
        self._scale = max(1e-3, min(viewport.width() / image.width(), viewport.height() / image.height()))
        self._center = QPointF(image.width() / 2, image.height() / 2)
        self.zoomChanged.emit(self.zoom())
        self.update()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom (relative to the original) keeping the image point under ``anchor`` (widget coords) still."""
        if self.before is None:
            return
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        per_original = self.before.width() / max(1, self.original_size.width())
        new_scale = zoom / per_original
        if anchor is not None:
            viewport = self._viewport_at(anchor)
            image_point = self._to_image(anchor, viewport)
            self._scale = new_scale
            offset = anchor - viewport.center()
            self._center = image_point - offset / self._scale
        else:
            self._scale = new_scale
        self._fit = False
        self.zoomChanged.emit(self.zoom())
        self.update()

    def zoom_100(self) -> None:
        self.set_zoom(1.0)

    def set_side_by_side(self, enabled: bool) -> None:
        self.side_by_side = enabled
        if self._fit:
            self.fit()
        self.update()

    def toggle_before(self) -> None:
        self.show_before_only = not self.show_before_only
        self.update()

    # --- geometry -----------------------------------------------------------------------------------
    def _viewports(self) -> list[QRectF]:
        full = QRectF(self.rect())
        if not self.side_by_side:
            return [full]
        half = (full.width() - 4) / 2
        return [QRectF(0, 0, half, full.height()), QRectF(half + 4, 0, half, full.height())]

    def _viewport_at(self, point: QPointF) -> QRectF:
        for viewport in self._viewports():
            if viewport.contains(point):
                return viewport
        return self._viewports()[0]

    def _image_rect(self, viewport: QRectF) -> QRectF:
        assert self.before is not None
        width, height = self.before.width() * self._scale, self.before.height() * self._scale
        top_left = viewport.center() - self._center * self._scale
        return QRectF(top_left.x(), top_left.y(), width, height)

    def _to_image(self, point: QPointF, viewport: QRectF) -> QPointF:
        return self._center + (point - viewport.center()) / self._scale

    def divider_x(self) -> float:
        return self.rect().width() * self.divider

    def fraction_at(self, point: QPointF) -> QPointF | None:
        """Where ``point`` (widget coordinates) falls in the photo, as fractions of its width and height (of
        the upright photo, whatever the zoom and pan); None when it is off the photo."""
        if self.before is None:
            return None
        rect = self._image_rect(self._viewport_at(point))
        fx, fy = (point.x() - rect.left()) / rect.width(), (point.y() - rect.top()) / rect.height()
        return QPointF(fx, fy) if 0.0 <= fx <= 1.0 and 0.0 <= fy <= 1.0 else None

    def widget_points(self, fx: float, fy: float) -> list[QPointF]:
        """The photo point at fractions (fx, fy) in widget coordinates, once per viewport."""
        if self.before is None:
            return []
        points = []
        for viewport in self._viewports():
            rect = self._image_rect(viewport)
            points.append(QPointF(rect.left() + fx * rect.width(), rect.top() + fy * rect.height()))
        return points

    def colour_areas(self) -> list[QRectF]:
        """Where the colour version is on screen: right of the divider, or the right half side by side."""
        if self.before is None or self.after is None or self.show_before_only:
            return []
        if self.side_by_side:
            return [self._viewports()[1]]
        full = self._viewports()[0]
        x = self.divider_x()
        return [QRectF(x, full.top(), full.width() - x, full.height())]

    def image_at(self, point: QPointF) -> QImage | None:
        """The image shown under ``point``: the colour one on its side of the divider, else the original."""
        if self.before is None:
            return None
        if any(area.contains(point) for area in self.colour_areas()):
            return self.after
        return self.before

    # --- painting -----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        self._paint_images(painter)
        if self.overlay is not None and self.before is not None:
            self.overlay.paint(painter)
        painter.end()

    def _paint_images(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), QColor("#1e1f22"))
        if self.before is None:
            painter.setPen(QColor("#9aa0a6"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._scale < 2.0)
        after = self.after if self.after is not None and not self.show_before_only else None
        if self.side_by_side:
            left, right = self._viewports()
            self._paint_in(painter, left, self.before, "Original")
            self._paint_in(painter, right, after or self.before, "Colour" if after else "Original")
            return
        full = self._viewports()[0]
        if after is None:
            self._paint_in(painter, full, self.before, "Original")
            return
        x = self.divider_x()
        self._paint_in(painter, QRectF(full.left(), full.top(), x, full.height()), self.before, "", full)
        self._paint_in(painter, QRectF(x, full.top(), full.width() - x, full.height()), after, "", full)
        painter.setPen(QPen(QColor(255, 255, 255, 220), 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, full.height()))
        handle = QRectF(x - 7, full.center().y() - 18, 14, 36)
        painter.setBrush(QColor(255, 255, 255, 230))
        painter.setPen(QPen(QColor(0, 0, 0, 90), 1))
        painter.drawRoundedRect(handle, 5, 5)
        shown = self._image_rect(full).intersected(full)
        self._label(painter, shown.topLeft() + QPointF(10, 10), "Original")
        self._label(painter, shown.topRight() + QPointF(-10, 10), "Colour", right=True)

    def _paint_in(
        self, painter: QPainter, clip: QRectF, image: QImage, label: str, viewport: QRectF | None = None
    ) -> None:
        painter.save()
        painter.setClipRect(clip)
        target = self._image_rect(viewport or clip)
        if image.hasAlphaChannel():
            if self._checker is None:
                self._checker = checkerboard_brush()
            painter.setBrushOrigin(target.topLeft())  # the squares move with the photo when panning
            painter.fillRect(target, self._checker)
        painter.drawImage(target, image)
        painter.restore()
        if label:
            shown = self._image_rect(viewport or clip).intersected(clip)
            self._label(painter, shown.topLeft() + QPointF(10, 10), label)

    def _label(self, painter: QPainter, at: QPointF, text: str, right: bool = False) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        width, height = metrics.horizontalAdvance(text) + 14, metrics.height() + 6
        box = QRectF(at.x() - width if right else at.x(), at.y(), width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 140))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # --- mouse --------------------------------------------------------------------------------------
    def _near_divider(self, x: float) -> bool:
        return (
            self.before is not None
            and self.after is not None
            and not self.side_by_side
            and not self.show_before_only
            and abs(x - self.divider_x()) <= DIVIDER_GRAB_PX
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.before is None:
            return super().mousePressEvent(event)
        position = event.position()
        if self._near_divider(position.x()):
            self._drag = "divider"
        else:
            self._drag = "pan"
            self._drag_origin, self._drag_center = position, QPointF(self._center)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        if self._drag == "divider":
            self.set_divider(position.x() / max(1, self.width()))
        elif self._drag == "pan":
            self._center = self._drag_center - (position - self._drag_origin) / self._scale
            self._fit = False
            self.update()
        elif self._near_divider(position.x()):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            self.setCursor(Qt.CursorShape.OpenHandCursor if self.before is not None else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._fit:
            self.set_zoom(1.0, event.position())
        else:
            self.fit()

    def set_divider(self, fraction: float) -> None:
        self.divider = min(1.0, max(0.0, fraction))
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom() * (1.25**steps), event.position())

    def resizeEvent(self, event) -> None:
        if self._fit:
            self.fit()
        super().resizeEvent(event)
