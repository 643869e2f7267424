"""What the app remembers between runs (QSettings): folders, output options, strength, sizes, geometry.

One typed wrapper so the rest of the code never spells keys or converts QSettings' strings itself: each
setting is one line of the field table in :class:`AppSettings` (key, default, type, and how a stored value
is cleaned on the way in and out). Tests pass their own ``QSettings(ini_path, IniFormat)`` so nothing leaks
into the user's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QByteArray, QSettings

from engine.devices import DEVICES
from engine.naming import DEFAULT_PATTERN

ORGANISATION = "Rechroma"
APPLICATION = "Rechroma"

#: Export format meaning "each photo keeps its own format when Rechroma can write it, else PNG".
SAME_FORMAT = "same"

T = TypeVar("T")


class Field(Generic[T]):
    """One remembered value: its QSettings key and default; a stored value that cannot be read as
    ``kind`` gives the default, and ``clean`` bounds what was read (a hand-edited file cannot break the app)."""

    def __init__(
        self,
        key: str,
        default: T,
        kind: type,
        *,
        clean: Callable[[Any], T] | None = None,
        store: Callable[[T], Any] | None = None,
    ) -> None:
        self.key, self.default, self.kind = key, default, kind
        self.clean, self.store = clean, store

    def __get__(self, settings: AppSettings, owner: type | None = None) -> T:
        stored_default = self.store(self.default) if self.store is not None else self.default
        value = settings._get(self.key, stored_default, self.kind)
        return self.clean(value) if self.clean is not None else value

    def __set__(self, settings: AppSettings, value: T) -> None:
        settings._set(self.key, self.store(value) if self.store is not None else value)


class BytesField(Field[QByteArray | None]):
    """A Qt blob (window geometry and state); None when none was saved."""

    def __init__(self, key: str) -> None:
        super().__init__(key, None, QByteArray)

    def __get__(self, settings: AppSettings, owner: type | None = None) -> QByteArray | None:
        value = settings.q.value(self.key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None


def _recent_colours(text: str) -> list[str]:
    return [c for c in text.split(",") if len(c) == 7 and c.startswith("#")][:8]


class AppSettings:
    # folders -----------------------------------------------------------------------------------------
    last_open_dir = Field("folders/open", "", str)
    last_output_dir = Field("folders/output", "", str)

    # output options ----------------------------------------------------------------------------------
    #: "same" (each photo keeps its own format, as the CLI does) or jpg/png/tif/webp. A new key: the old
    #: "export/format" held "jpg" for everyone who once pressed Save with the old default, which would keep
    #: turning transparent PNGs and 16-bit TIFFs into JPEGs.
    output_format = Field("export/output_format", SAME_FORMAT, str)
    quality = Field("export/quality", 92, int, clean=lambda v: min(100, max(1, v)), store=int)
    keep_metadata = Field("export/keep_metadata", True, bool, store=bool)
    naming_pattern = Field("export/pattern", DEFAULT_PATTERN, str, clean=lambda v: v or DEFAULT_PATTERN)

    # colorizing (Preferences: what new photos start with; each photo then keeps its own) --------------
    #: Default strength of photos added from now on; the slider changes only the selected photos.
    strength_percent = Field("preferences/strength", 100, int, clean=lambda v: min(200, max(0, v)), store=int)
    #: Default render size of photos without their own; 0 means the model's own (native) size.
    render_size = Field("preferences/render_size", 0, int, clean=lambda v: max(0, v), store=int)
    device = Field("engine/device", "auto", str, clean=lambda v: v if v in DEVICES else "auto")
    model_path = Field("engine/model_path", "", str)

    # colour hints ------------------------------------------------------------------------------------
    #: The colours last given to hints, newest first (the popover's Recent row).
    recent_hint_colours: Field[list[str]] = Field("hints/recent", [], str, clean=_recent_colours, store=",".join)

    # window ------------------------------------------------------------------------------------------
    geometry = BytesField("window/geometry")
    window_state = BytesField("window/state")

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)

    def _get(self, key: str, default: Any, kind: type) -> Any:
        value = self.q.value(key, default)
        if value is None:
            return default
        try:
            if kind is bool:
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _set(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()
