"""The menu and toolbar layout (data in desktop.actions): every name is a command, every command is in a menu."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtWidgets import QWidget

from desktop.actions import MENUS, TOOLBAR, Actions, create_actions


def test_every_command_is_in_the_menus_once_and_the_toolbar_names_only_commands(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    actions = create_actions(parent)
    in_menus = [name for _title, names in MENUS for name in names if name is not None]
    assert sorted(in_menus) == sorted(f.name for f in fields(Actions))
    toolbar = [entry for entry in actions.layout(TOOLBAR) if entry is not None]
    assert toolbar and set(toolbar) <= set(actions.all())
    assert actions.layout(("start", None, "pause")) == [actions.start, None, actions.pause]
