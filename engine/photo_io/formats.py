"""The photo suffixes read and the formats written: plain constants, importable without numpy, OpenCV or
Pillow, so that argument parsers and folder scans start fast."""

from __future__ import annotations

#: Input file suffixes offered in file dialogs and picked up from folders (content decides the decoder).
SUPPORTED_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".bmp", ".dib", ".webp", ".gif"}
)
#: Output format names (also the file suffix written).
OUTPUT_FORMATS = frozenset({"jpg", "png", "tif", "webp"})
