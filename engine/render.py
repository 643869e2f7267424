"""The full-resolution render: the model's a*b* upsampled to the photo's size, scaled by strength, capped at
the sRGB gamut boundary, merged with the photo's L* and converted to sRGB integers, one strip of rows at a
time.

Where a 12 MP render's time went, and what this module does about it:

* Nothing full-size is split: a* and b* are separate planes from the render-resolution array on (a few MB),
  each resized on its own, then scaled in place.
* The gamut cap is folded into the same strip pass and paid only where it can bite. For each 8-bit bin of
  L* the smallest boundary chroma over all hues is a lower bound of the true boundary, so one 8-bit lookup
  and one compare find the pixels whose chroma might leave sRGB; only those get the exact bilinear lookup
  in the boundary table and have their chroma reduced. In a typical photo at strength 1 that is a few
  percent of the pixels; when it is most of a strip, the strip takes the dense route instead.
* L*, a*, b* are interleaved once (``cv2.merge``) for OpenCV's float Lab->RGB, still the fastest route to
  8-bit sRGB here: 6 ms per megapixel on one core, of which Lab->linear RGB is 2 ms. The sRGB curve is
  what a lookup table could replace, but built from OpenCV/numpy primitives it costs more passes than it
  saves: 11 ms with a 256-entry interpolated ``cv2.LUT``, 9 ms with a 65,536-entry numpy table
  (``bench/bench_lab_to_srgb.py``).

The result is identical to the dense float path except where float rounding differs in the last bit (an
8-bit level at most, rarely): see tests/engine/test_render.py.

Every OpenCV call here stays within OpenCV's limits for any photo shape: ``cv2.remap`` takes maps of fewer
than 32,767 rows and columns, so its lookups run in chunks (a 30 x 40,000 px photo is one strip).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from engine import colour

#: Share of the sRGB boundary chroma used: bilinear interpolation in the boundary table can overshoot the
#: true boundary by a hair, which OpenCV's conversion would then clip.
GAMUT_MARGIN = 0.995
#: cv2.remap's maps must be smaller than SHRT_MAX (32767) in both directions.
REMAP_CHUNK = 32000
#: Above this share of "might leave sRGB" pixels, a strip caps chroma densely (gathering costs more).
SPARSE_LIMIT = 0.25
#: 8-bit bins of L* for the lower-bound lookup: bin = round(L* x 2.55), as cv2.convertScaleAbs rounds.
_BINS_PER_L = 2.55
#: D65 white and XYZ -> linear sRGB, as in OpenCV's Lab conversion.
_WHITE_X, _WHITE_Z = 0.950456, 1.088754
_XYZ_TO_LINEAR_SRGB = np.array(
    [[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556], [0.055648, -0.204043, 1.057311]],
    dtype=np.float32,
)
_BISECTION_STEPS = 17
#: No sRGB colour has more chroma than the blue primary's 133.8.
_BISECTION_HIGH = 140.0


def split_planes(ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a* and b* of an h x w x 2 array as two contiguous planes (cheap: ``ab`` is render-sized)."""
    a, b = cv2.split(np.ascontiguousarray(ab, dtype=np.float32))
    return a, b


def render_strip(lightness: np.ndarray, a_rows: np.ndarray, b_rows: np.ndarray, interpolation: int,
                 strength: float, out: np.ndarray) -> None:
    """Output rows from their L* (rows x W) and a*b* at render width (rows x w, strength 1).

    a*b* are resized to W, scaled by ``strength`` but capped at the gamut boundary for each pixel's L* and
    hue, merged with L* and written to ``out`` (rows x W x 3, uint8 or uint16).
    """
    a, b = _resized(lightness, a_rows, b_rows, interpolation)
    _scale_chroma(lightness, a, b, np.float32(strength))
    to_integer(colour.lab_to_rgb(cv2.merge([lightness, a, b])), out)


def _resized(lightness: np.ndarray, a_rows: np.ndarray, b_rows: np.ndarray,
             interpolation: int) -> tuple[np.ndarray, np.ndarray]:
    rows, width = lightness.shape
    return (cv2.resize(a_rows, (width, rows), interpolation=interpolation),
            cv2.resize(b_rows, (width, rows), interpolation=interpolation))


def _scale_chroma(lightness: np.ndarray, a: np.ndarray, b: np.ndarray, strength: np.float32) -> None:
    """a*, b* (in place) x min(strength, headroom): the same numbers as the dense
    ``min(headroom(...), strength)``, computing the headroom only where it can be below ``strength``."""
    squared = _squared_chroma(a, b)
    if strength > 0:
        bins = cv2.convertScaleAbs(lightness, alpha=_BINS_PER_L)
        threshold = cv2.LUT(bins, _squared_bound_over(float(strength)))
        maybe_outside = np.greater(squared, threshold)
        count = int(np.count_nonzero(maybe_outside))
    else:
        count = 0
    if count > SPARSE_LIMIT * a.size:
        factor = np.minimum(_headroom(lightness, a, b, squared), strength)
        cv2.multiply(a, factor, dst=a)
        cv2.multiply(b, factor, dst=b)
        return
    if count:
        where = np.flatnonzero(maybe_outside)
        sub_a, sub_b = a.reshape(-1)[where], b.reshape(-1)[where]  # a, b are fresh contiguous arrays
        sub_l = np.ascontiguousarray(lightness).reshape(-1)[where]
        hue = cv2.phase(sub_a, sub_b, angleInDegrees=True).reshape(1, -1)
        limit = chroma_limit(sub_l.reshape(1, -1), hue).reshape(-1)
        # The same float32 operations as _headroom's.
        factor = np.minimum(limit * np.float32(GAMUT_MARGIN) / np.sqrt(squared.reshape(-1)[where]), strength)
    np.multiply(a, strength, out=a)
    np.multiply(b, strength, out=b)
    if count:
        a.reshape(-1)[where] = sub_a * factor
        b.reshape(-1)[where] = sub_b * factor


def _squared_chroma(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a*^2 + b*^2, rounded the same way whatever the array's length (cv2.magnitude's vector and scalar
    code paths differ in the last bit, which would make strips differ from whole frames)."""
    squared = np.multiply(a, a)
    squared += np.multiply(b, b)
    return squared


def _headroom(lightness: np.ndarray, a: np.ndarray, b: np.ndarray, squared: np.ndarray) -> np.ndarray:
    """The largest strength at which each pixel is still inside sRGB (0 where the chroma is 0)."""
    hue = cv2.phase(a, b, angleInDegrees=True)
    chroma = np.sqrt(squared)
    # Not cv2.divide: OpenCV 5 gives NaN for 0/0 (no colour at L* 0 or 100, where the limit is 0 too), and a
    # NaN factor turned black pixels white at every strength, 0 included.
    headroom = np.zeros_like(chroma)
    np.divide(chroma_limit(lightness, hue) * np.float32(GAMUT_MARGIN), chroma, out=headroom, where=chroma > 0)
    return headroom


@dataclass
class ColourRows:
    """The strength-independent part of a render, kept for small predictions (previews on a slider)."""

    a: np.ndarray  #: a* at strength 1, full size
    b: np.ndarray  #: b* at strength 1, full size
    headroom: np.ndarray  #: the largest strength at which each pixel is still inside sRGB

    def rows(self, y0: int, y1: int) -> ColourRows:
        return ColourRows(self.a[y0:y1], self.b[y0:y1], self.headroom[y0:y1])


def colour_rows(lightness: np.ndarray, a_rows: np.ndarray, b_rows: np.ndarray, interpolation: int) -> ColourRows:
    """a*b* at strength 1 resized to the rows of ``lightness``, and each pixel's headroom."""
    a, b = _resized(lightness, a_rows, b_rows, interpolation)
    return ColourRows(a, b, _headroom(lightness, a, b, _squared_chroma(a, b)))


def render_cached_rows(lightness: np.ndarray, cached: ColourRows, strength: float, out: np.ndarray) -> None:
    """Output rows from a kept :class:`ColourRows`: a*b* x min(strength, headroom), merged with L*."""
    factor = np.minimum(cached.headroom, np.float32(strength))
    lab = cv2.merge([lightness, cv2.multiply(cached.a, factor), cv2.multiply(cached.b, factor)])
    to_integer(colour.lab_to_rgb(lab), out)


def to_integer(rgb: np.ndarray, out: np.ndarray) -> None:
    """[0, 1] float -> uint8/uint16 with rounding, written into the preallocated output rows."""
    if out.dtype == np.uint8:
        # OpenCV's Lab->RGB already saturates to [0, 1], so convertScaleAbs's abs() never sees a negative.
        cv2.convertScaleAbs(rgb, dst=out, alpha=255.0)
    else:
        np.clip(rgb, 0.0, 1.0, out=rgb)
        rgb *= np.float32(65535.0)
        rgb += np.float32(0.5)
        out[...] = rgb.astype(np.uint16)


# --- the sRGB boundary ----------------------------------------------------------------------------------


def chroma_limit(lightness: np.ndarray, hue: np.ndarray) -> np.ndarray:
    """Largest in-sRGB chroma at each pixel's L* and hue (degrees): a bilinear lookup in the boundary table.

    The table's steps are 1 L* x 1 degree, so L* and hue are directly its row and column coordinates.
    """
    table = max_chroma_table()
    lightness = np.ascontiguousarray(lightness, dtype=np.float32)
    hue = np.ascontiguousarray(hue, dtype=np.float32)
    limit = np.empty_like(lightness)
    height, width = lightness.shape
    for y0 in range(0, height, REMAP_CHUNK):
        for x0 in range(0, width, REMAP_CHUNK):
            y1, x1 = y0 + REMAP_CHUNK, x0 + REMAP_CHUNK
            limit[y0:y1, x0:x1] = cv2.remap(table, hue[y0:y1, x0:x1], lightness[y0:y1, x0:x1], cv2.INTER_LINEAR,
                                            borderMode=cv2.BORDER_REPLICATE)
    return limit


_table_lock = threading.Lock()
_start_lock = threading.Lock()
_table: np.ndarray | None = None
_build_started = False


def build_tables_ahead() -> None:
    """Start building the boundary table on a background thread (once; ~25 ms of CPU), so that no photo
    waits for it: called as a first photo's L* is computed, it is ready before that photo's network pass
    ends (both release the GIL). Not at import: it would slow the import down. A render that comes
    sooner waits for the build under way."""
    global _build_started
    with _start_lock:
        if _table is None and not _build_started:
            _build_started = True
            # Not a daemon: a thread killed mid-numpy at interpreter exit can abort the process.
            threading.Thread(target=max_chroma_table, name="rechroma-gamut-table").start()


def _forget_lock_in_child() -> None:
    global _table_lock, _start_lock, _build_started
    # A fork taken mid-build must not inherit a held lock, nor wait for a thread it does not have.
    _table_lock, _start_lock, _build_started = threading.Lock(), threading.Lock(), False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_lock_in_child)


def max_chroma_table() -> np.ndarray:
    """Largest chroma inside sRGB for L* = 0, 1, ..., 100 (rows) x hue = 0, 1, ..., 360 degrees (columns)."""
    global _table
    if _table is None:
        with _table_lock:
            if _table is None:
                _table = _build_max_chroma_table()
    return _table


def _build_max_chroma_table() -> np.ndarray:
    """Bisection on the exact, unclipped Lab -> linear sRGB maths, for all grid points at once (17 steps
    from [0, 140]: within 0.0011 of the boundary, on the inside), in float32 like OpenCV's conversion."""
    grid_l, grid_h = np.meshgrid(np.arange(101.0), np.radians(np.arange(360.0)), indexing="ij")
    fy = ((grid_l.ravel() + 16.0) / 116.0).astype(np.float32)
    step_x = (np.cos(grid_h).ravel() / 500.0).astype(np.float32)
    step_z = (np.sin(grid_h).ravel() / 200.0).astype(np.float32)
    # X and Z per unit of each linear channel, and Y's share (the same for every chroma), computed once.
    matrix = _XYZ_TO_LINEAR_SRGB * np.array([_WHITE_X, 1.0, _WHITE_Z], np.float32)
    from_y = np.outer(matrix[:, 1], _inverse_lab_f(fy)).astype(np.float32)
    low, half = np.zeros_like(fy), np.float32(_BISECTION_HIGH / 2)
    for _ in range(_BISECTION_STEPS):
        mid = low + half
        x, z = _inverse_lab_f(fy + mid * step_x), _inverse_lab_f(fy - mid * step_z)
        fits = np.ones(fy.shape, bool)
        for channel in range(3):
            linear = matrix[channel, 0] * x + from_y[channel] + matrix[channel, 2] * z
            fits &= (linear >= 0.0) & (linear <= 1.0)
        low = np.where(fits, mid, low)
        half *= np.float32(0.5)
    table = low.reshape(grid_l.shape)
    return np.concatenate([table, table[:, :1]], axis=1).astype(np.float32)  # 360 degrees = 0 degrees


@lru_cache(maxsize=8)
def _squared_bound_over(strength: float) -> np.ndarray:
    """(lower bound / strength)^2 per 8-bit L* bin, as a cv2.LUT table: a pixel whose squared chroma at
    strength 1 is at most this stays inside sRGB at ``strength``."""
    return np.square(_boundary_lower_bound().astype(np.float64) / strength).astype(np.float32)


@lru_cache(maxsize=1)
def _boundary_lower_bound() -> np.ndarray:
    """For each 8-bit L* bin, GAMUT_MARGIN x the smallest boundary chroma over every hue and over the table
    rows that a bilinear lookup from that bin can touch (bins widened by one on each side: rounding),
    lowered by a further 0.01 % for the float rounding of the lookup itself."""
    least_per_row = max_chroma_table().min(axis=1).astype(np.float64)
    bins = np.arange(256)
    low = np.clip(np.floor((bins - 1) / _BINS_PER_L), 0, 100).astype(int)
    high = np.clip(np.ceil((bins + 1) / _BINS_PER_L), 0, 100).astype(int)
    # A bin spans at most three table rows (1 / 2.55 L* wide, widened by 2 / 2.55).
    rows = np.minimum(low[:, None] + np.arange(4), high[:, None])
    return least_per_row[rows].min(axis=1) * GAMUT_MARGIN * (1 - 1e-4)


def _inverse_lab_f(f: np.ndarray) -> np.ndarray:
    """CIE f^-1: cube above 6/29, linear below."""
    return np.where(f > 6.0 / 29.0, f**3, 3.0 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0))


def linear_rgb(lab: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Unclipped linear sRGB (k x 3) of k Lab pixels with a*b* scaled by ``chroma`` (same D65 maths as OpenCV)."""
    fy = (lab[:, 0] + 16.0) / 116.0
    xyz = np.stack(
        [
            _WHITE_X * _inverse_lab_f(fy + lab[:, 1] * chroma / 500.0),
            _inverse_lab_f(fy),
            _WHITE_Z * _inverse_lab_f(fy - lab[:, 2] * chroma / 200.0),
        ],
        axis=1,
    ).astype(np.float32)
    return xyz @ _XYZ_TO_LINEAR_SRGB.T
