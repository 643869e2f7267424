"""The live strength renderer: the newest request's quick stage never waits behind a full-size render."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from desktop.images import qimage_to_array, to_qimage
from desktop.live_render import LiveRenderer

TIMEOUT_MS = 30_000


class Stage:
    """A render stage whose render can be held (a full-size render still running)."""

    alpha = None

    def __init__(self, value: int, hold: threading.Event | None = None) -> None:
        self.value, self.hold, self.started = value, hold, threading.Event()

    def render(self, strength: float) -> np.ndarray:
        self.started.set()
        if self.hold is not None:
            assert self.hold.wait(120)  # far longer than any wait below: a render held is held
        return np.full((4, 6, 3), self.value, np.uint8)


def test_a_new_strength_does_not_wait_for_the_full_render_and_the_stale_image_is_dropped(qtbot) -> None:
    renderer = LiveRenderer()
    shown: list[tuple[float, bool, int]] = []
    renderer.rendered.connect(
        lambda _key, strength, image, _ms, final: shown.append((strength, final, int(qimage_to_array(image)[0, 0, 0])))
    )
    hold = threading.Event()
    first = (Stage(10), Stage(11, hold))
    second = (Stage(20), Stage(21))
    try:
        renderer.request("photo", first, 0.5)  # type: ignore[arg-type] - stages only need render() and alpha
        qtbot.waitUntil(lambda: first[1].started.is_set(), timeout=TIMEOUT_MS)  # its full render is running
        renderer.request("photo", second, 0.7)  # type: ignore[arg-type]
        qtbot.waitUntil(lambda: len(shown) == 3, timeout=TIMEOUT_MS)  # while the first full render is held
        assert shown == [(0.5, False, 10), (0.7, False, 20), (0.7, True, 21)]
    finally:
        hold.set()
    qtbot.wait(100)
    renderer.close()
    assert shown == [(0.5, False, 10), (0.7, False, 20), (0.7, True, 21)]  # the stale full render: never shown


def test_requests_during_a_quick_stage_wait_and_only_the_latest_is_rendered(qtbot) -> None:
    renderer = LiveRenderer()
    shown: list[float] = []
    renderer.rendered.connect(lambda _key, strength, _image, _ms, final: shown.append(strength) if final else None)
    hold = threading.Event()
    quick = Stage(1, hold)
    renderer.request("photo", (quick, Stage(2)), 0.1)  # type: ignore[arg-type]
    qtbot.waitUntil(quick.started.is_set, timeout=TIMEOUT_MS)
    for strength in (0.2, 0.3, 0.4):
        renderer.request("photo", (Stage(3), Stage(4)), strength)  # type: ignore[arg-type]
    hold.set()
    qtbot.waitUntil(lambda: shown == [0.4], timeout=TIMEOUT_MS)
    assert renderer.started == 3  # the held quick stage, then the latest request's two stages
    renderer.close()


class SlowStage:
    """A stage that takes a random few milliseconds, so requests land at every point of a render."""

    alpha = None

    def __init__(self, rng: np.random.Generator, value: int) -> None:
        self.pause, self.value = float(rng.uniform(0, 0.004)), value

    def render(self, strength: float) -> np.ndarray:
        threading.Event().wait(self.pause)
        return np.full((2, 2, 3), self.value, np.uint8)


def test_however_requests_interleave_the_latest_one_ends_on_screen_and_nothing_stalls(qtbot) -> None:
    rng = np.random.default_rng(11)
    renderer = LiveRenderer()
    shown: list[tuple[float, bool]] = []
    asked: list[float] = []

    def ask(strength: float) -> None:
        asked.append(strength)
        renderer.request("photo", (SlowStage(rng, 1), SlowStage(rng, 2)), strength)  # type: ignore[arg-type]

    def on_rendered(_key, strength, _image, _ms, final) -> None:
        shown.append((strength, final))
        if rng.random() < 0.2:  # a request made while an image is being shown
            ask(round(float(rng.uniform(0, 2)), 2))

    renderer.rendered.connect(on_rendered)
    for step in range(300):
        ask(step / 200)
        if rng.random() < 0.5:
            qtbot.wait(int(rng.integers(0, 4)))
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == (asked[-1], True) and renderer._wanted is None,
                    timeout=TIMEOUT_MS)
    assert {strength for strength, _final in shown} <= set(asked)
    assert renderer._in_flight == 0
    renderer.close()


@pytest.mark.parametrize("with_alpha", [False, True])
def test_images_for_the_screen_keep_every_pixel(with_alpha: bool) -> None:
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # an odd width: rows are padded in a QImage
    alpha = rng.integers(0, 256, (37, 53), dtype=np.uint8) if with_alpha else None
    image = to_qimage(rgb, alpha)
    assert image.hasAlphaChannel() == with_alpha  # the compare view paints a checkerboard under alpha only
    assert image.depth() == 32  # painted without a conversion per repaint
    np.testing.assert_array_equal(qimage_to_array(image), rgb)
