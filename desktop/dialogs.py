"""Message boxes. Errors open window-modal but *non-blocking* (``QMessageBox.open``) so a batch keeps running
behind them and tests can find and close them; only the quit confirmation must block for an answer."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

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
