"""Checkpoints: models, optimizers, scaler, step and every RNG state, saved atomically.

Everything is stored as tensors / plain Python so ``torch.load(weights_only=True)`` can read it (no pickled
code runs when a checkpoint is opened).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from engine.atomic_file import atomic_write


def rng_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict) -> Path:
    """Write ``state`` to ``path`` through the engine's one atomic write (temp file, fsync, rename): a crash
    or kill mid-save leaves the previous checkpoint intact and no half-written file behind."""
    path = Path(path)
    atomic_write(path, lambda handle: torch.save(state, handle), replace=True)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt/foreign files
        raise ValueError(f"{path}: not a readable Rechroma checkpoint ({exc})") from exc


#: What export and evaluation read from a checkpoint; the rest (D, optimisers, RNG) only serves resuming.
GENERATOR_KEYS = ("format", "step", "phase", "options", "G", "best", "data_summary")


def slim_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """Copy ``src`` without the discriminator, optimisers and RNG state: a sixth of the size, still
    exportable. Used to bring a GPU run's generators back through a size-limited channel."""
    state = load_checkpoint(src)
    return save_checkpoint(dst, {k: state[k] for k in GENERATOR_KEYS if k in state})


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 4 or sys.argv[1] != "slim":
        sys.exit("usage: python -m trainer.checkpoint slim SRC.pt DST.pt")
    print(slim_checkpoint(sys.argv[2], sys.argv[3]))
