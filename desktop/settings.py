"""What the app remembers between runs (QSettings): folders, output options, strength, sizes, geometry.

One typed wrapper so the rest of the code never spells keys or converts QSettings' strings itself.
Tests pass their own ``QSettings(ini_path, IniFormat)`` so nothing leaks into the user's settings.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORGANISATION = "Rechroma"
APPLICATION = "Rechroma"

DEVICES = ("auto", "cpu", "cuda")
DEFAULT_PATTERN = "{stem}_color"
#: Export format meaning "each photo keeps its own format when Rechroma can write it, else PNG".
SAME_FORMAT = "same"


class AppSettings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)

    def _get(self, key: str, default, kind: type):
        value = self.q.value(key, default)
        if value is None:
            return default
        try:
            if kind is bool:
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()

    # folders -----------------------------------------------------------------------------------------
    @property
    def last_open_dir(self) -> str:
        return self._get("folders/open", "", str)

    @last_open_dir.setter
    def last_open_dir(self, value: str) -> None:
        self._set("folders/open", value)

    @property
    def last_output_dir(self) -> str:
        return self._get("folders/output", "", str)

    @last_output_dir.setter
    def last_output_dir(self, value: str) -> None:
        self._set("folders/output", value)

    # output options ----------------------------------------------------------------------------------
    @property
    def output_format(self) -> str:
        """"same" (each photo keeps its own format, as the CLI does) or jpg/png/tif/webp.

        A new key: the old "export/format" held "jpg" for everyone who once pressed Save with the old default,
        which would keep turning transparent PNGs and 16-bit TIFFs into JPEGs."""
        return self._get("export/output_format", SAME_FORMAT, str)

    @output_format.setter
    def output_format(self, value: str) -> None:
        self._set("export/output_format", value)

    @property
    def quality(self) -> int:
        return min(100, max(1, self._get("export/quality", 92, int)))

    @quality.setter
    def quality(self, value: int) -> None:
        self._set("export/quality", int(value))

    @property
    def keep_metadata(self) -> bool:
        return self._get("export/keep_metadata", True, bool)

    @keep_metadata.setter
    def keep_metadata(self, value: bool) -> None:
        self._set("export/keep_metadata", bool(value))

    @property
    def naming_pattern(self) -> str:
        return self._get("export/pattern", DEFAULT_PATTERN, str) or DEFAULT_PATTERN

    @naming_pattern.setter
    def naming_pattern(self, value: str) -> None:
        self._set("export/pattern", value)

    # colorizing (Preferences: what new photos start with; each photo then keeps its own) --------------
    @property
    def strength_percent(self) -> int:
        """Default strength of photos added from now on; the slider changes only the selected photos."""
        return min(200, max(0, self._get("preferences/strength", 100, int)))

    @strength_percent.setter
    def strength_percent(self, value: int) -> None:
        self._set("preferences/strength", int(value))

    @property
    def render_size(self) -> int:
        """Default render size of photos without their own; 0 means the model's own (native) size."""
        return max(0, self._get("preferences/render_size", 0, int))

    @render_size.setter
    def render_size(self, value: int) -> None:
        self._set("preferences/render_size", int(value))

    @property
    def device(self) -> str:
        value = self._get("engine/device", "auto", str)
        return value if value in DEVICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self._set("engine/device", value)

    @property
    def model_path(self) -> str:
        return self._get("engine/model_path", "", str)

    @model_path.setter
    def model_path(self, value: str) -> None:
        self._set("engine/model_path", value)

    # colour hints ------------------------------------------------------------------------------------
    @property
    def recent_hint_colours(self) -> list[str]:
        """The colours last given to hints, newest first (the popover's Recent row)."""
        text = self._get("hints/recent", "", str)
        return [c for c in text.split(",") if len(c) == 7 and c.startswith("#")][:8]

    @recent_hint_colours.setter
    def recent_hint_colours(self, value: list[str]) -> None:
        self._set("hints/recent", ",".join(value))

    # window ------------------------------------------------------------------------------------------
    @property
    def geometry(self) -> QByteArray | None:
        value = self.q.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._set("window/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        value = self.q.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self._set("window/state", value)
