"""Border artefacts of the mirrored margin (issue 16, "Do 6"): the engine's 32-px margin against a narrower one,
on colour photos made grey and colorized through the engine's own path, as rechroma-eval does.

    python tools/eval_margin.py work/tune --margins 32,16

Per margin: CIEDE2000 over the whole photo and in the border band (outer 1/16 of each side), and mean |Δa*b*| to
the original in the band, the four corner eighths and the centre (inner half), the corner check of the model
card. Against the first margin: mean |Δa*b*| between the two predictions in the band and in the centre.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from skimage.color import deltaE_ciede2000

from engine import colour, pipeline
from engine.model import Generator
from engine.photo_io import PhotoError
from trainer import metrics
from trainer.evaluate import find_photos, load_truth, make_grey, run_model

ORIGINAL_PAD = pipeline._reflect_pad


def regions(height: int, width: int) -> dict[str, np.ndarray]:
    band_h, band_w = max(1, height // 16), max(1, width // 16)
    band = np.ones((height, width), bool)
    band[band_h:-band_h, band_w:-band_w] = False
    corners = np.zeros((height, width), bool)
    ch, cw = max(1, height // 8), max(1, width // 8)
    for ys in (slice(0, ch), slice(height - ch, height)):
        for xs in (slice(0, cw), slice(width - cw, width)):
            corners[ys, xs] = True
    centre = np.zeros((height, width), bool)
    centre[height // 4: height - height // 4, width // 4: width - width // 4] = True
    return {"band": band, "corners": corners, "centre": centre}


def lab(image: np.ndarray) -> np.ndarray:
    return colour.rgb_to_lab(metrics.as_float_rgb(image)).astype(np.float64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--model", type=Path, default=Path("resources/models/rechroma-v2.onnx"))
    parser.add_argument("--margins", default="32,16")
    parser.add_argument("--max-side", type=int, default=768)
    parser.add_argument("--title", default="Margin")
    args = parser.parse_args(argv)
    margins = [int(m) for m in args.margins.split(",")]
    generator = Generator(args.model, device="cpu")
    keys = ["de00", "de00_band", "ab_band", "ab_corners", "ab_centre", "vs_first_band", "vs_first_centre"]
    sums = {m: {k: [] for k in keys} for m in margins}
    photos = find_photos(args.folders)
    for n, path in enumerate(photos):
        try:
            photo, truth = load_truth(path, args.max_side)
        except PhotoError as exc:
            print(f"skip {path}: {exc}", file=sys.stderr)
            continue
        grey = make_grey(truth)
        lab_t = lab(truth)
        masks = regions(*truth.shape[:2])
        first_ab = None
        for margin in margins:
            pipeline._reflect_pad = lambda image, multiple, margin=0, m=margin: ORIGINAL_PAD(image, multiple,
                                                                                              margin=m)
            try:
                lab_p = lab(run_model(generator, photo, grey, None))
            finally:
                pipeline._reflect_pad = ORIGINAL_PAD
            de = deltaE_ciede2000(lab_t, lab_p)
            dab = np.hypot(*(lab_t[..., 1:] - lab_p[..., 1:]).transpose(2, 0, 1))
            row = sums[margin]
            row["de00"].append(de.mean())
            row["de00_band"].append(de[masks["band"]].mean())
            for name in ("band", "corners", "centre"):
                row[f"ab_{name}"].append(dab[masks[name]].mean())
            if first_ab is None:
                first_ab = lab_p[..., 1:]
            between = np.hypot(*(lab_p[..., 1:] - first_ab).transpose(2, 0, 1))
            row["vs_first_band"].append(between[masks["band"]].mean())
            row["vs_first_centre"].append(between[masks["centre"]].mean())
        print(f"\r{n + 1}/{len(photos)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    count = len(sums[margins[0]]["de00"])
    print(f"### {args.title} ({count} photos, {generator.name})\n")
    print(f"| margin px | ΔE00 | ΔE00 border band | |Δab| band | |Δab| corners | |Δab| centre "
          f"| |Δab| vs {margins[0]} px, band | vs {margins[0]} px, centre |")
    print("|---|---|---|---|---|---|---|---|")
    for margin in margins:
        s = {k: float(np.mean(v)) for k, v in sums[margin].items()}
        print(f"| {margin} | {s['de00']:.3f} | {s['de00_band']:.3f} | {s['ab_band']:.2f} | {s['ab_corners']:.2f} | "
              f"{s['ab_centre']:.2f} | {s['vs_first_band']:.2f} | {s['vs_first_centre']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
