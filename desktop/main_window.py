"""The main window: the queue on the left, the before/after view and its controls on the right.

It is the view layer: it shows the controller's state and forwards the user's commands (see
:mod:`desktop.actions`) to :class:`desktop.batch.BatchController`. It never calls the engine itself: the
live strength slider goes through :class:`desktop.live_render.LiveRenderer`, off the GUI thread.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSize, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QImage
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QSplitter,
    QToolBar,
)

from desktop import dialogs
from desktop.actions import MENUS, TOOLBAR, Actions, create_actions
from desktop.batch import BatchController, format_eta
from desktop.compare_panel import ComparePanel
from desktop.export_dialog import ExportDialog
from desktop.hint_editor import HintEditor
from desktop.hint_sidecar_sync import Written
from desktop.images import to_qimage
from desktop.live_render import LiveRenderer, render_stages
from desktop.messages import ModelInfo, Preview
from desktop.preferences_dialog import PreferencesDialog
from desktop.queue_model import State
from desktop.queue_panel import QueuePanel
from desktop.queue_store import QueueStore, default_data_dir
from desktop.render_size import render_size_warning
from desktop.settings import AppSettings
from engine.photo_io import SUPPORTED_SUFFIXES
from engine.resources import icons_dir


def app_icon() -> QIcon:
    icon = QIcon()
    for name in ("rechroma.svg", "rechroma.png"):
        path = icons_dir() / name
        if path.is_file():
            icon.addFile(str(path))
    return icon


class MainWindow(QMainWindow):
    #: The window's commands. They hide QWidget.actions() (kept: the tests and tools use the attribute).
    actions: Actions  # type: ignore[assignment]
    def __init__(
        self,
        settings: AppSettings | None = None,
        store: QueueStore | None = None,
        model_path: Path | None = None,
        *,
        threads: int | None = None,
        controller: BatchController | None = None,
    ) -> None:
        """``controller`` drives the queue (default: a :class:`BatchController` on ``store``, or on the
        user's data folder); when one is given, ``store`` and ``threads`` are its business."""
        super().__init__()
        self.setWindowTitle("Rechroma")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        if controller is None:
            controller = BatchController(store or QueueStore(default_data_dir()), threads=threads, parent=self)
        else:
            controller.setParent(self)
        self.controller = controller
        self.controller.default_render_size = self.settings.render_size
        self.actions = create_actions(self)
        self.selected_id: str | None = None
        self._shown: Preview | None = None
        self._requested_model: Path | None = None
        self.renderer = LiveRenderer(self)
        #: Strength of the colour image on screen (None while none is): tests and the benchmark wait on it.
        self.shown_strength: float | None = None
        self.shown_final = False  # the full-size preview (not the quick first stage) is on screen
        self._stages: tuple | None = None
        self.first_shown_at: float | None = None
        self._progress: tuple[int, int, float] = (0, 0, -1.0)
        self.hint_renders = 0  # full previews shown with new hints (tests and the benchmark wait on it)
        self._hint_from: float | None = None  # when the edit whose colour is coming was made
        self._hint_final = False  # the colour coming is the final run's (not the quick one's)
        self._asked_replace: set[str] = set()  # photos whose unreadable hint file we asked about

        self._build_widgets()
        self.hints = HintEditor(
            self.compare,
            self.controller,
            lambda: self._shown.prediction if self._shown is not None else None,
            self._select_item,
            self,
            self.settings,
        )
        self._build_menus_and_toolbars()
        self._connect()
        self._restore_window()

        self.controller.restore()
        if model_path is None and self.settings.model_path and Path(self.settings.model_path).is_file():
            model_path = Path(self.settings.model_path)
        self._requested_model = model_path
        self.controller.load_model(model_path, self.settings.device)
        self._update_actions()

    # --- construction -------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        """The queue panel left, the compare panel right; their widgets are kept as the window's own
        attributes too (the window wires them, and tests and tools reach them there)."""
        self.queue_panel = QueuePanel(self.controller.model, self.actions)
        queue = self.queue_panel
        self.queue_view, self.queue_stack, self.notice_bar = queue.queue_view, queue.queue_stack, queue.notice_bar
        self.progress, self.progress_label = queue.progress, queue.progress_label
        self.placeholder_buttons = queue.placeholder_buttons
        self.compare_panel = ComparePanel(
            self.actions,
            strength_percent=self.settings.strength_percent,
            render_size=self.settings.render_size,
            device=self.settings.device,
        )
        panel = self.compare_panel
        self.compare, self.zoom_label, self.export_button = panel.compare, panel.zoom_label, panel.export_button
        self.strength, self.strength_label = panel.strength, panel.strength_label
        self.render_size, self.render_size_warning = panel.render_size, panel.render_size_warning
        self.device, self.device_label = panel.device, panel.device_label
        self.hint_button, self.hint_label = panel.hint_button, panel.hint_label

        self.splitter = QSplitter()
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.queue_panel)
        self.splitter.addWidget(self.compare_panel)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([430, 770])  # room for names like "mountains-1952.jpg" in the default window
        self.setCentralWidget(self.splitter)
        self.model_label = QLabel("")
        self.statusBar().addPermanentWidget(self.model_label)
        self.resize(1200, 760)

    def _build_menus_and_toolbars(self) -> None:
        a = self.actions
        for action in a.all():  # shortcuts work wherever the focus is in the window
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)
        menu = self.menuBar()
        for title, names in MENUS:
            submenu = menu.addMenu(title)
            for entry in a.layout(names):
                submenu.addSeparator() if entry is None else submenu.addAction(entry)
        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setIconSize(QSize(16, 16))
        for entry in a.layout(TOOLBAR):
            toolbar.addSeparator() if entry is None else toolbar.addAction(entry)
        self.addToolBar(toolbar)

    def _connect(self) -> None:
        a, c = self.actions, self.controller
        a.open_files.triggered.connect(self.open_files)
        a.open_folder.triggered.connect(self.open_folder)
        a.open_model.triggered.connect(self.open_model)
        a.export_selected.triggered.connect(lambda: self.export(self.selected_ids()))
        a.export_all.triggered.connect(lambda: self.export([i.id for i in c.model.items()]))
        a.quit.triggered.connect(self.close)
        a.start.triggered.connect(c.start)
        a.pause.triggered.connect(c.pause)
        a.resume.triggered.connect(c.resume)
        a.cancel_current.triggered.connect(c.cancel_current)
        a.cancel_all.triggered.connect(c.cancel_all)
        a.retry_failed.triggered.connect(c.retry_failed)
        a.remove.triggered.connect(lambda: self.remove(self.selected_ids()))
        a.clear_finished.triggered.connect(self.clear_finished)
        a.preferences.triggered.connect(self.show_preferences)
        a.shortcuts.triggered.connect(lambda: dialogs.show_shortcuts(self, a.all()))
        a.rerun.triggered.connect(self.rerun_selected)
        a.fit.triggered.connect(self.compare.fit)
        a.zoom_100.triggered.connect(self.compare.zoom_100)
        a.side_by_side.toggled.connect(self.compare.set_side_by_side)
        a.toggle_before.triggered.connect(self.compare.toggle_before)
        a.apply_strength_to_all.triggered.connect(self.apply_strength_to_all)
        a.about.triggered.connect(lambda: dialogs.show_about(self, c.model_info))
        a.model_card.triggered.connect(lambda: dialogs.show_model_card(self, c.model_info))
        stack = self.hints.undo_stack
        a.undo.triggered.connect(stack.undo)
        a.redo.triggered.connect(stack.redo)
        stack.canUndoChanged.connect(a.undo.setEnabled)
        stack.canRedoChanged.connect(a.redo.setEnabled)
        a.undo.setEnabled(False)
        a.redo.setEnabled(False)
        a.hint_tool.toggled.connect(self._on_hint_tool)
        a.clear_hints.triggered.connect(self.hints.clear)
        a.copy_hints.triggered.connect(self.copy_hints)
        self.hints.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        c.hintPreview.connect(self._on_hint_preview)
        c.hintsChanged.connect(self._on_hints_changed)
        c.sidecars.written.connect(self._on_sidecar_written)
        c.sidecars.blocked.connect(self._on_sidecar_blocked)
        c.sidecars.failed.connect(
            lambda item_id, reason: self.statusBar().showMessage(f"Hints not saved beside the photo: {reason}", 15000)
        )

        self.queue_view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.queue_view.customContextMenuRequested.connect(self._context_menu)
        self.strength.valueChanged.connect(self.set_strength_percent)
        self.render_size.valueChanged.connect(self._show_render_size_warning)
        self.device.currentIndexChanged.connect(self._on_device_chosen)
        self.compare.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))

        self.renderer.rendered.connect(self._on_rendered)
        c.progressChanged.connect(self._on_progress)
        c.busyChanged.connect(self._on_busy_changed)
        c.runningChanged.connect(lambda *_: self._on_progress(*self._progress))
        c.modelChanged.connect(self._on_model_changed)
        c.modelError.connect(self._on_model_error)
        c.previewReady.connect(self._on_preview)
        c.itemFinished.connect(self._on_item_finished)
        c.exportFinished.connect(self._on_export_finished)
        c.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        c.queueNotice.connect(self.notice_bar.show_notice)
        c.model.rowsInserted.connect(self._on_rows_inserted)
        c.model.rowsRemoved.connect(lambda *_: self._on_rows_removed())

    def _restore_window(self) -> None:
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        if self.settings.window_state is not None:
            self.restoreState(self.settings.window_state)

    # --- commands -----------------------------------------------------------------------------------
    def add_paths(self, paths: list[Path]) -> int:
        # New photos take the Preferences defaults, never the selected photo's strength or size.
        items = self.controller.add_paths(paths, strength=self.settings.strength_percent / 100.0)
        if items:
            self.statusBar().showMessage(f"Added {len(items)} photo(s)", 5000)
        elif paths:
            self.statusBar().showMessage("No new photos found there", 5000)
        return len(items)

    def open_from_elsewhere(self, paths: list[Path]) -> None:
        """Photos handed over by a second launch ("Open with Rechroma"): queue them and come to the front."""
        if paths:
            self.add_paths(paths)
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def open_files(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add photos", self.settings.last_open_dir, f"Photos ({patterns});;All files (*)"
        )
        if files:
            self.settings.last_open_dir = str(Path(files[0]).parent)
            self.add_paths([Path(f) for f in files])

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos", self.settings.last_open_dir)
        if folder:
            self.settings.last_open_dir = folder
            self.add_paths([Path(folder)])

    def open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a colorization model", "", "ONNX models (*.onnx)")
        if path:
            self.load_model(Path(path))

    def load_model(self, path: Path | None) -> None:
        self._requested_model = path
        self.device_label.setText("loading model…")
        self.controller.load_model(path, self.device.currentData())

    def rerun_selected(self) -> None:
        """Run the selected photos again at the render size in the box, which becomes their own."""
        for item_id in self.selected_ids():
            self.controller.rerun(item_id, self.render_size.value())

    def remove(self, item_ids: list[str]) -> None:
        """Remove photos; if some are colorized but were never exported, ask first (their colour would go)."""
        model = self.controller.model
        unexported = [i for i in item_ids if (item := model.item(i)) and item.state == State.DONE and not item.output]
        if not unexported:
            self.controller.remove(item_ids)
            return
        ids = list(item_ids)
        dialogs.confirm_remove_unexported(self, len(unexported), len(ids), lambda: self.controller.remove(ids))

    def clear_finished(self) -> None:
        finished = (State.DONE, State.FAILED, State.CANCELLED)
        self.remove([item.id for item in self.controller.model.items() if item.state in finished])

    def show_preferences(self) -> PreferencesDialog:
        info = self.controller.model_info
        dialog = PreferencesDialog(self.settings, info.default_render_size if info else None, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._on_preferences_changed)
        dialog.open()
        return dialog

    def _on_preferences_changed(self) -> None:
        self.controller.default_render_size = self.settings.render_size
        self._show_item_settings(self.controller.model.item(self.selected_id) if self.selected_id else None)
        self.statusBar().showMessage("Preferences saved: photos added from now on start with them", 5000)

    def export(self, item_ids: list[str]) -> None:
        """Open the export dialog for the finished ones among ``item_ids``; Save queues the exports."""
        model = self.controller.model
        done = [i for i in item_ids if (item := model.item(i)) and item.state == State.DONE]
        if not done:
            dialogs.show_error(
                self, "Nothing to export", "None of these photos is colorized yet: start the batch first."
            )
            return
        first = self.controller.model.item(done[0])
        photos = [item.path for i in done if (item := model.item(i)) is not None]
        dialog = ExportDialog(self.settings, len(done), first.path.parent if first else None, self, photos)
        dialog.setObjectName("exportDialog")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def accepted() -> None:
            dialog.remember()
            self.controller.export(done, dialog.options())

        dialog.accepted.connect(accepted)
        dialog.open()  # window-modal, not a nested event loop: the batch keeps running behind it

    def copy_hints(self) -> int:
        """Give every other selected photo the shown photo's hints (one undo step)."""
        copied = self.hints.copy_to(self.selected_ids())
        if copied:
            self.statusBar().showMessage(f"Copied {len(self.hints.hints())} hint(s) to {copied} photo(s)", 8000)
        return copied

    def _select_item(self, item_id: str) -> None:
        row = self.controller.model.row_of(item_id)
        if row >= 0:
            self.select_row(row)

    def _on_hint_tool(self, on: bool) -> None:
        self.hints.cancel_eyedropper()
        self.hints.overlay.set_active(on)
        if on and self.selected_id is not None:
            self.controller.prepare_hints(self.selected_id)
            self.compare.setFocus()

    def _on_hints_changed(self, item_id: str) -> None:
        if item_id == self.selected_id:
            self._show_hint_label(self.controller.model.item(item_id))
        self._update_actions()

    def _show_hint_label(self, item) -> None:
        if item is None:
            self.hint_label.setText("")
            return
        count = len(item.hints)
        text = f"{count} hint{'s' if count != 1 else ''}" if count else ""
        if item.hint_note:
            text = f"{text} · ⚠ {item.hint_note}" if text else f"⚠ {item.hint_note}"
        self.hint_label.setText(text)
        self.hint_label.setToolTip(item.hint_note)

    def _on_hint_preview(self, item_id: str, preview: Preview, final: bool) -> None:
        if item_id != self.selected_id:
            return
        stages, self._shown = self._stages, preview
        prediction = preview.prediction
        if stages is not None and prediction is not None and stages[-1].lightness is prediction.lightness:
            # Same photo, new colour: the quick stage keeps its downscaled L* (no resize on this thread).
            self._stages = tuple(s.with_ab(prediction.ab) for s in stages[:-1])
            self._stages += (prediction,)
        else:
            self._stages = None
        self._hint_from = self.hints.changed_at
        self._hint_final = final
        self._render_after()

    def _on_sidecar_written(self, item_id: str, written: Written) -> None:
        item = self.controller.model.item(item_id)
        if item is not None and item.hint_note:
            item.hint_note = ""
            self._on_hints_changed(item_id)
        if written.fallback:
            self.statusBar().showMessage(
                f"The photo's folder is not writable: its hints are saved in {written.path}", 20000
            )

    def _on_sidecar_blocked(self, item_id: str, reason: str) -> None:
        item = self.controller.model.item(item_id)
        if item is None:
            return
        item.hint_note = f"Hint file not used: {reason}. It is left as it is."
        self._on_hints_changed(item_id)
        if item_id in self._asked_replace:  # asked once a session; the hints stay in the queue meanwhile
            return
        self._asked_replace.add(item_id)
        sidecars = self.controller.sidecars
        dialogs.confirm_replace_hint_file(self, item.name, reason, lambda: sidecars.confirm_replace(item))

    def set_strength_percent(self, value: int) -> None:
        """Live strength of the selected photos (only them: not new photos, not the Preferences default);
        the shown one re-renders from its cached preview Prediction, the model is not run again."""
        self.strength_label.setText(f"{value} %")
        selected = self.selected_ids()
        if selected:
            self.controller.set_strength(selected, value / 100.0)
        self._render_after()

    def apply_strength_to_all(self) -> None:
        self.controller.set_strength([i.id for i in self.controller.model.items()], self.strength.value() / 100.0)
        self.statusBar().showMessage(f"Colour strength {self.strength.value()} % for every photo", 5000)

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.queue_view.selectionModel().selectedRows()})
        return [self.controller.model.item_at(row).id for row in rows]

    def select_row(self, row: int) -> None:
        index = self.controller.model.index(row, 0)
        self.queue_view.selectionModel().select(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.queue_view.setCurrentIndex(index)

    # --- reactions ----------------------------------------------------------------------------------
    def _render_after(self) -> None:
        shown = self._shown
        if shown is None or shown.prediction is None or self.selected_id is None:
            return
        if self._stages is None:
            self._stages = render_stages(shown.prediction)
        self.renderer.request(self.selected_id, self._stages, self.strength.value() / 100.0)

    def _on_rendered(self, item_id: str, strength: float, image: QImage, _milliseconds: float, final: bool) -> None:
        if item_id != self.selected_id or self._shown is None:
            return
        self.compare.set_after(image)
        self.shown_strength = strength
        self.shown_final = final
        if self._hint_from is not None and final and self._hint_final:
            self.hint_renders += 1
            self._hint_from = None

    def _on_selection_changed(self, *_args) -> None:
        ids = self.selected_ids()
        new_id = ids[0] if ids else None
        self._update_actions()
        if new_id == self.selected_id and new_id is not None:
            return
        self.selected_id = new_id
        self._shown = None
        self._stages = None
        self.shown_strength = None
        self._hint_from = None
        self.renderer.cancel()
        self.hints.set_item(new_id)
        self._show_hint_label(self.controller.model.item(new_id) if new_id else None)
        if new_id is not None and self.actions.hint_tool.isChecked():
            self.controller.prepare_hints(new_id)
        if new_id is None:
            self._show_item_settings(None)
            self.compare.set_message("Select a photo to compare the original and the colour version")
            return
        item = self.controller.model.item(new_id)
        if item is None:  # a selected row is in the model
            return
        self._show_item_settings(item)
        if item.state == State.FAILED:
            self.compare.set_message(f"{item.name}\n\nfailed: {item.error}")
        elif self.controller.cached_preview(new_id) is None:
            self.compare.set_message(f"Loading {item.name}…")
        self.controller.request_preview(new_id)

    def _show_item_settings(self, item) -> None:
        """The strength slider and render size box show the photo's own values (the defaults when none)."""
        strength = round(item.strength * 100) if item is not None else self.settings.strength_percent
        size = item.render_size if item is not None and item.render_size is not None else self.settings.render_size
        self.strength.blockSignals(True)
        self.strength.setValue(strength)
        self.strength.blockSignals(False)
        self.strength_label.setText(f"{strength} %")
        self.render_size.setValue(size)
        self._show_render_size_warning()

    def _show_render_size_warning(self, *_args) -> None:
        info = self.controller.model_info
        text = render_size_warning(self.render_size.value(), info.default_render_size) if info else None
        self.render_size_warning.setText(f"<span style='color:#b7862d'>⚠ {text}</span>" if text else "")
        self.render_size_warning.setVisible(bool(text))

    def _on_preview(self, item_id: str, preview: Preview | str) -> None:
        if item_id != self.selected_id:
            return
        item = self.controller.model.item(item_id)
        if isinstance(preview, str):
            reason = item.error if item is not None and item.error else preview
            self.compare.set_message(f"{item.name if item else ''}\n\n{reason}")
            return
        self._shown = preview
        self._stages = None
        self.shown_strength = None
        self.compare.set_images(to_qimage(preview.before, preview.alpha), None, QSize(*preview.original_size))
        self._render_after()

    def _on_item_finished(self, item_id: str, state: str) -> None:
        item = self.controller.model.item(item_id)
        if item_id == self.selected_id and item is not None and state == State.FAILED.value:
            self.compare.set_message(f"{item.name}\n\nfailed: {item.error}")
        self._update_actions()

    def _on_rows_inserted(self, _parent, first: int, last: int) -> None:
        self.queue_stack.setCurrentWidget(self.queue_view)
        if self.selected_id is None and self.controller.model.rowCount():
            self.select_row(first)
        model = self.controller.model
        if not self.controller.inserting_rest:  # later slices of a large add or restore leave the view be
            # The new photos come into view: the last one, then the first (so as many as fit, from the first).
            self.queue_view.scrollTo(model.index(last, 0))
            self.queue_view.scrollTo(model.index(first, 0))
        self._update_actions()

    def _on_rows_removed(self) -> None:
        if not self.controller.model.rowCount():
            self.queue_stack.setCurrentIndex(0)
        self._on_selection_changed()

    def _on_busy_changed(self, busy: bool) -> None:
        """The photo being worked on comes into view (unless the user is busy choosing in the queue)."""
        current = self.controller.current_item_id
        if busy and current is not None and self.queue_view.state() != QAbstractItemView.State.DragSelectingState:
            row = self.controller.model.row_of(current)
            if row >= 0:
                self.queue_view.scrollTo(self.controller.model.index(row, 0))
        self._update_actions()

    def _on_progress(self, finished: int, total: int, eta: float) -> None:
        self._progress = (finished, total, eta)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(finished)
        model = self.controller.model
        failed = model.count(State.FAILED)
        text = f"{finished} of {total} finished" if total else "No photos yet"
        if failed:
            text += f" · {failed} failed"
        if self.controller.running and self.controller.paused:
            text += " · paused"
        elif eta >= 0:
            text += f" · about {format_eta(eta)} left"
        self.progress_label.setText(text)
        self._update_actions()

    def _on_model_changed(self, info: ModelInfo) -> None:
        self.device_label.setText(f"using {info.device.upper()}")
        self.model_label.setText(f"Model: {info.name} v{info.version}")
        if self._requested_model is not None and Path(self._requested_model) == info.path:
            self.settings.model_path = str(info.path)
        self.render_size.setSpecialValueText(f"model's own ({info.default_render_size} px)")
        self._show_render_size_warning()
        self._update_actions()

    def _on_model_error(self, title: str, message: str) -> None:
        info = self.controller.model_info
        self.device_label.setText(f"using {info.device.upper()}" if info else "no model")
        if info is None:
            self.model_label.setText("No model: File → Open model…")
        dialogs.show_model_error(self, title, message)
        self._update_actions()

    def _on_device_chosen(self, _index: int) -> None:
        self.settings.device = self.device.currentData()
        info = self.controller.model_info
        self.load_model(self._requested_model or (info.path if info else None))

    def _on_export_finished(self, saved: int, failed: list) -> None:
        if failed:
            lines = "\n".join(f"{name}: {reason}" for name, reason in failed[:20])
            more = f"\n… and {len(failed) - 20} more" if len(failed) > 20 else ""
            dialogs.show_error(
                self,
                "Some photos were not saved",
                f"{saved} saved, {len(failed)} not saved. Nothing was overwritten.",
                lines + more,
            )
        else:
            self.statusBar().showMessage(f"Saved {saved} colour photo(s)", 8000)

    def _context_menu(self, position) -> None:
        menu = QMenu(self)
        for action in (
            self.actions.export_selected,
            self.actions.rerun,
            self.actions.retry_failed,
            self.actions.remove,
            self.actions.clear_finished,
        ):
            menu.addAction(action)
        menu.popup(self.queue_view.viewport().mapToGlobal(position))

    def _update_actions(self) -> None:
        c, a = self.controller, self.actions
        model = c.model
        has_selection = bool(self.queue_view.selectionModel().selectedRows())
        queued = model.count(State.QUEUED)
        a.start.setEnabled(not c.running and queued > 0)
        a.pause.setEnabled(c.running and not c.paused)
        a.resume.setEnabled(c.running and c.paused)
        a.cancel_current.setEnabled(c.busy)
        a.cancel_all.setEnabled(c.busy or c.running or queued > 0)
        a.retry_failed.setEnabled(model.count(State.FAILED, State.CANCELLED) > 0)
        a.remove.setEnabled(has_selection)
        a.clear_finished.setEnabled(model.count(State.DONE, State.FAILED, State.CANCELLED) > 0)
        a.rerun.setEnabled(has_selection and c.model_info is not None)
        a.export_selected.setEnabled(has_selection)
        a.export_all.setEnabled(model.count(State.DONE) > 0)
        self.export_button.setEnabled(has_selection)
        info = c.model_info
        can_hint = info is not None and info.accepts_hints
        a.hint_tool.setEnabled(can_hint)
        a.hint_tool.setToolTip(
            "Place colour hints: click the photo where you know the colour (H)"
            if can_hint or info is None
            else f"The model in use ({info.name}) does not take colour hints"
        )
        if not can_hint and a.hint_tool.isChecked():
            a.hint_tool.setChecked(False)
        shown = model.item(self.selected_id) if self.selected_id else None
        a.clear_hints.setEnabled(can_hint and shown is not None and bool(shown.hints))
        several = len(self.queue_view.selectionModel().selectedRows()) > 1
        a.copy_hints.setEnabled(can_hint and shown is not None and bool(shown.hints) and several)

    # --- drag and drop ------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.add_paths(paths)
            event.acceptProposedAction()

    # --- lifecycle ----------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        if self.first_shown_at is None:
            self.first_shown_at = time.time()
        super().showEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.controller.has_unfinished_work() and not dialogs.confirm_quit_during_batch(self):
            event.ignore()
            return
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.sync()
        self.renderer.close()
        self.controller.shutdown()
        event.accept()
