"""Data-parallel training under ``torchrun``: process group, per-rank batches and the few collectives the
training loop needs to stay in step.

``torchrun --nproc_per_node N -m trainer.train ...`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the
rendezvous variables; :func:`init_from_env` turns them into a process group (NCCL when the processes drive
GPUs, gloo on CPU). Without them (a plain ``rechroma-train``) nothing changes: world size 1, no process group.

Batch and learning-rate scale: ``batch_size`` is per process, so N processes train on a global batch of
N x batch_size crops per step; the step count keeps its meaning (checkpoints, schedule, resume), and the
learning rates are multiplied by :func:`lr_scale` (``lr_scaling``: sqrt(N) by default, N or 1).
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as torch_dist

from trainer.dataset import WeightedStepBatchSampler

#: How long a rank waits in a collective (e.g. while rank 0 validates) before the job is declared hung.
TIMEOUT = timedelta(minutes=30)
LR_SCALINGS = ("none", "sqrt", "linear")


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job; ``world_size == 1`` means an ordinary single-process run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = DistInfo()


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_from_env(device_name: str) -> DistInfo:
    """Join the process group torchrun describes in the environment (no-op for a single process).

    ``device_name`` is the ``device`` option: GPUs (one per local rank) and NCCL unless it says "cpu" or
    torch sees no GPU, else CPU processes and gloo.
    """
    world = env_world_size()
    if world <= 1:
        return SINGLE
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    use_cuda = device_name != "cpu" and torch.cuda.is_available()
    if device_name == "cuda" and not use_cuda:
        raise RuntimeError("device 'cuda' asked for but torch sees no CUDA GPU")
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"local rank {local_rank} has no GPU (this node has {torch.cuda.device_count()}): "
                "start at most one process per GPU"
            )
        torch.cuda.set_device(local_rank)
    backend = "nccl" if use_cuda else "gloo"
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend, timeout=TIMEOUT)
    return DistInfo(rank, world, local_rank, local_world, backend)


def device_for(info: DistInfo, device: torch.device) -> torch.device:
    """Each process drives the GPU of its local rank."""
    if info.enabled and device.type == "cuda":
        return torch.device("cuda", info.local_rank)
    return device


def shutdown(info: DistInfo) -> None:
    if info.enabled and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def lr_scale(kind: str, world_size: int) -> float:
    """Learning-rate multiplier for a global batch ``world_size`` times the configured one."""
    if kind not in LR_SCALINGS:
        raise ValueError(f"lr_scaling must be one of {LR_SCALINGS}, not {kind!r}")
    return {"none": 1.0, "sqrt": math.sqrt(world_size), "linear": float(world_size)}[kind]


def _device(info: DistInfo) -> torch.device:
    return torch.device("cuda", info.local_rank) if info.backend == "nccl" else torch.device("cpu")


def any_rank(info: DistInfo, flag: bool) -> bool:
    """True on every rank when ``flag`` is true on any: a stop (SIGTERM, max_minutes) seen by one process
    must stop all of them at the same step, or the others would wait forever in the next all-reduce."""
    if not info.enabled:
        return flag
    value = torch.tensor([1 if flag else 0], dtype=torch.int32, device=_device(info))
    torch_dist.all_reduce(value, op=torch_dist.ReduceOp.MAX)
    return bool(value.item())


def broadcast(info: DistInfo, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (e.g. the schedule rank 0 fitted to the time budget)."""
    if not info.enabled:
        return obj
    holder = [obj if info.is_main else None]
    torch_dist.broadcast_object_list(holder, src=0, device=_device(info))
    return holder[0]


def barrier(info: DistInfo) -> None:
    if info.enabled:
        torch_dist.barrier()


def gather_objects(info: DistInfo, obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    torch_dist.all_gather_object(out, obj)
    return out


def parameter_digest(module: torch.nn.Module) -> bytes:
    """Bytes that differ whenever any parameter differs (for checking replicas are in sync)."""
    return pickle.dumps([p.detach().cpu().numpy().tobytes() for p in module.parameters()])


class ShardedStepBatchSampler(WeightedStepBatchSampler):
    """The distributed sampler of the step-indexed data stream.

    torch's DistributedSampler deals out an epoch's permutation; our batches are weighted draws with
    replacement indexed by (seed, step), which is what makes resume exact. So each step draws one global
    batch of ``world_size x batch_size`` items from (seed, step) and rank r takes the r-th slice: the
    ranks see disjoint parts of one global batch, the stream stays a function of (seed, step), and a run
    resumed with another world size simply continues at its step. With one process it is exactly
    :class:`WeightedStepBatchSampler`.
    """

    def __init__(self, weights: Sequence[float], batch_size: int, seed: int, start_step: int, end_step: int,
                 rank: int, world_size: int) -> None:
        super().__init__(weights, batch_size * world_size, seed, start_step, end_step)
        self.per_rank = batch_size
        self.rank = rank
        self.world_size = world_size

    def batch(self, step: int) -> list[tuple[int, int]]:
        full = super().batch(step)
        return full[self.rank * self.per_rank : (self.rank + 1) * self.per_rank]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.end_step):
            yield self.batch(step)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "next_step": self.start_step, "world_size": self.world_size}
