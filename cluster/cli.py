"""``rechroma-cluster INPUT... -o DIR [--address ray://HOST:10001]``: colorize an archive with Ray Data.

Inputs are expanded and output names planned exactly as ``rechroma-cli`` does (same rules, same names);
Ray Data then streams the photos through an actor pool, each actor holding one loaded model (one per GPU
when the cluster has GPUs), and every photo is written by the engine's atomic, never-overwrite writer.

- A photo that fails is reported (``error: <file>: <reason>``) and the job goes on.
- A worker that dies (killed, out of memory, node lost) is restarted by Ray and its photo is retried; a
  photo that has killed ``MAX_ATTEMPTS`` workers is reported as failed instead of tried again.
- Inputs and DIR must be paths every node sees the same (a shared filesystem), and the nodes need
  ``rechroma[cluster]`` installed; the driver's ``engine`` and ``cluster`` code is shipped to the workers
  (Ray ``py_modules``) so every node colorizes with the same code.

Exit status like ``rechroma-cli``: 0 all done or skipped, 1 any failed, 2 usage errors, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

from engine import __version__
from engine.cli import expand_inputs, format_arg, plan_outputs, ranged_arg
from engine.contract import ModelContractError
from engine.model import DEVICES, DeviceError, Generator, NoModelError, default_model_path
from engine.photo_io import OUTPUT_FORMATS
from engine.pipeline import MAX_STRENGTH

PROG = "rechroma-cluster"
#: Tries per photo when workers die under it (the first run and the retries).
MAX_ATTEMPTS = 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files, folders or glob patterns")
    parser.add_argument("-o", "--output", type=Path, metavar="DIR", help="output folder (default: next to each photo)")
    parser.add_argument("--format", type=format_arg, metavar="|".join(sorted(OUTPUT_FORMATS)))
    parser.add_argument("--quality", type=ranged_arg(int, 1, 100, "quality"), default=92, metavar="Q")
    parser.add_argument("--strength", type=ranged_arg(float, 0.0, MAX_STRENGTH, "strength"), default=1.0, metavar="S")
    parser.add_argument("--render-size", type=ranged_arg(int, 32, 8192, "render size"), metavar="N")
    parser.add_argument("--recursive", action="store_true", help="walk folders; ** in globs crosses folders")
    parser.add_argument("--skip-existing", action="store_true", help="skip photos whose output exists")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write per-file results as JSON")
    parser.add_argument("--no-hints", action="store_true", help="ignore colour-hint sidecars (<photo>.hints.json)")
    parser.add_argument("--model", type=Path, metavar="PATH", help="ONNX generator (default: the installed one)")
    parser.add_argument("--address", metavar="ADDR",
                        help="Ray cluster to join (ray://HOST:10001, or 'auto' on a cluster node); "
                             "default: start a local Ray instance on this machine")
    parser.add_argument("--workers", type=ranged_arg(int, 1, 100000, "workers"), metavar="N",
                        help="actors, one model each (default: one per GPU, else cluster CPUs / --threads)")
    parser.add_argument("--threads", type=ranged_arg(int, 1, 1024, "threads"), default=1, metavar="N",
                        help="CPU threads per CPU actor (default 1: many single-threaded actors)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto: GPU actors when the cluster has GPUs, else CPU actors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _start_ray(ray, address: str | None) -> None:
    import cluster
    import engine

    if ray.is_initialized():
        return
    # Ship this driver's engine and front end to every worker: one version of the code colorizes everything.
    modules = [str(Path(engine.__file__).parent), str(Path(cluster.__file__).parent)]
    ray.init(address=address, runtime_env={"py_modules": modules}, include_dashboard=False,
             logging_level=logging.WARNING, log_to_driver=False)


def plan_workers(resources: dict, device: str, threads: int, workers: int | None) -> tuple[int, bool]:
    """(actor count, GPU actors?) for the cluster's resources."""
    gpus = int(resources.get("GPU", 0))
    use_gpu = device != "cpu" and gpus > 0
    if device == "cuda" and not use_gpu:
        raise DeviceError("device 'cuda' asked for but the Ray cluster has no GPU")
    if workers is None:
        workers = gpus if use_gpu else max(1, int(resources.get("CPU", 1)) // threads)
    return workers, use_gpu


class AttemptCounter:
    """Counts the tries of each photo, across actor restarts (a Ray actor of its own)."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def begin(self, index: int) -> int:
        self.counts[index] = self.counts.get(index, 0) + 1
        return self.counts[index]


def run_photos(rows: list[dict], model: Path, *, workers: int, use_gpu: bool, threads: int, settings: dict,
               actor_cls: type | None = None, on_result=None) -> dict[int, dict]:
    """Colorize ``rows`` ({index, src, dst}) on the running Ray instance; index -> result row.

    One photo per block, so a retried task (its worker died) redoes exactly one photo. ``actor_cls`` lets
    tests put a misbehaving actor in the pool.
    """
    import ray

    from cluster.actor import ColorizeActor

    if not rows:
        return {}
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # our own bar, like rechroma-cli's
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    # Ray Data replaces a dead actor and retries its task (the defaults); the counter bounds the retries.
    counter = ray.remote(num_cpus=0)(AttemptCounter).remote()
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    ds = ds.map_batches(
        actor_cls or ColorizeActor,
        fn_constructor_kwargs={"model": str(model), "device": "cuda" if use_gpu else "cpu", "threads": threads,
                               "attempts": counter, "max_attempts": MAX_ATTEMPTS, **settings},
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=0 if use_gpu else threads,
        num_gpus=1 if use_gpu else 0,
    )
    results: dict[int, dict] = {}
    for row in ds.iter_rows():
        result = {key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()}
        results[int(result["index"])] = result
        if on_result is not None:
            on_result(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)

    def say(message: str, *, err: bool = False) -> None:
        tqdm.write(message, file=sys.stderr if err else sys.stdout)

    try:
        import ray
    except ImportError:
        say(f"{PROG}: Ray is not installed; install the extra: pip install 'rechroma[cluster]'", err=True)
        return 2
    model_path = args.model or default_model_path()
    try:
        local = Generator(model_path, device="cpu", threads=1)  # check the model here, before any cluster work
    except (NoModelError, ModelContractError, DeviceError, ValueError, TypeError) as exc:
        say(f"{PROG}: {exc}", err=True)
        return 2
    model_path = local.path.absolute()
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
        say(f"{PROG}: no photos found in {' '.join(args.inputs)}", err=True)
        return 2
    args.overwrite_outputs = False  # the cluster never replaces a file
    plan_outputs(batch.jobs, args)
    todo = [job for job in batch.jobs if job.status == "pending"]
    rows = [{"index": i, "src": str(job.src.absolute()), "dst": str(job.output.absolute())}
            for i, job in enumerate(todo)]

    try:
        _start_ray(ray, args.address)
        workers, use_gpu = plan_workers(ray.cluster_resources(), args.device, args.threads, args.workers)
    except (DeviceError, ConnectionError, RuntimeError, ValueError) as exc:
        say(f"{PROG}: {exc}", err=True)
        return 2
    say(f"model: {local.name} ({model_path})")
    say(f"cluster: {workers} {'GPU' if use_gpu else 'CPU'} actors"
        + ("" if use_gpu else f" x {args.threads} thread(s)") + f", {len(todo)} photos to colorize")

    settings = {"strength": args.strength, "render_size": args.render_size, "fmt": args.format,
                "quality": args.quality, "use_sidecars": not args.no_hints}
    started = time.perf_counter()
    interrupted = False
    devices: set[str] = set()
    with tqdm(total=len(todo), unit="photo", file=sys.stderr, dynamic_ncols=True, mininterval=0.3) as bar:
        def on_result(result: dict) -> None:
            job = todo[int(result["index"])]
            if result["status"] == "failed":
                say(f"error: {job.src}: {result['error']}", err=True)
            devices.add(result["device"])
            bar.update(1)

        try:
            results = run_photos(rows, model_path, workers=workers, use_gpu=use_gpu, threads=args.threads,
                                 settings=settings, on_result=on_result)
        except KeyboardInterrupt:
            interrupted, results = True, {}
    elapsed = time.perf_counter() - started

    for i, job in enumerate(todo):
        result = results.get(i)
        if result is None:
            if interrupted:
                job.status, job.output = "pending", None
            else:
                job.status, job.output, job.error = "failed", None, "no result came back from the cluster"
                say(f"error: {job.src}: {job.error}", err=True)
            continue
        job.status, job.error, job.seconds = result["status"], result["error"] or None, float(result["seconds"])
        if job.status == "failed":
            job.output = None  # else the planned path, as the user's own paths spell it
        elif result["output"] != rows[i]["dst"]:  # the planned name was taken meanwhile
            job.output, job.free_name = Path(result["output"]), True
        if result["width"]:
            job.size = (int(result["width"]), int(result["height"]))
        if hasattr(job, "hints"):
            job.hints = int(result["hints"])

    every = batch.problems + batch.jobs
    counts = {s: sum(j.status == s for j in every) for s in ("done", "skipped", "failed", "pending")}
    rate = counts["done"] / elapsed if elapsed > 0 else 0.0
    summary = (f"done {counts['done']}, skipped {counts['skipped']}, failed {counts['failed']} "
               f"in {elapsed:.1f} s ({rate:.2f} photos/s, {workers} workers)")
    if interrupted:
        summary += f"; interrupted, {counts['pending']} not done"
    say(summary)
    status = 130 if interrupted else (1 if counts["failed"] else 0)
    if args.json is not None:
        payload = {
            "rechroma": __version__,
            "model": local.name,
            "device": ",".join(sorted(devices)) or ("cuda" if use_gpu else "cpu"),
            "workers": workers,
            "summary": {**counts, "seconds": round(elapsed, 3)},
            "files": [j.as_json() for j in every],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_name(f".{args.json.name}.tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, args.json)
    return status


if __name__ == "__main__":
    sys.exit(main())
