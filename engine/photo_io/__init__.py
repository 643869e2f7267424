"""The engine's file layer: reading and writing photos faithfully (decode -> pixels -> encode).

One module a job: ``read`` (decoders, ``read_photo`` / ``write_photo``), ``write`` (encoders and the atomic
publish through engine.atomic_file), ``meta`` (EXIF, ICC, PNG chunks), ``icc`` (16-bit ICC conversion),
``tiff`` (deep and odd TIFFs through tifffile), ``quiet`` (libjpeg's warnings off the terminal) and
``errors`` (the one PhotoError). Callers import the public names from here.
"""

from __future__ import annotations

from engine.photo_io.errors import PhotoError, PhotoExistsError
from engine.photo_io.read import (
    DEFAULT_MAX_PIXELS,
    SUPPORTED_SUFFIXES,
    Photo,
    made_by_rechroma,
    read_photo,
    read_preview,
    same_file,
    write_photo,
)
from engine.photo_io.write import OUTPUT_FORMATS

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
