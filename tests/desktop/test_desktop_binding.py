"""Guards the Qt binding itself: PySide6 6.12.0 on Python 3.11 drops a reference to None on every void
call, and the app crashes ("Fatal Python error: none_dealloc") after a few thousand of them."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel

from desktop.app import binding_problem


def test_void_qt_calls_keep_the_reference_count_of_none(qtbot) -> None:
    label = QLabel("x")
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.update()
        label.setText("y")
    assert abs(sys.getrefcount(None) - before) < 100, binding_problem() or "the Qt binding leaks None references"
    assert binding_problem() is None


def test_rechroma_self_test_flag_runs_the_engine_check(standin_model, tmp_path):
    """`rechroma --self-test` (pip install or bundle) colorizes a photo and checks it, without a window."""
    import cv2
    from standin_model import make_scene

    from desktop import app

    photo = tmp_path / "scan.png"
    cv2.imwrite(str(photo), cv2.cvtColor(make_scene(96, 128), cv2.COLOR_RGB2BGR))
    assert app.main(["--self-test", "--model", str(standin_model), "--photo", str(photo), "--no-window"]) == 0
