"""Two engine lanes on fake workers: photos run two at once in queue order, one lane on a GPU, and cancel,
pause, remove and exports mean the same as with one lane. (Which photos may share the engine is the
lanes' own business: tests/unit/test_engine_turns.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.messages import ExportJob, ExportOptions
from desktop.queue_model import State

TIMEOUT_MS = 10_000


def ready(qtbot, controller, device: str = "auto") -> None:
    controller.load_model(None, device)
    qtbot.waitUntil(lambda: controller.model_info is not None, timeout=TIMEOUT_MS)


def small_photos(folder: Path, names: list[str]) -> list[Path]:
    """Files the fake workers never read."""
    folder.mkdir(exist_ok=True)
    paths = [folder / name for name in names]
    for path in paths:
        path.write_bytes(b"not read")
    return paths


def test_two_small_photos_run_at_once_in_queue_order(qtbot, make_controller, photos, tmp_path):
    controller, worker, store = make_controller(lanes=2)
    ready(qtbot, controller)
    more = small_photos(tmp_path / "photos", ["d.jpg", "e.jpg"])
    controller.add_paths([*photos, *more])
    ids = [item.id for item in controller.model.items()]
    worker.gate.clear()
    controller.start()
    qtbot.waitUntil(lambda: len(worker.jobs) == 2, timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert len(worker.jobs) == 2, "a third photo started while two were in flight"
    assert controller.working_ids == ids[:2]
    assert controller.current_item_id == ids[1]  # the queue follows the newest
    assert [item.state for item in controller.model.items()][:3] == [State.WORKING, State.WORKING, State.QUEUED]
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        worker.gate.set()
    # The first two in either order (two threads); after them, which lane picks its job up first is up to
    # the threads, so only the dispatch order above is exact.
    started = [job.item_id for job in worker.jobs]
    assert set(started[:2]) == set(ids[:2]) and sorted(started) == sorted(ids)
    assert max(len(running) for running in worker.lanes.together) == 2
    assert [item.state for item in controller.model.items()] == [
        State.DONE, State.FAILED, State.DONE, State.DONE, State.DONE
    ]
    assert {item.id: item.state for item in store.saved.values()} == {
        item.id: item.state for item in controller.model.items()
    }
    assert not controller.busy and not controller.has_unfinished_work()


def test_on_a_gpu_photos_take_turns(qtbot, make_controller, photos):
    controller, worker, _store = make_controller(lanes=2)
    ready(qtbot, controller, "cuda")
    controller.add_paths(photos)
    worker.gate.clear()
    controller.start()
    qtbot.waitUntil(lambda: len(worker.jobs) == 1, timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert len(worker.jobs) == 1
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        worker.gate.set()
    assert max(len(running) for running in worker.lanes.together) == 1


def test_cancel_photo_stops_both_in_progress_and_the_batch_goes_on(qtbot, make_controller, photos, tmp_path):
    controller, worker, _store = make_controller(lanes=2)
    ready(qtbot, controller)
    controller.add_paths([*photos, *small_photos(tmp_path / "photos", ["d.jpg"])])
    ids = [item.id for item in controller.model.items()]
    worker.gate.clear()
    controller.start()
    qtbot.waitUntil(lambda: len(worker.jobs) == 2, timeout=TIMEOUT_MS)
    controller.cancel_current()
    qtbot.waitUntil(lambda: len(worker.jobs) == 4, timeout=TIMEOUT_MS)  # the next two started
    assert [controller.model.item(i).state for i in ids[:2]] == [State.CANCELLED, State.CANCELLED]
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        worker.gate.set()
    assert [controller.model.item(i).state for i in ids[2:]] == [State.DONE, State.DONE]


def test_pause_lets_both_photos_finish_and_starts_nothing(qtbot, make_controller, photos, tmp_path):
    controller, worker, _store = make_controller(lanes=2)
    ready(qtbot, controller)
    controller.add_paths([*photos, *small_photos(tmp_path / "photos", ["d.jpg"])])
    worker.gate.clear()
    controller.start()
    qtbot.waitUntil(lambda: len(worker.jobs) == 2, timeout=TIMEOUT_MS)
    controller.pause()
    worker.gate.set()
    qtbot.waitUntil(lambda: not controller.busy, timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert len(worker.jobs) == 2 and controller.model.count(State.QUEUED) == 2
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        controller.resume()
    assert controller.model.count(State.QUEUED, State.WORKING) == 0


def test_removing_one_photo_in_flight_cancels_only_it(qtbot, make_controller, tmp_path):
    controller, worker, store = make_controller(lanes=2)
    ready(qtbot, controller)
    controller.add_paths(small_photos(tmp_path / "photos", ["a.jpg", "c.jpg"]))
    first, second = (item.id for item in controller.model.items())
    worker.gate.clear()
    controller.start()
    qtbot.waitUntil(lambda: len(worker.jobs) == 2, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(controller.itemFinished, timeout=TIMEOUT_MS) as finished:
        controller.remove([first])
    assert finished.args == [first, State.CANCELLED.value]
    assert controller.busy and controller.working_ids == [second]
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        worker.gate.set()
    assert controller.model.item(second).state == State.DONE
    assert first in store.removed and not (store.folder / f"{first}.npy").exists()


def test_two_exports_run_at_once_and_are_tallied_once(qtbot, make_controller, photos, tmp_path):
    controller, worker, _store = make_controller(lanes=2)
    ready(qtbot, controller)
    controller.add_paths([photos[0], photos[2]])
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        controller.start()
    tallies = []
    controller.exportFinished.connect(lambda saved, failed: tallies.append((saved, failed)))
    worker.gate.clear()
    assert controller.export([item.id for item in controller.model.items()], ExportOptions(tmp_path / "out")) == 2
    qtbot.waitUntil(lambda: sum(isinstance(job, ExportJob) for job in worker.jobs) == 2, timeout=TIMEOUT_MS)
    assert tallies == []
    worker.gate.set()
    qtbot.waitUntil(lambda: bool(tallies), timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert tallies == [(2, [])]


def test_a_photo_is_never_in_two_lanes_at_once(qtbot, make_controller, tmp_path):
    """Its export in flight, a re-run of the same photo waits for it (both touch its cached colour)."""
    controller, worker, _store = make_controller(lanes=2)
    ready(qtbot, controller)
    controller.add_paths(small_photos(tmp_path / "photos", ["a.jpg"]))
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        controller.start()
    item_id = controller.model.item_at(0).id
    worker.gate.clear()
    controller.export([item_id], ExportOptions(tmp_path / "out"))
    qtbot.waitUntil(lambda: len(worker.jobs) == 2, timeout=TIMEOUT_MS)
    controller.rerun(item_id, None)
    qtbot.wait(50)
    assert len(worker.jobs) == 2
    with qtbot.waitSignal(controller.itemFinished, timeout=TIMEOUT_MS):
        worker.gate.set()
    qtbot.waitUntil(lambda: len(worker.jobs) == 3 and not controller.busy, timeout=TIMEOUT_MS)
    assert all(len(running) == 1 for running in worker.lanes.together)
    assert controller.model.item(item_id).state == State.DONE


@pytest.mark.parametrize("lanes", [1, 2])
def test_the_time_left_counts_the_photos_running_side_by_side(qtbot, make_controller, tmp_path, lanes):
    """Each fake photo takes 0.25 s; with two lanes two of them take that long together."""
    controller, worker, _store = make_controller(lanes=lanes)
    ready(qtbot, controller)
    controller.add_paths(small_photos(tmp_path / "photos", ["a.jpg", "c.jpg", "d.jpg", "e.jpg"]))
    progress: list[tuple[int, float]] = []
    controller.progressChanged.connect(lambda finished, _total, eta: progress.append((finished, eta)))
    with qtbot.waitSignal(controller.batchFinished, timeout=TIMEOUT_MS):
        controller.start()
    first = next(eta for finished, eta in progress if finished == 1)
    assert first == pytest.approx(0.25 / lanes * 3)  # three photos left: one running, two queued
