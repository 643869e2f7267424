"""``rechroma-cli``: colorize photos, folders and globs from the command line.

Exit status: 0 when every photo was colorized (or skipped on request), 1 when any failed, 2 for usage
errors or when no usable model is installed, 130 when interrupted. Outputs are written atomically and
never onto an input or an existing file unless --overwrite-outputs says so.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from PIL import Image
from tqdm import tqdm

from engine import __version__
from engine.cancel import Cancelled, CancelToken
from engine.contract import ModelContractError
from engine.hints import HintsError
from engine.model import DEVICES, DeviceError, Generator, NoModelError
from engine.naming import looks_like_output_of, normalise_format, output_path, unique_path
from engine.photo_io import OUTPUT_FORMATS, SUPPORTED_SUFFIXES, PhotoError
from engine.pipeline import MAX_STRENGTH, colorize_file
from engine.shard import parse_shard, plan_shard
from engine.sidecar import hints_for_photo, is_sidecar

PROG = "rechroma-cli"
_GLOB_CHARS = set("*?[")


@dataclass
class Job:
    """One photo to colorize: where it comes from and the sub-folder it keeps under -o (recursive scans)."""

    src: Path
    subdir: Path = Path()
    status: str = "pending"  # done / skipped / failed / cancelled (interrupted) / pending (never started)
    output: Path | None = None
    error: str | None = None
    seconds: float = 0.0
    size: tuple[int, int] | None = None
    hints: int = 0  #: colour hints used (from the photo's sidecar or --hints)

    def as_json(self) -> dict:
        return {
            "input": str(self.src),
            "output": str(self.output) if self.output else None,
            "status": self.status,
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "size": list(self.size) if self.size else None,
            "hints": self.hints,
        }


@dataclass
class Batch:
    jobs: list[Job] = field(default_factory=list)
    #: inputs that could not be expanded (missing path, glob without matches): reported as failed items.
    problems: list[Job] = field(default_factory=list)


def _ranged(kind: type, low: float, high: float | None, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if value < low or (high is not None and value > high) or value != value:
            bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"{what} must be {bound}, got {text}")
        return value

    return parse


def _format(text: str) -> str:
    try:
        return normalise_format(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Colorize black-and-white photos with the Rechroma generator (offline).",
        epilog="Outputs are named <stem>_color.<ext>; existing files are never overwritten unless "
        "--overwrite-outputs is given (a free name like <stem>_color-2 is used instead).",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files, folders or glob patterns")
    parser.add_argument("-o", "--output", type=Path, metavar="DIR",
                        help="output folder (default: next to each input)")
    parser.add_argument("--format", type=_format, metavar="|".join(sorted(OUTPUT_FORMATS)),
                        help="output format (default: the input's own if writable, else png)")
    parser.add_argument("--quality", type=_ranged(int, 1, 100, "quality"), default=92, metavar="Q",
                        help="JPEG/WebP quality 1-100 (default 92)")
    parser.add_argument("--strength", type=_ranged(float, 0.0, MAX_STRENGTH, "strength"), default=1.0,
                        metavar="S", help="colour strength 0 (grey) .. 1 (model) .. 2 (double chroma)")
    parser.add_argument("--render-size", type=_ranged(int, 32, 8192, "render size"), metavar="N",
                        help="long side in pixels at which the model runs (default: the model's, 512)")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="inference device (default auto)")
    parser.add_argument("--threads", type=_ranged(int, 1, 1024, "threads"), metavar="N",
                        help="CPU threads (default: all cores)")
    parser.add_argument("--recursive", action="store_true",
                        help="descend into sub-folders (kept as sub-folders under -o) and let ** match in globs")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--skip-existing", action="store_true", help="skip photos whose output exists")
    existing.add_argument("--overwrite-outputs", action="store_true",
                          help="replace existing outputs (inputs are never overwritten)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write per-file results as JSON")
    hints = parser.add_mutually_exclusive_group()
    hints.add_argument("--hints", type=Path, metavar="FILE",
                       help="colour hints (.hints.json) for a single input photo (default: its sidecar, "
                       "<photo file name>.hints.json, when there is one)")
    hints.add_argument("--no-hints", action="store_true", help="ignore hint sidecars")
    parser.add_argument("--model", type=Path, metavar="PATH", help="ONNX generator (default: the installed one)")
    parser.add_argument("--shard", type=parse_shard, metavar="K/N",
                        help="only part K of N (K from 0) of the photos, for job arrays (docs/cluster.md)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _is_photo(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(".") and not is_sidecar(path)


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def _scan_folder(folder: Path, recursive: bool, skip: Path | None) -> list[Job]:
    """Photos in ``folder`` (and below, keeping their relative sub-folder), minus the output folder."""
    if not recursive:
        files = sorted(p for p in folder.iterdir() if p.is_file() and _is_photo(p))
        return [Job(p) for p in files]
    jobs = []
    for root, dirs, names in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _inside((root_path / d).absolute(), skip))
        for name in sorted(names):
            path = root_path / name
            if _is_photo(path) and path.is_file():
                jobs.append(Job(path, root_path.relative_to(folder)))
    return jobs


def _drop_earlier_results(jobs: list[Job]) -> list[Job]:
    """A scanned ``x_color.jpg`` next to ``x.jpg`` is our own earlier output: not an input."""
    sources = [j.src for j in jobs]
    return [j for j in jobs if not looks_like_output_of(j.src, sources)]


def expand_inputs(inputs: list[str], recursive: bool, output_dir: Path | None) -> Batch:
    """Files as given, folders scanned, globs expanded; duplicates removed (first occurrence wins)."""
    batch = Batch()
    skip = output_dir.absolute() if output_dir is not None else None
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            batch.jobs += _drop_earlier_results(_scan_folder(path, recursive, skip))
        elif path.is_file():
            batch.jobs.append(Job(path))  # named explicitly: always tried, whatever its suffix
        elif _GLOB_CHARS & set(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=recursive))
            found = []
            for match in matches:
                if match.is_dir():
                    found += _scan_folder(match, recursive=False, skip=skip)
                elif match.is_file() and _is_photo(match) and not _inside(match.absolute(), skip):
                    found.append(Job(match))
            if not found:
                batch.problems.append(Job(path, status="failed", error="no photos match this pattern"))
            batch.jobs += _drop_earlier_results(found)
        else:
            batch.problems.append(Job(path, status="failed", error="no such file or folder"))
    seen: set[Path] = set()
    unique = []
    for job in batch.jobs:
        key = job.src.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(job)
    batch.jobs = unique
    return batch


def plan_outputs(jobs: list[Job], args: argparse.Namespace) -> None:
    """Give every job its output path: never an input, never one claimed by an earlier job of this batch,
    an existing file only with --overwrite-outputs (with --skip-existing the job is skipped)."""
    inputs = {j.src.resolve() for j in jobs}
    claimed: set[Path] = set()
    for job in jobs:
        folder = args.output / job.subdir if args.output is not None else None
        # The name this photo gets in this batch (the same on every run), then what is on disk decides.
        dst = unique_path(output_path(job.src, folder, args.format), claimed | inputs, avoid_existing=False)
        claimed.add(dst.resolve())
        if dst.exists():
            if args.skip_existing:
                job.status, job.output = "skipped", dst
                continue
            if not args.overwrite_outputs:
                dst = unique_path(dst, claimed | inputs)
                claimed.add(dst.resolve())
        job.output = dst


def _write_json(path: Path, payload: dict) -> None:
    """Atomically, like the photos: a temp file in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _output_size(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as image:  # header only
            return image.size
    except Exception:  # noqa: BLE001 - the size is informational; the file itself was written
        return None


def _run_job(job: Job, generator: Generator, args: argparse.Namespace, cancel: CancelToken) -> None:
    started = time.perf_counter()
    try:
        hints = hints_for_photo(job.src, args.hints, use_sidecars=not args.no_hints)
        job.output.parent.mkdir(parents=True, exist_ok=True)
        colorize_file(
            job.src, job.output, generator, strength=args.strength, render_size=args.render_size,
            fmt=args.format, quality=args.quality, overwrite=args.overwrite_outputs, cancel=cancel, hints=hints,
        )
        job.status, job.size, job.hints = "done", _output_size(job.output), len(hints or ())
    except (Cancelled, KeyboardInterrupt):
        job.status, job.error, job.output = "cancelled", "interrupted", None
        raise
    except HintsError as exc:
        job.status, job.error = "failed", f"hints: {exc}"
    except PhotoError as exc:
        job.status, job.error = "failed", str(exc)
    except MemoryError:
        job.status, job.error = "failed", "not enough memory for this photo"
    except OSError as exc:
        job.status, job.error = "failed", exc.strerror or str(exc)
    except Exception as exc:  # noqa: BLE001 - one photo's unexpected failure must not stop the batch
        job.status, job.error = "failed", f"internal error ({type(exc).__name__}: {exc})"
    finally:
        job.seconds = time.perf_counter() - started
    if job.status == "failed":
        job.output = None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 for --help/--version
        return int(exc.code or 0)

    def say(message: str, *, err: bool = False) -> None:
        tqdm.write(message, file=sys.stderr if err else sys.stdout)

    try:
        generator = Generator(args.model, device=args.device, threads=args.threads)
    except (NoModelError, ModelContractError, DeviceError, ValueError) as exc:
        say(f"{PROG}: {exc}", err=True)
        return 2
    if args.threads:
        cv2.setNumThreads(args.threads)
    if args.render_size is not None and args.render_size < generator.contract.size_multiple:
        say(f"{PROG}: --render-size must be at least {generator.contract.size_multiple}", err=True)
        return 2
    say(f"model: {generator.name} ({generator.path})")
    say(f"device: {generator.device} ({generator.provider})")

    if args.output is not None:
        try:
            args.output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            say(f"{PROG}: cannot create output folder {args.output}: {exc.strerror or exc}", err=True)
            return 2
    batch = expand_inputs(args.inputs, args.recursive, args.output)
    for problem in batch.problems:
        say(f"error: {problem.src}: {problem.error}", err=True)
    if not batch.jobs:
        say(f"{PROG}: no photos found in {' '.join(args.inputs)} "
            f"(looked for {', '.join(sorted(SUPPORTED_SUFFIXES))})", err=True)
        return 2
    if args.hints is not None and len(batch.jobs) + len(batch.problems) != 1:
        say(f"{PROG}: --hints goes with a single input photo, got {len(batch.jobs) + len(batch.problems)}", err=True)
        return 2
    batch.jobs = plan_shard(batch.jobs, args, plan_outputs)  # plan_outputs, then only --shard's photos

    cancel = CancelToken()
    started = time.perf_counter()
    interrupted = False
    todo = [j for j in batch.jobs if j.status == "pending"]
    with tqdm(total=len(todo), unit="photo", file=sys.stderr, dynamic_ncols=True, mininterval=0.3) as bar:
        for job in todo:
            bar.set_postfix_str(job.src.name, refresh=False)
            try:
                _run_job(job, generator, args, cancel)
            except (Cancelled, KeyboardInterrupt):
                cancel.cancel()
                interrupted = True
                break
            if job.status == "failed":
                say(f"error: {job.src}: {job.error}", err=True)
            bar.update(1)
    elapsed = time.perf_counter() - started

    every = batch.problems + batch.jobs
    counts = {s: sum(j.status == s for j in every) for s in ("done", "skipped", "failed", "cancelled", "pending")}
    rate = counts["done"] / elapsed if elapsed > 0 else 0.0
    summary = (f"done {counts['done']}, skipped {counts['skipped']}, failed {counts['failed']} "
               f"in {elapsed:.1f} s ({rate:.2f} photos/s); {sum(j.hints > 0 for j in every)} with hints")
    if interrupted:
        summary += f"; interrupted, {counts['cancelled'] + counts['pending']} not done"
    say(summary)
    status = 130 if interrupted else (1 if counts["failed"] else 0)
    if args.json is not None:
        payload = {
            "rechroma": __version__,
            "model": generator.name,
            "device": generator.device,
            "summary": {**counts, "seconds": round(elapsed, 3)},
            "files": [j.as_json() for j in every],
        }
        try:
            _write_json(args.json, payload)
        except OSError as exc:
            say(f"{PROG}: cannot write {args.json}: {exc.strerror or exc}", err=True)
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
