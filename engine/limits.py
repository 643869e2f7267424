"""Limits every front end checks its options against, free of numpy and OpenCV so that parsers load fast."""

from __future__ import annotations

#: Colour strength: 0 grey, 1 the model's colour, up to this much more chroma.
MAX_STRENGTH = 2.0
