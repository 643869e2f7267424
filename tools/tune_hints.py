"""Tune hint mode's propagation and blend on validation photos (never on the reserved held-out set).

    python tools/tune_hints.py FOLDER levin|prop|area|blend|passes

FOLDER holds colour photos of the val split (docs/hints.md says which were used). Every photo is judged at
512 px with the model's automatic colour computed once; the simulated points are rechroma-eval's. Scores are
mean CIEDE2000 at half size (for speed) for 1, 3, 10 and 30 points. Stages:
- ``levin``: Levin et al. 2004 at 384 px, and the model alone (the references);
- ``prop``: the propagation alone over a grid of fixed lambda and sigma;
- ``area``: lambda = c x render pixels / points, for a few c, sigma and patch sizes;
- ``blend``: the chosen propagation over the model, weight confidence^gamma, for fixed gammas and gamma 0.1/N;
- ``passes``: the shipped hint mode (three passes, engine.propagation) against variants of its long-reach and
  residual passes and of its blend exponent, each set through the module's constants.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from unittest import mock

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import propagation  # noqa: E402
from engine.hints import rasterise  # noqa: E402
from engine.model import Generator  # noqa: E402
from engine.pipeline import Prediction, lightness_of, predict_ab, render_lightness  # noqa: E402
from engine.propagation import blend, propagate  # noqa: E402
from trainer import metrics  # noqa: E402
from trainer.evaluate import load_truth, make_grey  # noqa: E402
from trainer.hint_eval import simulate_hints  # noqa: E402
from trainer.levin import levin_colorize  # noqa: E402

COUNTS = (1, 3, 10, 30)


def half(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)


def load(folder: Path, generator: Generator) -> list[tuple]:
    cache = []
    for path in sorted(folder.glob("*.jpg")):
        _, truth = load_truth(path, 512)
        lightness = lightness_of(make_grey(truth))
        small = render_lightness(lightness, 512)
        auto = predict_ab(lightness, generator, render_size=512)
        cache.append((half(truth), lightness, small, auto, {n: simulate_hints(truth, n, path.name) for n in COUNTS}))
    return cache


def score(lightness: np.ndarray, ab: np.ndarray, truth_half: np.ndarray) -> float:
    return metrics.mean_ciede2000(half(Prediction(lightness, ab).render(1.0)), truth_half)


def curve(cache: list[tuple], colour_of) -> list[float]:
    """Mean score per point count; ``colour_of(small, planes, auto, n)`` gives the render-size a*b*."""
    out: dict[int, list[float]] = {n: [] for n in COUNTS}
    for truth_half, lightness, small, auto, hints in cache:
        for n in COUNTS:
            planes = rasterise(hints[n], lightness.shape[::-1], small.shape[::-1], patch=PATCH[0])
            out[n].append(score(lightness, colour_of(small, planes, auto, n), truth_half))
    return [round(float(np.mean(out[n])), 3) for n in COUNTS]


PATCH = [3]


def main() -> int:
    folder, stage = Path(sys.argv[1]), sys.argv[2]
    cv2.setNumThreads(1)
    cache = load(folder, Generator(None, device="cpu", threads=1))
    if stage == "levin":
        print("model alone", curve(cache, lambda small, planes, auto, n: auto))
        rows = []
        for truth_half, lightness, _, _, hints in cache:
            levin_l = render_lightness(lightness, 384)
            row = []
            for n in COUNTS:
                planes = rasterise(hints[n], lightness.shape[::-1], levin_l.shape[::-1])
                row.append(score(lightness, levin_colorize(levin_l, planes.ab, planes.mask), truth_half))
            rows.append(row)
        print("levin at 384", [round(float(x), 3) for x in np.mean(rows, axis=0)])
    elif stage == "prop":
        for lam, sigma in itertools.product([3e4, 1e5, 3e5, 1e6, 3e6], [1.0, 2.0, 4.0, 8.0]):
            print(f"lambda {lam:.0e} sigma {sigma}",
                  curve(cache, lambda s, p, a, n, lam=lam, sigma=sigma: propagate(s, p, lam=lam, sigma=sigma).ab))
    elif stage == "area":
        for c, sigma, patch in ((1.5, 4.0, 3), (1.5, 3.0, 3), (0.7, 4.0, 3), (3.0, 4.0, 3), (1.5, 4.0, 5),
                                (1.5, 4.0, 1)):
            PATCH[0] = patch
            print(f"lambda {c} x pixels / points, sigma {sigma}, patch {patch}", curve(
                cache, lambda s, p, a, n, c=c, sigma=sigma: propagate(s, p, lam=c * s.size / n, sigma=sigma).ab))
        PATCH[0] = 3
    elif stage == "blend":
        def blended(gamma_of):
            def colour_of(small, planes, auto, n):
                result = propagate(small, planes, lam=0.7 * small.size / n, sigma=4.0)
                weight = (result.confidence ** gamma_of(n))[..., None]
                return result.ab * weight + auto * (1.0 - weight)
            return colour_of

        for gamma in (0.02, 0.05, 0.1, 0.25, 0.5, 1.0):
            print(f"gamma {gamma}", curve(cache, blended(lambda n, g=gamma: g)))
        print("gamma 0.1 / points", curve(cache, blended(lambda n: 0.1 / n)))
    elif stage == "passes":
        variants = {
            "shipped": {},
            "long reach 20x, sigma 1.5x": {"COARSE_LAMBDA": 20 / 0.7, "COARSE_SIGMA": 1.5},
            "long reach 20x": {"COARSE_LAMBDA": 20 / 0.7},
            "long reach 1x (no longer than the short pass)": {"COARSE_LAMBDA": 1.0},
            "residual sigma 1x": {"RESIDUAL_SIGMA": 1.0},
            "blend 0.1 / hints": {"BLEND_GAMMA_ONE_HINT": 0.1, "BLEND_HINT_POWER": 1.0},
            "blend 0.3 / hints^0.5": {"BLEND_HINT_POWER": 0.5},
        }
        for name, constants in variants.items():
            with mock.patch.multiple(propagation, **constants):
                print(name, curve(cache, lambda small, planes, auto, n: blend(auto, propagate(small, planes), n)))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
