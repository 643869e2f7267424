"""Photo cut-outs: objects photographed and freed from their background, kept with their alpha.

Tux Paint's stamps hold a few hundred such photographs (animals, food, flowers, tools, vehicles). Pasted onto
the pack's scenes while training (``trainer.composite``) they put strongly coloured objects where the scenes
alone have none, the failure the contact sheets show (an orange bus or purple petals left grey).

The cut-outs live in their own ``.npz`` beside the pack (keys png, offsets, source, name, licence; RGBA PNG
bytes, no pickled objects), so the pack's format and its val split stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.atomic_file import atomic_write
from trainer import metrics
from trainer.corpus.photo_filter import Verdict

#: An object whose smaller side is below this teaches nothing once pasted at training size.
MIN_CUTOUT_SIDE = 48
MIN_OPAQUE_PIXELS = 1500
#: Share of perfectly uniform 3x3 patches inside the object. A photographed object has sensor noise
#: everywhere; Tux Paint's drawn stamps (cartoons, signs, smileys) have flat fills. Stricter than the photo
#: filter because an object has no seamless backdrop to excuse flat areas (calibrated on a contact sheet
#: of all 796 PNG stamps).
MAX_CUTOUT_FLAT = 0.05
MIN_CUTOUT_COLOURS = 150
#: Stored long side: compositing never shows a cut-out larger than a training crop.
MAX_CUTOUT_SIDE = 256
OPAQUE = 250
KEYS = ("png", "offsets", "source", "name", "licence")


@dataclass
class Cutout:
    source: str
    name: str
    licence: str
    width: int
    height: int
    colourfulness: float
    people: bool
    dhash: int
    png: bytes  # RGBA, trimmed to the object, long side <= MAX_CUTOUT_SIDE


def to_rgba(image: np.ndarray) -> np.ndarray | None:
    """RGBA uint8 from an OpenCV-decoded image, or None when it has no alpha channel."""
    if image.ndim != 3 or image.shape[2] != 4:
        return None
    if image.dtype != np.uint8:
        image = (image / 257).astype(np.uint8) if image.dtype == np.uint16 else image.astype(np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)


def trim(rgba: np.ndarray, max_side: int = MAX_CUTOUT_SIDE) -> np.ndarray:
    """The object's bounding box (alpha > 0), area-downscaled so its long side is at most ``max_side``."""
    ys, xs = np.nonzero(rgba[..., 3])
    if len(ys) == 0:
        raise ValueError("fully transparent")
    box = rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = max_side / max(box.shape[:2])
    return np.ascontiguousarray(box) if scale >= 1 else resize_rgba(box, scale)


def resize_rgba(rgba: np.ndarray, scale: float) -> np.ndarray:
    """Resize with premultiplied alpha, so the (arbitrary) colour of transparent pixels cannot bleed into
    the object's edge as a dark or white fringe."""
    h, w = rgba.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    alpha = rgba[..., 3:].astype(np.float32) / 255.0
    pre = np.concatenate([rgba[..., :3] * alpha, alpha * 255.0], axis=-1)
    small = cv2.resize(pre, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    a = small[..., 3:] / 255.0
    rgb = np.where(a > 0, small[..., :3] / np.maximum(a, 1e-6), 0)
    return np.clip(np.concatenate([rgb, small[..., 3:]], axis=-1) + 0.5, 0, 255).astype(np.uint8)


def judge_cutout(rgba: np.ndarray) -> Verdict:
    """Keep photographed objects; say why a stamp goes (too small, drawn)."""
    alpha = rgba[..., 3]
    solid = alpha >= OPAQUE
    h, w = alpha.shape
    if min(h, w) < MIN_CUTOUT_SIDE or solid.sum() < MIN_OPAQUE_PIXELS:
        return Verdict(False, f"too small ({w}x{h}, {int(solid.sum())} opaque pixels)")
    rgb = np.ascontiguousarray(rgba[..., :3])
    inner = cv2.erode(solid.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    kernel = np.ones((3, 3), np.uint8)
    uniform = np.ones(alpha.shape, bool)
    for c in range(3):
        uniform &= cv2.dilate(rgb[..., c], kernel) == cv2.erode(rgb[..., c], kernel)
    flat = float(uniform[inner].mean()) if inner.any() else 1.0
    cf = metrics.colourfulness(rgb[solid][:, None, :])
    if flat > MAX_CUTOUT_FLAT:
        return Verdict(False, f"drawing (flat areas {flat:.0%})", cf)
    px = rgb[solid] >> 3
    colours = int(np.unique((px[:, 0].astype(np.int32) << 10) | (px[:, 1].astype(np.int32) << 5) | px[:, 2]).size)
    if colours < MIN_CUTOUT_COLOURS:
        return Verdict(False, f"drawing ({colours} colours)", cf)
    return Verdict(True, "cut-out", cf)


def on_grey(rgba: np.ndarray) -> np.ndarray:
    """The cut-out over mid-grey, as an RGB photo (for hashing and contact sheets)."""
    a = rgba[..., 3:].astype(np.float32) / 255.0
    return (rgba[..., :3] * a + 128.0 * (1 - a) + 0.5).astype(np.uint8)


def encode_png(rgba: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def decode_png(data: bytes | np.ndarray) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    rgba = to_rgba(image) if image is not None else None
    if rgba is None:
        raise ValueError("not an RGBA PNG")
    return rgba


def write_cutouts(path: str | Path, cutouts: Sequence[Cutout]) -> int:
    """Write the cut-out file atomically; returns its size in bytes."""
    if not cutouts:
        raise ValueError("refusing to write an empty cut-out file")
    path = Path(path)
    lengths = np.array([len(c.png) for c in cutouts], dtype=np.int64)
    arrays = {
        "png": np.frombuffer(b"".join(c.png for c in cutouts), dtype=np.uint8),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "source": np.array([c.source for c in cutouts], dtype=np.str_),
        "name": np.array([c.name for c in cutouts], dtype=np.str_),
        "licence": np.array([c.licence for c in cutouts], dtype=np.str_),
    }
    atomic_write(path, lambda handle: np.savez(handle, **arrays), replace=True)
    return path.stat().st_size


def read_cutouts(path: str | Path) -> list[tuple[str, np.ndarray]]:
    """(name, RGBA image) of every cut-out in the file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in KEYS if k not in z.files]
            png, off, names = (None, None, None) if missing else (z["png"], z["offsets"], z["name"])
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read cut-outs: {exc}") from exc
    if missing:
        raise ValueError(f"{path}: not a Rechroma cut-out file, missing {missing}")
    return [(str(names[i]), decode_png(png[off[i] : off[i + 1]])) for i in range(len(off) - 1)]
