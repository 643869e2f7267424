"""Encoding pixels to JPEG/PNG/TIFF/WebP bytes, and publishing them through the one atomic write.

Encoders were chosen by measurement on a 12 MP photo (see the engine report): OpenCV's PNG encoder with
zlib level 1, Z_RLE and the "up" filter is the fastest lossless path and the only one for 16-bit RGB, with
the metadata chunks spliced in; OpenCV also writes JPEG (the same libjpeg-turbo, settings and output as
Pillow's, without Pillow's copy that widens RGB to 4 bytes a pixel; large photos in parts on several
threads), with EXIF and ICC spliced in; Pillow writes WebP with EXIF+ICC in one call; tifffile writes
8/16-bit TIFF with deflate + predictor faster than Pillow or OpenCV. tifffile is imported only when a TIFF
is written (start-up time).
"""

from __future__ import annotations

import errno
import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from engine.atomic_file import TEMP_MARKER as TEMP_MARKER  # re-exported: tests look for leftovers by it
from engine.atomic_file import atomic_write
from engine.photo_io.errors import PhotoError, PhotoExistsError
from engine.photo_io.formats import OUTPUT_FORMATS as OUTPUT_FORMATS  # re-exported
from engine.photo_io.jpeg_parts import encode_in_parts
from engine.photo_io.meta import (
    SOFTWARE,
    exif_without_makernote,
    insert_png_chunks,
    jpeg_with_metadata,
    link_tiff_sub_ifds,
    output_exif,
    png_metadata_chunks,
    srgb_icc,
    tiff_extratags,
)
from engine.thread_pool import shared_pool

_FORMAT_ALIASES = {"jpg": "jpg", "jpeg": "jpg", "png": "png", "tif": "tif", "tiff": "tif", "webp": "webp"}
#: PNG zlib settings, measured on a 12 MP photo (one thread): level 1 with the Z_RLE strategy and the "up"
#: filter took 430 ms for 11.3 MB, against 540 ms / 14.2 MB for level 1 default strategy and 1.5 s for
#: level 3. RLE still packs flat areas (scan borders, skies) that Huffman-only would not.
PNG_COMPRESSION = 1
#: WebP effort 0..6; 4 (libwebp's default) takes ~3x as long as 2 on a 12 MP photo for a few % of size.
WEBP_METHOD = 2
#: deflate level for TIFF (with the horizontal predictor): same speed-over-size trade as PNG.
TIFF_DEFLATE_LEVEL = 1
#: From this size on, a JPEG is encoded in parts on several threads: 12 MP took 23 ms on 2 threads against 41 ms in
#: one piece; at 1 MP the parts gain about half a millisecond, below it nothing.
PARALLEL_JPEG_PIXELS = 2_000_000
#: Largest width or height each format can store (WebP: 14-bit sizes; JPEG: 16-bit).
_MAX_SIDE = {"webp": 16383, "jpg": 65500}


def output_format(path: Path, fmt: str | None) -> str:
    """Normalised output format ("jpg", "png", "tif", "webp") from ``fmt`` or else the path's suffix."""
    name = (fmt if fmt is not None else path.suffix).lower().lstrip(".")
    try:
        return _FORMAT_ALIASES[name]
    except KeyError:
        raise PhotoError(
            f"unsupported output format {name!r} (use one of {', '.join(sorted(OUTPUT_FORMATS))})", path
        ) from None


def to_8bit(a: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 with rounding (65535 -> 255); uint8 unchanged. (colour.to_uint8 is for floats in [0, 1].)"""
    if a.dtype == np.uint8:
        return a
    return cv2.convertScaleAbs(a, alpha=255.0 / 65535.0)


def match_dtype(alpha: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if alpha.dtype == dtype:
        return alpha
    if dtype == np.uint16:
        return alpha.astype(np.uint16) * 257
    return to_8bit(alpha)


def encode(
    fmt: str,
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    *,
    quality: int,
    exif: bytes | None,
    description: str | None,
) -> bytes:
    """The complete file contents for one photo in format ``fmt`` (from :func:`output_format`)."""
    height, width = pixels.shape[:2]
    meta = output_exif(exif, description, (width, height))
    icc = srgb_icc()
    if alpha is not None:
        alpha = match_dtype(alpha, pixels.dtype)
    limit = _MAX_SIDE.get(fmt)
    if limit and max(width, height) > limit:
        raise PhotoError(f"{fmt.upper()} cannot hold more than {limit} pixels a side: choose PNG or TIFF")
    if fmt == "png":
        if alpha is None:
            bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)  # OpenCV wants BGR(A)
        else:
            bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGRA)
            bgr[..., 3] = alpha
        params = [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
        if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.11
            params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
        ok, buf = cv2.imencode(".png", bgr, params)
        if not ok:
            raise PhotoError("could not encode PNG")
        return insert_png_chunks(buf.tobytes(), png_metadata_chunks(meta, icc, description))
    if fmt == "tif":
        data = pixels if alpha is None else np.dstack([pixels, alpha])
        import tifffile  # noqa: PLC0415 - lazily: only TIFF output needs it

        out = io.BytesIO()
        tifffile.imwrite(
            out,
            data,
            photometric="rgb",
            extrasamples=("unassalpha",) if alpha is not None else None,
            compression="zlib",
            compressionargs={"level": TIFF_DEFLATE_LEVEL},
            predictor=True,
            metadata=None,
            software=SOFTWARE,
            description=description.encode("ascii", "replace").decode() if description else None,
            extratags=tiff_extratags(meta, icc),
        )
        return link_tiff_sub_ifds(out.getvalue(), meta)
    if fmt == "jpg":
        return _jpeg_bytes(to_8bit(pixels), int(quality), meta, icc)
    if fmt == "webp":
        rgb = to_8bit(pixels)
        im = Image.fromarray(rgb if alpha is None else np.dstack([rgb, to_8bit(alpha)]))
        options = {"quality": int(quality), "method": WEBP_METHOD, "icc_profile": icc}
        return _pillow_bytes(im, "WEBP", meta, options)
    raise PhotoError(f"unsupported output format {fmt!r}")


def _jpeg_bytes(rgb: np.ndarray, quality: int, exif: Image.Exif, icc: bytes) -> bytes:
    """Baseline JPEG, 4:2:0, not optimised: what Pillow wrote with subsampling=2, optimize=False. Photos of
    PARALLEL_JPEG_PIXELS or more are encoded in parts on OpenCV's thread count (engine.photo_io.jpeg_parts)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_OPTIMIZE, 0,
              cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]

    def encode_rows(rows: np.ndarray) -> bytes:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rows, cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise PhotoError("could not encode JPEG")
        return buf.tobytes()

    threads = cv2.getNumThreads()
    if threads > 1 and rgb.shape[0] * rgb.shape[1] >= PARALLEL_JPEG_PIXELS:
        data = encode_in_parts(rgb, encode_rows, threads, shared_pool())
    else:
        data = encode_rows(rgb)
    try:
        return jpeg_with_metadata(data, exif.tobytes(), icc)
    except ValueError as e:  # the EXIF does not fit the JPEG's 64 KB APP1 segment
        if "exif" not in str(e).lower():
            raise
        return jpeg_with_metadata(data, exif_without_makernote(exif).tobytes(), icc)


def _pillow_bytes(im: Image.Image, fmt: str, exif: Image.Exif, options: dict) -> bytes:
    out = io.BytesIO()
    try:
        im.save(out, fmt, exif=exif.tobytes(), **options)
    except ValueError as e:  # Pillow: "EXIF data is too long" (JPEG APP1 holds at most 64 KB)
        if "exif" not in str(e).lower():
            raise
        out = io.BytesIO()
        im.save(out, fmt, exif=exif_without_makernote(exif).tobytes(), **options)
    return out.getvalue()


def write_file(path: Path, data: bytes, *, overwrite: bool, next_free: bool = False) -> Path:
    """Publish encoded ``data`` at ``path`` through the engine's one atomic write; returns the path written.

    Every failure is a PhotoError (PhotoExistsError when the name is taken and neither ``overwrite`` nor
    ``next_free`` allows another); no temp file is left behind.
    """
    try:
        return atomic_write(path, data, replace=overwrite, next_free=next_free)
    except FileExistsError as e:
        raise PhotoExistsError("output file already exists", path) from e
    except OSError as e:
        raise _write_error(e, path) from e


def _write_error(e: OSError, path: Path) -> PhotoError:
    if isinstance(e, NotADirectoryError) and e.filename == str(path.parent):
        return PhotoError(f"output folder is not writable: {path.parent} is a file", path)
    if isinstance(e, IsADirectoryError):
        return PhotoError("a folder with the output file's name exists", path)
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return PhotoError("disk full: the output file could not be written", path)
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.ENOENT) or isinstance(
        e, (PermissionError, NotADirectoryError)
    ):
        return PhotoError(f"output folder is not writable: {path.parent}", path)
    if e.errno == errno.ENAMETOOLONG:
        return PhotoError("output file name is too long", path)
    return PhotoError(f"could not write the output file: {e.strerror or e}", path)
