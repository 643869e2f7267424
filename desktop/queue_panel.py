"""The left side of the main window: the queue table (or, while it is empty, where photos come from), the
notice about the saved queue, and the batch's progress."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QStackedWidget,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.actions import Actions
from desktop.batch import THUMBNAIL_PX
from desktop.notice_bar import NoticeBar
from desktop.queue_model import QueueModel


def size_column_width(view: QTableView) -> int:
    """Room for the widest size text the model gives ("12000×9000" over "1023.9 MB") and the cell margins."""
    metrics = view.fontMetrics()
    widest = max(metrics.horizontalAdvance(text) for text in ("00000×00000", "0000.0 MB"))
    return widest + 2 * view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 12


class QueuePanel(QWidget):
    """Widgets only: the window connects them to the controller."""

    def __init__(self, model: QueueModel, actions: Actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue_view = QTableView()
        self.queue_view.setObjectName("queueView")
        self.queue_view.setModel(model)
        self.queue_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.queue_view.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.queue_view.verticalHeader().setVisible(False)
        self.queue_view.verticalHeader().setDefaultSectionSize(THUMBNAIL_PX + 8)
        self.queue_view.setShowGrid(False)
        self.queue_view.setAlternatingRowColors(True)
        self.queue_view.setWordWrap(False)
        self.queue_view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # "mount…ains.jpg": both ends stay
        self.queue_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.queue_view.horizontalHeader()
        header.setSectionResizeMode(QueueModel.COL_NAME, QHeaderView.ResizeMode.Stretch)
        # The size column is as wide as its widest text can be, not sized to its contents: a resize-to-contents
        # column re-measured ~100 rows (the model's Python data()) before every repaint of a changed row, so
        # each thumbnail or state change in a 50,000-row queue held the event loop for tens of ms, and each
        # finished photo cost the app's batch ~10 ms of the GUI thread.
        header.setSectionResizeMode(QueueModel.COL_SIZE, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(QueueModel.COL_SIZE, size_column_width(self.queue_view))
        header.setSectionResizeMode(QueueModel.COL_STATE, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(QueueModel.COL_STATE, 96)  # "failed: <reason>" is elided; its tooltip has it all

        self.progress = QProgressBar()
        self.progress.setObjectName("batchProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label = QLabel("No photos yet")

        self.queue_stack = QStackedWidget()
        self.queue_stack.addWidget(self._build_placeholder(actions))
        self.queue_stack.addWidget(self.queue_view)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 0, 6)
        self.notice_bar = NoticeBar()  # news about the saved queue (see BatchController.queueNotice)
        layout.addWidget(self.notice_bar)
        layout.addWidget(self.queue_stack, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)

    def _build_placeholder(self, actions: Actions) -> QWidget:
        """What an empty queue shows: where photos come from, with the two Open buttons."""
        placeholder = QWidget()
        placeholder.setObjectName("emptyQueue")
        label = QLabel("Drop photos or folders here")
        label.setObjectName("emptyQueueLabel")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        label.setFont(font)
        hint = QLabel("JPEG, PNG, TIFF, BMP, WebP, GIF; folders include their subfolders")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)
        hint.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.placeholder_buttons: list[QToolButton] = []
        for action in (actions.open_files, actions.open_folder):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            buttons.addWidget(button)
            self.placeholder_buttons.append(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(placeholder)
        layout.addStretch(1)
        layout.addWidget(label)
        layout.addWidget(hint)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addStretch(2)
        return placeholder
