"""Decide which images are colour photographs worth training on, and find near-duplicates.

A colouriser learns nothing from grey images, and drawings/icons teach it flat fills
instead of natural colour, so those are dropped before packing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from trainer import metrics

MIN_SHORT_SIDE = 160
MIN_COLOURFULNESS = 15.0
DUPLICATE_HAMMING = 5
# Drawing heuristics, measured on a 256-px copy (calibrated on contact sheets of kept and rejected
# images: endless-sky and gcompris photos vs gcompris art, template icons, avatars, screenshots).
# Photos have almost no perfectly uniform 3x3 patches (flat share <= 0.03). Studio portraits and
# product shots on a seamless backdrop reach 0.2-0.4 but keep many colours on the subject;
# clip art, cartoon avatars and UI screenshots are flatter or have fewer colours.
MAX_FLAT_FRACTION = 0.4  # above this: drawing, whatever the colours
FLAT_FOR_BACKDROP = 0.2  # between this and MAX_FLAT_FRACTION a photo needs MIN_BACKDROP_COLOURS
MIN_BACKDROP_COLOURS = 600
MIN_UNIQUE_COLOURS = 120  # distinct 15-bit colours; photos have hundreds, icons a few dozen
MAX_TRANSPARENT_FRACTION = 0.01


@dataclass(frozen=True)
class Verdict:
    keep: bool
    reason: str  # "photo" or why it was dropped
    colourfulness: float = 0.0


def to_rgb(image: np.ndarray) -> tuple[np.ndarray, float]:
    """(RGB uint8 image, fraction of non-opaque pixels) from an OpenCV-decoded image of any layout."""
    if image.dtype != np.uint8:  # 16-bit PNGs
        image = (image / 257).astype(np.uint8) if image.dtype == np.uint16 else image.astype(np.uint8)
    transparent = 0.0
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB), transparent
    if image.shape[2] == 4:
        transparent = float(np.mean(image[:, :, 3] < 250))
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB), transparent
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), transparent


def downscale(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """Area-averaged copy whose long side is at most ``long_side`` (never upscales)."""
    h, w = rgb.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness M on a 256-px copy; ~0 for grey, >15 for colour photos."""
    return metrics.colourfulness(downscale(rgb, 256))


def flat_fraction(rgb: np.ndarray) -> float:
    """Share of pixels in perfectly uniform 3x3 patches: large in drawings, tiny in photos (sensor noise)."""
    small = downscale(rgb, 256)
    kernel = np.ones((3, 3), np.uint8)
    uniform = np.ones(small.shape[:2], bool)
    for c in range(3):
        ch = small[..., c]
        uniform &= cv2.dilate(ch, kernel) == cv2.erode(ch, kernel)
    return float(uniform.mean())


def unique_colours(rgb: np.ndarray) -> int:
    """Distinct colours at 5 bits per channel on a 256-px copy."""
    small = downscale(rgb, 256) >> 3
    packed = (small[..., 0].astype(np.int32) << 10) | (small[..., 1].astype(np.int32) << 5) | small[..., 2]
    return int(np.unique(packed).size)


def judge(rgb: np.ndarray, transparent: float = 0.0) -> Verdict:
    """Keep colour photographs; say why anything else is dropped."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SHORT_SIDE:
        return Verdict(False, f"too small ({w}x{h})")
    if transparent > MAX_TRANSPARENT_FRACTION:
        return Verdict(False, f"transparent cut-out ({transparent:.0%} of pixels)")
    cf = colourfulness(rgb)
    if cf < MIN_COLOURFULNESS:
        return Verdict(False, f"near-grey (colourfulness {cf:.1f})", cf)
    flat = flat_fraction(rgb)
    if flat > MAX_FLAT_FRACTION:
        return Verdict(False, f"drawing (flat areas {flat:.0%})", cf)
    colours = unique_colours(rgb)
    if colours < MIN_UNIQUE_COLOURS:
        return Verdict(False, f"drawing ({colours} colours)", cf)
    if flat > FLAT_FOR_BACKDROP and colours < MIN_BACKDROP_COLOURS:
        return Verdict(False, f"drawing (flat areas {flat:.0%}, {colours} colours)", cf)
    return Verdict(True, "photo", cf)


def dhash(rgb: np.ndarray) -> int:
    """64-bit difference hash: sign of horizontal gradients on a 9x8 grey thumbnail."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    thumb = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (thumb[:, 1:] > thumb[:, :-1]).flatten()
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def group_near_duplicates(hashes: list[int], max_distance: int = DUPLICATE_HAMMING) -> list[int]:
    """Group label per item (union-find over all pairs within ``max_distance``); O(n^2) is fine for ~10^4."""
    parent = list(range(len(hashes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    arr = np.array(hashes, dtype=np.uint64)
    for i in range(len(arr)):
        x = np.bitwise_xor(arr[i + 1 :], arr[i])
        # popcount via byte view: count set bits of each uint64
        dist = np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
        for j in np.nonzero(dist <= max_distance)[0]:
            a, b = find(i), find(i + 1 + int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(len(hashes))]
