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
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import dialogs
from desktop.actions import create_actions
from desktop.batch import THUMBNAIL_PX, BatchController, format_eta
from desktop.compare_view import CompareView
from desktop.export_dialog import ExportDialog
from desktop.images import to_qimage
from desktop.live_render import LiveRenderer, render_stages
from desktop.notice_bar import NoticeBar
from desktop.queue_model import QueueModel, State
from desktop.queue_store import QueueStore, default_data_dir
from desktop.settings import DEVICES, AppSettings
from desktop.worker import ModelInfo, Preview
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
    def __init__(
        self,
        settings: AppSettings | None = None,
        store: QueueStore | None = None,
        model_path: Path | None = None,
        *,
        threads: int | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Rechroma")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        self.controller = BatchController(store or QueueStore(default_data_dir()), threads=threads, parent=self)
        self.actions = create_actions(self)
        self.selected_id: str | None = None
        self._shown: Preview | None = None
        self._requested_model: Path | None = None
        self.renderer = LiveRenderer(self)
        #: Strength of the colour image on screen (None while none is): tests and the benchmark wait on it.
        self.shown_strength: float | None = None
        self.shown_final = False  # the full-size preview (not the quick first stage) is on screen
        #: Milliseconds from the last strength change to its first (quick) and its final colour image.
        self.last_render_ms: float = 0.0
        self.last_final_render_ms: float = 0.0
        self._stages: tuple | None = None
        self.first_shown_at: float | None = None

        self._build_widgets()
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
        model = self.controller.model
        self.queue_view = QTableView()
        self.queue_view.setObjectName("queueView")
        self.queue_view.setModel(model)
        self.queue_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.queue_view.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.queue_view.verticalHeader().setVisible(False)
        self.queue_view.verticalHeader().setDefaultSectionSize(THUMBNAIL_PX + 8)
        self.queue_view.setShowGrid(False)
        self.queue_view.setAlternatingRowColors(True)
        self.queue_view.setWordWrap(False)
        self.queue_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.queue_view.horizontalHeader()
        header.setSectionResizeMode(QueueModel.COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(QueueModel.COL_SIZE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(QueueModel.COL_STATE, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(QueueModel.COL_STATE, 130)
        # Size columns from ~100 rows, not 1,000 of 50,000 (0 would mean every row while the view is hidden).
        header.setResizeContentsPrecision(100)

        self.progress = QProgressBar()
        self.progress.setObjectName("batchProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label = QLabel("No photos yet")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 0, 6)
        self.notice_bar = NoticeBar()  # news about the saved queue (see BatchController.queueNotice)
        left_layout.addWidget(self.notice_bar)
        left_layout.addWidget(self.queue_view, 1)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.progress_label)

        self.compare = CompareView()
        self.compare.setObjectName("compareView")
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setObjectName("strengthSlider")
        self.strength.setRange(0, 200)
        self.strength.setSingleStep(5)
        self.strength.setPageStep(25)
        self.strength.setValue(self.settings.strength_percent)
        self.strength.setToolTip("Colour strength: 0 % keeps the photo grey, 100 % is the model's colour")
        self.strength_label = QLabel(f"{self.strength.value()} %")
        self.strength_label.setMinimumWidth(48)
        apply_all = QToolButton()
        apply_all.setDefaultAction(self.actions.apply_strength_to_all)

        self.render_size = QSpinBox()
        self.render_size.setObjectName("renderSize")
        self.render_size.setRange(0, 4096)
        self.render_size.setSingleStep(32)
        self.render_size.setSpecialValueText("model default")
        self.render_size.setSuffix(" px")
        self.render_size.setValue(self.settings.render_size)
        self.render_size.setToolTip("Long side at which the model runs: larger is slower, sometimes finer")
        rerun = QToolButton()
        rerun.setDefaultAction(self.actions.rerun)
        rerun.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

        self.device = QComboBox()
        self.device.setObjectName("deviceCombo")
        for device in DEVICES:
            self.device.addItem(device.upper() if device != "auto" else "Auto", device)
        self.device.setCurrentIndex(DEVICES.index(self.settings.device))
        self.device_label = QLabel("loading model…")

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Colour"))
        controls.addWidget(self.strength, 1)
        controls.addWidget(self.strength_label)
        controls.addWidget(apply_all)
        engine_row = QHBoxLayout()
        engine_row.addWidget(QLabel("Render size"))
        engine_row.addWidget(self.render_size)
        engine_row.addWidget(rerun)
        engine_row.addSpacing(16)
        engine_row.addWidget(QLabel("Device"))
        engine_row.addWidget(self.device)
        engine_row.addWidget(self.device_label)
        engine_row.addStretch(1)

        self.zoom_label = QLabel("")
        view_bar = QHBoxLayout()
        for action in (self.actions.fit, self.actions.zoom_100, self.actions.side_by_side, self.actions.toggle_before):
            button = QToolButton()
            button.setDefaultAction(action)
            view_bar.addWidget(button)
        view_bar.addWidget(self.zoom_label)
        view_bar.addStretch(1)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.actions.export_selected.trigger)
        view_bar.addWidget(self.export_button)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 6, 6, 6)
        right_layout.addLayout(view_bar)
        right_layout.addWidget(self.compare, 1)
        right_layout.addLayout(controls)
        right_layout.addLayout(engine_row)

        self.splitter = QSplitter()
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([360, 840])
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
        for title, entries in (
            (
                "&File",
                [a.open_files, a.open_folder, None, a.open_model, None, a.export_selected, a.export_all, None, a.quit],
            ),
            (
                "&Batch",
                [
                    a.start,
                    a.pause,
                    a.resume,
                    None,
                    a.cancel_current,
                    a.cancel_all,
                    a.retry_failed,
                    None,
                    a.rerun,
                    a.remove,
                ],
            ),
            ("&View", [a.fit, a.zoom_100, a.side_by_side, a.toggle_before]),
            ("&Help", [a.model_card, a.about]),
        ):
            submenu = menu.addMenu(title)
            for entry in entries:
                submenu.addSeparator() if entry is None else submenu.addAction(entry)
        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setIconSize(QSize(16, 16))
        for entry in (
            a.open_files,
            a.open_folder,
            None,
            a.start,
            a.pause,
            a.resume,
            a.cancel_current,
            a.cancel_all,
            a.retry_failed,
            a.remove,
            None,
            a.export_selected,
            a.export_all,
        ):
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
        a.remove.triggered.connect(lambda: c.remove(self.selected_ids()))
        a.rerun.triggered.connect(self.rerun_selected)
        a.fit.triggered.connect(self.compare.fit)
        a.zoom_100.triggered.connect(self.compare.zoom_100)
        a.side_by_side.toggled.connect(self.compare.set_side_by_side)
        a.toggle_before.triggered.connect(self.compare.toggle_before)
        a.apply_strength_to_all.triggered.connect(self.apply_strength_to_all)
        a.about.triggered.connect(lambda: dialogs.show_about(self, c.model_info))
        a.model_card.triggered.connect(lambda: dialogs.show_model_card(self, c.model_info))

        self.queue_view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.queue_view.customContextMenuRequested.connect(self._context_menu)
        self.strength.valueChanged.connect(self.set_strength_percent)
        self.render_size.valueChanged.connect(lambda v: setattr(self.settings, "render_size", v))
        self.device.currentIndexChanged.connect(self._on_device_chosen)
        self.compare.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))

        self.renderer.rendered.connect(self._on_rendered)
        c.progressChanged.connect(self._on_progress)
        c.busyChanged.connect(lambda _busy: self._update_actions())
        c.runningChanged.connect(lambda *_: self._update_actions())
        c.modelChanged.connect(self._on_model_changed)
        c.modelError.connect(self._on_model_error)
        c.previewReady.connect(self._on_preview)
        c.itemFinished.connect(self._on_item_finished)
        c.exportFinished.connect(self._on_export_finished)
        c.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        c.queueNotice.connect(self.notice_bar.show_notice)
        c.model.rowsInserted.connect(self._on_rows_inserted)
        c.model.rowsRemoved.connect(lambda *_: self._on_selection_changed())

    def _restore_window(self) -> None:
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        if self.settings.window_state is not None:
            self.restoreState(self.settings.window_state)

    # --- commands -----------------------------------------------------------------------------------
    def add_paths(self, paths: list[Path]) -> int:
        items = self.controller.add_paths(
            paths, strength=self.strength.value() / 100.0, render_size=self.render_size.value() or None
        )
        if items:
            self.statusBar().showMessage(f"Added {len(items)} photo(s)", 5000)
        elif paths:
            self.statusBar().showMessage("No new photos found there", 5000)
        return len(items)

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
        for item_id in self.selected_ids():
            self.controller.rerun(item_id, self.render_size.value() or None)

    def export(self, item_ids: list[str]) -> None:
        done = [i for i in item_ids if (item := self.controller.model.item(i)) and item.state == State.DONE]
        if not done:
            dialogs.show_error(
                self, "Nothing to export", "None of these photos is colorized yet: start the batch first."
            )
            return
        first = self.controller.model.item(done[0])
        dialog = ExportDialog(self.settings, len(done), first.path.parent if first else None, self)
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        dialog.remember()
        self.controller.export(done, dialog.options())

    def set_strength_percent(self, value: int) -> None:
        """Live strength: re-render the cached preview Prediction; the model is not run again."""
        self.strength_label.setText(f"{value} %")
        self.settings.strength_percent = value
        if self.selected_id is not None:
            self.controller.set_strength([self.selected_id], value / 100.0)
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

    def _on_rendered(self, item_id: str, strength: float, image: QImage, milliseconds: float, final: bool) -> None:
        if item_id != self.selected_id or self._shown is None:
            return
        self.compare.set_after(image)
        self.shown_strength = strength
        self.shown_final = final
        if final:
            self.last_final_render_ms = milliseconds
        else:
            self.last_render_ms = milliseconds

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
        self.renderer.cancel()
        if new_id is None:
            self.compare.set_message("Select a photo to compare the original and the colour version")
            return
        item = self.controller.model.item(new_id)
        self.strength.blockSignals(True)
        self.strength.setValue(round(item.strength * 100))
        self.strength_label.setText(f"{self.strength.value()} %")
        self.strength.blockSignals(False)
        if item.render_size is not None:
            self.render_size.setValue(item.render_size)
        if item.state == State.FAILED:
            self.compare.set_message(f"{item.name}\n\nfailed: {item.error}")
        elif self.controller.cached_preview(new_id) is None:
            self.compare.set_message(f"Loading {item.name}…")
        self.controller.request_preview(new_id)

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
        self.compare.set_images(to_qimage(preview.before), None, QSize(*preview.original_size))
        self._render_after()

    def _on_item_finished(self, item_id: str, state: str) -> None:
        item = self.controller.model.item(item_id)
        if item_id == self.selected_id and item is not None and state == State.FAILED.value:
            self.compare.set_message(f"{item.name}\n\nfailed: {item.error}")
        self._update_actions()

    def _on_rows_inserted(self, _parent, first: int, last: int) -> None:
        if self.selected_id is None and self.controller.model.rowCount():
            self.select_row(first)
        self._update_actions()

    def _on_progress(self, finished: int, total: int, eta: float) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(finished)
        model = self.controller.model
        failed = model.count(State.FAILED)
        text = f"{finished} of {total} finished" if total else "No photos yet"
        if failed:
            text += f" · {failed} failed"
        if eta >= 0:
            text += f" · about {format_eta(eta)} left"
        self.progress_label.setText(text)
        self._update_actions()

    def _on_model_changed(self, info: ModelInfo) -> None:
        self.device_label.setText(f"using {info.device.upper()}")
        self.model_label.setText(f"Model: {info.name} v{info.version}")
        if self._requested_model is not None and Path(self._requested_model) == info.path:
            self.settings.model_path = str(info.path)
        if not self.render_size.value():
            self.render_size.setToolTip(
                f"Long side at which the model runs (model default: {info.default_render_size} px)"
            )
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
        a.rerun.setEnabled(has_selection and c.model_info is not None)
        a.export_selected.setEnabled(has_selection)
        a.export_all.setEnabled(model.count(State.DONE) > 0)
        self.export_button.setEnabled(has_selection)

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
