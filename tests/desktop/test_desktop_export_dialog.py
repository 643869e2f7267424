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
    assert dialog.fmt() == "same" and dialog.options().fmt is None  # each photo keeps its own format
    assert dialog.keep_metadata.isChecked()

    dialog.pattern.setText("no-stem")
    assert not save.isEnabled() and "{stem}" in dialog.example.text()
    dialog.pattern.setText("{stem}-colour")
    dialog.set_format("png")
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


def photos_with_alpha_and_16_bit(folder: Path) -> dict[str, Path]:
    """A transparent PNG, a 16-bit TIFF and a plain JPEG, written by the engine itself."""
    import numpy as np

    from engine.photo_io import write_photo

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    deep = rng.integers(0, 65535, (24, 32, 3), dtype=np.uint16)
    plain = (deep >> 8).astype(np.uint8)
    alpha = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (24, 1))
    return {
        "alpha": write_photo(folder / "cut-out.png", plain, alpha=alpha),
        "deep": write_photo(folder / "scan.tif", deep),
        "plain": write_photo(folder / "plain.jpg", plain),
    }


def test_format_that_cannot_hold_alpha_or_16_bit_warns_and_offers_png_or_tiff(qtbot, tmp_path: Path) -> None:
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    photos = photos_with_alpha_and_16_bit(tmp_path / "photos")
    dialog = ExportDialog(settings, 3, tmp_path, photos=list(photos.values()))
    qtbot.addWidget(dialog)
    dialog.show()

    assert dialog.warning_row.isHidden()  # "Same as original" keeps everything
    dialog.set_format("jpg")
    assert dialog.warning_row.isVisible()
    text = dialog.warning.text()
    assert "1 of these 3 photos has transparency" in text and "16 bits" in text and "JPEG" in text
    assert dialog.losses() == {"transparency": [photos["alpha"]], "16-bit": [photos["deep"]]}

    dialog.set_format("webp")  # WebP keeps alpha but not 16 bits
    assert "transparency" not in dialog.warning.text() and "16 bits" in dialog.warning.text()

    dialog.use_tiff.click()
    assert dialog.fmt() == "tif" and dialog.options().fmt == "tif" and dialog.warning_row.isHidden()
    dialog.set_format("jpg")
    dialog.use_png.click()
    assert dialog.fmt() == "png" and dialog.warning_row.isHidden()

    only_plain = ExportDialog(settings, 1, tmp_path, photos=[photos["plain"]])
    qtbot.addWidget(only_plain)
    only_plain.set_format("jpg")
    assert only_plain.losses() == {} and only_plain.warning_row.isHidden()
