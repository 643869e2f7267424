"""The training pack: one ``.npz`` of JPEG bytes plus per-photo metadata (format agreed with trainer).

Keys: jpeg (uint8 1-D), offsets (int64 N+1), split (uint8, 1 = val), people (uint8),
weight (float32), source (unicode), name (unicode). No pickled objects, so
``np.load(path)`` works with the default ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.atomic_file import atomic_write

MAX_SHORT_SIDE = 384
MAX_LONG_SIDE = 768
JPEG_QUALITY = 90
VAL_FRACTION = 0.08
MAX_PACK_BYTES = 60 * 1024 * 1024
#: Sampling weight rechroma-gather gives photos with people (1 for the rest), before sharing it among
#: near-copies; the trainer's ``people_weight`` option rescales from this.
PEOPLE_WEIGHT = 3.0
KEYS = ("jpeg", "offsets", "split", "people", "weight", "source", "name")


@dataclass(frozen=True)
class PackedPhoto:
    jpeg: bytes
    source: str
    name: str
    people: bool
    weight: float
    split: int  # 0 = train, 1 = val


def fit_for_pack(rgb: np.ndarray, max_short: int = MAX_SHORT_SIDE) -> np.ndarray:
    """Area-downscale so short side <= max_short and long side <= 2 * max_short (never upscales)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, max_short / min(h, w), 2 * max_short / max(h, w))
    if scale >= 1.0:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def decode_jpeg(data: bytes | np.ndarray) -> np.ndarray:
    """RGB uint8 image from JPEG bytes, as the trainer's loader does it."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("not a decodable JPEG")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def stable_fraction(key: str) -> float:
    """Uniform [0, 1) from a SHA-256 of ``key``: the same on every machine and run (unlike hash())."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64


def assign_split(keys: Sequence[str], people: Sequence[bool], val_fraction: float = VAL_FRACTION) -> list[int]:
    """1 (val) for the ``val_fraction`` of each stratum (people / no people) with the smallest key hash.

    Items sharing a key (near-duplicate groups) always land in the same split, so val never
    contains a near-copy of a training photo. Each stratum with >= 2 groups gets >= 1 val group.
    """
    split = [0] * len(keys)
    for stratum in (True, False):
        groups = sorted({k for k, p in zip(keys, people, strict=True) if bool(p) == stratum}, key=stable_fraction)
        n_val = round(len(groups) * val_fraction)
        if n_val == 0 and len(groups) >= 2:
            n_val = 1
        val = set(groups[:n_val])
        for i, (k, p) in enumerate(zip(keys, people, strict=True)):
            if bool(p) == stratum and k in val:
                split[i] = 1
    return split


def write_pack(path: str | Path, photos: Sequence[PackedPhoto], max_bytes: int = MAX_PACK_BYTES) -> int:
    """Write atomically and durably (engine.atomic_file, mode 0644); returns the file size in bytes."""
    if not photos:
        raise ValueError("refusing to write an empty pack")
    path = Path(path)
    lengths = np.array([len(p.jpeg) for p in photos], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    arrays = {
        "jpeg": np.frombuffer(b"".join(p.jpeg for p in photos), dtype=np.uint8),
        "offsets": offsets,
        "split": np.array([p.split for p in photos], dtype=np.uint8),
        "people": np.array([p.people for p in photos], dtype=np.uint8),
        "weight": np.array([p.weight for p in photos], dtype=np.float32),
        "source": np.array([p.source for p in photos], dtype=np.str_),
        "name": np.array([p.name for p in photos], dtype=np.str_),
    }

    def write(handle) -> None:
        np.savez(handle, **arrays)
        size = handle.tell()
        if size > max_bytes:  # raised inside the write: nothing is published, the temp file goes
            raise ValueError(f"pack would be {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit")

    atomic_write(path, write, replace=True)
    return path.stat().st_size


def read_pack(path: str | Path) -> list[PackedPhoto]:
    """Every photo of a pack, for checks and tests (the trainer reads the arrays directly)."""
    with np.load(path) as z:
        missing = [k for k in KEYS if k not in z.files]
        if missing:
            raise ValueError(f"{path}: not a Rechroma pack, missing {missing}")
        jpeg, off = z["jpeg"], z["offsets"]
        return [
            PackedPhoto(
                jpeg=jpeg[off[i] : off[i + 1]].tobytes(),
                source=str(z["source"][i]),
                name=str(z["name"][i]),
                people=bool(z["people"][i]),
                weight=float(z["weight"][i]),
                split=int(z["split"][i]),
            )
            for i in range(len(off) - 1)
        ]
