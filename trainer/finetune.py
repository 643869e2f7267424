"""``rechroma-train --data FOLDER --init MODEL.onnx --minutes 30``: fine-tune a shipped model on your photos.

One command, in five steps, each printed as it happens:

1. **Check the folder**: every photo is decoded like the engine does; near-grey photos, drawings, tiny images
   and near-duplicates are dropped (trainer.corpus.photo_filter) and counted. Fewer than :data:`MIN_PHOTOS` usable
   photos is refused with the reason.
2. **Split**: a fixed share (by a hash of the relative path, so reruns agree) becomes the val split, written
   to ``OUT/split.csv``; the kept photos are packed (``OUT/data.npz``) at training size.
3. **Train** from the base model's weights, rebuilt from its ONNX file (trainer.onnx_import), with
   ``trainer/configs/finetune.toml`` (any option flag overrides it) and ``--minutes`` as the time budget.
4. **Export** the best checkpoint to a new file (never over an existing one) with the base model's
   contract, so the engine and the app take it like the base model.
5. **Evaluate** on the folder's own val photos, through the engine: grey vs the base model vs the fine-tuned
   one (trainer.evaluate), and write the model card beside the new ``.onnx``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import hashlib
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# trainer.evaluate, photo_filter and pack are imported where used: rechroma-train imports this module for
# its flags, and they pull in scikit-image and onnxruntime.

#: Below this many usable photos a fine-tune overfits before it learns anything about the collection.
MIN_PHOTOS = 50
VAL_FRACTION = 0.1
MIN_VAL = 5
CONFIG = Path(__file__).resolve().parent / "configs" / "finetune.toml"
#: Survey decodes at most this long side: enough for the photo filter and the training pack.
SURVEY_SIDE = 768


@dataclass
class Survey:
    """What the folder check found: the usable photos and why the others were dropped."""

    folder: Path
    found: int = 0
    kept: list[Path] = field(default_factory=list)
    #: The kept photos at training size, JPEG-encoded (tens of KB each: thousands fit in memory).
    jpegs: list[bytes] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    duplicates: int = 0

    def describe(self) -> str:
        lines = [f"{self.folder}: {self.found} image files, {len(self.kept)} usable colour photos"]
        for reason, count in sorted(self.dropped.items(), key=lambda kv: -kv[1]):
            lines.append(f"  dropped {count}: {reason}")
        if self.duplicates:
            lines.append(f"  dropped {self.duplicates}: near-duplicate of another photo")
        return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    """'near-grey (colourfulness 3.1)' -> 'near-grey': counts group by kind, not by value."""
    return re.sub(r"\s*\(.*\)$", "", reason)


def survey_folder(folder: Path, log=print) -> Survey:
    """Decode and judge every image under ``folder``; keep colour photos, drop near-duplicates (first kept)."""
    from trainer import evaluate
    from trainer.corpus import photo_filter
    from trainer.corpus.pack import encode_jpeg, fit_for_pack

    survey = Survey(folder)
    files = evaluate.find_photos([folder])
    survey.found = len(files)
    candidates, hashes = [], []
    for n, path in enumerate(files, 1):
        try:
            photo, rgb = evaluate.load_truth(path, SURVEY_SIDE)
        except Exception as exc:  # noqa: BLE001 - one unreadable file is dropped and counted, not fatal
            survey.dropped[f"unreadable ({type(exc).__name__})"] += 1
            continue
        transparent = 0.0 if photo.alpha is None else float(np.mean(np.asarray(photo.alpha) < 250 * (
            257 if photo.alpha.dtype == np.uint16 else 1)))
        verdict = photo_filter.judge(rgb, transparent)
        if not verdict.keep:
            survey.dropped[_reason_kind(verdict.reason)] += 1
            continue
        candidates.append((path, encode_jpeg(fit_for_pack(rgb))))
        hashes.append(photo_filter.dhash(rgb))
        if n % 200 == 0:
            log(f"  checked {n}/{len(files)}")
    seen: set[int] = set()
    for (path, jpeg), group in zip(candidates, photo_filter.group_near_duplicates(hashes), strict=True):
        if group in seen:
            survey.duplicates += 1
            continue
        seen.add(group)
        survey.kept.append(path)
        survey.jpegs.append(jpeg)
    return survey


def split_photos(folder: Path, photos: list[Path]) -> list[int]:
    """1 (val) for the photos whose relative path hashes lowest, ``VAL_FRACTION`` of them and at least
    ``MIN_VAL``; 0 (train) for the rest. Depends on the paths only, so a rerun makes the same split."""
    from trainer.corpus.pack import stable_fraction

    keys = [p.relative_to(folder).as_posix() for p in photos]
    n_val = max(MIN_VAL, round(len(keys) * VAL_FRACTION))
    val = set(sorted(range(len(keys)), key=lambda i: stable_fraction(keys[i]))[:n_val])
    return [1 if i in val else 0 for i in range(len(keys))]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "photos"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run(args: argparse.Namespace) -> int:
    """The fine-tune command; ``args`` are rechroma-train's (with ``init`` set)."""
    import torch

    from engine.model import Generator
    from trainer import evaluate, loop, pix2pix
    from trainer.checkpoint import load_checkpoint
    from trainer.corpus.pack import PackedPhoto, write_pack
    from trainer.dataset import DataError, open_source
    from trainer.export import ExportError, export_onnx, generator_from_checkpoint
    from trainer.onnx_import import OnnxImportError, generator_from_onnx
    from trainer.options import Options, option_differences, options_from_args

    def fail(message: str) -> int:
        print(f"rechroma-train: {message}", file=sys.stderr)
        return 2

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.data is None:
        return fail("--init needs --data FOLDER (a folder of your colour photos)")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return fail("fine-tuning runs in one process; start it without torchrun (train from a config for DDP)")
    folder, base = Path(args.data), Path(args.init)
    if not folder.is_dir():
        return fail(f"--data {folder}: not a folder (fine-tuning takes a folder of colour photos)")
    out = Path(args.out) if args.out is not None else Path("work") / "finetune" / _slug(folder.name)
    name = args.name or f"{base.stem}-{_slug(folder.name)}"
    export = Path(args.export) if args.export is not None else out / f"{name}.onnx"
    if export.exists():
        return fail(f"{export} exists; pass --export NEW.onnx (a fine-tune never replaces a model)")
    if base.resolve() == export.resolve():
        return fail("--export must differ from the base model")

    # 0. The base model, rebuilt in torch (checked against onnxruntime before any training).
    try:
        base_generator, arch, base_contract = generator_from_onnx(base)
    except (OnnxImportError, OSError, ValueError) as exc:
        return fail(f"--init {base}: {exc}")
    del base_generator

    # 1-2. The folder check and the split.
    say(f"checking {folder} ...")
    survey = survey_folder(folder, log=say)
    say(survey.describe())
    if len(survey.kept) < MIN_PHOTOS:
        return fail(
            f"only {len(survey.kept)} usable colour photos in {folder} (after dropping near-grey photos, "
            f"drawings and duplicates); fine-tuning needs at least {MIN_PHOTOS}, and a few hundred of your "
            f"collection's kind of photo is what makes a difference (docs/train-your-own.md)"
        )
    split = split_photos(folder, survey.kept)
    out.mkdir(parents=True, exist_ok=True)
    pack_path, split_csv = out / "data.npz", out / "split.csv"
    with split_csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["photo", "split"])
        writer.writerows([p.relative_to(folder).as_posix(), "val" if s else "train"]
                         for p, s in zip(survey.kept, split, strict=True))
    packed = [
        PackedPhoto(jpeg=jpeg, source=folder.name, name=p.relative_to(folder).as_posix(),
                    people=False, weight=1.0, split=s)
        for p, jpeg, s in zip(survey.kept, survey.jpegs, split, strict=True)
    ]
    survey.jpegs.clear()
    write_pack(pack_path, packed, max_bytes=8 * 2**30)
    val_photos = [p for p, s in zip(survey.kept, split, strict=True) if s]
    say(f"using {len(survey.kept)} photos: {len(survey.kept) - len(val_photos)} train, {len(val_photos)} val "
        f"(listed in {split_csv})")

    # 3. Train.
    overrides = {**vars(args), "data": str(pack_path), "out": str(out / "run"), "init_model": str(base),
                 "freeze_norm": "true", "pretrained": "false"}
    for key, value in arch.items():
        overrides[key] = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
    if args.minutes is not None:
        overrides["time_budget_minutes"] = str(args.minutes)
    try:
        opts = options_from_args(argparse.Namespace(**overrides), args.config or CONFIG)
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    run_dir = Path(opts.out)
    last = run_dir / "last.pt"
    if last.exists() and not args.resume:
        return fail(f"{last} exists; pass --resume to continue that fine-tune or choose another --out")
    try:
        source = open_source(pack_path)
        device = pix2pix.configure_runtime(opts)
        trainer = pix2pix.Trainer(opts, device)
        if args.resume and last.exists():
            state = load_checkpoint(last, map_location="cpu")
            changed = option_differences(Options.from_dict(state["options"]), opts)
            if changed:
                say(f"note: options changed since the checkpoint: {changed}")
            trainer.load_state_dict(state)
            say(f"resuming {last} at step {trainer.step}")
    except (DataError, FileNotFoundError, RuntimeError, ValueError) as exc:
        return fail(str(exc))
    loop.write_options(run_dir, opts)
    budget = f"{args.minutes:g} min budget" if args.minutes is not None else f"{opts.total_steps} steps"
    say(f"fine-tuning {base.name} on {device} ({budget}; threads {torch.get_num_threads()})")
    started = time.perf_counter()
    step = trainer.fit(source, run_dir)
    train_minutes = (time.perf_counter() - started) / 60
    if step < opts.total_steps:
        say(f"stopped at step {step}/{opts.total_steps}; rerun with --resume to continue, or the model so far "
            "is exported now")

    # 4. Export.
    checkpoint = run_dir / "best.pt" if (run_dir / "best.pt").is_file() else last
    generator, state = generator_from_checkpoint(checkpoint)
    state["checkpoint"] = checkpoint.name
    extra = {
        **base_contract.extra,
        "fine_tuned": {
            "base_model": {"file": base.name, "name": base_contract.model_name,
                           "version": base_contract.model_version, "sha256": _sha256(base)},
            "data_folder": str(folder.resolve()),
            "photos": {"found": survey.found, "used": len(survey.kept), "train": len(survey.kept) - len(val_photos),
                       "val": len(val_photos)},
            "steps": int(state.get("step", 0)),
            "checkpoint": checkpoint.name,
            "date": datetime.date.today().isoformat(),
        },
        "training_data": state.get("data_summary") or {},
        "chroma_gain": 1.0,
    }
    contract = dataclasses.replace(base_contract, model_name=name, model_version="1", extra=extra)
    try:
        result = export_onnx(generator, export, contract)
    except ExportError as exc:
        return fail(f"export failed, nothing written: {exc}")
    say(f"wrote {export} ({result['size_mib']:.1f} MiB, from {checkpoint.name} at step {state.get('step')})")

    # 5. Evaluate and write the model card.
    say(f"evaluating on the {len(val_photos)} val photos through the engine ...")
    base_label, new_label = f"base: {base.stem}", f"fine-tuned: {name}"
    sheet = export.with_name(f"{export.stem}-val-sheet.jpg")
    results = evaluate.evaluate(val_photos, {base_label: Generator(base, device="cpu"),
                                             new_label: Generator(export, device="cpu")},
                                sheet=sheet, progress=False)
    table = evaluate.markdown_table(results, f"{folder.name}: val split")
    table += "\n" + verdict(results, base_label, new_label) + "\n"
    card = export.with_suffix(".md")
    card.write_text(model_card(name, export, base, base_contract, folder, survey, len(val_photos), opts, state,
                               train_minutes, str(device), table, sheet), encoding="utf-8")
    say(table)
    say(f"model card: {card}\nuse it: rechroma-cli --model {export} PHOTOS...  (or copy both files into the "
        "folder RECHROMA_MODELS_DIR names)")
    return 0


def verdict(results: dict[str, list[dict]], base_label: str, new_label: str) -> str:
    """One plain sentence on whether to use the fine-tuned model: the val table can say it got worse."""
    from trainer import evaluate

    if not results.get(new_label):
        return "**Verdict:** no val photo could be evaluated; judge the model on your own photos."
    base_de = evaluate.summarise(results[base_label])["de00"]
    new_de = evaluate.summarise(results[new_label])["de00"]
    if new_de < base_de:
        return (f"**Verdict:** the fine-tuned model is better on this folder's val photos "
                f"(ΔE00 {new_de:.2f} against the base model's {base_de:.2f}).")
    return (f"**Verdict:** the fine-tuned model is NOT better than the base model on this folder's val photos "
            f"(ΔE00 {new_de:.2f} against {base_de:.2f}): keep using the base model, or train longer, with more "
            "photos, or with the base model's own crop size.")


def model_card(name: str, export: Path, base: Path, base_contract, folder: Path, survey: Survey, n_val: int,
               opts, state: dict, minutes: float, device: str, table: str, sheet: Path) -> str:
    used = len(survey.kept)
    best = state.get("checkpoint") == "best.pt"
    which = "the checkpoint with the best val score" if best else "the last checkpoint"
    dropped = ", ".join(f"{count} {reason}" for reason, count in survey.dropped.most_common())
    if survey.duplicates:
        dropped = ", ".join(filter(None, [dropped, f"{survey.duplicates} near-duplicates"]))
    schedule = f"{opts.pretrain_steps} L1 + CIEDE2000 steps" + (
        f", then {opts.gan_steps} adding the GAN loss" if opts.gan_steps else "")
    return f"""# Model card: {name}

`{export.name}` is `{base.name}` ({base_contract.model_name} v{base_contract.model_version}) fine-tuned on \
the photos in `{folder}` with `rechroma-train --init`. It keeps the base model's contract (input \
`{base_contract.input_name}`, output `{base_contract.output_name}`, size multiple {base_contract.size_multiple}, \
render size {base_contract.default_render_size}), so the app and `rechroma-cli --model {export.name}` use it \
like the base model.

## Data
- Folder: `{folder.resolve()}`
- {survey.found} image files; {used} used ({used - n_val} train, {n_val} val, split by a hash of the path).
- Dropped: {dropped or "none"}.

## Training
- Base model: `{base.name}`, its weights rebuilt from the ONNX file (BatchNorm folded, kept frozen).
- Exported at step {int(state.get("step", 0))} ({which}) of a schedule of \
{schedule}; batch {opts.batch_size} x {opts.crop_size}-px crops, lr {opts.lr:g}.
- {minutes:.1f} minutes of training on {device}.

## Evaluation
The folder's own val photos, made grey and colorized through the engine at the default render size. ΔE00 is
CIEDE2000 against the original colours (lower is better); "vs grey" compares with leaving the photo grey.

{table}
A small val split gives a rough figure: with {n_val} photos a difference of a few tenths of ΔE00 is within
noise. Look at the contact sheet (`{sheet.name}`: grey, base, fine-tuned, original) and your own photos too.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fine-tuning (docs/train-your-own.md)")
    group.add_argument("--init", metavar="MODEL.onnx",
                       help="fine-tune this Rechroma model on the photos in --data FOLDER, then export a new model")
    group.add_argument("--minutes", type=float, metavar="M",
                       help="with --init: fit the training to M minutes (the folder check, export and evaluation "
                            "come on top)")
    group.add_argument("--export", metavar="FILE.onnx", help="with --init: where the new model goes "
                       "(default OUT/<base>-<folder>.onnx)")
    group.add_argument("--name", help="with --init: the new model's name (default <base>-<folder>)")
