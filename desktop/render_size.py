"""How far a render size may stray from the size the model was trained for before colours go wrong.

The generator learned colour at one scale: run far below it, a photo's objects are too small to recognise and
everything drifts to a sepia cast (``--render-size 64``); far above, each receptive field sees a patch of
texture instead of an object, and rainbow blotches appear (2048). Such sizes stay allowed, with a warning.
"""

from __future__ import annotations

#: Sizes within [LOW, HIGH] x the model's native render size are what it was trained for.
LOW, HIGH = 0.5, 2.0


def render_size_warning(size: int | None, native: int) -> str | None:
    """A one-line warning for a render size far from ``native``, else None (0/None means the native size)."""
    if not size or native <= 0:
        return None
    if size < LOW * native:
        return (f"{size} px is far below the {native} px this model was trained for: "
                "colours may come out flat or sepia")
    if size > HIGH * native:
        return (f"{size} px is far above the {native} px this model was trained for: "
                "colours may break into blotches, and it is slower")
    return None
