"""Export options dialog: output folder, format, quality, metadata and naming pattern.

The format defaults to "Same as original", as the CLI does: a transparent PNG stays a transparent PNG and a
16-bit TIFF stays 16-bit. When the chosen format cannot hold what some of the photos have, the dialog says
so before anything is written and offers PNG or TIFF with one click.
"""

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

from desktop.messages import ExportOptions
from desktop.photo_traits import format_losses
from desktop.settings import DEFAULT_PATTERN, SAME_FORMAT, AppSettings

#: (settings value, label). "same" becomes ExportOptions.fmt None: each photo keeps its own writable format.
FORMATS = (
    (SAME_FORMAT, "Same as original"),
    ("jpg", "JPEG (.jpg)"),
    ("png", "PNG (.png)"),
    ("tif", "TIFF (.tif)"),
    ("webp", "WebP (.webp)"),
)
LOSSY = ("jpg", "webp")
_NAMES = {"jpg": "JPEG", "png": "PNG", "tif": "TIFF", "webp": "WebP"}


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


def loss_warning(losses: dict[str, list[Path]], fmt: str, total: int) -> str:
    """One sentence naming what would be lost, or "" when nothing would."""
    if not losses:
        return ""
    parts = []
    if "transparency" in losses:
        n = len(losses["transparency"])
        parts.append(f"{_count(n, total)} transparency, which {_NAMES[fmt]} cannot keep (it turns opaque)")
    if "16-bit" in losses:
        n = len(losses["16-bit"])
        parts.append(f"{_count(n, total)} 16 bits a channel, which {_NAMES[fmt]} cuts to 8")
    return "; ".join(parts) + "."


def _count(n: int, total: int) -> str:
    if total == 1:
        return "This photo has"
    return f"{n} of these {total} photos have" if n != 1 else f"1 of these {total} photos has"


class ExportDialog(QDialog):
    def __init__(
        self,
        settings: AppSettings,
        count: int,
        default_dir: Path | None,
        parent: QWidget | None = None,
        photos: list[Path] | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle(f"Export {count} colour photo{'s' if count != 1 else ''}")
        self.settings = settings
        self.photos = list(photos or [])
        self._losses: dict[str, dict[str, list[Path]]] = {}  # per format, computed once
        self.folder = QLineEdit(settings.last_output_dir or (str(default_dir) if default_dir else ""))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.format = QComboBox()
        self.format.setObjectName("exportFormat")
        for value, label in FORMATS:
            self.format.addItem(label, value)
        index = self.format.findData(settings.output_format)
        self.format.setCurrentIndex(max(0, index))
        self.quality = QSpinBox(minimum=1, maximum=100, value=settings.quality, suffix=" %")
        self.keep_metadata = QCheckBox("Keep metadata (EXIF) and note the colorization in it")
        self.keep_metadata.setChecked(settings.keep_metadata)
        self.pattern = QLineEdit(settings.naming_pattern)
        self.pattern.setPlaceholderText(DEFAULT_PATTERN)
        self.example = QLabel()

        self.warning = QLabel()
        self.warning.setObjectName("formatWarning")
        self.warning.setWordWrap(True)
        self.use_png = QPushButton("Use PNG")
        self.use_tiff = QPushButton("Use TIFF")
        self.use_png.clicked.connect(lambda: self.set_format("png"))
        self.use_tiff.clicked.connect(lambda: self.set_format("tif"))
        self.warning_row = QWidget()
        warning_layout = QHBoxLayout(self.warning_row)
        warning_layout.setContentsMargins(0, 0, 0, 0)
        warning_layout.addWidget(self.warning, 1)
        warning_layout.addWidget(self.use_png)
        warning_layout.addWidget(self.use_tiff)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout(self)
        form.addRow("Output folder", folder_row)
        form.addRow("Format", self.format)
        form.addRow("", self.warning_row)
        form.addRow("Quality", self.quality)
        form.addRow("", self.keep_metadata)
        form.addRow("File names", self.pattern)
        form.addRow("", self.example)
        form.addRow(self.buttons)
        for signal in (self.folder.textChanged, self.pattern.textChanged, self.format.currentIndexChanged):
            signal.connect(self._validate)
        self._validate()

    def fmt(self) -> str:
        """The chosen format's settings value: "same", "jpg", "png", "tif" or "webp"."""
        return self.format.currentData()

    def set_format(self, value: str) -> None:
        self.format.setCurrentIndex(self.format.findData(value))

    def losses(self) -> dict[str, list[Path]]:
        """What the chosen format would lose, per kind, for the photos being exported."""
        fmt = self.fmt()
        if fmt not in self._losses:
            self._losses[fmt] = format_losses(self.photos, None if fmt == SAME_FORMAT else fmt)
        return self._losses[fmt]

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _validate(self) -> None:
        fmt = self.fmt()
        self.quality.setEnabled(fmt in LOSSY or fmt == SAME_FORMAT)
        text = loss_warning(self.losses(), fmt, len(self.photos)) if fmt != SAME_FORMAT else ""
        self.warning.setText(f"<span style='color:#b7862d'>⚠ {text} Use PNG or TIFF to keep it.</span>" if text else "")
        self.warning_row.setVisible(bool(text))
        problem = pattern_error(self.pattern.text() or DEFAULT_PATTERN)
        if not self.folder.text().strip():
            problem = problem or "choose an output folder"
        if problem:
            self.example.setText(f"<span style='color:#d0433b'>{problem}</span>")
        else:
            name = (self.pattern.text() or DEFAULT_PATTERN).format(stem="photo")
            if fmt == SAME_FORMAT:
                example = f"e.g. photo.tif → {name}.tif, photo.jpg → {name}.jpg (never overwrites)"
            else:
                example = f"e.g. photo.jpg → {name}.{fmt} (never overwrites)"
            self.example.setText(example)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(problem is None)

    def options(self) -> ExportOptions:
        fmt = self.fmt()
        return ExportOptions(
            out_dir=Path(self.folder.text().strip()).expanduser(),
            fmt=None if fmt == SAME_FORMAT else fmt,  # the engine keeps each photo's own format
            quality=self.quality.value(),
            keep_metadata=self.keep_metadata.isChecked(),
            pattern=self.pattern.text() or DEFAULT_PATTERN,
        )

    def remember(self) -> None:
        options = self.options()
        self.settings.last_output_dir = str(options.out_dir)
        self.settings.output_format = self.fmt()
        self.settings.quality = options.quality
        self.settings.keep_metadata = options.keep_metadata
        self.settings.naming_pattern = options.pattern
