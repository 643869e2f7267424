"""Photo -> generator -> colour photo: lightness, network pass, full-resolution merge, strength, gamut.

The network runs at a small render size (512 px long side by default); its a*b* are upsampled and merged
with the photo's own full-resolution L*, so detail and tonality come from the original and only the colour
comes from the model. Everything full-size is done in horizontal strips of a quarter megapixel with OpenCV
(multithreaded) so that a 40 MP scan stays well within memory and a 12 MP photo renders in a fraction of
a second; the per-strip render itself (upsampling, strength, gamut cap, Lab -> sRGB) is engine.render.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from engine import __version__, allocator, colour, photo_io, render, thread_pool
from engine.cancel import CancelToken
from engine.limits import MAX_STRENGTH as MAX_STRENGTH  # re-exported: callers import it from here
from engine.photo_io import PhotoError, PhotoExistsError

if TYPE_CHECKING:  # the decoders (Pillow), the model runtime and hint mode load when first used: start-up time
    from concurrent.futures import ThreadPoolExecutor

    from engine.hints import AnyHint
    from engine.model import Generator
    from engine.photo_io import Photo

#: Pixels per strip: a quarter megapixel keeps a strip's float temporaries (~3 MB a plane) in the cache. On
#: 2 cores a 12 MP render took 67-80 ms against 87-92 ms with 1 MP strips, and RGB L* 19-23 ms against 29-32.
STRIP_PIXELS = 1 << 18
#: Predictions up to this size (previews) keep the strength-independent part of a render between renders.
CACHED_RENDER_PIXELS = 4_000_000
#: Caches this small (thumbnails: under a MB) stay with their Prediction and take no place among the few
#: kept: the app's queue thumbnails evicted the shown photo's preview caches, which a strength change then
#: had to rebuild (60-100 ms for the full preview instead of 15-25).
UNCOUNTED_CACHE_PIXELS = 1 << 16
#: Mirrored band (px at render size) around the network's input, cropped away after the run. 16 px measured
#: against 32 on v2 (model card, "Speed options measured"): ΔE00 9.85 vs 9.96 on val and 12.22 vs 12.32 held out,
#: border and corner |Δab| no worse, 13 % less inference at 512 px.
BORDER_MARGIN = 16
#: CIE 1931 Y from linear sRGB (D65), the row OpenCV's own Lab conversion uses.
_SRGB_TO_Y = np.array([[0.212671, 0.715160, 0.072169]], dtype=np.float32)
_LAB_EPSILON = 216.0 / 24389.0  # CIE: below this Y the L* curve is linear
_LAB_KAPPA = 24389.0 / 27.0
#: The sRGB boundary maths live in engine.render; these names stay for callers and tests.
_max_chroma_table = render.max_chroma_table
_linear_rgb = render.linear_rgb

allocator.keep_freed_memory()  # before the first photo: its big temporaries are then reused, not re-faulted
colour.warm_up_lab_conversion()  # OpenCV's Lab tables, built while the model loads and the photo decodes


@dataclass(eq=False)  # compared by identity: == on numpy fields would be ambiguous anyway
class Prediction:
    """A photo's full-resolution L* and the model's a*b* at render resolution; re-renderable at any strength."""

    lightness: np.ndarray  #: H x W float32 L* in [0, 100]
    ab: np.ndarray  #: h x w x 2 float32 a*b* at render resolution (cached model output)
    alpha: np.ndarray | None = None  #: H x W, dtype of the source pixels
    bit_depth: int = 8
    #: For small predictions (previews), the strength-independent part of a render, kept after the first.
    _colour_cache: render.ColourRows | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_pixels(cls, pixels: np.ndarray, ab: np.ndarray, *, alpha: np.ndarray | None = None) -> Prediction:
        """A photo's stored pixels and earlier a*b* (a cache, a hint run) back into a Prediction, with no model run.

        L* and bit depth come exactly as :func:`colorize` takes them, so an export equals a fresh colorize.
        """
        bit_depth = 16 if pixels.dtype == np.uint16 else 8
        return cls(lightness=lightness_of(pixels), ab=ab, alpha=alpha, bit_depth=bit_depth)

    def with_ab(self, ab: np.ndarray) -> Prediction:
        """The same photo with new a*b* (hints changed the colour); the render cache is not carried over."""
        return Prediction(self.lightness, ab, self.alpha, self.bit_depth)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the rendered photo."""
        return self.lightness.shape[1], self.lightness.shape[0]

    def render(self, strength: float = 1.0, cancel: CancelToken | None = None) -> np.ndarray:
        """H x W x 3 RGB (uint8, or uint16 for 16-bit sources) with a*b* scaled by ``strength`` in [0, 2].

        Chroma that would leave sRGB is capped at the gamut boundary for that pixel's L* and hue, so the
        output keeps the photo's lightness exactly (up to rounding) at any strength.
        """
        if not 0.0 <= strength <= MAX_STRENGTH or math.isnan(strength):
            raise ValueError(f"strength must be between 0 and {MAX_STRENGTH:g}, got {strength}")
        height, width = self.lightness.shape
        out = np.empty((height, width, 3), np.uint16 if self.bit_depth == 16 else np.uint8)
        if height * width <= CACHED_RENDER_PIXELS:
            cache = self._colour_cache
            if cache is None:
                a, b = self._ab_at_full_height()
                cache = self._colour_cache = render.colour_rows(self.lightness, a, b, self._across())
                if height * width > UNCOUNTED_CACHE_PIXELS:
                    _keep_few_caches(self)

            def cached(y0: int, y1: int) -> None:
                render.render_cached_rows(self.lightness[y0:y1], cache.rows(y0, y1), strength, out[y0:y1])

            _in_strips(height, width, cached, whole_frame=True)
            return out
        # Separable resize: the vertical pass here, over the narrow render-width planes (a few MB even for a
        # 40 MP scan), the horizontal one per strip; with an unchanged row count that pass maps rows one to
        # one, so strips join without seams and equal one big cv2.resize.
        tall_a, tall_b = self._ab_at_full_height()
        across = self._across()

        def strip(y0: int, y1: int) -> None:
            if cancel is not None:
                cancel.raise_if_cancelled()
            render.render_strip(self.lightness[y0:y1], tall_a[y0:y1], tall_b[y0:y1], across, strength, out[y0:y1])

        _in_strips(height, width, strip)
        return out

    def _ab_at_full_height(self) -> tuple[np.ndarray, np.ndarray]:
        """a* and b* planes at render width and the photo's height."""
        height = self.lightness.shape[0]
        across = self.ab.shape[1]
        down = _interpolation(self.ab.shape[0], height)
        a, b = render.split_planes(self.ab)
        size = (across, height)
        return cv2.resize(a, size, interpolation=down), cv2.resize(b, size, interpolation=down)

    def _across(self) -> int:
        """The interpolation of the horizontal resize, from render width to the photo's width."""
        return _interpolation(self.ab.shape[1], self.lightness.shape[1])

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


#: Predictions holding a render cache (~12 bytes a pixel), newest last; only the last few keep theirs, so
#: an app holding previews of a whole queue does not hold all their caches.
_CACHE_OWNERS: deque[weakref.ref[Prediction]] = deque()
_MAX_CACHES = 3
_CACHE_LOCK = threading.Lock()


def _keep_few_caches(owner: Prediction) -> None:
    with _CACHE_LOCK:
        _CACHE_OWNERS.append(weakref.ref(owner))
        while len(_CACHE_OWNERS) > _MAX_CACHES:
            oldest = _CACHE_OWNERS.popleft()()
            if oldest is not None and oldest is not owner:
                oldest._colour_cache = None


def _in_strips(height: int, width: int, work: Callable[[int, int], None], *, whole_frame: bool = False) -> None:
    """Call ``work(y0, y1)`` for horizontal strips covering ``height`` rows, on as many threads as OpenCV
    may use (``cv2.setNumThreads``).

    Strips are ~``STRIP_PIXELS`` each (memory stays flat however big the photo), or, with ``whole_frame``,
    one per thread. Our own threads because OpenCV's float Lab->RGB and numpy run single-threaded, and
    both release the GIL. The first exception (e.g. Cancelled) is re-raised once running strips finish.
    """
    threads = max(1, cv2.getNumThreads())
    rows = -(-height // threads) if whole_frame else max(1, STRIP_PIXELS // max(width, 1))
    spans = [(y0, min(height, y0 + rows)) for y0 in range(0, height, rows)]
    if threads == 1 or len(spans) == 1:
        for y0, y1 in spans:
            work(y0, y1)
        return
    from concurrent.futures import wait  # noqa: PLC0415 - loaded with the pool (engine.thread_pool)

    futures = [_strip_pool().submit(work, y0, y1) for y0, y1 in spans]
    try:
        for future in futures:
            future.result()
    finally:
        for future in futures:
            future.cancel()
        wait(futures)


def _strip_pool() -> ThreadPoolExecutor:
    return thread_pool.shared_pool()


def colorize(photo: Photo, generator: Generator, *, hints: Sequence[AnyHint] | None = None,
             render_size: int | None = None, cancel: CancelToken | None = None) -> Prediction:
    """Run the generator on ``photo`` (a colour, sepia or tinted scan is reduced to its L* first).

    ``hints`` are points of known colour in the upright photo's own coordinates (:class:`engine.hints.Hint` in
    pixels, :class:`engine.hints.FractionHint` in fractions, e.g. from a sidecar file): their a*b* are spread
    along the photo's edges and the model runs once (engine.hint_mode). Strength re-renders need no new run.
    """
    lightness = lightness_of(photo.pixels, cancel)
    ab = predict_ab(lightness, generator, render_size=render_size, cancel=cancel, hints=hints)
    bit_depth = 16 if photo.pixels.dtype == np.uint16 else 8
    _max_chroma_table()  # built once per process here, so the first render on a slider is not the slow one
    return Prediction(lightness=lightness, ab=ab, alpha=photo.alpha, bit_depth=bit_depth)


def render_lightness(lightness: np.ndarray, render_size: int) -> np.ndarray:
    """The full-size L* resized so its long side is ``render_size``: what the model (and hint mode) see."""
    if render_size < 1:
        raise ValueError(f"render size must be positive, got {render_size}")
    height, width = lightness.shape
    scale = render_size / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # INTER_AREA averages when shrinking (no aliasing), bilinear when enlarging a small photo.
    return cv2.resize(lightness, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def predict_ab(lightness: np.ndarray, generator: Generator, *, render_size: int | None = None,
               cancel: CancelToken | None = None, hints: Sequence[AnyHint] | None = None) -> np.ndarray:
    """a*b* for a full-size L*: resize to the render size, reflect-pad to the size multiple, crop back."""
    contract = generator.contract
    small = render_lightness(lightness, render_size or contract.default_render_size)
    l_norm = colour.normalize_l(small)
    padded, (top, left) = _reflect_pad(l_norm, contract.size_multiple, margin=BORDER_MARGIN)
    height, width = small.shape

    def run_model(hint_inputs: np.ndarray | None) -> np.ndarray:
        if hint_inputs is None:
            ab = generator.predict_ab(padded, cancel=cancel)
        else:
            ab = generator.predict_ab(padded, cancel=cancel,
                                      hint_inputs=_pad_as(hint_inputs, padded.shape, (top, left)))
        return np.ascontiguousarray(ab[top:top + height, left:left + width])

    if not hints:
        return run_model(None)
    from engine.hint_mode import hinted_ab  # noqa: PLC0415 - lazily: propagation is only for hinted photos

    return hinted_ab(small, hints, lightness.shape[::-1], run_model, generator.takes_hints)


def _pad_as(planes: np.ndarray, shape: tuple[int, int], offset: tuple[int, int]) -> np.ndarray:
    """Render-size planes mirrored out to the padded L*'s shape, exactly as :func:`_reflect_pad` did L*."""
    top, left = offset
    bottom, right = shape[0] - planes.shape[0] - top, shape[1] - planes.shape[1] - left
    if not (top or left or bottom or right):
        return planes
    channels = [cv2.copyMakeBorder(np.ascontiguousarray(planes[..., c]), top, bottom, left, right,
                                   cv2.BORDER_REFLECT_101) for c in range(planes.shape[2])]
    return np.stack(channels, axis=-1)


def _reflect_pad(image: np.ndarray, multiple: int, margin: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad all sides by mirroring, by at least ``margin`` and up to the size multiple, so that the network sees
    plausible content, not a flat border, at the photo's edges.

    The margin matters as much as the mirroring: the encoder's own zero padding marks the tensor's corners, and
    a generator can learn corner-specific colour there (a yellow 'sun' at the top left, seen in training
    samples). With a margin, whatever it paints at the corners lands in the mirrored band that is cropped away.
    """
    height, width = image.shape
    pad_h = 2 * margin + (-(height + 2 * margin) % multiple)
    pad_w = 2 * margin + (-(width + 2 * margin) % multiple)
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


@lru_cache(maxsize=2)
def _lightness_table(levels: int) -> np.ndarray:
    """L* of every grey code value (256 or 65536): the formula below applied to the linearised codes, so a
    lookup gives the numbers the formula gives per pixel."""
    linear = _linearise_table(levels)
    table = np.empty_like(linear)
    _luminance_to_lightness(linear, table)
    return table


def lightness_of(pixels: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
    """CIE L* (H x W float32) of uint8/uint16 sRGB pixels (H x W x 3, or H x W grey), computed in strips.

    Written out rather than ``cv2.cvtColor(float, RGB2Lab)``: OpenCV's float forward conversion uses a
    coarse gamma spline (errors up to 0.19 L*, so grey in != grey out) and is twice as slow; its inverse,
    used by :meth:`Prediction.render`, is exact to 0.02 of an 8-bit level.
    """
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"pixels must be uint8 or uint16, got {pixels.dtype}")
    render.build_tables_ahead()  # while this and the network run: ready by the time the render needs it
    height, width = pixels.shape[:2]
    levels = 256 if pixels.dtype == np.uint8 else 65536
    out = np.empty((height, width), np.float32)
    grey = pixels.ndim == 2
    # Grey: L* of every code value, looked up (one pass instead of five); RGB: the linearised codes.
    table = _lightness_table(levels) if grey else _linearise_table(levels)

    def strip(y0: int, y1: int) -> None:
        if cancel is not None:
            cancel.raise_if_cancelled()
        rows = pixels[y0:y1]
        looked_up = cv2.LUT(rows, table) if levels == 256 else table[rows]
        if grey:
            out[y0:y1] = looked_up
        else:
            _luminance_to_lightness(cv2.transform(looked_up, _SRGB_TO_Y), out[y0:y1])

    _in_strips(height, width, strip)
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


#: Long side of :func:`warm_up`'s photo (4:3, about a megapixel).
WARM_UP_SIDE = 1152


def warm_up(generator: Generator, render_size: int | None = None) -> None:
    """Colorize a small synthetic photo once, file to file, so that the first real photo is not the slow one.

    A process's first photo paid 100-250 ms more than the next: onnxruntime's first run (kernels, the memory
    arena, the thread pool), Pillow's JPEG plugin import and the first decode, the Lab and gamut tables, the
    strip threads, the first encode and ICC handling. The CLI calls this while it plans the batch, the app on
    its worker after loading a model. The photo is an RGB JPEG with an sRGB profile and EXIF, landscape 4:3,
    so the network runs at the size a typical photo gives it, and about a megapixel, so the render's
    temporaries are already in the process's memory (engine.allocator keeps them) for photos up to that size.
    """
    import tempfile  # noqa: PLC0415 - lazily: with shutil, lzma and bz2, a noticeable part of start-up

    from PIL import Image  # noqa: PLC0415 - lazily, like the file layer itself

    from engine.photo_io.meta import srgb_icc  # noqa: PLC0415 - the file layer's own profile

    ramp = np.linspace(0, 255, WARM_UP_SIDE, dtype=np.float32)
    grey = np.add.outer(ramp[: WARM_UP_SIDE * 3 // 4] * 0.5, ramp * 0.5).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 1  # orientation: upright
    with tempfile.TemporaryDirectory(prefix="rechroma-warm-up-") as folder:
        src = Path(folder) / "warm-up.jpg"
        Image.fromarray(np.dstack([grey] * 3)).save(src, quality=92, icc_profile=srgb_icc(), exif=exif)
        colorize_file(src, Path(folder) / "warm-up_color.jpg", generator, render_size=render_size)


def provenance(model_name: str | None) -> str:
    """The text written into the output's description: who colorized it, with which model
    (:attr:`Generator.name`). The CLI and the app's export both write it; made_by_rechroma reads it back."""
    made = f"Colorized by Rechroma {__version__}"
    return f"{made} with model {model_name}" if model_name else made


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
    next_free: bool = False,
    cancel: CancelToken | None = None,
    hints: Sequence[AnyHint] | None = None,
) -> Path:
    """Colorize one file into ``dst`` (written atomically; the input is never touched) and return the path
    written: with ``next_free``, the next free ``-2``, ``-3``, ... name if ``dst`` is taken by then.

    ``hints`` as for :func:`colorize`; fractions (a sidecar's) suit here, since the photo is read only now.
    """
    src, dst = Path(src), Path(dst)
    if photo_io.same_file(src, dst):
        raise PhotoError("the output would overwrite the input", dst)
    if not (overwrite or next_free) and _exists(dst):  # before any work: write_photo would refuse it anyway
        raise PhotoExistsError("output file already exists", dst)
    if not 0.0 <= strength <= MAX_STRENGTH:
        raise ValueError(f"strength must be between 0 and {MAX_STRENGTH:g}, got {strength}")
    photo = photo_io.read_photo(src, grey=True)  # a grey photo stays H×W: lightness_of reads it as it is
    if cancel is not None:
        cancel.raise_if_cancelled()
    prediction = colorize(photo, generator, hints=hints, render_size=render_size, cancel=cancel)
    exif = photo.exif if keep_metadata else None
    del photo  # the decoded pixels are no longer needed: free them before the full-size render
    pixels = prediction.render(strength, cancel=cancel)
    alpha = prediction.alpha
    del prediction  # and the full-size L* (4 bytes a pixel) before the encoder makes its own copies
    if cancel is not None:
        cancel.raise_if_cancelled()
    return photo_io.write_photo(
        dst,
        pixels,
        alpha=alpha,
        fmt=fmt,
        quality=quality,
        exif=exif,
        description=provenance(generator.name),
        overwrite=overwrite,
        next_free=next_free,
    )


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. a name too long to look up: write_photo then says so for this photo
        return False
