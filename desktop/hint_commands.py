"""Undoable hint edits: every change to a photo's hints (add, move, recolour, delete, clear, copy) is one
QUndoCommand holding the hints before and after, so undo and redo replay exactly what the user saw.

Commands name the photo by its queue id and apply through one function (the controller's ``set_hints``),
so an undo also re-colours the photo and rewrites its sidecar, as the original edit did.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from desktop.hint_points import Points

Apply = Callable[[str, Points], None]


class SetHintsCommand(QUndoCommand):
    """One photo's hints go from ``before`` to ``after``."""

    def __init__(self, apply: Apply, item_id: str, before: Points, after: Points, text: str) -> None:
        super().__init__(text)
        self.apply, self.item_id = apply, item_id
        self.before, self.after = tuple(before), tuple(after)

    def redo(self) -> None:
        self.apply(self.item_id, self.after)

    def undo(self) -> None:
        self.apply(self.item_id, self.before)


def copy_command(apply: Apply, source: Points, targets: dict[str, Points]) -> QUndoCommand:
    """Copy ``source`` to several photos (``targets``: id -> their hints now) as one undo step."""
    text = f"Copy hints to {len(targets)} photo{'s' if len(targets) != 1 else ''}"
    return _Group(text, [SetHintsCommand(apply, item_id, before, source, "") for item_id, before in targets.items()])


class _Group(QUndoCommand):
    """Several photos' changes as one step (children kept in a Python list: PySide's parent/child commands
    would need their Python wrappers kept alive anyway)."""

    def __init__(self, text: str, children: list[SetHintsCommand]) -> None:
        super().__init__(text)
        self.children_commands = children

    def redo(self) -> None:
        for child in self.children_commands:
            child.redo()

    def undo(self) -> None:
        for child in reversed(self.children_commands):
            child.undo()
