"""The settings field table: the QSettings keys stay the ones earlier versions wrote, and a hand-edited or
damaged value reads back as something usable."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from desktop.settings import AppSettings

#: Every setting with its key (as written by earlier versions) and a value to store.
KEYS = {
    "last_open_dir": ("folders/open", "/photos"),
    "last_output_dir": ("folders/output", "/out"),
    "output_format": ("export/output_format", "png"),
    "quality": ("export/quality", 80),
    "keep_metadata": ("export/keep_metadata", False),
    "naming_pattern": ("export/pattern", "{stem}-c"),
    "strength_percent": ("preferences/strength", 150),
    "render_size": ("preferences/render_size", 768),
    "device": ("engine/device", "cpu"),
    "model_path": ("engine/model_path", "/m.onnx"),
    "recent_hint_colours": ("hints/recent", ["#aa6633", "#102030"]),
}


def ini(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def test_defaults_on_a_fresh_file(tmp_path: Path):
    settings = AppSettings(ini(tmp_path))
    assert (settings.output_format, settings.quality, settings.keep_metadata) == ("same", 92, True)
    assert (settings.naming_pattern, settings.strength_percent, settings.render_size) == ("{stem}_color", 100, 0)
    assert (settings.device, settings.model_path, settings.recent_hint_colours) == ("auto", "", [])
    assert settings.geometry is None and settings.window_state is None


def test_every_setting_round_trips_under_its_old_key(tmp_path: Path):
    settings = AppSettings(ini(tmp_path))
    for name, (_key, value) in KEYS.items():
        setattr(settings, name, value)
    settings.geometry = QByteArray(b"geo")
    settings.sync()
    again = AppSettings(ini(tmp_path))
    for name, (key, value) in KEYS.items():
        assert getattr(again, name) == value, name
        assert again.q.contains(key), key
    assert again.q.value("hints/recent") == "#aa6633,#102030"
    assert again.geometry == QByteArray(b"geo") and again.q.contains("window/geometry")


def test_damaged_values_read_back_as_usable_ones(tmp_path: Path):
    q = ini(tmp_path)
    for key, value in (
        ("export/quality", "500"),
        ("preferences/strength", "-4"),
        ("preferences/render_size", "lots"),
        ("engine/device", "tpu"),
        ("export/pattern", ""),
        ("export/keep_metadata", "no"),
        ("hints/recent", "red,#12345,#abcdef"),
        ("window/state", "not bytes"),
    ):
        q.setValue(key, value)
    settings = AppSettings(q)
    assert (settings.quality, settings.strength_percent, settings.render_size) == (100, 0, 0)
    assert (settings.device, settings.naming_pattern, settings.keep_metadata) == ("auto", "{stem}_color", False)
    assert settings.recent_hint_colours == ["#abcdef"] and settings.window_state is None
