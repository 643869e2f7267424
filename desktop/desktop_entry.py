"""Linux desktop integration: a ``.desktop`` file (menu entry, "Open with Rechroma" for photos) and the icon.

``rechroma --install-desktop-file`` writes both into the user's XDG data folder, with ``Exec`` pointing at the
``rechroma`` being run (a pip install's script or a bundle's executable), so no root and no copy of the app.
With ``StartupWMClass``/``setDesktopFileName`` the taskbar matches the window to the entry and shows its icon.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from engine import __version__
from engine.resources import icons_dir

APP_ID = "rechroma"  # the .desktop file's name, the icon's name and QGuiApplication.desktopFileName()

#: What the app opens (engine.photo_io.SUPPORTED_SUFFIXES), as MIME types for "Open with".
MIME_TYPES = (
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/bmp",
    "image/x-bmp",
    "image/x-ms-bmp",
    "image/webp",
    "image/gif",
)


def launcher_command() -> list[str]:
    """How to start this very Rechroma: the frozen executable, the ``rechroma`` script beside this Python,
    or ``python -m desktop.app`` from a source checkout."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    script = Path(sys.executable).with_name("rechroma")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("rechroma")
    if found:
        return [str(Path(found).resolve())]
    return [str(Path(sys.executable).resolve()), "-m", "desktop.app"]


def desktop_entry(command: list[str]) -> str:
    """The ``.desktop`` file text (freedesktop Desktop Entry Specification 1.5)."""
    exec_line = " ".join(_quote_exec(part) for part in command) + " %F"
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.5",
            "Name=Rechroma",
            "GenericName=Photo Colorizer",
            "Comment=Colorize black-and-white photographs, offline",
            f"Exec={exec_line}",
            f"TryExec={command[0]}",
            f"Icon={APP_ID}",
            "Terminal=false",
            "Categories=Graphics;Photography;Qt;",
            "Keywords=colorize;colourise;black and white;photo;restore;",
            f"MimeType={';'.join(MIME_TYPES)};",
            f"StartupWMClass={APP_ID}",
            "StartupNotify=true",
            f"X-Rechroma-Version={__version__}",
            "",
        ]
    )


def _quote_exec(arg: str) -> str:
    """Quote one Exec argument as the spec asks (double quotes; escape ``"`, `` ` ``, ``$`` and ``\\``)."""
    if arg and all(c.isalnum() or c in "/._-+,:=@" for c in arg):
        return arg.replace("%", "%%")
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return '"' + escaped.replace("%", "%%") + '"'


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def install(target: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the entry and the icons under ``target`` (default ``$XDG_DATA_HOME``); returns the files written.

    Desktop environments pick up new entries themselves; ``update-desktop-database`` (when present) refreshes
    the "Open with" cache at once."""
    root = Path(target) if target is not None else data_home()
    written = []
    entry = root / "applications" / f"{APP_ID}.desktop"
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(desktop_entry(command or launcher_command()), encoding="utf-8")
    written.append(entry)
    for name, folder in (("rechroma.svg", "scalable"), ("rechroma.png", "256x256")):
        source = icons_dir() / name
        if source.is_file():
            icon = root / "icons" / "hicolor" / folder / "apps" / f"{APP_ID}{source.suffix}"
            icon.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, icon)
            written.append(icon)
    refresh = shutil.which("update-desktop-database")
    if refresh:
        os.spawnv(os.P_WAIT, refresh, [refresh, "-q", str(entry.parent)])
    return written


def main() -> int:
    """``rechroma --install-desktop-file``: install, and say what was written and how to undo it."""
    files = install()
    for path in files:
        print(f"wrote {path}")
    print("Rechroma is now in the applications menu and in \"Open with\" for photos.")
    print("To remove it: rm " + " ".join(shlex.quote(str(p)) for p in files))
    return 0
