"""Reading photos faithfully, and the one ``write_photo`` that publishes them: decode -> pixels -> encode.

Reading gives upright (EXIF orientation applied), sRGB (embedded ICC profile converted), RGB pixels of the
file's own bit depth (16-bit PNG/TIFF stay 16-bit), with alpha apart so the pipeline can put it back; the
pipeline asks for grey photos as H×W (``grey=True``), which spares an RGB expansion it would only undo.
JPEG and PNG pixels come from OpenCV (libjpeg-turbo/libpng straight into a numpy array, no Pillow copies);
Pillow still reads every header, EXIF and ICC profile, and decodes what OpenCV does not handle.
Animated GIF/WebP and multi-page TIFF give their first frame. Every failure is a PhotoError with a one-line
reason for that one file; nothing of Pillow's or OpenCV's leaks out.

Writing is atomic and durable (engine.atomic_file) and never clobbers an existing file unless asked, not
even one that appears while the photo is being encoded; it embeds an sRGB ICC profile and carries the
input's EXIF with provenance. See engine.photo_io.write for the encoders and why each was chosen.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from engine.photo_io.errors import PhotoError, PhotoExistsError
from engine.photo_io.formats import SUPPORTED_SUFFIXES as SUPPORTED_SUFFIXES  # re-exported
from engine.photo_io.icc import to_srgb
from engine.photo_io.meta import (
    SOFTWARE_NAME,
    TAG_SOFTWARE,
    apply_orientation,
    convert_to_srgb,
    icc_profile,
    lab_to_srgb,
    png_exif_chunk,
    png_pixel_chunks,
    read_exif,
)
from engine.photo_io.quiet import silenced
from engine.photo_io.tiff import DeepTiff, is_tiff, read_deep_tiff, too_large
from engine.photo_io.write import encode, output_format, to_8bit, write_file

#: Pillow format name -> the name Photo.format reports. MPO is how Pillow names many phone JPEGs.
_FORMATS = {
    "JPEG": "JPEG",
    "MPO": "JPEG",
    "PNG": "PNG",
    "TIFF": "TIFF",
    "BMP": "BMP",
    "DIB": "BMP",
    "WEBP": "WEBP",
    "GIF": "GIF",
}
DEFAULT_MAX_PIXELS = 200_000_000

# A file OpenCV cannot decode goes to Pillow, which gives the precise reason; OpenCV's own log lines about
# it ("[ERROR:0@0.08] global loadsave.cpp ...") would only add noise between a batch's one-line reports.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

# Our own header check in _open (per call, before any pixel is decoded) is the one decompression-bomb
# limit; Pillow's global one would otherwise warn or raise on its own terms (at 89 MP) from inside open().
Image.MAX_IMAGE_PIXELS = None

_PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk's type and CRC: the last 8 bytes of a complete PNG
_JPEG_END = b"\xff\xd9"  # the EOI marker: the last 2 bytes of a complete JPEG
#: libjpeg-turbo writes RGB straight away (OpenCV >= 4.10), saving a BGR->RGB pass; EXIF orientation is ours.
_JPEG_RGB = (cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION) if hasattr(cv2, "IMREAD_COLOR_RGB") else 0
_GREY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


@dataclass
class Photo:
    """A decoded photo: upright sRGB RGB pixels (uint8 or uint16; H×W grey if read with ``grey=True``),
    alpha apart, EXIF to carry over."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    exif: bytes | None
    format: str
    path: Path

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as Pillow and Qt count them."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


def read_photo(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS, grey: bool = False) -> Photo:
    """Decode one photo file; raises PhotoError with a clear reason if it cannot be used.

    With ``grey``, a photo stored grey (without a grey ICC profile) comes as H×W rather than H×W×3.
    """
    path = Path(path)
    fmt, decoded = _decode(path, max_pixels)
    pixels = decoded.pixels if grey else _rgb(decoded.pixels)
    pixels = apply_orientation(pixels, decoded.orientation)
    alpha = None if decoded.alpha is None else apply_orientation(decoded.alpha, decoded.orientation)
    return Photo(pixels=pixels, alpha=alpha, exif=decoded.exif, format=fmt, path=path)


def read_preview(path: str | os.PathLike, max_side: int, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A quick upright uint8 RGB thumbnail whose long side is at most ``max_side`` (alpha dropped).

    JPEGs are decoded at 1/2, 1/4 or 1/8 scale by libjpeg (Pillow's draft mode), which is what makes a
    folder of 24 MP photos browsable; other formats are decoded whole, then shrunk.
    """
    path = Path(path)
    _, decoded = _decode(path, max_pixels, draft=max_side)
    pixels = _rgb(to_8bit(decoded.pixels))
    height, width = pixels.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(apply_orientation(pixels, decoded.orientation))


def write_photo(
    path: str | os.PathLike,
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    fmt: str | None = None,
    quality: int = 92,
    exif: bytes | None = None,
    description: str | None = None,
    overwrite: bool = False,
    next_free: bool = False,
) -> Path:
    """Encode and atomically write one photo; returns the path written.

    ``fmt`` ("jpg"/"jpeg", "png", "tif"/"tiff", "webp") defaults to the path's suffix. uint16 pixels stay
    16-bit in PNG/TIFF and are rounded to 8-bit for JPEG/WebP; alpha is kept by PNG/TIFF/WebP. ``exif`` (as in
    Photo.exif) is carried over with Orientation=1, Software and ImageDescription=``description``.
    Raises PhotoExistsError (a FileExistsError) if ``path`` exists and not ``overwrite``, PhotoError on
    any failure to write, leaving no temp file; ValueError for pixels that are not an image. With
    ``next_free``, a name taken by the time the file is published (another program, another run) moves the
    photo to the next free ``-2``, ``-3``, ... name instead: the returned path says which.
    """
    path = Path(path)
    kind = output_format(path, fmt)
    pixels, alpha = _checked_pixels(pixels, alpha)
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be within 1..100, got {quality}")
    if not (overwrite or next_free) and _exists(path):  # before encoding: no work for a file we may not write
        raise PhotoExistsError("output file already exists", path)
    try:
        data = encode(kind, pixels, alpha, quality=quality, exif=exif, description=description)
    except PhotoError:
        raise
    except MemoryError as e:
        raise PhotoError("not enough memory to encode the image", path) from e
    except Exception as e:  # noqa: BLE001 - an encoder failure is reported for this one file
        raise PhotoError(f"could not encode {kind.upper()}: {e}", path) from e
    return write_file(path, data, overwrite=overwrite, next_free=next_free)


def _rgb(pixels: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB) if pixels.ndim == 2 else pixels


def _exists(path: Path) -> bool:
    """Like Path.exists, but a name the system cannot even look up (too long, ...) is simply not there:
    writing it then fails with the precise reason."""
    try:
        return path.exists()
    except OSError:
        return False


def made_by_rechroma(path: str | os.PathLike) -> bool:
    """True if ``path`` carries the provenance Rechroma writes into every output (Software "Rechroma …" in
    the PNG text or the EXIF/TIFF tags). Header only; a file that cannot be read is not ours.

    Folder scans skip our earlier results and --overwrite-outputs replaces them, but a user's own
    ``x_color.jpg`` beside ``x.jpg`` must be neither skipped as a result nor replaced.
    """
    try:
        with Image.open(path) as im:
            software = im.info.get("Software")
            if software is None and (im.format != "PNG" or "exif" in im.info):  # a PNG's getexif() decodes
                software = im.getexif().get(TAG_SOFTWARE)
    except Exception:  # noqa: BLE001 - unreadable or not an image: certainly not one of ours
        return False
    return isinstance(software, str) and software.startswith(SOFTWARE_NAME)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True if a and b name the same file (links, ``..`` and case-insensitive file systems included).

    The pipeline uses it to refuse writing a result onto its own input.
    """
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare the resolved paths
        return Path(a).resolve() == Path(b).resolve()


# --- decoding -------------------------------------------------------------------------------------------


def _open(path: Path, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and refuse non-files, empty files, unknown formats and bombs."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise PhotoError("file not found", path) from None
    except OSError as e:
        raise PhotoError(f"cannot open file: {e.strerror or e}", path) from e
    if stat.S_ISDIR(info.st_mode):
        raise PhotoError("is a folder, not an image file", path)
    if info.st_size == 0:
        raise PhotoError("file is empty", path)
    try:
        im = Image.open(path)
    except UnidentifiedImageError:
        raise PhotoError("not an image file", path) from None
    except PermissionError:
        raise PhotoError("cannot open file: permission denied", path) from None
    try:
        if im.format not in _FORMATS:
            raise PhotoError(f"unsupported image format: {im.format}", path)
        width, height = im.size
        if width * height > max_pixels:
            raise PhotoError(too_large(width, height, max_pixels), path)
    except BaseException:
        im.close()
        raise
    return im


def _decode(path: Path, max_pixels: int, draft: int | None = None) -> tuple[str, _Decoded]:
    """(Photo.format, decoded pixels) of one file, with every failure turned into a PhotoError."""
    try:
        if is_tiff(path) and path.is_file():
            deep = read_deep_tiff(path, max_pixels)
            if deep is not None:
                return "TIFF", _deep_tiff(path, deep, max_pixels)
        with _open(path, max_pixels) as im:
            fmt = _FORMATS[im.format]
            if draft and im.format in ("JPEG", "MPO"):
                im.draft(None, (draft, draft))
            decoded = _decode_opencv(path, im) if _opencv_decodes(im, draft) else _decode_pillow(im)
        if decoded is None:
            # OpenCV could not decode it: Pillow, on a freshly opened file (a failed load must not be
            # reused), either decodes it after all or raises the precise reason.
            with _open(path, max_pixels) as im:
                decoded = _decode_pillow(im)
    except PhotoError:
        raise
    except Exception as e:  # noqa: BLE001 - the boundary where any decoder failure becomes a clear reason
        raise _decode_error(e, path) from e
    return fmt, decoded


class _Decoded(NamedTuple):
    pixels: np.ndarray  # H×W×3 sRGB or H×W grey, not yet turned upright
    alpha: np.ndarray | None
    orientation: int
    exif: bytes | None


def _deep_tiff(path: Path, deep: DeepTiff, max_pixels: int) -> _Decoded:
    exif, orientation = None, deep.orientation
    try:
        with _open(path, max_pixels) as im:  # Pillow parses the EXIF of files it cannot decode, too
            orientation, exif = read_exif(im)
    except PhotoError:
        pass
    pixels = to_srgb(deep.grey_or_rgb, icc_profile(deep.icc))
    return _Decoded(pixels, deep.alpha, orientation, exif)


def _opencv_decodes(im: Image.Image, draft: int | None = None) -> bool:
    """Grey and RGB JPEG, PNG (any plain mode) and 16-bit TIFF go to OpenCV.

    16-bit colour because Pillow would cut it to 8 bits; 8-bit PNG because OpenCV decodes it in about
    60 % of Pillow's time; JPEG because the same libjpeg-turbo then writes straight into the array Pillow
    would copy twice (34 ms of a 12 MP RGB photo). Palette, 1-bit and colour-key transparency PNGs, CMYK
    JPEGs and reduced-size (draft) previews stay with Pillow.
    """
    if im.format in ("JPEG", "MPO"):
        return not draft and im.mode in ("L", "RGB")
    if im.format == "PNG":
        return im.mode in ("RGB", "RGBA", "L", "LA", "I;16", "I;16B", "I") and "transparency" not in im.info
    return im.format == "TIFF" and _is_deep_colour(im)


def _is_deep_colour(im: Image.Image) -> bool:
    if im.mode not in ("RGB", "RGBA", "LA"):
        return False
    for tile in getattr(im, "tile", ()):  # an opened file's decoder tiles (ImageFile; Image types have none)
        args = tile[3]
        rawmode = args if isinstance(args, str) else (args[0] if args else "")
        if isinstance(rawmode, str) and ";16" in rawmode:
            return True
    return False


def _decode_opencv(path: Path, im: Image.Image) -> _Decoded | None:
    """Decode with OpenCV (EXIF and ICC still from Pillow's header parse); None if OpenCV fails."""
    # np.fromfile + imdecode rather than cv2.imread: imread cannot open non-ASCII paths on Windows.
    data = np.fromfile(path, dtype=np.uint8)
    if im.format == "PNG":
        if data[-8:].tobytes() != _PNG_END:
            return None  # truncated: Pillow says so clearly, where libpng would also print to stderr
        raw_exif = im.info.get("exif") or png_exif_chunk(data.data) or b""
        orientation, exif = read_exif(im, raw_exif) if raw_exif else (1, None)
    else:
        if im.format != "TIFF" and data[-2:].tobytes() != _JPEG_END:
            # Truncated, or data after the image: libjpeg would fill in grey and only warn (on stderr),
            # where Pillow refuses a truncated file and decodes the rest as before.
            return None
        orientation, exif = read_exif(im)
    profile = icc_profile(im.info.get("icc_profile"))
    if im.format == "PNG":
        arr = cv2.imdecode(png_pixel_chunks(data), cv2.IMREAD_UNCHANGED)
    elif im.format == "TIFF":
        arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    else:
        with silenced():  # libjpeg's warnings about damaged data would reach the terminal (engine.photo_io.quiet)
            arr = cv2.imdecode(data, _JPEG_RGB if im.mode == "RGB" and _JPEG_RGB else cv2.IMREAD_UNCHANGED)
        if arr is not None and arr.ndim == 3 and _JPEG_RGB:
            return _Decoded(to_srgb(arr, profile), None, orientation, exif)  # RGB already: no BGR swap
    if arr is None or arr.dtype not in (np.uint8, np.uint16):
        return None
    alpha = None
    if arr.ndim == 3 and arr.shape[2] == 2:  # grey + alpha
        arr, alpha = np.ascontiguousarray(arr[..., 0]), np.ascontiguousarray(arr[..., 1])
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr, alpha = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB), np.ascontiguousarray(arr[..., 3])
    elif arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    return _Decoded(to_srgb(arr, profile), alpha, orientation, exif)


def _decode_pillow(im: Image.Image) -> _Decoded:
    # Decode before read_exif: a PNG's getexif() decodes to find an eXIf chunk after the pixels, and
    # read_exif (rightly) treats any error as "no EXIF", which would hide a broken image.
    im.load()
    orientation, exif = read_exif(im)
    pixels, alpha = _pillow_arrays(im)
    return _Decoded(pixels, alpha, orientation, exif)


def _pillow_arrays(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode the current frame to RGB (sRGB) + alpha arrays, whatever Pillow's mode."""
    im.load()
    profile = icc_profile(im.info.get("icc_profile"))
    if im.mode in _GREY16_MODES:
        return to_srgb(_grey16(np.asarray(im)), profile), None
    if im.mode == "1":
        im = im.convert("L")
    elif im.mode in ("RGBa", "La"):  # premultiplied alpha
        im = im.convert(im.mode[:-1] + "A")
    if im.mode == "PA" or (im.mode in ("P", "L", "RGB") and "transparency" in im.info):
        im = im.convert("LA" if im.mode == "L" else "RGBA")
    elif im.mode == "P":
        im = im.convert("RGB")
    alpha = None
    if im.mode in ("RGBA", "LA"):
        alpha = np.array(im.getchannel("A"))
        im = im.convert("L" if im.mode == "LA" else "RGB")
    if im.mode == "LAB":
        im, profile = lab_to_srgb(im), None
    elif im.mode == "CMYK" and profile is not None:
        try:
            im = convert_to_srgb(im, profile)
        except ImageCms.PyCMSError:
            pass  # profile does not fit the pixels: Pillow's plain conversion below
        profile = None
    if im.mode not in ("L", "RGB"):
        im = im.convert("RGB")  # CMYK without profile, YCbCr, RGBX, ...
    return to_srgb(np.array(im), profile), alpha  # np.array: a writable copy (asarray is read-only)


def _grey16(arr: np.ndarray) -> np.ndarray:
    """16-bit (or 32-bit int / float) grey from Pillow to native-endian uint16."""
    if arr.dtype.kind == "u":
        return arr.astype(np.uint16)
    if arr.dtype.kind == "f":
        return (np.clip(np.nan_to_num(arr), 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    return np.clip(arr, 0, 65535).astype(np.uint16)


def _decode_error(e: Exception, path: Path) -> PhotoError:
    text = str(e)
    if isinstance(e, MemoryError):
        return PhotoError("not enough memory to decode this image", path)
    if "truncated" in text.lower() or isinstance(e, EOFError):
        return PhotoError("image data is truncated", path)
    if isinstance(e, PermissionError):
        return PhotoError("cannot read file: permission denied", path)
    reason = text.splitlines()[0] if text else type(e).__name__
    return PhotoError(f"cannot decode image: {reason}", path)


def _checked_pixels(pixels: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    pixels = np.asarray(pixels)
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"pixels must be uint8 or uint16, got {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or 0 in pixels.shape:
        raise ValueError(f"pixels must be H×W×3 RGB, got shape {pixels.shape}")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.shape != pixels.shape[:2] or alpha.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"alpha must be H×W uint8/uint16 like the pixels, got {alpha.shape} {alpha.dtype}")
    return np.ascontiguousarray(pixels), alpha
