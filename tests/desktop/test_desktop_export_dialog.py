"""The export dialog: its options, validation and what it remembers."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox

from desktop.export_dialog import ExportDialog, pattern_error
from desktop.settings import AppSettings


def test_pattern_validation() -> None:
    assert pattern_error("{stem}_color") is None
    assert pattern_error("colour of {stem}") is None
    assert "must contain" in pattern_error("fixed_name")
    assert pattern_error("{stem}_{size}") is not None
    assert pattern_error("{stem}/x") is not None


def test_dialog_builds_options_validates_and_remembers(qtbot, tmp_path: Path) -> None:
    ini = str(tmp_path / "settings.ini")
    settings = AppSettings(QSettings(ini, QSettings.Format.IniFormat))
    dialog = ExportDialog(settings, 3, tmp_path / "photos")
    qtbot.addWidget(dialog)
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert dialog.folder.text() == str(tmp_path / "photos")  # defaults next to the photos
    assert dialog.format.currentText() == "jpg" and dialog.keep_metadata.isChecked()

    dialog.pattern.setText("no-stem")
    assert not save.isEnabled() and "{stem}" in dialog.example.text()
    dialog.pattern.setText("{stem}-colour")
    dialog.format.setCurrentText("png")
    assert save.isEnabled() and not dialog.quality.isEnabled()  # quality only for lossy formats
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.keep_metadata.setChecked(False)
    options = dialog.options()
    assert (options.out_dir, options.fmt, options.pattern, options.keep_metadata) == (
        tmp_path / "out",
        "png",
        "{stem}-colour",
        False,
    )
    dialog.remember()
    settings.sync()

    again = AppSettings(QSettings(ini, QSettings.Format.IniFormat))
    assert (again.last_output_dir, again.output_format, again.naming_pattern, again.keep_metadata) == (
        str(tmp_path / "out"),
        "png",
        "{stem}-colour",
        False,
    )
