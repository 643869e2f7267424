"""Training reports as PNG: sample grids (grey / ours / ground truth) and the loss curves."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from engine import colour


def lab_norm_to_rgb_u8(l_norm: np.ndarray, ab_norm: np.ndarray) -> np.ndarray:
    """One crop: L_norm (H, W) + ab_norm (2, H, W) -> uint8 sRGB (H, W, 3), out-of-gamut clipped."""
    lab = np.concatenate(
        [colour.denormalize_l(l_norm)[..., None], colour.denormalize_ab(np.moveaxis(ab_norm, 0, -1))], axis=-1
    )
    return colour.to_uint8(np.clip(colour.lab_to_rgb(lab), 0.0, 1.0))


def batch_to_rgb(l_norm: np.ndarray, ab_norm: np.ndarray) -> np.ndarray:
    """[N,1,H,W] + [N,2,H,W] -> [N,H,W,3] uint8."""
    return np.stack([lab_norm_to_rgb_u8(lum[0], ab) for lum, ab in zip(l_norm, ab_norm, strict=True)])


def sample_grid(l_norm: np.ndarray, pred_ab: np.ndarray, true_ab: np.ndarray, gap: int = 4) -> np.ndarray:
    """Rows: grey input / ours / ground truth; one column per crop. Returns uint8 RGB."""
    grey = batch_to_rgb(l_norm, np.zeros_like(true_ab))
    rows = [grey, batch_to_rgb(l_norm, pred_ab), batch_to_rgb(l_norm, true_ab)]
    n, h, w, _ = grey.shape
    grid = np.full((3 * h + 2 * gap, n * w + (n - 1) * gap, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            grid[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = img
    return grid


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")
    return path


def read_metrics(csv_path: str | Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.csv (long format: step, phase, name, value) -> {name: [(step, value), ...]}."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            series[row["name"]].append((int(row["step"]), float(row["value"])))
    return dict(series)


def loss_plot(csv_path: str | Path, png_path: str | Path) -> Path | None:
    """Training losses (left) and validation scores (right) against step; None if nothing to plot yet."""
    series = read_metrics(csv_path)
    losses = {k: v for k, v in series.items() if k.startswith("loss_")}
    vals = {k: v for k, v in series.items() if k.startswith("val_")}
    if not losses and not vals:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display on training machines
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, group, title in ((axes[0], losses, "training losses"), (axes[1], vals, "validation")):
        for name, points in sorted(group.items()):
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, label=name, marker="." if len(points) < 30 else None)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_yscale("log" if group is losses else "linear")
        if group:
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    png_path = Path(png_path)
    tmp = png_path.with_name(png_path.name + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(png_path)
    return png_path
