"""``rechroma-cli``: colorize photos, folders and globs from the command line.

Exit status: 0 when every photo was colorized (or skipped on request), 1 when any failed, 2 for usage
errors or when no usable model is installed, 130 when interrupted. Outputs are written atomically and
never onto an input or an existing file unless --overwrite-outputs says so.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import __version__, photo_io
from engine.atomic_file import atomic_write, remove_stale_temps
from engine.batch_workers import (
    BYTES_PER_PIXEL,
    MEMORY_SHARE,
    SAMPLE_PHOTOS,
    MemoryBudget,
    available_memory,
    photo_pixels,
    plan_workers,
    run_in_order,
)
from engine.cancel import Cancelled, CancelToken
from engine.devices import DEVICES
from engine.existing_names import ExistingNames
from engine.gc_pause import gc_paused
from engine.limits import MAX_STRENGTH
from engine.naming import NamePlanner, folder_prefix, normalise_format
from engine.photo_finder import PHOTO_SUFFIXES, find_photos
from engine.photo_io import OUTPUT_FORMATS, PhotoError
from engine.photo_io.quiet import speaking
from engine.shard import parse_shard, plan_shard

if TYPE_CHECKING:
    from engine.model import Generator

# numpy, OpenCV, Pillow and onnxruntime (the model, the pipeline, the hints) are imported where a run first
# needs them, not here: `rechroma-cli --help`, a usage error or a typo in a path answer at once.

PROG = "rechroma-cli"
#: Why an existing output was skipped under --overwrite-outputs: a file Rechroma did not write is never replaced.
NOT_OURS = "not ours: the existing output was not written by Rechroma, so it is kept"


@dataclass
class Job:
    """One photo to colorize: where it comes from and the sub-folder it keeps under -o (recursive scans).

    A folder scan gives the photo (``source``) and planning its output (``target``) as strings: a Path per
    photo is built only for the photos that are run or reported (:attr:`src`, :attr:`output`), as 100,000
    of them cost a second and a half in planning alone.
    """

    source: str | os.PathLike[str]
    subdir: Path = Path()
    status: str = "pending"  # done / skipped / failed / cancelled (interrupted) / pending (never started)
    target: str | os.PathLike[str] | None = None  #: the output (see :attr:`output`)
    error: str | None = None
    seconds: float = 0.0
    size: tuple[int, int] | None = None
    #: The output got a free name (-2, ...) because its own name was taken on disk.
    free_name: bool = False
    hints: int = 0  #: colour hints used (from the photo's sidecar or --hints)

    @property
    def src(self) -> Path:
        """The photo, as a Path (built on first use)."""
        source = self.source
        if not isinstance(source, Path):
            source = self.source = Path(source)
        return source

    @property
    def output(self) -> Path | None:
        """The planned output, then the file written (None if there is none), as a Path built on first use."""
        target = self.target
        if target is not None and not isinstance(target, Path):
            target = self.target = Path(target)
        return target

    @output.setter
    def output(self, value: str | os.PathLike[str] | None) -> None:
        self.target = value

    def as_json(self) -> dict:
        written = self.output is not None and self.status in ("done", "skipped")
        return {
            "input": str(self.src),
            "output": str(self.output) if written else None,
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


def colorize_file(*args: Any, **kwargs: Any) -> Path:
    """engine.pipeline.colorize_file, imported on the first photo (see the imports above)."""
    from engine.pipeline import colorize_file as colorize  # noqa: PLC0415 - lazily

    return colorize(*args, **kwargs)


def ranged_arg(kind: type, low: float, high: float | None, what: str):
    """An argparse type: a number of ``kind`` within [low, high], NaN refused (shared with rechroma-cluster)."""
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


def format_arg(text: str) -> str:
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
    parser.add_argument("--format", type=format_arg, metavar="|".join(sorted(OUTPUT_FORMATS)),
                        help="output format (default: the input's own if writable, else png)")
    parser.add_argument("--quality", type=ranged_arg(int, 1, 100, "quality"), default=92, metavar="Q",
                        help="JPEG/WebP quality 1-100 (default 92)")
    parser.add_argument("--strength", type=ranged_arg(float, 0.0, MAX_STRENGTH, "strength"), default=1.0,
                        metavar="S", help="colour strength 0 (grey) .. 1 (model) .. 2 (double chroma)")
    parser.add_argument("--render-size", type=ranged_arg(int, 32, 8192, "render size"), metavar="N",
                        help="long side in pixels at which the model runs (default: the model's, 512)")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="inference device (default auto)")
    parser.add_argument("--threads", type=ranged_arg(int, 1, 1024, "threads"), metavar="N",
                        help="CPU threads in all (default: all cores)")
    parser.add_argument("--jobs", type=ranged_arg(int, 1, 64, "jobs"), metavar="N",
                        help="photos colorized at once, sharing the threads (default: from the cores and the "
                        "photo size; 1 on a GPU); a photo starts only when there is memory for it")
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


@gc_paused()
def expand_inputs(inputs: list[str], recursive: bool, output_dir: Path | None) -> Batch:
    """Files as given, folders scanned, globs expanded (engine.photo_finder); each photo once."""
    found = find_photos(inputs, recursive, skip_results=True, exclude=output_dir)
    batch = Batch(jobs=[Job(p.text, p.subdir) for p in found.photos])
    batch.problems = [Job(path, status="failed", error=reason) for path, reason in found.problems]
    return batch


@gc_paused()
def plan_outputs(jobs: list[Job], args: argparse.Namespace) -> None:
    """Give every job its output path, in linear time: never an input, never one claimed by an earlier job of
    this batch, an existing file only with --overwrite-outputs and only if Rechroma wrote it (with
    --skip-existing the job is skipped). A name that cannot even be looked up fails that one photo.

    Strings all the way (NamePlanner.plan_name), and what is on disk from one listing per output folder
    (ExistingNames): a Path and a stat per photo were most of the time it took to plan 100,000 photos."""
    planner = NamePlanner()
    sources = [os.path.split(os.fspath(job.source)) for job in jobs]
    for src_folder, src_name in sources:
        planner.reserve_name(src_folder, src_name)
    on_disk = ExistingNames()
    folders: dict[Path, str] = {}
    for job, (src_folder, src_name) in zip(jobs, sources, strict=True):
        if args.output is None:
            folder = src_folder
        else:
            known = folders.get(job.subdir)
            if known is None:
                known = folders[job.subdir] = os.fspath(args.output / job.subdir)
            folder = known
        prefix = folder_prefix(folder)  # prefix + name is str(Path(folder) / name)
        try:
            # The name this photo gets in this batch (the same on every run), then what is on disk decides.
            name = planner.plan_name(src_name, folder, args.format)
            if on_disk.exists(folder, name):
                if args.skip_existing:
                    job.status, job.target = "skipped", prefix + name
                    continue
                if args.overwrite_outputs and not photo_io.made_by_rechroma(prefix + name):
                    job.status, job.target, job.error = "skipped", prefix + name, NOT_OURS
                    continue
                if not args.overwrite_outputs:
                    exists = partial(on_disk.exists_as_pathlib, folder)  # as Path.exists did here
                    name, job.free_name = planner.claim_name(folder, name, exists=exists), True
        except OSError as exc:
            job.status, job.error = "failed", _os_reason(exc)
            continue
        job.target = prefix + name


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "output file name is too long"
    return exc.strerror or str(exc)


def _write_json(path: Path, payload: dict) -> None:
    """Atomically and durably, like the photos, with the same mode (0644 less the umask)."""
    data = (json.dumps(payload, indent=2) + "\n").encode("utf-8")
    atomic_write(path, data, replace=True)


def check_report_path(path: Path, jobs: list[Job]) -> str | None:
    """Why ``--json path`` may not be written (it is an input, a folder, or a file that is not an earlier
    Rechroma report), or None if it may."""
    try:
        if path.is_dir():
            return f"--json {path} is a folder"
        if not path.exists():
            return None
    except OSError as exc:
        return f"--json {path}: {_os_reason(exc)}"
    if any(photo_io.same_file(path, job.source) for job in jobs):
        return f"--json {path} is one of the input photos: it would be replaced by the report"
    try:
        with open(path, encoding="utf-8") as handle:
            earlier = json.load(handle)
        if isinstance(earlier, dict) and "rechroma" in earlier and "files" in earlier:
            return None
    except (OSError, ValueError):
        pass
    return f"--json {path} exists and is not an earlier Rechroma report: choose another file name"


def _output_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image  # noqa: PLC0415 - lazily (see the imports above)

    try:
        with Image.open(path) as image:  # header only
            return image.size
    except Exception:  # noqa: BLE001 - the size is informational; the file itself was written
        return None


def _run_job(job: Job, generator: Generator, args: argparse.Namespace, cancel: CancelToken) -> None:
    from engine.hints import HintsError  # noqa: PLC0415 - lazily (see the imports above)
    from engine.sidecar import hints_for_photo  # noqa: PLC0415

    started = time.perf_counter()
    planned = job.output
    try:
        if planned is None:
            raise RuntimeError(f"{job.src}: no output name was planned")  # plan_outputs names every job first
        hints = hints_for_photo(job.src, args.hints, use_sidecars=not args.no_hints)
        planned.parent.mkdir(parents=True, exist_ok=True)
        # next_free: a name taken by another program or run after planning moves this photo to -2, -3, ...
        job.output = colorize_file(
            job.src, planned, generator, strength=args.strength, render_size=args.render_size,
            fmt=args.format, quality=args.quality, overwrite=args.overwrite_outputs,
            next_free=not args.overwrite_outputs, cancel=cancel, hints=hints,
        )
        job.status, job.size, job.hints = "done", _output_size(job.output), len(hints or ())
        job.free_name = job.free_name or job.output != planned
    except (Cancelled, KeyboardInterrupt):
        job.status, job.error, job.output = "cancelled", "interrupted", None
        raise
    except HintsError as exc:
        job.status, job.error = "failed", f"hints: {exc}"
    except PhotoError as exc:
        job.status, job.error = "failed", one_line(str(exc))
    except MemoryError:
        job.status, job.error = "failed", "not enough memory for this photo"
    except OSError as exc:
        job.status, job.error = "failed", one_line(_os_reason(exc))
    except Exception as exc:  # noqa: BLE001 - one photo's unexpected failure must not stop the batch
        job.status, job.error = "failed", f"internal error ({type(exc).__name__}: {one_line(str(exc))})"
    finally:
        job.seconds = time.perf_counter() - started
    if job.status == "failed":
        job.output = None


def one_line(text: str) -> str:
    """A library's message on one line: OpenCV's errors span two ("OpenCV(4.x) file:line: error: ...")."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return text.strip()
    first = lines[0]
    if first.startswith("OpenCV(") and ": error: " in first:
        first = first.split(": error: ", 1)[1]
    return " ".join([first, *lines[1:]]) if len(lines) <= 3 else first


def _render_size_warning(args: argparse.Namespace, generator: Generator) -> str | None:
    native = generator.contract.default_render_size
    size = args.render_size
    if size is None or native / 2 <= size <= native * 2:
        return None
    side = "below half" if size < native / 2 else "above twice"
    return (f"warning: --render-size {size} is {side} the size the model was trained for ({native}); "
            "expect washed-out or blotchy colours")


class _Interrupts:
    """SIGINT and SIGTERM (a logout, a scheduler stopping the job) both cancel the batch: the photo in work
    stops (its inference too, through the token's RunOptions.terminate), no temp file is left, and the
    summary and JSON report are still written. Installed only in the main thread, restored on exit."""

    def __init__(self, cancel: CancelToken) -> None:
        self.cancel = cancel
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}  # what signal.signal returned: a handler, SIG_DFL or None

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        self.signal = self.signal or signum
        self.cancel.cancel()

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _run_batch(todo: list[Job], generator: Generator, args: argparse.Namespace, cancel: CancelToken,
               say, workers: int = 1) -> bool:
    """Run the jobs on ``workers`` photo threads while the main thread waits for signals; True if interrupted.

    Worker threads are what let Ctrl+C act within a second: Python runs signal handlers only in the main
    thread, between bytecodes, so a handler could not run while the main thread sat inside onnxruntime.
    Progress and error lines come in the batch's order whatever finishes first (engine.batch_workers).
    """
    from tqdm import tqdm  # noqa: PLC0415 - lazily: 20 ms of start-up that only a running batch needs

    memory = available_memory() if workers > 1 else None
    budget = MemoryBudget(int(memory * MEMORY_SHARE) if memory is not None else None)
    with tqdm(total=len(todo), unit="photo", file=sys.stderr, dynamic_ncols=True, mininterval=0.3) as bar:

        def finished(job: Job) -> None:
            if job.status == "failed":
                say(f"error: {job.src}: {job.error}", err=True)
            if job.status != "cancelled":
                with speaking():  # not while a JPEG decode has the terminal silenced
                    bar.set_postfix_str(job.src.name, refresh=False)
                    bar.update(1)

        return run_in_order(
            todo, lambda job: _run_job(job, generator, args, cancel), workers=workers, cancel=cancel,
            memory_needed=lambda job: photo_pixels(job.src) * BYTES_PER_PIXEL, budget=budget, finished=finished,
        )


def _say(message: str, *, err: bool = False) -> None:
    """Print a line; through tqdm once a progress bar may be on screen, so the line does not tear it."""
    stream = sys.stderr if err else sys.stdout
    progress = sys.modules.get("tqdm")
    with speaking():  # not while a JPEG decode has the terminal silenced (engine.photo_io.quiet)
        if progress is not None:
            progress.tqdm.write(message, file=stream)
        else:
            print(message, file=stream, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 for --help/--version
        return int(exc.code or 0)

    say = _say

    # Pillow's warnings about odd but readable files would print site-packages paths between the photos;
    # what matters about a photo is said on its one "error:" line.
    warnings.filterwarnings("ignore", module=r"PIL(\.|$)")

    # The inputs first, before the model is loaded: a typo is reported at once, and once.
    if args.output is not None and args.output.exists() and not args.output.is_dir():
        say(f"{PROG}: the output folder {args.output} is a file", err=True)
        return 2
    batch = expand_inputs(args.inputs, args.recursive, args.output)
    for problem in batch.problems:
        say(f"error: {problem.src}: {problem.error}", err=True)
    if not batch.jobs:
        if not batch.problems:
            say(f"{PROG}: no photos found in {' '.join(args.inputs)} "
                f"(looked for {', '.join(sorted(PHOTO_SUFFIXES))})", err=True)
        return 2
    if args.hints is not None and len(batch.jobs) + len(batch.problems) != 1:
        say(f"{PROG}: --hints goes with a single input photo, got {len(batch.jobs) + len(batch.problems)}", err=True)
        return 2
    if args.json is not None:
        refusal = check_report_path(args.json, batch.jobs)
        if refusal:
            say(f"{PROG}: {refusal}", err=True)
            return 2

    # Only now the heavy half of the engine: everything above answers without it.
    import cv2  # noqa: PLC0415

    from engine.contract import ModelContractError  # noqa: PLC0415
    from engine.model import DeviceError, Generator, NoModelError, available_cpu_count, cuda_available  # noqa: PLC0415

    sample = max((photo_pixels(job.src) for job in batch.jobs[:SAMPLE_PHOTOS]), default=0)
    threads = args.threads or available_cpu_count()
    on_gpu = args.device == "cuda" or (args.device == "auto" and cuda_available())
    jobs = 1 if args.jobs is None and on_gpu else args.jobs  # one GPU: by default, photos take turns on it
    workers, threads_each = plan_workers(threads, len(batch.jobs), sample, jobs)
    try:
        # One session shared by the workers (onnxruntime runs are thread-safe), with their share of threads.
        generator = Generator(args.model, device=args.device, threads=threads_each if workers > 1 else args.threads)
    except (NoModelError, ModelContractError, DeviceError, ValueError) as exc:
        say(f"{PROG}: {exc}", err=True)
        return 2
    if args.threads or workers > 1:
        cv2.setNumThreads(threads_each if workers > 1 else args.threads)
    if args.render_size is not None and args.render_size < generator.contract.size_multiple:
        say(f"{PROG}: --render-size must be at least {generator.contract.size_multiple}", err=True)
        return 2
    say(f"model: {generator.name} ({generator.path})")
    say(f"device: {generator.device} ({generator.provider})"
        + (f"; {workers} photos at once, {threads_each} thread{'s' * (threads_each > 1)} each" if workers > 1 else ""))
    warning = _render_size_warning(args, generator)
    if warning:
        say(warning, err=True)

    if args.output is not None:
        try:
            args.output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = "it is a file" if isinstance(exc, FileExistsError) else exc.strerror or exc
            say(f"{PROG}: cannot create output folder {args.output}: {reason}", err=True)
            return 2
    batch.jobs = plan_shard(batch.jobs, args, plan_outputs)  # plan_outputs, then only --shard's photos
    for job in batch.jobs:
        if job.status == "failed":
            say(f"error: {job.src}: {job.error}", err=True)
    folders = {os.path.dirname(os.fspath(j.target)) or "." for j in batch.jobs if j.target is not None}
    for folder in folders | ({os.fspath(args.json.parent)} if args.json is not None else set()):
        remove_stale_temps(folder)  # leftovers of a run that was killed outright

    cancel = CancelToken()
    started = time.perf_counter()
    todo = [j for j in batch.jobs if j.status == "pending"]
    with _Interrupts(cancel) as interrupts:
        interrupted = _run_batch(todo, generator, args, cancel, say, workers=min(workers, max(1, len(todo))))
    elapsed = time.perf_counter() - started

    every = batch.problems + batch.jobs
    counts = {s: sum(j.status == s for j in every) for s in ("done", "skipped", "failed", "cancelled", "pending")}
    not_ours = sum(j.status == "skipped" and j.error == NOT_OURS for j in every)
    rate = counts["done"] / elapsed if elapsed > 0 else 0.0
    skipped = f"skipped {counts['skipped']}" + (f" ({not_ours} not ours)" if not_ours else "")
    summary = (f"done {counts['done']}, {skipped}, failed {counts['failed']} in {elapsed:.1f} s "
               f"({rate:.2f} photos/s); {sum(j.hints > 0 for j in every)} with hints")
    if interrupted:
        summary += f"; interrupted, {counts['cancelled'] + counts['pending']} not done"
    say(summary)
    free = sum(j.status == "done" and j.free_name for j in every)
    if free:
        say(f"note: {free} output{'s' if free > 1 else ''} got a free name (-2, -3, ...) because the name was "
            "taken; --skip-existing skips photos colorized before, --overwrite-outputs replaces those results")
    if not_ours:
        say(f"note: {not_ours} existing output{'s were' if not_ours > 1 else ' was'} not written by Rechroma "
            "and kept as they are")
    signum = interrupts.signal or (signal.SIGINT if interrupted else None)
    status = 128 + signum if signum else (1 if counts["failed"] else 0)
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


def run() -> None:
    """The ``rechroma-cli`` command: :func:`main`, then the exit.

    After an interruption the summary, the report and every photo are already written and synced, so the
    process leaves at once (os._exit) instead of tearing the interpreter down: unloading onnxruntime,
    OpenCV and numpy and freeing a large photo's arrays took 0.15-0.25 s of a loaded machine's time,
    a quarter to a half of the second Ctrl+C is promised to take.
    """
    status = main()
    if status in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    run()
