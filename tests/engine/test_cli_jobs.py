"""rechroma-cli --jobs: several photos at once give the same outputs, report and messages as one at a time,
large photos wait for memory, and Ctrl+C stops every photo's inference."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from standin_model import build_standin_model, make_scene, to_grey

from engine.atomic_file import TEMP_MARKER
from engine.batch_workers import MemoryBudget, plan_workers, run_in_order
from engine.cancel import CancelToken
from engine.cli import main
from engine.model import Generator


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in with enough compute that one inference at --render-size 1024 takes seconds on one thread."""
    return build_standin_model(tmp_path_factory.mktemp("slow") / "slow.onnx", width=16, depth=4)


def grey_photo(path: Path, seed: int, size: tuple[int, int] = (48, 64)) -> Path:
    Image.fromarray(to_grey(make_scene(*size, seed=seed))).save(path)
    return path


def test_workers_follow_cores_photo_size_and_the_users_choice() -> None:
    assert plan_workers(2, 100, 1_000_000) == (2, 1)  # small photos: one thread each
    assert plan_workers(2, 100, 12_000_000) == (1, 2)  # a 12 MP photo keeps two threads busy
    assert plan_workers(16, 100, 12_000_000) == (8, 2)
    assert plan_workers(16, 100, 40_000_000) == (4, 4)
    assert plan_workers(64, 100, 1_000_000) == (8, 8)  # more photos in flight would only cost memory
    assert plan_workers(2, 1, 1_000_000) == (1, 2)  # never more workers than photos
    assert plan_workers(2, 100, 12_000_000, jobs=3) == (3, 1)  # --jobs decides; each gets at least a thread


def test_results_are_handed_on_in_order_whatever_finishes_first() -> None:
    second_done = threading.Event()
    order: list[int] = []

    def work(item: int) -> None:
        if item == 0:
            assert second_done.wait(30)  # the first photo finishes last
        if item == 1:
            second_done.set()

    stopped = run_in_order([0, 1, 2], work, workers=3, cancel=CancelToken(), memory_needed=lambda _: 0,
                           budget=MemoryBudget(None), finished=order.append)
    assert not stopped and order == [0, 1, 2]


@pytest.mark.parametrize(("total", "most_at_once"), [(150, 1), (1000, 2)])
def test_a_photo_starts_only_when_there_is_memory_for_it(total: int, most_at_once: int) -> None:
    lock, active, peak = threading.Lock(), [0], [0]
    overlap = threading.Event()

    def work(_: int) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            if active[0] > 1:
                overlap.set()
        overlap.wait(0.5)  # give a second photo every chance to start alongside
        with lock:
            active[0] -= 1

    run_in_order([0, 1, 2, 3], work, workers=2, cancel=CancelToken(), memory_needed=lambda _: 100,
                 budget=MemoryBudget(total), finished=lambda _: None)
    assert peak[0] == most_at_once


def test_jobs_give_the_same_outputs_report_and_messages(tmp_path: Path, standin_model: Path, capfd) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    grey_photo(photos / "a.png", 1, (240, 320))  # the largest first: it finishes after the ones behind it
    (photos / "b.jpg").write_bytes(b"not a photo")
    grey_photo(photos / "c.png", 3)
    Image.fromarray(make_scene(30, 40, seed=4)).save(photos / "c.jpg")  # as PNG, a second c_color: c_color-2
    (photos / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    grey_photo(photos / "e.png", 5)
    runs = {}
    for jobs in ("1", "3"):
        out, report = tmp_path / f"out{jobs}", tmp_path / f"report{jobs}.json"
        code = main([str(photos), "-o", str(out), "--json", str(report), "--jobs", jobs, "--format", "png",
                     "--model", str(standin_model), "--threads", "1"])
        stdout, stderr = capfd.readouterr()
        files = json.loads(report.read_text())["files"]
        entries = [(Path(f["input"]).name, f["output"] and Path(f["output"]).name, f["status"], f["error"])
                   for f in files]
        errors = [line.split("\r")[-1] for line in stderr.splitlines() if "error:" in line]
        outputs = {p.name: np.asarray(Image.open(p)) for p in sorted(out.iterdir())}
        runs[jobs] = (code, entries, errors, outputs)
        assert ("3 photos at once" in stdout) == (jobs == "3")
    assert runs["1"][:3] == runs["3"][:3]
    assert runs["1"][0] == 1
    assert [e[:3] for e in runs["1"][1]] == [
        ("a.png", "a_color.png", "done"), ("b.jpg", None, "failed"), ("c.jpg", "c_color.png", "done"),
        ("c.png", "c_color-2.png", "done"), ("d.png", None, "failed"), ("e.png", "e_color.png", "done")]
    assert [e.split(": ")[1] for e in runs["1"][2]] == [str(photos / "b.jpg"), str(photos / "d.png")]
    assert runs["1"][3].keys() == runs["3"][3].keys() == {"a_color.png", "c_color.png", "c_color-2.png", "e_color.png"}
    for name, pixels in runs["1"][3].items():
        assert np.array_equal(pixels, runs["3"][3][name]), name


def test_ctrl_c_stops_every_workers_inference(tmp_path: Path, slow_model: Path, capfd,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        grey_photo(tmp_path / f"p{i}.png", i)
    lock, running, outcome = threading.Lock(), [0], []
    both_running = threading.Event()
    real_predict = Generator.predict_ab

    def watched(self, l_norm, cancel=None):
        with lock:
            running[0] += 1
            if running[0] == 2:
                both_running.set()
        try:
            result = real_predict(self, l_norm, cancel)
        except BaseException as exc:
            outcome.append(type(exc).__name__)
            raise
        outcome.append("finished")
        return result

    monkeypatch.setattr(Generator, "predict_ab", watched)

    def interrupt() -> None:
        assert both_running.wait(120)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    out, report = tmp_path / "out", tmp_path / "report.json"
    code = main([str(tmp_path / f"p{i}.png") for i in range(3)]
                + ["-o", str(out), "--json", str(report), "--jobs", "2", "--model", str(slow_model),
                   "--threads", "1", "--render-size", "1024"])
    stdout, _ = capfd.readouterr()
    assert code == 130 and "interrupted, 3 not done" in stdout
    assert outcome == ["Cancelled", "Cancelled"]  # both runs cut short; the third photo never started
    statuses = [f["status"] for f in json.loads(report.read_text())["files"]]
    assert statuses == ["cancelled", "cancelled", "pending"]
    assert not list(out.iterdir()) and not [p for p in tmp_path.rglob("*") if TEMP_MARKER in p.name]
