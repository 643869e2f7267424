"""Generator loading, device reporting, prediction shape/scale and cancellation of a running inference."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from engine import colour
from engine.cancel import Cancelled, CancelToken
from engine.model import DeviceError, Generator, NoModelError, default_model_path
from engine.resources import MODELS_DIR_ENV, models_dir


def test_generator_reports_cpu_device_and_contract(standin_model: Path) -> None:
    gen = Generator(standin_model, device="cpu")
    assert gen.device == "cpu"
    assert gen.providers[0] == "CPUExecutionProvider"
    assert gen.contract.model_name == "standin"
    assert gen.name == "standin v1"
    assert gen.path == standin_model


def test_auto_device_falls_back_to_cpu_without_cuda(standin_model: Path) -> None:
    assert Generator(standin_model, device="auto").device == "cpu"


def test_cuda_request_without_cuda_is_a_clear_error(standin_model: Path) -> None:
    with pytest.raises(DeviceError, match="cuda"):
        Generator(standin_model, device="cuda")


def test_unknown_device_is_refused(standin_model: Path) -> None:
    with pytest.raises(DeviceError, match="unknown device"):
        Generator(standin_model, device="tpu")


def test_predict_ab_shape_dtype_and_denormalised_range(standin_model: Path) -> None:
    gen = Generator(standin_model, device="cpu", threads=1)
    rng = np.random.default_rng(0)
    l_norm = colour.normalize_l(rng.uniform(0, 100, size=(64, 96)).astype(np.float32))
    ab = gen.predict_ab(l_norm)
    assert ab.shape == (64, 96, 2) and ab.dtype == np.float32
    # tanh output times ab_scale: bounded by 110, and clearly not still in normalised units.
    assert np.abs(ab).max() <= colour.AB_SCALE + 1e-3
    assert np.abs(ab).max() > 2.0


def test_predict_ab_rejects_sizes_off_the_multiple(standin_model: Path) -> None:
    gen = Generator(standin_model, device="cpu", threads=1)
    with pytest.raises(ValueError, match="multiple of 32"):
        gen.predict_ab(np.zeros((50, 64), np.float32))


def test_session_is_reused_between_predictions(standin_model: Path) -> None:
    gen = Generator(standin_model, device="cpu", threads=1)
    session = gen._session
    first = gen.predict_ab(np.zeros((32, 32), np.float32))
    second = gen.predict_ab(np.zeros((32, 32), np.float32))
    assert gen._session is session
    np.testing.assert_array_equal(first, second)


def test_cancel_before_predict_raises(standin_model: Path) -> None:
    gen = Generator(standin_model, device="cpu", threads=1)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        gen.predict_ab(np.zeros((32, 32), np.float32), cancel=token)


def test_cancel_from_another_thread_interrupts_inference(tmp_path: Path) -> None:
    from standin_model import build_standin_model

    heavy = Generator(build_standin_model(tmp_path / "heavy.onnx", width=32, depth=4), device="cpu", threads=1)
    token = CancelToken()
    timer = threading.Timer(0.05, token.cancel)
    timer.start()
    try:
        with pytest.raises(Cancelled):
            heavy.predict_ab(np.zeros((1024, 1024), np.float32), cancel=token)
    finally:
        timer.cancel()


def test_no_model_installed_says_where_and_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert models_dir() == tmp_path
    assert default_model_path() is None
    with pytest.raises(NoModelError) as info:
        Generator()
    message = str(info.value)
    assert str(tmp_path) in message and "rechroma-train" in message and "--model" in message


def test_missing_model_file_is_no_model_error(tmp_path: Path) -> None:
    with pytest.raises(NoModelError, match="not found"):
        Generator(tmp_path / "nope.onnx")


def test_default_model_is_the_newest_onnx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          standin_model: Path) -> None:
    import os
    import shutil

    old, new = tmp_path / "a_old.onnx", tmp_path / "b_new.onnx"
    shutil.copy(standin_model, old)
    shutil.copy(standin_model, new)
    os.utime(old, (1_000_000, 1_000_000))
    (tmp_path / "notes.txt").write_text("not a model")
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert default_model_path() == new
    assert Generator(threads=1).path == new
