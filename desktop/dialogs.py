"""Message boxes. Errors open window-modal but *non-blocking* (``QMessageBox.open``) so a batch keeps running
behind them and tests can find and close them; only the quit confirmation must block for an answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.messages import ModelInfo
from engine import __version__


def show_error(parent: QWidget, title: str, text: str, details: str = "") -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if details:
        box.setDetailedText(details)
    box.open()
    return box


def show_model_error(parent: QWidget, title: str, message: str) -> QMessageBox:
    return show_error(
        parent,
        title,
        f"{message}\n\nThe app stays open: choose a model with File → Open model…",
    )


def confirm_quit_during_batch(parent: QWidget) -> bool:
    answer = QMessageBox.question(
        parent,
        "Quit Rechroma?",
        "Photos are still being colorized. Quit anyway?\n\n"
        "The queue is kept; unfinished photos continue when you start Rechroma again.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def confirm_remove_unexported(
    parent: QWidget, unexported: int, total: int, on_yes: Callable[[], None]
) -> QMessageBox:
    """Ask before removing colorized photos that were never exported (their colour would be lost).

    Window-modal but non-blocking, like the error boxes: ``on_yes`` runs only if the user says Remove."""
    photos = "photo" if unexported == 1 else "photos"
    text = (
        f"{unexported} of the {total} photos to remove {'is' if unexported == 1 else 'are'} colorized but "
        f"not exported yet." if total > 1 else "This photo is colorized but not exported yet."
    )
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Remove colorized photos?",
        f"{text}\n\nRemoving them discards their colour; colorizing them again runs the model again.",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName("confirmRemoveBox")
    remove = box.addButton(f"Remove {unexported} unexported {photos}" if total > 1 else "Remove",
                           QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: on_yes() if button is remove else None)
    box.open()
    return box


def confirm_replace_hint_file(parent: QWidget, name: str, reason: str, on_yes: Callable[[], None]) -> QMessageBox:
    """Ask before the app's hints replace a hint file it could not read (it may be someone's work).

    Non-blocking like the others: ``on_yes`` runs only if the user chooses Replace; until then the file is
    left exactly as it is and the hints live in the app's queue."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Replace the unreadable hint file?",
        f"The colour hint file of {name} could not be read ({reason}).\n\n"
        "Replace it with the hints you are placing now? Until you do, it is left as it is and your hints are "
        "kept in Rechroma's queue only.",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName("confirmReplaceHintsBox")
    replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: on_yes() if button is replace else None)
    box.open()
    return box


#: Keys and gestures that are not QActions (the view's mouse handling and the slider's own keys).
GESTURES = (
    ("Mouse wheel", "Zoom around the cursor"),
    ("Drag", "Pan the photo; drag the white divider to wipe between original and colour"),
    ("Double-click", "Toggle fit / 100 %"),
    ("Click (hint tool on)", "Place a colour hint; drag it to move it, click it for its colours"),
    ("Right-click / Delete on a hint", "Remove the hint"),
    ("Ctrl+A", "Select every photo in the queue"),
    ("← / → on the slider", "Colour strength down / up by 5 %"),
)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(keys, command) for every action that has a shortcut, then the mouse gestures."""
    rows = []
    for action in actions:
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((keys, action.text().replace("&", "").rstrip("…")))
    return rows + list(GESTURES)


def show_shortcuts(parent: QWidget, actions: list[QAction]) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName("shortcutsDialog")
    dialog.setWindowTitle("Keyboard shortcuts")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    rows = shortcut_rows(actions)
    table = QTableWidget(len(rows), 2, dialog)
    table.setObjectName("shortcutsTable")
    table.setHorizontalHeaderLabels(["Key", "Command"])
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for row, (keys, command) in enumerate(rows):
        table.setItem(row, 0, QTableWidgetItem(keys))
        table.setItem(row, 1, QTableWidgetItem(command))
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    return _open_with_close_button(dialog, table, 560, 620)


def about_text(info: ModelInfo | None) -> str:
    if info is None:
        model = "No model loaded."
    else:
        model = (
            f"Model: <b>{info.name}</b> version {info.version}<br>"
            f"File: {info.path.name}<br>Running on: {info.device.upper()}"
        )
    return (
        f"<h3>Rechroma {__version__}</h3>"
        "<p>Colorizes black-and-white photographs offline with a pix2pix generator (ONNX).</p>"
        f"<p>{model}</p>"
    )


def show_about(parent: QWidget, info: ModelInfo | None) -> QMessageBox:
    box = QMessageBox(
        QMessageBox.Icon.Information, "About Rechroma", about_text(info), QMessageBox.StandardButton.Ok, parent
    )
    box.setObjectName("aboutBox")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


#: The card's plain-language section, shown first whatever its place in the file.
SUMMARY_HEADING = "## In short"


def using_it_well(info: ModelInfo) -> str:
    """How to get good colour out of the app: the same for every model, apart from its render size."""
    native = info.default_render_size
    return f"""## Getting good colour
- **Colour strength** (the slider, 0–200 %): 100 % is the model's own colour. The model is cautious: what it
  cannot tell stays near grey. Raise it (130–160 %) for livelier colour, lower it where a colour is wrong.
  The slider changes the selected photos only, never runs the model again, and each photo is exported at its
  own strength. New photos start at the strength set in Edit → Preferences.
- **Render size**: the model looks at each photo at {native} px on the long side, the size it was trained for,
  and its colour is then laid over your photo at full resolution, so every pixel of detail is your photo's.
  Re-run one photo at another size if its colour looks off; below {native // 2} px colours turn flat or sepia,
  above {native * 2} px they break into blotches.
- **What it cannot know**, it cannot guess: the colour of a dress or a car is not in a black-and-white photo.
  Where you know better, lower the strength for that photo rather than trust a confident wrong colour.
- **Colour hints** (H): where you do know a colour, click that spot and pick it; the model re-colours the
  photo around it, following its edges, and the hints are kept beside the photo for the next run.
"""


def model_card_markdown(info: ModelInfo | None) -> str:
    """The model card shipped beside the model (same name, ``.md``), or a note saying there is none.

    Rechroma is meant to be honest about its model: the card's evaluation table, with the photos it does
    worse than grey on, is one click away in the app, not only in the repository. A reader who is not a
    researcher reads first the card's plain summary ("## In short": what it is good at and gets wrong, what
    it was trained on), then how to use strength and render size, and only then the method and tables."""
    if info is None:
        return "# No model loaded\n\nChoose one with File → Open model…"
    card = Path(info.path).with_suffix(".md")
    try:
        text = card.read_text(encoding="utf-8")
    except OSError:
        return (
            f"# {info.name} {info.version}\n\nThis model ({info.path.name}) came without a model card "
            f"(`{card.name}` beside it), so what it was trained on and how well it does are unknown.\n\n"
            + using_it_well(info)
        )
    title, summary, rest = split_card(text)
    return "\n\n".join(part.strip() for part in (title, summary, using_it_well(info), rest) if part.strip()) + "\n"


def split_card(text: str) -> tuple[str, str, str]:
    """(the ``#`` title line, the "In short" section or "", everything else in the card's order)."""
    lines = text.splitlines()
    first = 1 if lines and lines[0].startswith("# ") else 0
    title = lines[0] if first else ""
    headings = [i for i, line in enumerate(lines) if line.startswith("## ")] + [len(lines)]
    summary: list[str] = []
    rest = ["\n".join(lines[first : headings[0]])]
    for start, end in zip(headings[:-1], headings[1:], strict=True):
        section = "\n".join(lines[start:end])
        (summary if lines[start].strip() == SUMMARY_HEADING else rest).append(section)
    return title, "\n\n".join(summary), "\n\n".join(rest)


def show_model_card(parent: QWidget, info: ModelInfo | None) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName("modelCardDialog")
    dialog.setWindowTitle("About the model")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    browser = QTextBrowser(dialog)
    browser.setObjectName("modelCardText")
    browser.setOpenLinks(False)  # relative links point into the source tree, which a packaged app lacks
    browser.setMarkdown(model_card_markdown(info))
    return _open_with_close_button(dialog, browser, 760, 640)


def _open_with_close_button(dialog: QDialog, content: QWidget, width: int, height: int) -> QDialog:
    """Lay out ``content`` above a Close button and open the dialog without blocking (the reference
    dialogs stay beside the window)."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(content)
    layout.addWidget(buttons)
    dialog.resize(width, height)
    dialog.open()
    return dialog
