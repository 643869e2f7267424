"""Message boxes. Errors open window-modal but *non-blocking* (``QMessageBox.open``) so a batch keeps running
behind them and tests can find and close them; only the quit confirmation must block for an answer."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

from desktop.worker import ModelInfo
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


def model_card_markdown(info: ModelInfo | None) -> str:
    """The model card shipped beside the model (same name, ``.md``), or a note saying there is none.

    Rechroma is meant to be honest about its model: the card's evaluation table, with the photos it does
    worse than grey on, is one click away in the app, not only in the repository."""
    if info is None:
        return "# No model loaded\n\nChoose one with File → Open model…"
    card = Path(info.path).with_suffix(".md")
    try:
        return card.read_text(encoding="utf-8")
    except OSError:
        return (
            f"# {info.name} {info.version}\n\nThis model ({info.path.name}) came without a model card "
            f"(`{card.name}` beside it), so what it was trained on and how well it does are unknown."
        )


def show_model_card(parent: QWidget, info: ModelInfo | None) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName("modelCardDialog")
    dialog.setWindowTitle("About the model")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    browser = QTextBrowser(dialog)
    browser.setObjectName("modelCardText")
    browser.setOpenLinks(False)  # relative links point into the source tree, which a packaged app lacks
    browser.setMarkdown(model_card_markdown(info))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser)
    layout.addWidget(buttons)
    dialog.resize(760, 640)
    dialog.open()
    return dialog
