"""The right side of the main window: the before/after view with its view buttons above, and below it the
colour strength, render size and device of the selected photos."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.actions import Actions
from desktop.compare_view import CompareView
from desktop.preferences_dialog import render_size_spin
from desktop.settings import DEVICES


class ComparePanel(QWidget):
    """Widgets only, set from the saved settings; the window connects them to the controller."""

    def __init__(
        self, actions: Actions, *, strength_percent: int, render_size: int, device: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.compare = CompareView()
        self.compare.setObjectName("compareView")
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setObjectName("strengthSlider")
        self.strength.setRange(0, 200)
        self.strength.setSingleStep(5)
        self.strength.setPageStep(25)
        self.strength.setValue(strength_percent)
        self.strength.setToolTip(
            "Colour strength of the selected photos: 0 % keeps them grey, 100 % is the model's colour"
        )
        self.strength_label = QLabel(f"{self.strength.value()} %")
        self.strength_label.setMinimumWidth(48)
        apply_all = QToolButton()
        apply_all.setDefaultAction(actions.apply_strength_to_all)

        self.render_size = render_size_spin(None)
        self.render_size.setObjectName("renderSize")
        self.render_size.setValue(render_size)
        self.render_size.setToolTip(
            "Long side at which the model runs for the selected photos; Re-run to use it. "
            "New photos take the size set in Preferences"
        )
        self.render_size_warning = QLabel()
        self.render_size_warning.setObjectName("renderSizeWarning")
        self.render_size_warning.setWordWrap(True)
        self.render_size_warning.hide()
        rerun = QToolButton()
        rerun.setDefaultAction(actions.rerun)
        rerun.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

        self.device = QComboBox()
        self.device.setObjectName("deviceCombo")
        for name in DEVICES:
            self.device.addItem(name.upper() if name != "auto" else "Auto", name)
        self.device.setCurrentIndex(DEVICES.index(device))
        self.device_label = QLabel("loading model…")

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Colour"))
        controls.addWidget(self.strength, 1)
        controls.addWidget(self.strength_label)
        controls.addWidget(apply_all)
        engine_row = QHBoxLayout()
        engine_row.addWidget(QLabel("Render size"))
        engine_row.addWidget(self.render_size)
        engine_row.addWidget(rerun)
        engine_row.addSpacing(16)
        engine_row.addWidget(QLabel("Device"))
        engine_row.addWidget(self.device)
        engine_row.addWidget(self.device_label)
        engine_row.addStretch(1)
        warning_row = QHBoxLayout()
        warning_row.addWidget(self.render_size_warning, 1)

        self.zoom_label = QLabel("")
        view_bar = QHBoxLayout()
        for action in (actions.fit, actions.zoom_100, actions.side_by_side, actions.toggle_before):
            button = QToolButton()
            button.setDefaultAction(action)
            view_bar.addWidget(button)
        view_bar.addWidget(self.zoom_label)
        view_bar.addSpacing(12)
        self.hint_button = QToolButton()
        self.hint_button.setObjectName("hintToolButton")
        self.hint_button.setDefaultAction(actions.hint_tool)
        view_bar.addWidget(self.hint_button)
        self.hint_label = QLabel("")
        self.hint_label.setObjectName("hintLabel")
        view_bar.addWidget(self.hint_label)
        view_bar.addStretch(1)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(actions.export_selected.trigger)
        view_bar.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 6, 6)
        layout.addLayout(view_bar)
        layout.addWidget(self.compare, 1)
        layout.addLayout(controls)
        layout.addLayout(engine_row)
        layout.addLayout(warning_row)
