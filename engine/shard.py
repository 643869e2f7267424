"""``--shard K/N``: one of N deterministic, disjoint parts of a batch, for Slurm job arrays and Kubernetes
indexed jobs that run N copies of the same command.

A photo's shard is a hash of its path as the command line expanded it (SHA-1 of the normalised path, mod N).
It depends on that path alone, not on the other photos: copies that start minutes apart, or after photos
were added to the folder, still agree on every photo they both see, so together the N shards cover each
photo exactly once. K counts from 0, like Kubernetes' ``JOB_COMPLETION_INDEX`` and ``--array=0-(N-1)``.

Output names are planned over the whole batch first, so a photo gets the name a single run would give it
(``grey_color.png`` and ``grey_color-2.png`` for two photos named ``grey``) whichever shard writes it; only
then does each shard look at the disk, for its own photos (``--skip-existing``, free names).
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine import photo_io
from engine.naming import NamePlanner

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"K/N"`` -> Shard(K, N) with 0 <= K < N (an argparse ``type``: bad values are usage errors)."""
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"shard must look like K/N (e.g. 0/4), not {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(
            f"shard {text!r}: need N >= 1 and 0 <= K < N (K counts from 0, like a job array index)"
        )
    return Shard(index, count)


def shard_of(path: str | os.PathLike, count: int) -> int:
    """The shard (0..count-1) a photo path belongs to."""
    key = os.path.normpath(os.fspath(path)).replace(os.sep, "/")
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count


def _itself(item: Any) -> Path | str:
    return item


def select_shard(items: Sequence[T], shard: Shard | None, path_of: Callable[[T], Path | str] = _itself
                 ) -> list[T]:
    """The items of ``shard`` (all of them when ``shard`` is None), in their original order."""
    if shard is None or shard.count == 1:
        return list(items)
    return [item for item in items if shard_of(path_of(item), shard.count) == shard.index]


def plan_shard(jobs: list[Any], args: argparse.Namespace, plan_outputs: Callable[[list[Any], argparse.Namespace],
               None]) -> list[Any]:
    """Plan outputs like ``plan_outputs`` and return the jobs of ``args.shard`` (all jobs without one).

    ``jobs`` are the CLI's jobs (``source``, ``target``, ``status``, ``error``, ``free_name``). Planning every job
    against the disk, as one run does, would let a file another shard has just written push this
    shard's names along (``grey_color-3`` instead of ``-2``). So the names come from the whole batch as if no
    output existed yet (``skip_existing`` planning claims each photo's own name and no free ones), and then
    the CLI's rules for existing outputs are applied to this shard's photos only.
    """
    from engine.cli import NOT_OURS  # late: engine.cli imports this module

    shard = getattr(args, "shard", None)
    if shard is None:
        plan_outputs(jobs, args)
        return jobs
    plan_outputs(jobs, argparse.Namespace(**{**vars(args), "skip_existing": True, "overwrite_outputs": False}))
    mine = select_shard(jobs, shard, lambda job: job.source)
    planner = NamePlanner(job.source for job in jobs)
    for job in jobs:
        if job.target is not None:
            planner.claim(job.target, avoid_existing=False)
    for job in mine:
        if job.status != "skipped":  # pending (name free on disk) or failed (name cannot be looked up)
            continue
        if args.skip_existing:
            continue
        if args.overwrite_outputs:
            if photo_io.made_by_rechroma(job.output):
                job.status = "pending"
            else:
                job.error = NOT_OURS
            continue
        job.status, job.free_name = "pending", True
        job.output = planner.claim(job.output, avoid_existing=True)
    return mine
