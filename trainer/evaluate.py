"""Judge a colorizer as docs/quality.md does: make colour photos grey, colorize them through the engine, compare.

The engine's own `colorize` + `Prediction.render` is the code path under test, exactly as the app and the CLI use
it; only the file decode happens once here so every model sees the same pixels. Baselines (the grey photo itself
and, when given, an L1-only generator) are computed in the same run so the table is self-consistent.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from engine import colour
from engine.model import Generator
from engine.photo_finder import find_photos as engine_find_photos
from engine.photo_io import PhotoError, read_photo
from engine.pipeline import colorize
from trainer import metrics

METRIC_KEYS = ("de00", "psnr", "ssim", "cf_pred", "cf_true")


def find_photos(folders: list[Path]) -> list[Path]:
    """Files as given, folders walked (the engine's suffix list and rules), each folder's photos in path order.

    Earlier Rechroma results are not skipped: a held-out folder is ground truth, whatever wrote it."""
    found: list[Path] = []
    for folder in folders:
        if folder.is_file():
            found.append(folder)
            continue
        found += sorted(p.path for p in engine_find_photos([folder], recursive=True, skip_results=False).photos)
    return found


def unpack_split(pack: Path, split: int, folder: Path) -> list[Path]:
    """Write the pack's photos of one split (1 = val) as JPEG files, so they go through the engine's decoder.

    Photos with people go under ``people/``, the rest under ``other/``, so the report breaks them down the
    way the held-out set's folders do."""
    data = np.load(pack)
    people = data["people"] if "people" in data.files else np.zeros(len(data["split"]), np.uint8)
    paths = []
    for i in np.flatnonzero(data["split"] == split):
        path = folder / ("people" if people[i] else "other") / f"{i:04d}-{Path(str(data['name'][i])).stem}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data["jpeg"][data["offsets"][i] : data["offsets"][i + 1]].tobytes())
        paths.append(path)
    return paths


def photo_groups(photos: list[Path], roots: list[Path]) -> dict[str, str]:
    """Photo path -> its first sub-folder under the root it was found in (``people``, ``other``, ...).

    docs/quality.md judges people, objects and interiors as well as landscapes: a mean over everything can hide a
    model that only does skies. Photos straight in a root have no group."""
    groups: dict[str, str] = {}
    for path in photos:
        for root in roots:
            if root.is_dir() and path.is_relative_to(root):
                parts = path.relative_to(root).parts
                if len(parts) > 1:
                    groups[str(path)] = parts[0]
                break
    return groups


def group_tables(results: dict[str, list[dict]], groups: dict[str, str], title: str) -> str:
    """One table per group, when the photos fall into two or more groups."""
    names = sorted(set(groups.values()))
    if len(names) < 2:
        return ""
    tables = []
    for name in names:
        subset = {
            model: [r for r in rows if groups.get(r["photo"]) == name] for model, rows in results.items()
        }
        if subset["grey"]:
            tables.append(markdown_table(subset, f"{title}: {name}"))
    return "\n".join(tables)


def set_tables(results: dict[str, list[dict]], roots: dict[Path, str], groups: dict[str, str], title: str) -> str:
    """With photos from two or more sets (a held-out folder and a pack's val split), each set's own table and
    its groups: the sets answer different questions (like the training data, or unlike it)."""
    if len(roots) < 2:
        return ""
    tables = []
    for root, label in roots.items():
        subset = {model: [r for r in rows if Path(r["photo"]).is_relative_to(root)] for model, rows in results.items()}
        if subset["grey"]:
            tables.append(markdown_table(subset, f"{title}: {label}"))
            tables.append(group_tables(subset, groups, f"{title}: {label}"))
    return "\n".join(t for t in tables if t)


def load_truth(path: Path, max_side: int):
    """The photo as 8-bit sRGB, downscaled so metrics stay cheap on big scans; None if grey already."""
    photo = read_photo(path)
    pixels = photo.pixels
    if pixels.dtype != np.uint8:
        pixels = (pixels.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    h, w = pixels.shape[:2]
    scale = max_side / max(h, w)
    if scale < 1:
        pixels = cv2.resize(pixels, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return photo, pixels


def make_grey(truth: np.ndarray) -> np.ndarray:
    """The grey version keeps L* exactly (a* = b* = 0), so every model starts from the same lightness."""
    lightness = colour.rgb_to_lightness(truth.astype(np.float32) / 255.0)
    lab = np.zeros((*lightness.shape, 3), np.float32)
    lab[..., 0] = lightness
    return colour.to_uint8(np.clip(colour.lab_to_rgb(lab), 0, 1))


def predict_grey(generator: Generator, photo, grey: np.ndarray, render_size: int | None):
    """The engine's Prediction for the grey version of ``photo`` (the app's own colorize path)."""
    return colorize(dataclasses.replace(photo, pixels=grey, alpha=None, exif=None), generator, render_size=render_size)


def run_model(generator: Generator, photo, grey: np.ndarray, render_size: int | None) -> np.ndarray:
    rendered = predict_grey(generator, photo, grey, render_size).render(1.0)
    if rendered.dtype != np.uint8:
        rendered = (rendered.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    return rendered


def strength_sweep(photos: list[Path], generator: Generator, strengths: list[float], *, max_side: int = 768,
                   render_size: int | None = None) -> dict[str, list[dict]]:
    """Metrics at several colour strengths from one cached prediction per photo: calibrates a chroma gain."""
    results: dict[str, list[dict]] = {f"strength {s:g}": [] for s in strengths}
    for path in photos:
        try:
            photo, truth = load_truth(path, max_side)
        except PhotoError:
            continue
        prediction = predict_grey(generator, photo, make_grey(truth), render_size)
        for s in strengths:
            results[f"strength {s:g}"].append(metrics.image_scores(prediction.render(s), truth))
    return results


def summarise(rows: list[dict]) -> dict[str, float]:
    out = {k: float(np.mean([r[k] for r in rows])) for k in METRIC_KEYS}
    out["false_colour"] = metrics.pooled_rate(rows, "fc_hit", "fc_base")
    out["lost_colour"] = metrics.pooled_rate(rows, "lc_hit", "lc_base")
    return out


def worst_photos(results: dict[str, list[dict]], model: str, count: int = 10) -> list[tuple[int, float]]:
    """(row index, ΔE00 model − grey) of the ``count`` photos the model harms most against grey, worst first;
    only photos it makes worse than grey are listed."""
    diffs = [(i, m["de00"] - g["de00"]) for i, (m, g) in enumerate(zip(results[model], results["grey"], strict=True))]
    harmed = sorted((d for d in diffs if d[1] > 0), key=lambda d: -d[1])
    return harmed[:count]


def worst_table(results: dict[str, list[dict]], model: str, count: int = 10) -> str:
    lines = [f"### Worst {count} against grey: {model}", "",
             "| photo | ΔE00 grey | ΔE00 model | difference | false colour % |", "|---|---|---|---|---|"]
    worst = worst_photos(results, model, count)
    for i, diff in worst:
        row, grey = results[model][i], results["grey"][i]
        rate = 100.0 * metrics.pooled_rate([row], "fc_hit", "fc_base")
        lines.append(f"| {Path(row['photo']).name} | {grey['de00']:.2f} | {row['de00']:.2f} | {diff:+.2f} | "
                     f"{rate:.1f} |")
    if not worst:
        lines.append("| (no photo is worse than grey) | | | | |")
    return "\n".join(lines) + "\n"


def markdown_table(results: dict[str, list[dict]], title: str) -> str:
    grey = summarise(results["grey"])
    lines = [
        f"### {title} ({len(results['grey'])} photos)",
        "",
        "| model | ΔE00 ↓ | vs grey | colourfulness (originals {:.1f}) | CF ratio | PSNR dB | SSIM "
        "| false colour % ↓ | lost colour % ↓ |".format(grey["cf_true"]),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        s = summarise(rows)
        rel = 100.0 * (s["de00"] - grey["de00"]) / grey["de00"]
        lines.append(
            f"| {name} | {s['de00']:.2f} | {rel:+.1f} % | {s['cf_pred']:.1f} | "
            f"{s['cf_pred'] / max(s['cf_true'], 1e-6):.2f} | {s['psnr']:.2f} | {s['ssim']:.3f} | "
            f"{100 * s['false_colour']:.2f} | {100 * s['lost_colour']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def contact_sheet(columns: dict[str, list[np.ndarray]], path: Path, tile_h: int = 160, rows: int = 10) -> None:
    """One row per photo, one column per model (grey ... truth), each tile scaled to the same height."""
    names = list(columns)
    sheet_rows = []
    for i in range(min(rows, len(columns[names[0]]))):
        tiles = []
        for name in names:
            img = columns[name][i]
            h, w = img.shape[:2]
            tiles.append(cv2.resize(img, (max(1, round(w * tile_h / h)), tile_h), interpolation=cv2.INTER_AREA))
        sheet_rows.append(np.hstack(tiles))
    if not sheet_rows:
        return
    width = max(r.shape[1] for r in sheet_rows)
    sheet_rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in sheet_rows]
    header = np.full((24, width, 3), 255, np.uint8)
    x = 0
    for name in names:
        cv2.putText(header, name, (x + 4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        x += round(columns[name][0].shape[1] * tile_h / columns[name][0].shape[0])
    sheet = np.vstack([header, *sheet_rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def evaluate(
    photos: list[Path],
    models: dict[str, Generator],
    *,
    render_size: int | None = None,
    max_side: int = 768,
    sheet: Path | None = None,
    worst_sheet: Path | None = None,
    progress: bool = True,
) -> dict[str, list[dict]]:
    """Per-photo metrics for 'grey', each named model, in input order; photos that fail to load are skipped.

    ``worst_sheet`` gets the photos the last model harms most against grey (see :func:`worst_photos`)."""
    results: dict[str, list[dict]] = {"grey": [], **{name: [] for name in models}}
    columns: dict[str, list[np.ndarray]] = {"grey": [], **{name: [] for name in models}, "original": []}
    for n, path in enumerate(photos):
        try:
            photo, truth = load_truth(path, max_side)
        except PhotoError as exc:
            print(f"skip {path}: {exc}", file=sys.stderr)
            continue
        grey = make_grey(truth)
        outputs = {"grey": grey}
        for name, generator in models.items():
            outputs[name] = run_model(generator, photo, grey, render_size)
        for name, out in outputs.items():
            row = metrics.image_scores(out, truth)
            row["photo"] = str(path)
            results[name].append(row)
            columns[name].append(out)
        columns["original"].append(truth)
        if progress:
            print(f"\r{n + 1}/{len(photos)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    if sheet is not None:
        contact_sheet(columns, sheet)
    if worst_sheet is not None and models:
        worst = [i for i, _ in worst_photos(results, list(models)[-1])]
        if worst:
            contact_sheet({name: [tiles[i] for i in worst] for name, tiles in columns.items()}, worst_sheet)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rechroma-eval", description=__doc__)
    parser.add_argument("folders", nargs="*", type=Path, help="folders (or files) of colour photos")
    parser.add_argument("--pack", type=Path, default=None, help="also judge the val split of this training pack")
    parser.add_argument("--model", type=Path, default=None, help="generator to judge (default: shipped model)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="generator without the GAN phase, to compare (with --hints: a second model's hint "
                        "mode, judged on the same points)")
    parser.add_argument("--baseline-name", default="L1 only", help="how the table names the baseline")
    parser.add_argument("--render-size", type=int, default=None)
    parser.add_argument("--max-side", type=int, default=768, help="photos are judged at this long side")
    parser.add_argument("--limit", type=int, default=None, help="judge only the first N photos")
    parser.add_argument("--out", type=Path, default=Path("work/eval"), help="folder for report.md + sheet.png")
    parser.add_argument("--title", default="Evaluation")
    parser.add_argument("--strengths", default=None,
                        help="comma-separated colour strengths: print the model's metrics at each (calibration)")
    parser.add_argument("--tta", action="store_true",
                        help="judge the model with test-time flip averaging (the engine's flip_average)")
    parser.add_argument("--hints", default=None, metavar="N[,N...]",
                        help="judge hint mode instead: simulate N points per photo (e.g. 10, or the curve "
                        "0,1,3,10,30) against the propagation alone, Levin et al. 2004 and grey")
    parser.add_argument("--levin-size", type=int, default=None,
                        help="long side at which the Levin baseline is solved (default 384)")
    args = parser.parse_args(argv)

    photos = find_photos(args.folders)
    roots = list(args.folders)
    sets = {folder: folder.name for folder in args.folders if folder.is_dir()}
    if args.pack is not None:
        photos += unpack_split(args.pack, 1, args.out / "val-photos")
        roots.append(args.out / "val-photos")
        sets[args.out / "val-photos"] = "val split"
    photos = photos[: args.limit]
    if not photos:
        print("no photos found", file=sys.stderr)
        return 2
    if args.hints is not None:
        return _hint_main(args, photos)
    models: dict[str, Generator] = {}
    if args.baseline is not None:
        models[args.baseline_name] = Generator(args.baseline, device="cpu")
    main_model = Generator(args.model, device="cpu", flip_average=args.tta)
    label = f"{main_model.name} + flip TTA" if args.tta else main_model.name
    models[label] = main_model
    if args.strengths:
        sweep = strength_sweep(photos, main_model, [float(s) for s in args.strengths.split(",")],
                               max_side=args.max_side, render_size=args.render_size)
        grey_rows = evaluate(photos, {}, max_side=args.max_side, progress=False)["grey"]
        print(markdown_table({"grey": grey_rows, **sweep}, f"{args.title}: strength sweep"))
    start = time.perf_counter()
    results = evaluate(photos, models, render_size=args.render_size, max_side=args.max_side,
                       sheet=args.out / "sheet.png", worst_sheet=args.out / "sheet-worst.png")
    table = markdown_table(results, args.title)
    groups = photo_groups(photos, roots)
    by_group = group_tables(results, groups, args.title)
    if by_group:
        table += "\n" + by_group
    by_set = set_tables(results, sets, groups, args.title)
    if by_set:
        table += "\n" + by_set
    table += "\n" + worst_table(results, label)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(table, encoding="utf-8")
    print(table)
    print(f"({time.perf_counter() - start:.0f} s; contact sheets {args.out / 'sheet.png'}, "
          f"worst {args.out / 'sheet-worst.png'})")
    return 0


def _hint_main(args: argparse.Namespace, photos: list[Path]) -> int:
    from trainer import hint_eval  # imports this module: loaded only when asked for

    try:
        counts = tuple(int(n) for n in args.hints.split(","))
    except ValueError:
        print(f"--hints takes point counts like 10 or 0,1,3,10,30, got {args.hints!r}", file=sys.stderr)
        return 2
    if any(n < 0 or n > hint_eval.MAX_POINTS for n in counts):
        print(f"--hints counts must be between 0 and {hint_eval.MAX_POINTS}", file=sys.stderr)
        return 2
    generator = Generator(args.model, device="cpu")
    baseline = Generator(args.baseline, device="cpu") if args.baseline is not None else None
    start = time.perf_counter()
    curve = hint_eval.hint_curve(photos, generator, counts, render_size=args.render_size, max_side=args.max_side,
                                 levin_size=args.levin_size or hint_eval.LEVIN_SIZE, baseline=baseline)
    title = f"{args.title}: colour hints, {generator.name}"
    if baseline is not None:
        title += f" (baseline model: {baseline.name}, {args.baseline.name})"
    table = hint_eval.curve_table(curve, title)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hints.md").write_text(table, encoding="utf-8")
    per_photo = {"photos": [str(p) for p in photos], "curve": {str(n): rows for n, rows in curve.items()}}
    (args.out / "hints-per-photo.json").write_text(json.dumps(per_photo, indent=1), encoding="utf-8")
    print(table)
    print(f"({time.perf_counter() - start:.0f} s; photos judged at {args.max_side} px long side)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
