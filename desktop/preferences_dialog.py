"""Preferences: what photos added from now on start with (colour strength, render size).

Each photo keeps its own strength and render size once added: changing a preference never changes a photo
already in the queue, and moving the slider for one photo never changes the preference.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QWidget

from desktop.render_size import render_size_warning
from desktop.settings import AppSettings


def render_size_spin(native: int | None) -> QSpinBox:
    """The render size box used by the window and the preferences: 0 reads as the model's own size."""
    spin = QSpinBox()
    spin.setRange(0, 4096)
    spin.setSingleStep(32)
    spin.setSpecialValueText(f"model's own ({native} px)" if native else "model's own")
    spin.setSuffix(" px")
    # Wide enough for the special text once the model is known (the size hint is taken before that).
    spin.setMinimumWidth(spin.fontMetrics().horizontalAdvance("model's own (4096 px)") + 36)
    return spin


class PreferencesDialog(QDialog):
    def __init__(self, settings: AppSettings, native_render_size: int | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.native = native_render_size or 0
        self.strength = QSpinBox(minimum=0, maximum=200, singleStep=5, suffix=" %")
        self.strength.setObjectName("defaultStrength")
        self.strength.setValue(settings.strength_percent)
        self.strength.setToolTip("0 % keeps photos grey, 100 % is the model's colour, 200 % twice as strong")
        self.render_size = render_size_spin(native_render_size)
        self.render_size.setObjectName("defaultRenderSize")
        self.render_size.setValue(settings.render_size)
        self.render_size.setToolTip("Long side at which the model runs for new photos (re-run one to change it)")
        self.warning = QLabel()
        self.warning.setObjectName("renderSizeWarning")
        self.warning.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        form = QFormLayout(self)
        form.addRow(QLabel("New photos start with these; photos already in the queue keep their own."))
        form.addRow("Colour strength", self.strength)
        form.addRow("Render size", self.render_size)
        form.addRow("", self.warning)
        form.addRow(buttons)
        self.render_size.valueChanged.connect(self._validate)
        self._validate()

    def _validate(self) -> None:
        text = render_size_warning(self.render_size.value(), self.native)
        self.warning.setText(f"<span style='color:#b7862d'>⚠ {text}</span>" if text else "")
        self.warning.setVisible(bool(text))

    def accept(self) -> None:
        self.settings.strength_percent = self.strength.value()
        self.settings.render_size = self.render_size.value()
        super().accept()
