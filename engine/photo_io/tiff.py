"""TIFFs that Pillow and OpenCV get wrong, read with tifffile: more than 8 bits, signed, float, planar.

Pillow cuts 16-bit colour to 8 bits, OpenCV stretches a corner of a planar (PlanarConfiguration=2) 16-bit
file, neither inverts 16-bit MinIsWhite, and neither opens float RGB, float16 or float64. Here every sample
type is scaled by its documented range into 16 bits (its TIFF SMin/SMaxSampleValue tags when present);
float values outside 0..1 without such tags are refused with their range rather than guessed at.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from engine.photo_io.errors import PhotoError

if TYPE_CHECKING:
    import tifffile

_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_TAG_ORIENTATION = 274
_TAG_SMIN = 340
_TAG_SMAX = 341
_TAG_ICC = 34675
_EXTRASAMPLE_ALPHA = (1, 2)  # associated and unassociated alpha


class DeepTiff(NamedTuple):
    grey_or_rgb: np.ndarray  #: H×W or H×W×3 uint16, MinIsWhite already inverted
    alpha: np.ndarray | None  #: H×W uint16
    icc: bytes | None
    orientation: int


def is_tiff(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) in _MAGIC
    except OSError:
        return False


def read_deep_tiff(path: Path, max_pixels: int) -> DeepTiff | None:
    """The first page of a TIFF whose samples are not plain 8-bit unsigned, or None for the 8-bit ones
    (Pillow reads those right: palette, 1-bit, CMYK, YCbCr, 8-bit MinIsWhite ...).

    None also for a contiguous unsigned grey or RGB page compressed in a way tifffile cannot decode
    without extra codecs (LZW): the OpenCV and Pillow readers handle those correctly. Raises PhotoError.
    """
    import tifffile  # noqa: PLC0415 - lazily: 12 ms of start-up that only a TIFF needs

    photometric_kind = tifffile.PHOTOMETRIC
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        bits, kind = page.bitspersample, page.dtype.kind if page.dtype is not None else "?"
        if bits <= 8 and kind in ("u", "b"):  # 1-bit reads as bool
            return None
        width, height = page.imagewidth, page.imagelength
        if width * height > max_pixels:
            raise PhotoError(too_large(width, height, max_pixels), path)
        photometric = page.photometric
        if photometric not in (photometric_kind.MINISBLACK, photometric_kind.MINISWHITE, photometric_kind.RGB):
            raise PhotoError(f"unsupported TIFF colour space: {bits}-bit {_name(photometric)}", path)
        if kind not in "uif":
            raise PhotoError(f"unsupported TIFF sample format: {page.dtype}", path)
        try:
            data = page.asarray()
        except ValueError as e:
            if "imagecodecs" in str(e) and kind == "u" and page.planarconfig == 1 and photometric != 0:
                return None
            raise PhotoError(f"unsupported TIFF: {_name(page.compression)} compression with this layout", path) from e
        if "S" in page.axes and page.axes.index("S") < page.axes.index("Y"):  # planar: S×H×W -> H×W×S
            data = np.moveaxis(data, page.axes.index("S"), -1)
        data = data.reshape(height, width, -1)
        values = _to_uint16(data, page, path)
        colours = 3 if photometric == photometric_kind.RGB else 1
        if values.shape[2] < colours:
            raise PhotoError(f"TIFF has {values.shape[2]} samples per pixel, too few for {_name(photometric)}", path)
        if photometric == photometric_kind.MINISWHITE:
            values[..., :colours] = 65535 - values[..., :colours]
        alpha = None
        extra = tuple(page.extrasamples or ())
        if values.shape[2] > colours and extra and extra[0] in _EXTRASAMPLE_ALPHA:
            alpha = np.ascontiguousarray(values[..., colours])
        pixels = np.ascontiguousarray(values[..., 0] if colours == 1 else values[..., :3])
        icc = page.tags.valueof(_TAG_ICC)
        orientation = page.tags.valueof(_TAG_ORIENTATION, 1)
    return DeepTiff(pixels, alpha, bytes(icc) if icc else None, int(orientation) if 1 <= orientation <= 8 else 1)


def too_large(width: int, height: int, max_pixels: int) -> str:
    return (f"image too large: {width}×{height} pixels is {width * height:,}, over the limit of "
            f"{max_pixels:,} ({max_pixels / 1e6:g} MP)")


def _name(value: object) -> str:
    return getattr(value, "name", str(value))


def _to_uint16(data: np.ndarray, page: tifffile.TiffPage, path: Path) -> np.ndarray:
    """Scale samples into 0..65535 by their type's documented range: unsigned 0..2^bits-1, signed
    -2^(bits-1)..2^(bits-1)-1, float 0..1 (or the SMin/SMaxSampleValue tags of a float file)."""
    if data.dtype.kind == "f":
        tag_low, tag_high = page.tags.valueof(_TAG_SMIN), page.tags.valueof(_TAG_SMAX)
        data = data.astype(np.float64 if data.dtype.itemsize > 4 else np.float32)
        if not np.isfinite(data).all():
            raise PhotoError("float TIFF holds NaN or infinite values", path)
        if tag_low is not None and tag_high is not None:
            low, high = float(np.min(tag_low)), float(np.max(tag_high))
        else:
            low, high = 0.0, 1.0
            least, most = float(data.min()), float(data.max())
            if least < low or most > high:
                raise PhotoError(f"float TIFF values span {least:.6g}..{most:.6g}, outside 0..1, and its tags do "
                                 "not give its range", path)
    else:
        bits = page.bitspersample
        if data.dtype.kind == "u":
            if bits == 16 and data.dtype == np.uint16:
                return data.copy()
            low, high = 0.0, float(2**bits - 1)
        else:
            low, high = float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)
    if not high > low:
        raise PhotoError(f"TIFF sample range {low:g}..{high:g} is empty", path)
    scaled = (data - low) * (65535.0 / (high - low))
    np.clip(scaled, 0.0, 65535.0, out=scaled)
    scaled += 0.5
    return scaled.astype(np.uint16)
