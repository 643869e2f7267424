"""The command layer: every user command is one QAction with its text, shortcut and tooltip.

The main window only connects these to the controller and the view, so menus, toolbar buttons and
keyboard shortcuts can never disagree about what a command does.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QWidget

Std = QKeySequence.StandardKey


@dataclass
class Actions:
    open_files: QAction
    open_folder: QAction
    open_model: QAction
    export_selected: QAction
    export_all: QAction
    quit: QAction
    start: QAction
    pause: QAction
    resume: QAction
    cancel_current: QAction
    cancel_all: QAction
    retry_failed: QAction
    remove: QAction
    clear_finished: QAction
    rerun: QAction
    fit: QAction
    zoom_100: QAction
    side_by_side: QAction
    toggle_before: QAction
    apply_strength_to_all: QAction
    undo: QAction
    redo: QAction
    hint_tool: QAction
    clear_hints: QAction
    copy_hints: QAction
    preferences: QAction
    shortcuts: QAction
    model_card: QAction
    about: QAction

    def all(self) -> list[QAction]:
        return [getattr(self, f.name) for f in fields(self)]

    def layout(self, names: tuple[str | None, ...]) -> list[QAction | None]:
        """The actions named in a layout such as :data:`TOOLBAR`, with its separators (None) kept."""
        return [None if name is None else getattr(self, name) for name in names]


#: The menu bar: each menu's title and its actions by name, None for a separator.
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("open_files", "open_folder", None, "open_model", None, "export_selected", "export_all", None, "quit")),
    (
        "&Batch",
        (
            "start",
            "pause",
            "resume",
            None,
            "cancel_current",
            "cancel_all",
            "retry_failed",
            None,
            "rerun",
            "remove",
            "clear_finished",
        ),
    ),
    (
        "&Edit",
        ("undo", "redo", None, "hint_tool", "clear_hints", "copy_hints", None, "apply_strength_to_all", None,
         "preferences"),
    ),
    ("&View", ("fit", "zoom_100", "side_by_side", "toggle_before")),
    ("&Help", ("shortcuts", None, "model_card", "about")),
)

#: The main toolbar, in the same form.
TOOLBAR: tuple[str | None, ...] = (
    "open_files",
    "open_folder",
    None,
    "start",
    "pause",
    "resume",
    "cancel_current",
    "cancel_all",
    "retry_failed",
    "remove",
    "clear_finished",
    None,
    "export_selected",
    "export_all",
    None,
    "hint_tool",
    "undo",
    "redo",
)


def _action(parent: QWidget, text: str, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    tip = tip or text.replace("&", "").rstrip("…")
    if shortcut is not None:
        tip += f" ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.setCheckable(checkable)
    return action


_ICONS = {
    "open_files": "SP_DialogOpenButton",
    "open_folder": "SP_DirOpenIcon",
    "export_selected": "SP_DialogSaveButton",
    "export_all": "SP_DriveHDIcon",
    "start": "SP_MediaPlay",
    "pause": "SP_MediaPause",
    "resume": "SP_MediaSeekForward",
    "cancel_current": "SP_MediaStop",
    "cancel_all": "SP_BrowserStop",
    "retry_failed": "SP_BrowserReload",
    "remove": "SP_TrashIcon",
    "clear_finished": "SP_DialogResetButton",
    "rerun": "SP_BrowserReload",
    "about": "SP_MessageBoxInformation",
    "undo": "SP_ArrowBack",
    "redo": "SP_ArrowForward",
}


def create_actions(parent: QWidget) -> Actions:
    actions = _create(parent)
    style = parent.style()
    for name, pixmap in _ICONS.items():  # the platform style's own icons: no image files to ship
        getattr(actions, name).setIcon(style.standardIcon(getattr(QStyle.StandardPixmap, pixmap)))
    return actions


def _create(parent: QWidget) -> Actions:
    return Actions(
        open_files=_action(parent, "&Open photos…", Std.Open, "Add photos to the queue"),
        open_folder=_action(parent, "Open &folder…", "Ctrl+Shift+O", "Add a folder (and its subfolders)"),
        open_model=_action(parent, "Open &model…", None, "Use another colorization model (.onnx)"),
        export_selected=_action(parent, "&Export selected…", "Ctrl+E", "Save the selected colour photos"),
        export_all=_action(parent, "Export &all…", "Ctrl+Shift+E", "Save every finished colour photo"),
        quit=_action(parent, "&Quit", Std.Quit),
        start=_action(parent, "&Start", "Ctrl+R", "Colorize the queued photos"),
        pause=_action(parent, "&Pause", "Ctrl+P", "Pause after the photos in progress"),
        resume=_action(parent, "Res&ume", "Ctrl+Shift+R", "Continue a paused batch"),
        cancel_current=_action(parent, "&Cancel photo", "Esc", "Stop the photos in progress"),
        cancel_all=_action(parent, "Cancel a&ll", "Ctrl+Shift+Esc", "Stop the batch"),
        retry_failed=_action(parent, "Re&try failed", "Ctrl+T", "Queue failed and cancelled photos again"),
        remove=_action(parent, "Re&move", Std.Delete, "Remove the selected photos from the queue"),
        clear_finished=_action(
            parent, "Clear &finished", "Ctrl+Shift+Del", "Remove colorized, failed and cancelled photos from the queue"
        ),
        rerun=_action(parent, "Re-&run", "Ctrl+Shift+U", "Colorize the selected photos again at this render size"),
        fit=_action(parent, "&Fit", "F", "Fit the photo in the view"),
        zoom_100=_action(parent, "&100 %", "1", "Show the photo at 100 %"),
        side_by_side=_action(parent, "&Side by side", "S", "Original and colour side by side", checkable=True),
        toggle_before=_action(parent, "&Before/after", "Space", "Toggle between original and colour"),
        apply_strength_to_all=_action(parent, "Apply to &all", None, "Use this colour strength for every photo"),
        undo=_action(parent, "&Undo", "Ctrl+Z", "Undo the last hint change"),
        redo=_action(parent, "&Redo", "Ctrl+Shift+Z", "Redo the hint change just undone"),
        hint_tool=_action(
            parent, "Colour &hints", "H", "Place colour hints: click the photo where you know the colour",
            checkable=True,
        ),
        clear_hints=_action(parent, "C&lear hints", None, "Remove every colour hint of this photo"),
        copy_hints=_action(
            parent, "Cop&y hints to selected", None, "Give the other selected photos this photo's colour hints"
        ),
        preferences=_action(parent, "&Preferences…", "Ctrl+,", "What new photos start with: strength, render size"),
        shortcuts=_action(parent, "&Keyboard shortcuts", "F1", "Every key and mouse gesture the app knows"),
        model_card=_action(parent, "About the &model…", None, "What the model was trained on and how good it is"),
        about=_action(parent, "&About Rechroma", None),
    )
