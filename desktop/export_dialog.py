"""Export options dialog: output folder, format, quality, metadata and naming pattern."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.settings import DEFAULT_PATTERN, AppSettings
from desktop.worker import ExportOptions

FORMATS = ("jpg", "png", "tif", "webp")
LOSSY = ("jpg", "webp")


def pattern_error(pattern: str) -> str | None:
    """Why a naming pattern is unusable, or None. Only ``{stem}`` is known; it must appear."""
    if "{stem}" not in pattern:
        return "the pattern must contain {stem}"
    try:
        name = pattern.format(stem="photo")
    except (KeyError, IndexError, ValueError) as exc:
        return f"bad pattern: {exc}"
    if not name or any(ch in name for ch in '/\\:*?"<>|'):
        return "the pattern makes an invalid file name"
    return None


class ExportDialog(QDialog):
    def __init__(self, settings: AppSettings, count: int, default_dir: Path | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Export {count} colour photo{'s' if count != 1 else ''}")
        self.settings = settings
        self.folder = QLineEdit(settings.last_output_dir or (str(default_dir) if default_dir else ""))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.format = QComboBox()
        self.format.addItems(FORMATS)
        self.format.setCurrentText(settings.output_format if settings.output_format in FORMATS else "jpg")
        self.quality = QSpinBox(minimum=1, maximum=100, value=settings.quality, suffix=" %")
        self.keep_metadata = QCheckBox("Keep metadata (EXIF) and note the colorization in it")
        self.keep_metadata.setChecked(settings.keep_metadata)
        self.pattern = QLineEdit(settings.naming_pattern)
        self.pattern.setPlaceholderText(DEFAULT_PATTERN)
        self.example = QLabel()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout(self)
        form.addRow("Output folder", folder_row)
        form.addRow("Format", self.format)
        form.addRow("Quality", self.quality)
        form.addRow("", self.keep_metadata)
        form.addRow("File names", self.pattern)
        form.addRow("", self.example)
        form.addRow(self.buttons)
        for signal in (self.folder.textChanged, self.pattern.textChanged, self.format.currentTextChanged):
            signal.connect(self._validate)
        self._validate()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _validate(self) -> None:
        self.quality.setEnabled(self.format.currentText() in LOSSY)
        problem = pattern_error(self.pattern.text() or DEFAULT_PATTERN)
        if not self.folder.text().strip():
            problem = problem or "choose an output folder"
        if problem:
            self.example.setText(f"<span style='color:#d0433b'>{problem}</span>")
        else:
            name = (self.pattern.text() or DEFAULT_PATTERN).format(stem="photo")
            self.example.setText(f"e.g. photo.jpg → {name}.{self.format.currentText()} (never overwrites)")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(problem is None)

    def options(self) -> ExportOptions:
        return ExportOptions(
            out_dir=Path(self.folder.text().strip()).expanduser(),
            fmt=self.format.currentText(),
            quality=self.quality.value(),
            keep_metadata=self.keep_metadata.isChecked(),
            pattern=self.pattern.text() or DEFAULT_PATTERN,
        )

    def remember(self) -> None:
        options = self.options()
        self.settings.last_output_dir = str(options.out_dir)
        self.settings.output_format = options.fmt
        self.settings.quality = options.quality
        self.settings.keep_metadata = options.keep_metadata
        self.settings.naming_pattern = options.pattern
