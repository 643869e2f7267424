"""The engine's file layer: reading and writing photos faithfully (decode -> pixels -> encode).

One module a job: ``read`` (decoders, ``read_photo`` / ``write_photo``), ``write`` (encoders and the atomic
publish through engine.atomic_file), ``meta`` (EXIF, ICC, PNG chunks), ``icc`` (16-bit ICC conversion),
``tiff`` (deep and odd TIFFs through tifffile), ``quiet`` (libjpeg's warnings off the terminal), ``formats``
(the suffixes read and formats written) and ``errors`` (the one PhotoError). Callers import the public names
from here.

The decoders (numpy, OpenCV, Pillow) load on the first use of a name that needs them, not with the package:
the CLI's argument parser and folder scan use only the formats and errors, and start in a fraction of the time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.photo_io.errors import PhotoError, PhotoExistsError
from engine.photo_io.formats import OUTPUT_FORMATS, SUPPORTED_SUFFIXES

if TYPE_CHECKING:
    from engine.photo_io.read import (
        DEFAULT_MAX_PIXELS,
        Photo,
        made_by_rechroma,
        read_photo,
        read_preview,
        same_file,
        write_photo,
    )

_FROM_READ = frozenset(
    {"DEFAULT_MAX_PIXELS", "Photo", "made_by_rechroma", "read_photo", "read_preview", "same_file", "write_photo"}
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "OUTPUT_FORMATS",
    "SUPPORTED_SUFFIXES",
    "Photo",
    "PhotoError",
    "PhotoExistsError",
    "made_by_rechroma",
    "read_photo",
    "read_preview",
    "same_file",
    "write_photo",
]


def __getattr__(name: str) -> Any:
    """The decoding names, imported on first use (PEP 562); a plain import statement, so bundlers see it."""
    if name in _FROM_READ:
        from engine.photo_io import read  # noqa: PLC0415 - lazily, see the module docstring

        value = getattr(read, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
