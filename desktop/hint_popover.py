"""The colour popover of one hint: recent colours, swatches for what family albums hold, More… and the
eyedropper. It only offers colours; the hint editor applies the choice as an undoable command."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

#: What old photos are full of, as sRGB; skin tones light to dark first. Only a*b* reach the engine, so
#: each swatch is a hue and a saturation, and the photo keeps its own lightness.
ALBUM_SWATCHES: tuple[tuple[str, str], ...] = (
    ("Skin, very light", "#f3d6c4"),
    ("Skin, light", "#e8bd9c"),
    ("Skin, medium light", "#d5a07a"),
    ("Skin, medium", "#b98360"),
    ("Skin, medium dark", "#946546"),
    ("Skin, dark", "#6b4630"),
    ("Skin, very dark", "#45301f"),
    ("Sky", "#8db3d9"),
    ("Foliage", "#4d6a38"),
    ("Grass", "#6e9140"),
    ("Brick", "#9a4b34"),
    ("Denim", "#3d5a7d"),
    ("Khaki", "#b4a078"),
    ("Wood", "#8a5e3b"),
    ("White clothing", "#efebe2"),
    ("Black clothing", "#2b2a2c"),
)
RECENT_SHOWN = 8
SWATCH_PX = 22


def _swatch(colour: str, tip: str, parent: QWidget) -> QToolButton:
    button = QToolButton(parent)
    button.setObjectName(f"swatch {colour}")
    button.setFixedSize(SWATCH_PX, SWATCH_PX)
    button.setToolTip(f"{tip} ({colour})" if tip else colour)
    button.setStyleSheet(f"QToolButton {{ background: {colour}; border: 1px solid #555; border-radius: 3px; }}")
    return button


class HintPopover(QFrame):
    colourChosen = Signal(str)
    moreRequested = Signal()
    eyedropperRequested = Signal()
    deleteRequested = Signal()

    def __init__(self, recent: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("hintPopover")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        if recent:
            layout.addWidget(QLabel("Recent"))
            row = QHBoxLayout()
            for colour in recent[:RECENT_SHOWN]:
                row.addWidget(self._connected(_swatch(colour, "Recent", self), colour))
            row.addStretch(1)
            layout.addLayout(row)
        layout.addWidget(QLabel("Album colours"))
        grid = QGridLayout()
        grid.setSpacing(3)
        for n, (name, colour) in enumerate(ALBUM_SWATCHES):
            grid.addWidget(self._connected(_swatch(colour, name, self), colour), n // 8, n % 8)
        layout.addLayout(grid)
        buttons = QHBoxLayout()
        for text, signal, name in (
            ("More…", self.moreRequested, "moreColours"),
            ("Eyedropper", self.eyedropperRequested, "eyedropper"),
            ("Delete", self.deleteRequested, "deleteHint"),
        ):
            button = QPushButton(text, self)
            button.setObjectName(name)
            button.clicked.connect(signal.emit)
            button.clicked.connect(self.close)
            buttons.addWidget(button)
        layout.addLayout(buttons)

    def _connected(self, button: QToolButton, colour: str) -> QToolButton:
        def choose() -> None:
            self.colourChosen.emit(colour)
            self.close()

        button.clicked.connect(choose)
        return button

    def show_at(self, position: QPoint) -> None:
        self.adjustSize()
        self.move(position + QPoint(12, 12))
        self.show()
