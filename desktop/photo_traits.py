"""What a photo holds that an export format may not keep: transparency and 16-bit depth.

Read from the file's header only (Pillow opens lazily), so the export dialog can check a whole queue before
anything is written. The engine decides the same things when it decodes; this is the cheap advance notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

#: Formats that keep an alpha channel, and those that keep 16 bits a channel (see engine.photo_io.write_photo).
KEEPS_ALPHA = frozenset({"png", "tif", "webp"})
KEEPS_16_BIT = frozenset({"png", "tif"})
_GREY16_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


@dataclass(frozen=True)
class PhotoTraits:
    alpha: bool = False
    deep: bool = False  # more than 8 bits a channel


def photo_traits(path: Path) -> PhotoTraits:
    """Transparency and bit depth from the header; an unreadable file holds nothing to lose (its export fails
    with its own reason anyway)."""
    try:
        with Image.open(path) as im:
            alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
            deep = im.mode in _GREY16_MODES or any(";16" in _rawmode(tile) for tile in im.tile)
    except Exception:  # noqa: BLE001 - any header problem means "nothing known"
        return PhotoTraits()
    return PhotoTraits(alpha=alpha, deep=deep)


def _rawmode(tile) -> str:
    args = tile[3] if len(tile) > 3 else None
    rawmode = args if isinstance(args, str) else (args[0] if isinstance(args, tuple) and args else "")
    return rawmode if isinstance(rawmode, str) else ""


def own_format(path: Path) -> str:
    """The format "Same as original" writes for ``path``: its own when writable, else PNG (as the CLI)."""
    suffix = path.suffix.lower().lstrip(".")
    suffix = {"jpeg": "jpg", "tiff": "tif"}.get(suffix, suffix)
    return suffix if suffix in ("jpg", "png", "tif", "webp") else "png"


def format_losses(paths: list[Path], fmt: str | None) -> dict[str, list[Path]]:
    """Which photos would lose what in ``fmt`` (None: each its own format): {"transparency": [...], "16-bit": [...]}."""
    losses: dict[str, list[Path]] = {"transparency": [], "16-bit": []}
    for path in paths:
        target = fmt or own_format(path)
        if target in KEEPS_ALPHA and target in KEEPS_16_BIT:
            continue
        traits = photo_traits(path)
        if traits.alpha and target not in KEEPS_ALPHA:
            losses["transparency"].append(path)
        if traits.deep and target not in KEEPS_16_BIT:
            losses["16-bit"].append(path)
    return {kind: found for kind, found in losses.items() if found}
