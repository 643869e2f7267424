"""Photo -> generator -> colour photo: lightness, network pass, full-resolution merge, strength, gamut.

The network runs at a small render size (512 px long side by default); its a*b* are upsampled and merged
with the photo's own full-resolution L*, so detail and tonality come from the original and only the colour
comes from the model. Everything full-size is done in horizontal strips of about a megapixel with OpenCV
(multithreaded) so that a 40 MP scan stays well within memory and a 12 MP photo renders in a fraction of
a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from engine import __version__, colour
from engine.cancel import CancelToken
from engine.model import Generator
from engine.photo_io import Photo, PhotoError, PhotoExistsError, read_photo, same_file, write_photo

#: Pixels per strip: big enough for OpenCV's threads to pay off, small enough to keep temporaries ~50 MB.
STRIP_PIXELS = 1 << 20
MAX_STRENGTH = 2.0
#: A channel this close to 0 or 1 after OpenCV's (saturating) Lab->RGB may have been clipped: check it.
_GAMUT_EDGE = 1e-6
#: Grid of the sRGB boundary table (L* step, hue step in degrees) and the share of it used: bilinear
#: interpolation of the boundary can overshoot it by a hair, which OpenCV would then clip.
_TABLE_L_STEP, _TABLE_HUE_STEP = 1.0, 1.0
_GAMUT_MARGIN = 0.995
#: CIE 1931 Y from linear sRGB (D65), the row OpenCV's own Lab conversion uses.
_SRGB_TO_Y = np.array([[0.212671, 0.715160, 0.072169]], dtype=np.float32)
_LAB_EPSILON = 216.0 / 24389.0  # CIE: below this Y the L* curve is linear
_LAB_KAPPA = 24389.0 / 27.0
#: D65 white and XYZ -> linear sRGB, as in OpenCV's Lab conversion.
_WHITE_X, _WHITE_Z = 0.950456, 1.088754
_XYZ_TO_LINEAR_SRGB = np.array(
    [[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556], [0.055648, -0.204043, 1.057311]],
    dtype=np.float32,
)


@dataclass
class Prediction:
    """A photo's full-resolution L* and the model's a*b* at render resolution; re-renderable at any strength."""

    lightness: np.ndarray  #: H x W float32 L* in [0, 100]
    ab: np.ndarray  #: h x w x 2 float32 a*b* at render resolution (cached model output)
    alpha: np.ndarray | None = None  #: H x W, dtype of the source pixels
    bit_depth: int = 8

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the rendered photo."""
        return self.lightness.shape[1], self.lightness.shape[0]

    def render(self, strength: float = 1.0, cancel: CancelToken | None = None) -> np.ndarray:
        """H x W x 3 RGB (uint8, or uint16 for 16-bit sources) with a*b* scaled by ``strength`` in [0, 2]."""
        if not 0.0 <= strength <= MAX_STRENGTH or math.isnan(strength):
            raise ValueError(f"strength must be between 0 and {MAX_STRENGTH:g}, got {strength}")
        height, width = self.lightness.shape
        dtype = np.uint16 if self.bit_depth == 16 else np.uint8
        out = np.empty((height, width, 3), dtype)
        # Separable resize: the vertical pass once over the narrow render-width array (a few MB even for a
        # 40 MP scan), the horizontal pass per strip; with an unchanged row count the strip resize maps
        # rows one to one, so strips join without seams and the result equals one big cv2.resize.
        ab_width = self.ab.shape[1]
        ab_tall = cv2.resize(self.ab * np.float32(strength), (ab_width, height),
                             interpolation=_interpolation(self.ab.shape[0], height))
        horizontal = _interpolation(ab_width, width)
        rows = max(1, STRIP_PIXELS // max(width, 1))
        for y0 in range(0, height, rows):
            if cancel is not None:
                cancel.raise_if_cancelled()
            y1 = min(height, y0 + rows)
            ab = cv2.resize(ab_tall[y0:y1], (width, y1 - y0), interpolation=horizontal)
            lab = cv2.merge([self.lightness[y0:y1], ab])
            rgb = colour.lab_to_rgb(lab)
            _fit_into_gamut(rgb, lab)
            _to_integer(rgb, out[y0:y1])
        return out

    def preview(self, max_side: int) -> Prediction:
        """A copy downscaled to ``max_side`` long side (sharing ``ab``) for fast re-renders on a slider."""
        height, width = self.lightness.shape
        scale = max_side / max(height, width)
        if scale >= 1.0:
            return Prediction(self.lightness, self.ab, self.alpha, self.bit_depth)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        lightness = cv2.resize(self.lightness, size, interpolation=cv2.INTER_AREA)
        alpha = None if self.alpha is None else cv2.resize(self.alpha, size, interpolation=cv2.INTER_AREA)
        return Prediction(lightness, self.ab, alpha, self.bit_depth)


def colorize(photo: Photo, generator: Generator, *, render_size: int | None = None,
             cancel: CancelToken | None = None) -> Prediction:
    """Run the generator on ``photo`` (a colour, sepia or tinted scan is reduced to its L* first)."""
    lightness = lightness_of(photo.pixels, cancel)
    ab = predict_ab(lightness, generator, render_size=render_size, cancel=cancel)
    bit_depth = 16 if photo.pixels.dtype == np.uint16 else 8
    _max_chroma_table()  # built once per process here, so the first render on a slider is not the slow one
    return Prediction(lightness=lightness, ab=ab, alpha=photo.alpha, bit_depth=bit_depth)


def predict_ab(lightness: np.ndarray, generator: Generator, *, render_size: int | None = None,
               cancel: CancelToken | None = None) -> np.ndarray:
    """a*b* for a full-size L*: resize to the render size, reflect-pad to the size multiple, crop back."""
    contract = generator.contract
    render_size = render_size or contract.default_render_size
    if render_size < 1:
        raise ValueError(f"render size must be positive, got {render_size}")
    height, width = lightness.shape
    scale = render_size / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA averages when shrinking (no aliasing), bilinear when enlarging a small photo.
    small = cv2.resize(lightness, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    l_norm = colour.normalize_l(small)
    padded, (top, left) = _reflect_pad(l_norm, contract.size_multiple)
    ab = generator.predict_ab(padded, cancel=cancel)
    return np.ascontiguousarray(ab[top:top + size[1], left:left + size[0]])


def _reflect_pad(image: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad both sides by mirroring so the network sees plausible content, not a flat border, at the edges."""
    height, width = image.shape
    pad_h, pad_w = -height % multiple, -width % multiple
    top, left = pad_h // 2, pad_w // 2
    if not (pad_h or pad_w):
        return image, (0, 0)
    padded = cv2.copyMakeBorder(image, top, pad_h - top, left, pad_w - left, cv2.BORDER_REFLECT_101)
    return padded, (top, left)


@lru_cache(maxsize=2)
def _linearise_table(levels: int) -> np.ndarray:
    """sRGB code value -> linear light, for all ``levels`` codes (256 or 65536)."""
    c = np.arange(levels, dtype=np.float64) / (levels - 1)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def lightness_of(pixels: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
    """CIE L* (H x W float32) of uint8/uint16 sRGB pixels (H x W x 3, or H x W grey), computed in strips.

    Written out rather than ``cv2.cvtColor(float, RGB2Lab)``: OpenCV's float forward conversion uses a
    coarse gamma spline (errors up to 0.19 L*, so grey in != grey out) and is twice as slow; its inverse,
    used by :meth:`Prediction.render`, is exact to 0.02 of an 8-bit level.
    """
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"pixels must be uint8 or uint16, got {pixels.dtype}")
    height, width = pixels.shape[:2]
    table = _linearise_table(256 if pixels.dtype == np.uint8 else 65536)
    out = np.empty((height, width), np.float32)
    rows = max(1, STRIP_PIXELS // max(width, 1))
    for y0 in range(0, height, rows):
        if cancel is not None:
            cancel.raise_if_cancelled()
        strip = pixels[y0:y0 + rows]
        linear = cv2.LUT(strip, table) if strip.dtype == np.uint8 else table[strip]
        luminance = linear if linear.ndim == 2 else cv2.transform(linear, _SRGB_TO_Y)
        _luminance_to_lightness(luminance, out[y0:y0 + rows])
    return out


def _luminance_to_lightness(y: np.ndarray, out: np.ndarray) -> None:
    """L* = 116 cbrt(Y) - 16 above the CIE epsilon, kappa * Y below it, as max(cube-root, min(linear, 8))."""
    np.cbrt(y, out=out)
    out *= np.float32(116.0)
    out -= np.float32(16.0)
    linear = np.multiply(y, np.float32(_LAB_KAPPA))
    np.minimum(linear, np.float32(_LAB_KAPPA * _LAB_EPSILON), out=linear)
    np.maximum(out, linear, out=out)


def _interpolation(src: int, dst: int) -> int:
    """Bilinear when enlarging, area averaging when shrinking (no aliasing in the colours of small photos)."""
    return cv2.INTER_AREA if dst < src else cv2.INTER_LINEAR


def _fit_into_gamut(rgb: np.ndarray, lab: np.ndarray) -> None:
    """Bring out-of-sRGB pixels in by scaling their chroma down with L* and hue kept; in place, only where
    needed.

    OpenCV's Lab->RGB saturates, so only pixels at 0 or 1 in some channel can be out of gamut; for those,
    the largest in-gamut chroma at their L* and hue is read from a precomputed table of the sRGB boundary
    (bilinear in L* and hue) and their a*b* are scaled down to it: one pass, however many pixels are out.
    """
    low, high = _GAMUT_EDGE, 1.0 - _GAMUT_EDGE
    inside = cv2.inRange(rgb, (low, low, low), (high, high, high))
    if cv2.countNonZero(inside) == inside.size:
        return
    index = np.flatnonzero(inside.reshape(-1) == 0)
    lab_out = lab.reshape(-1, 3)[index]
    chroma = np.hypot(lab_out[:, 1], lab_out[:, 2])
    hue = np.degrees(np.arctan2(lab_out[:, 2], lab_out[:, 1])) % 360.0
    limit = _lookup_bilinear(_max_chroma_table(), lab_out[:, 0] / _TABLE_L_STEP, hue / _TABLE_HUE_STEP)
    scale = np.minimum(1.0, limit * _GAMUT_MARGIN / np.maximum(chroma, 1e-6))
    lab_out[:, 1:] *= scale[:, None].astype(np.float32)
    rgb.reshape(-1, 3)[index] = colour.lab_to_rgb(lab_out[:, None, :])[:, 0, :]


def _lookup_bilinear(table: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    rows = np.clip(rows, 0, table.shape[0] - 1)
    cols = np.clip(cols, 0, table.shape[1] - 1)
    r0 = np.minimum(rows.astype(np.intp), table.shape[0] - 2)
    c0 = np.minimum(cols.astype(np.intp), table.shape[1] - 2)
    fr, fc = rows - r0, cols - c0
    top = table[r0, c0] * (1 - fc) + table[r0, c0 + 1] * fc
    bottom = table[r0 + 1, c0] * (1 - fc) + table[r0 + 1, c0 + 1] * fc
    return top * (1 - fr) + bottom * fr


@lru_cache(maxsize=1)
def _max_chroma_table() -> np.ndarray:
    """Largest chroma inside sRGB for L* in [0, 100] x hue in [0, 360] degrees (both ends included).

    Found by bisection on the exact, unclipped Lab -> linear sRGB maths for every grid point at once
    (about 50 ms, once per process).
    """
    lightness = np.arange(0.0, 100.0 + _TABLE_L_STEP / 2, _TABLE_L_STEP)
    hue = np.radians(np.arange(0.0, 360.0 + _TABLE_HUE_STEP / 2, _TABLE_HUE_STEP))
    grid_l, grid_h = np.meshgrid(lightness, hue, indexing="ij")
    directions = np.stack([grid_l.ravel(), np.cos(grid_h).ravel(), np.sin(grid_h).ravel()], axis=1)
    low = np.zeros(len(directions))
    high = np.full(len(directions), 200.0)
    for _ in range(20):
        mid = (low + high) / 2
        linear = _linear_rgb(directions, mid)
        fits = ((linear >= 0.0) & (linear <= 1.0)).all(axis=1)
        low = np.where(fits, mid, low)
        high = np.where(fits, high, mid)
    return low.reshape(grid_l.shape).astype(np.float32)


def _inverse_lab_f(f: np.ndarray) -> np.ndarray:
    """CIE f^-1: cube above 6/29, linear below."""
    return np.where(f > 6.0 / 29.0, f**3, 3.0 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0)).astype(np.float32)


def _linear_rgb(lab: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Unclipped linear sRGB (k x 3) of k Lab pixels with a*b* scaled by ``chroma`` (same D65 maths as OpenCV)."""
    fy = (lab[:, 0] + 16.0) / 116.0
    xyz = np.stack(
        [
            _WHITE_X * _inverse_lab_f(fy + lab[:, 1] * chroma / 500.0),
            _inverse_lab_f(fy),
            _WHITE_Z * _inverse_lab_f(fy - lab[:, 2] * chroma / 200.0),
        ],
        axis=1,
    )
    return xyz @ _XYZ_TO_LINEAR_SRGB.T


def _to_integer(rgb: np.ndarray, out: np.ndarray) -> None:
    """[0, 1] float -> uint8/uint16 with rounding, written into the preallocated output rows."""
    if out.dtype == np.uint8:
        # OpenCV's Lab->RGB already saturates to [0, 1], so convertScaleAbs's abs() never sees a negative.
        cv2.convertScaleAbs(rgb, dst=out, alpha=255.0)
    else:
        np.clip(rgb, 0.0, 1.0, out=rgb)
        rgb *= np.float32(65535.0)
        rgb += np.float32(0.5)
        out[...] = rgb.astype(np.uint16)


def provenance(generator: Generator) -> str:
    """The text written into the output's description: who colorized it, with which model."""
    return f"Colorized by Rechroma {__version__} with model {generator.name}"


def colorize_file(
    src: Path | str,
    dst: Path | str,
    generator: Generator,
    *,
    strength: float = 1.0,
    render_size: int | None = None,
    fmt: str | None = None,
    quality: int = 92,
    keep_metadata: bool = True,
    overwrite: bool = False,
    cancel: CancelToken | None = None,
) -> Path:
    """Colorize one file into ``dst`` (written atomically; the input is never touched) and return its path."""
    src, dst = Path(src), Path(dst)
    if same_file(src, dst):
        raise PhotoError("the output would overwrite the input", dst)
    if not overwrite and dst.exists():  # before any work: write_photo would refuse it anyway
        raise PhotoExistsError("output file already exists", dst)
    if not 0.0 <= strength <= MAX_STRENGTH:
        raise ValueError(f"strength must be between 0 and {MAX_STRENGTH:g}, got {strength}")
    photo = read_photo(src)
    if cancel is not None:
        cancel.raise_if_cancelled()
    prediction = colorize(photo, generator, render_size=render_size, cancel=cancel)
    exif = photo.exif if keep_metadata else None
    del photo  # the decoded pixels are no longer needed: free them before the full-size render
    pixels = prediction.render(strength, cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return write_photo(
        dst,
        pixels,
        alpha=prediction.alpha,
        fmt=fmt,
        quality=quality,
        exif=exif,
        description=provenance(generator),
        overwrite=overwrite,
    )
