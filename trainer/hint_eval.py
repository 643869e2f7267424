"""Hint mode judged like the automatic mode: simulated user points on colour photos, a curve over the number of
points, and the baselines the shipped hint mode has to beat.

Points are simulated as the issue fixes them: a fixed random sequence per photo name (so every method and every
run sees the same points, and the first 3 of 10 are the first 3 of 3), uniform over the photo minus a 3 % border,
each with the original's mean a*b* over a 7x7 patch. Rows of the curve:

- the shipped hint mode: the engine's ``colorize(..., hints=...)`` with the given model, as the CLI runs it;
- the engine's propagation alone (engine.propagation over no model colour: grey where no hint reaches);
- Levin et al. 2004 (trainer.levin) from the same points drawn the same way;
- grey.
"""

from __future__ import annotations

import dataclasses
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np

from engine import colour
from engine.hints import FractionHint, rasterise
from engine.model import Generator
from engine.photo_io import PhotoError
from engine.pipeline import Prediction, colorize, lightness_of, render_lightness
from engine.propagation import propagate
from trainer import metrics
from trainer.evaluate import load_truth, make_grey
from trainer.levin import levin_colorize

BORDER = 0.03
PATCH_MEAN = 7
#: Points drawn per photo; a curve with N points uses the first N.
MAX_POINTS = 30
DEFAULT_COUNTS = (0, 1, 3, 10, 30)
#: Long side at which Levin's sparse system is solved (its LU costs ~1.3 s at 384 px, ~4 s at 512 px on
#: this project's 2 cores), then its a*b* are upsampled like the engine's.
LEVIN_SIZE = 384
ROWS = ("hint mode (shipped)", "propagation alone", "Levin et al. 2004", "grey")
#: The row of a second model's hint mode (``rechroma-eval --hints ... --baseline MODEL``): a candidate judged
#: against the shipped model on the same points in one run.
BASELINE_ROW = "hint mode (baseline model)"


def simulate_hints(truth: np.ndarray, count: int, name: str) -> list[FractionHint]:
    """``count`` points on an sRGB uint8 photo, the same for the same photo name on every run."""
    if count > MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS} simulated points, got {count}")
    rng = np.random.default_rng(zlib.crc32(name.encode("utf-8")))
    positions = rng.uniform(BORDER, 1.0 - BORDER, size=(MAX_POINTS, 2))[:count]
    height, width = truth.shape[:2]
    ab = colour.rgb_to_lab(truth.astype(np.float32) / 255.0)[..., 1:]
    ab_mean = cv2.blur(ab, (PATCH_MEAN, PATCH_MEAN), borderType=cv2.BORDER_REFLECT_101)  # 7x7 mean everywhere
    hints = []
    for fx, fy in positions:
        col, row = min(width - 1, int(fx * width)), min(height - 1, int(fy * height))
        hints.append(FractionHint(float(fx), float(fy), *map(float, ab_mean[row, col])))
    return hints


def _as_uint8(rendered: np.ndarray) -> np.ndarray:
    return rendered if rendered.dtype == np.uint8 else (rendered.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)


def methods_for(photo, grey: np.ndarray, hints: list[FractionHint], generator: Generator,
                render_size: int | None, levin_size: int = LEVIN_SIZE,
                baseline: Generator | None = None) -> dict[str, np.ndarray]:
    """The four rows' outputs (uint8 RGB) for one photo and one set of points (five with a baseline model)."""
    grey_photo = dataclasses.replace(photo, pixels=grey, alpha=None, exif=None)
    hinted = colorize(grey_photo, generator, hints=hints, render_size=render_size).render(1.0)
    rows = {ROWS[0]: _as_uint8(hinted)}
    if baseline is not None:
        rows[BASELINE_ROW] = _as_uint8(colorize(grey_photo, baseline, hints=hints, render_size=render_size).render(1.0))
    if not hints:  # both propagations are grey by definition (and need no solve)
        return {**rows, ROWS[1]: grey, ROWS[2]: grey, ROWS[3]: grey}
    lightness = lightness_of(grey)
    size = (grey.shape[1], grey.shape[0])
    small = render_lightness(lightness, render_size or generator.contract.default_render_size)
    planes = rasterise(hints, size, small.shape[::-1])
    propagated = propagate(small, planes)
    levin_l = render_lightness(lightness, levin_size)
    levin_planes = rasterise(hints, size, levin_l.shape[::-1])
    levin_ab = levin_colorize(levin_l, levin_planes.ab, levin_planes.mask)
    return {
        **rows,
        ROWS[1]: _as_uint8(Prediction(lightness, propagated.ab).render(1.0)),
        ROWS[2]: _as_uint8(Prediction(lightness, levin_ab).render(1.0)),
        ROWS[3]: grey,
    }


def hint_curve(photos: list[Path], generator: Generator, counts: tuple[int, ...] = DEFAULT_COUNTS, *,
               render_size: int | None = None, max_side: int = 512, levin_size: int = LEVIN_SIZE,
               progress: bool = True, baseline: Generator | None = None) -> dict[int, dict[str, list[float]]]:
    """CIEDE2000 per photo: ``{count: {row: [de00 per photo]}}``."""
    rows = (ROWS[0], BASELINE_ROW, *ROWS[1:]) if baseline is not None else ROWS
    curve: dict[int, dict[str, list[float]]] = {n: {row: [] for row in rows} for n in counts}
    for i, path in enumerate(photos):
        try:
            photo, truth = load_truth(path, max_side)
        except PhotoError as exc:
            print(f"skip {path}: {exc}", file=sys.stderr)
            continue
        grey = make_grey(truth)
        grey_score = metrics.mean_ciede2000(grey, truth)
        for n in counts:
            outputs = methods_for(photo, grey, simulate_hints(truth, n, path.name), generator, render_size,
                                  levin_size, baseline)
            for row, image in outputs.items():
                curve[n][row].append(grey_score if row == ROWS[3] else metrics.mean_ciede2000(image, truth))
        if progress:
            print(f"\r{i + 1}/{len(photos)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return curve


def curve_table(curve: dict[int, dict[str, list[float]]], title: str) -> str:
    """Mean CIEDE2000 per row and point count, and each row relative to grey."""
    counts = list(curve)
    photos = len(curve[counts[0]][ROWS[3]])
    head = "| points | " + " | ".join(str(n) for n in counts) + " |"
    rule = "|---|" + "---|" * len(counts)
    means = {n: {row: float(np.mean(v)) if v else float("nan") for row, v in curve[n].items()} for n in counts}
    rows = list(curve[counts[0]])  # ROWS, with the baseline model's row after the first when there is one
    lines = [f"### {title} ({photos} photos): CIEDE2000 ↓", "", head, rule]
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(f"{means[n][row]:.2f}" for n in counts) + " |")
    lines += ["", "Relative to grey (negative is better):", "", head, rule]
    for row in rows[:-1]:
        lines.append(f"| {row} | " + " | ".join(
            f"{100.0 * (means[n][row] / means[n][ROWS[3]] - 1.0):+.1f} %" for n in counts) + " |")
    lines += ["", "Hint mode relative to Levin (negative: hint mode better):", "", head, rule]
    lines.append("| hint mode vs Levin | " + " | ".join(
        f"{100.0 * (means[n][ROWS[0]] / means[n][ROWS[2]] - 1.0):+.1f} %" if n else "–" for n in counts) + " |")
    if BASELINE_ROW in rows:
        lines.append("| hint mode vs baseline model | " + " | ".join(
            f"{100.0 * (means[n][ROWS[0]] / means[n][BASELINE_ROW] - 1.0):+.1f} %" for n in counts) + " |")
    return "\n".join(lines) + "\n"
