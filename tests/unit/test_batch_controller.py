"""The batch controller on a fake worker and an in-memory store: job order, failures, cancelling,
exports and the resumed batch, without a model (each test runs in milliseconds)."""

from __future__ import annotations

from pathlib import Path

from desktop.messages import ColorizeJob, ExportJob, ExportOptions
from desktop.queue_model import QueueItem, State

TIMEOUT_MS = 10_000


def states(controller) -> list[State]:
    return [item.state for item in controller.model.items()]


def test_the_batch_runs_every_photo_in_order_and_a_failure_does_not_stop_it(qtbot, make_controller, photos):
    controller, worker, store = make_controller()
    controller.load_model(None)
    qtbot.waitUntil(lambda: controller.model_info is not None, timeout=TIMEOUT_MS)
    controller.add_paths(photos)
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        controller.start()
    assert [job.path for job in worker.jobs] == photos
    assert all(isinstance(job, ColorizeJob) for job in worker.jobs)
    assert states(controller) == [State.DONE, State.FAILED, State.DONE]
    broken = controller.model.item_at(1)
    assert broken.error == "not an image"
    done = controller.model.item_at(0)
    assert (done.width, done.height, done.source_stamp, done.file_size()) == (40, 30, (1, 1234), 1234)
    # every finished photo reached the store with its final state
    assert {item.id: item.state for item in store.saved.values()} == {
        item.id: item.state for item in controller.model.items()
    }
    assert not controller.has_unfinished_work()


def test_start_waits_for_the_model(qtbot, make_controller, photos):
    controller, worker, _store = make_controller()
    controller.add_paths(photos[:1])
    with qtbot.waitSignal(controller.message, timeout=TIMEOUT_MS) as said:
        controller.start()
    assert said.args == ["Waiting for a model before starting"]
    assert worker.jobs == [] and controller.running
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        controller.load_model(None)
    assert states(controller) == [State.DONE]


def test_a_model_that_fails_to_load_is_reported(qtbot, make_controller, tmp_path: Path):
    controller, _worker, _store = make_controller()
    with qtbot.waitSignal(controller.modelError, timeout=TIMEOUT_MS) as error:
        controller.load_model(tmp_path / "missing.onnx")
    assert error.args[0] == "No colorization model"
    assert controller.model_info is None


def test_cancel_all_cancels_the_photo_in_flight_and_the_queued_ones(qtbot, make_controller, photos):
    controller, worker, _store = make_controller()
    controller.load_model(None)
    qtbot.waitUntil(lambda: controller.model_info is not None, timeout=TIMEOUT_MS)
    controller.add_paths(photos)
    worker.gate.clear()
    with qtbot.waitSignal(controller.busyChanged, timeout=TIMEOUT_MS):
        controller.start()
    assert controller.current_item_id == controller.model.item_at(0).id
    with qtbot.waitSignal(controller.itemFinished, timeout=TIMEOUT_MS) as finished:
        controller.cancel_all()
    assert finished.args == [controller.model.item_at(0).id, State.CANCELLED.value]
    assert states(controller) == [State.CANCELLED] * 3
    assert len(worker.jobs) == 1 and not controller.running


def test_export_sends_finished_photos_to_the_worker_and_tallies_them(qtbot, make_controller, photos, tmp_path):
    controller, worker, _store = make_controller()
    controller.load_model(None)
    qtbot.waitUntil(lambda: controller.model_info is not None, timeout=TIMEOUT_MS)
    controller.add_paths(photos)
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        controller.start()
    options = ExportOptions(out_dir=tmp_path / "out")
    ids = [item.id for item in controller.model.items()]
    with qtbot.waitSignal(controller.exportFinished, timeout=TIMEOUT_MS) as finished:
        assert controller.export(ids, options) == 2  # the failed photo has nothing to export
    assert finished.args == [2, []]
    exports = [job for job in worker.jobs if isinstance(job, ExportJob)]
    assert [job.path for job in exports] == [photos[0], photos[2]]
    assert all(job.options == options and "fake v1.0" in job.description for job in exports)
    assert controller.model.item_at(0).output == tmp_path / "out" / "a_color.jpg"


def test_a_batch_that_was_running_resumes_once_the_model_is_ready(qtbot, make_controller, photos):
    saved = [QueueItem(path=path) for path in photos[::2]]
    controller, worker, _store = make_controller(saved, running=True)
    controller.restore()
    assert controller.model.count(State.QUEUED) == 2 and worker.jobs == []
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        controller.load_model(None)
    assert [job.item_id for job in worker.jobs] == [item.id for item in saved]


def test_removing_the_photo_in_flight_cancels_it_and_drops_its_result(qtbot, make_controller, photos):
    controller, worker, store = make_controller()
    controller.load_model(None)
    qtbot.waitUntil(lambda: controller.model_info is not None, timeout=TIMEOUT_MS)
    controller.add_paths(photos[:1])
    worker.gate.clear()
    with qtbot.waitSignal(controller.busyChanged, timeout=TIMEOUT_MS):
        controller.start()
    item_id = controller.model.item_at(0).id
    with qtbot.waitSignal(controller.itemFinished, timeout=TIMEOUT_MS):
        controller.remove([item_id])
    assert controller.model.rowCount() == 0
    assert item_id in store.removed
    assert not (store.folder / f"{item_id}.npy").exists()


def test_the_window_drives_the_controller_it_is_given(qtbot, make_controller, photos, tmp_path):
    from PySide6.QtCore import QSettings

    from desktop.actions import MENUS
    from desktop.main_window import MainWindow
    from desktop.settings import AppSettings

    controller, worker, _store = make_controller()
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, controller=controller)
    qtbot.addWidget(window)
    assert window.controller is controller and controller.parent() is window
    assert [menu.text() for menu in window.menuBar().actions()] == [title for title, _names in MENUS]
    qtbot.waitUntil(lambda: controller.model_info is not None, timeout=TIMEOUT_MS)
    assert window.add_paths(photos[:1]) == 1
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        window.actions.start.trigger()
    assert [job.path for job in worker.jobs] == photos[:1]
    window.close()
    assert not controller.thread.isRunning()
