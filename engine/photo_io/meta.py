"""EXIF, ICC and PNG-chunk helpers for photo_io: what survives from the input file into the colorized one.

EXIF is parsed and rebuilt with Pillow's ``Image.Exif`` (it keeps the Exif and GPS sub-IFDs, so date taken,
camera and location survive); the ICC maths is LittleCMS through Pillow's ``ImageCms``.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

import cv2
import numpy as np
from PIL import Image, ImageCms, TiffImagePlugin

from engine import __version__

SOFTWARE_NAME = "Rechroma"
SOFTWARE = f"{SOFTWARE_NAME} {__version__}"

TAG_IMAGE_DESCRIPTION = 0x010E
TAG_MAKE = 0x010F
TAG_MODEL = 0x0110
TAG_ORIENTATION = 0x0112
TAG_SOFTWARE = 0x0131
TAG_DATETIME = 0x0132
TAG_ARTIST = 0x013B
TAG_COPYRIGHT = 0x8298
TAG_EXIF_IFD = 0x8769
TAG_GPS_IFD = 0x8825
TAG_PIXEL_X = 0xA002
TAG_PIXEL_Y = 0xA003

#: IFD0 tags that describe the photo rather than the file layout. A TIFF's IFD0 is both its EXIF and its
#: pixel layout (strip offsets, bit depth...); only these may be carried over into another file.
DESCRIPTIVE_IFD0_TAGS = (
    TAG_IMAGE_DESCRIPTION,
    TAG_MAKE,
    TAG_MODEL,
    TAG_ORIENTATION,
    TAG_SOFTWARE,
    TAG_DATETIME,
    TAG_ARTIST,
    TAG_COPYRIGHT,
    TAG_EXIF_IFD,
    TAG_GPS_IFD,
)

EXIF_HEADER = b"Exif\x00\x00"


def read_exif(im: Image.Image, raw: bytes | None = None) -> tuple[int, bytes | None]:
    """(orientation 1..8, EXIF bytes with Orientation reset to 1 or None) of an opened image.

    ``raw`` is EXIF the caller found itself (see png_exif_chunk); otherwise Pillow's getexif() is used.
    A damaged EXIF block must not make a readable photo unreadable, so any parse error means "no EXIF".
    """
    try:
        if raw is not None:
            exif = Image.Exif()
            exif.load(raw)
        else:
            exif = im.getexif()
        orientation = _orientation(exif.get(TAG_ORIENTATION, 1))
        if im.format == "TIFF":
            exif = _descriptive_copy(exif)
        if not len(exif):
            return orientation, None
        if TAG_ORIENTATION in exif:
            exif[TAG_ORIENTATION] = 1
        return orientation, exif.tobytes()
    except Exception:  # noqa: BLE001 - any broken EXIF is treated as absent, see docstring
        return 1, None


def _orientation(value: object) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number <= 8 else 1


def _descriptive_copy(exif: Image.Exif) -> Image.Exif:
    out = Image.Exif()
    for tag in DESCRIPTIVE_IFD0_TAGS:
        if tag in exif:
            out[tag] = exif.get_ifd(tag) if tag in (TAG_EXIF_IFD, TAG_GPS_IFD) else exif[tag]
    return out


def output_exif(
    exif: bytes | None, description: str | None, size: tuple[int, int]
) -> Image.Exif:
    """The EXIF to write: the input's (if any) with Orientation=1, provenance, and pixel size updated."""
    out = Image.Exif()
    if exif:
        try:
            out.load(exif)
        except Exception:  # noqa: BLE001 - unreadable EXIF from the caller: write provenance only
            out = Image.Exif()
    out[TAG_ORIENTATION] = 1
    out[TAG_SOFTWARE] = SOFTWARE
    if description:
        out[TAG_IMAGE_DESCRIPTION] = description
    try:
        if TAG_EXIF_IFD in out:
            sub = out.get_ifd(TAG_EXIF_IFD)  # cached dict: edits here are what tobytes() writes
            if TAG_PIXEL_X in sub or TAG_PIXEL_Y in sub:
                sub[TAG_PIXEL_X], sub[TAG_PIXEL_Y] = size
        out.tobytes()  # a tag Pillow cannot write again must cost the metadata, not the photo
    except Exception:  # noqa: BLE001 - see above
        if exif is None:  # even provenance alone failed: orientation and software only
            out = Image.Exif()
            out[TAG_ORIENTATION], out[TAG_SOFTWARE] = 1, SOFTWARE
            return out
        return output_exif(None, description, size)
    return out


def exif_without_makernote(exif: Image.Exif) -> Image.Exif:
    """Drop the maker note (often tens of KB) so the EXIF fits a JPEG's 64 KB APP1 segment."""
    if TAG_EXIF_IFD in exif:
        exif.get_ifd(TAG_EXIF_IFD).pop(0x927C, None)
    return exif


#: Payload bytes one JPEG marker segment can hold (its 16-bit length counts itself); Pillow's limit too.
JPEG_SEGMENT_MAX = 65533
_ICC_MARKER = b"ICC_PROFILE\x00"


def jpeg_with_metadata(jpeg: bytes | memoryview, exif: bytes | None, icc: bytes | None) -> bytes:
    """An encoded JPEG with an APP1 Exif segment (``exif`` as Exif.tobytes() gives it, "Exif\\0\\0" first)
    and the ICC profile in APP2 segments, placed after SOI and the JFIF APP0 as Pillow places them.

    Raises ValueError("EXIF data is too long") when the EXIF does not fit one segment, as Pillow does.
    """
    jpeg = bytes(jpeg)
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream")
    at = 2
    if jpeg[2:4] == b"\xff\xe0":  # JFIF APP0
        at = 4 + struct.unpack(">H", jpeg[4:6])[0]
    segments = []
    if exif:
        if len(exif) > JPEG_SEGMENT_MAX:
            raise ValueError("EXIF data is too long")
        segments.append(_segment(0xE1, exif))
    if icc:
        room = JPEG_SEGMENT_MAX - len(_ICC_MARKER) - 2  # marker name, sequence number, count
        parts = [icc[i : i + room] for i in range(0, len(icc), room)]
        if len(parts) > 255:
            raise ValueError("ICC profile is too large for a JPEG")
        for number, part in enumerate(parts, 1):
            segments.append(_segment(0xE2, _ICC_MARKER + bytes((number, len(parts))) + part))
    return b"".join([jpeg[:at], *segments, jpeg[at:]])


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


@functools.lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    """The sRGB profile embedded in every output, so colour-managed viewers show the intended colours.

    LittleCMS stamps a new profile with the current time (header bytes 24-35); a fixed date makes the
    same photo give the same bytes on every run and every machine (reruns, cluster shards)."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = (2024).to_bytes(2, "big") + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") + bytes(6)
    return bytes(icc)


@functools.lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def icc_profile(icc: bytes | None) -> ImageCms.ImageCmsProfile | None:
    """The embedded profile if it is valid and not already sRGB (no conversion needed), else None."""
    if not icc:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile) or ""
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError):
        return None  # a broken profile is ignored: the pixels are then taken as sRGB
    if "srgb" in description.lower():
        return None
    return profile


def convert_to_srgb(im: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image:
    """Convert an L/RGB/CMYK/LAB Pillow image from its embedded profile to sRGB RGB (perceptual intent)."""
    return _converted(ImageCms.profileToProfile(im, profile, _srgb_profile(), outputMode="RGB"))


def lab_to_srgb(im: Image.Image) -> Image.Image:
    """A CIELab TIFF (mode LAB) has no ICC profile but a defined colour space: convert it to sRGB."""
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
    return _converted(ImageCms.profileToProfile(im, lab, _srgb_profile(), outputMode="RGB"))


def _converted(im: Image.Image | None) -> Image.Image:
    """profileToProfile returns None only when converting in place, which these calls never ask for."""
    if im is None:
        raise ValueError("ICC conversion gave no image")
    return im


def png_exif_chunk(png: bytes | memoryview) -> bytes | None:
    """The eXIf chunk's data of a whole PNG file, or None.

    Pillow's getexif() would decode all the pixels to find an eXIf stored after them; walking the chunk
    headers (a few thousand for a big file) takes milliseconds.
    """
    view = memoryview(png)
    pos = 8
    while pos + 8 <= len(view):
        (length,) = struct.unpack(">I", view[pos : pos + 4])
        kind = bytes(view[pos + 4 : pos + 8])
        if kind == b"eXIf":
            return bytes(view[pos + 8 : pos + 8 + length])
        if kind == b"IEND":
            break
        pos += 12 + length
    return None


#: The PNG chunks OpenCV's decoder needs for pixels; metadata comes from Pillow's header parse instead.
_PIXEL_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"})


def png_pixel_chunks(png: np.ndarray) -> np.ndarray:
    """The PNG without its metadata chunks (iCCP, text, eXIf, ...), for libpng inside OpenCV.

    libpng prints its complaints about such chunks ("libpng warning: iCCP: known incorrect sRGB profile")
    straight to stderr, between a batch's one-line reports. The profile and EXIF were already read through
    Pillow, so libpng never needs to see them. A file with nothing to drop (or chunks that do not add up)
    is returned as it is.
    """
    view = png.data  # a memoryview of the encoded bytes, as memoryview(png) is
    keep, dropped, pos = [view[:8]], False, 8
    while pos + 12 <= len(view):
        (length,) = struct.unpack(">I", view[pos : pos + 4])
        end = pos + 12 + length
        if end > len(view):
            return png
        kind = bytes(view[pos + 4 : pos + 8])
        if kind in _PIXEL_CHUNKS:
            keep.append(view[pos:end])
        else:
            dropped = True
        pos = end
        if kind == b"IEND":
            break
    if not dropped:
        return png
    return np.frombuffer(b"".join(keep), dtype=np.uint8)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC over type+data (PNG spec section 5.3)."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_metadata_chunks(exif: Image.Exif, icc: bytes, description: str | None) -> bytes:
    """iCCP + eXIf + text chunks. OpenCV's fast PNG encoder cannot write them, so they are spliced in."""
    chunks = [
        png_chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(icc)),
        png_chunk(b"eXIf", exif.tobytes()[len(EXIF_HEADER) :]),
        png_chunk(b"tEXt", b"Software\x00" + SOFTWARE.encode("latin-1")),
    ]
    if description:
        # iTXt (UTF-8) rather than tEXt (Latin-1): model names may hold any character.
        chunks.append(png_chunk(b"iTXt", b"Description\x00\x00\x00\x00\x00" + description.encode("utf-8")))
    return b"".join(chunks)


def insert_png_chunks(png: bytes, chunks: bytes) -> bytes:
    """Insert chunks right after IHDR (before any IDAT, where iCCP must be)."""
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    if png[12:16] != b"IHDR":
        raise ValueError("encoder output is not a PNG")
    return png[:ihdr_end] + chunks + png[ihdr_end:]


def tiff_extratags(exif: Image.Exif, icc: bytes) -> list[tuple[int, str, int, object, bool]]:
    """tifffile ``extratags``: the ICC profile, the descriptive IFD0 tags of the EXIF, and placeholder
    pointers to the Exif/GPS sub-IFDs that :func:`link_tiff_sub_ifds` fills in afterwards."""
    tags: list[tuple[int, str, int, object, bool]] = [(34675, "B", len(icc), icc, True)]
    for tag in (TAG_MAKE, TAG_MODEL, TAG_DATETIME, TAG_ARTIST, TAG_COPYRIGHT):
        value = exif.get(tag)
        if isinstance(value, str) and value:
            text = value.encode("ascii", "replace") + b"\x00"
            tags.append((tag, "s", len(text), text, True))
    for tag in _sub_ifds(exif):
        tags.append((_PLACEHOLDER[tag], "I", 1, 0, True))
    return tags


#: tifffile refuses to write the Exif/GPS pointer tags, so it writes these unused codes in their place and
#: link_tiff_sub_ifds renames them. Each sorts where its real code does (no tag tifffile writes lies
#: between them), so IFD0 stays sorted by tag as TIFF requires.
_PLACEHOLDER = {TAG_EXIF_IFD: TAG_EXIF_IFD + 1, TAG_GPS_IFD: TAG_GPS_IFD + 1}


def _sub_ifds(exif: Image.Exif) -> dict[int, dict]:
    return {tag: exif.get_ifd(tag) for tag in (TAG_EXIF_IFD, TAG_GPS_IFD) if tag in exif and exif.get_ifd(tag)}


def link_tiff_sub_ifds(tiff: bytes, exif: Image.Exif) -> bytes:
    """Append the Exif and GPS sub-IFDs (date taken, exposure, location) to a tifffile-written TIFF.

    tifffile cannot write EXIF sub-IFDs and Pillow cannot write 16-bit RGB, so Pillow serialises the
    sub-IFDs (wrapped in a small IFD of its own that nothing points to) at the end of the file, and the
    placeholder entries that tiff_extratags put in IFD0 become the pointers to them.
    """
    sub = _sub_ifds(exif)
    if not sub:
        return tiff
    import tifffile  # noqa: PLC0415 - lazily: only TIFF output needs it

    with tifffile.TiffFile(io.BytesIO(tiff)) as tif:
        byteorder = tif.byteorder
        pointers = {tag: tif.pages[0].tags[_PLACEHOLDER[tag]].valueoffset for tag in sub}
    start = len(tiff) + len(tiff) % 2  # IFDs begin on a word boundary
    head = b"II\x2a\x00\x08\x00\x00\x00" if byteorder == "<" else b"MM\x00\x2a\x00\x00\x00\x08"
    wrapper = TiffImagePlugin.ImageFileDirectory_v2(ifh=head)
    for tag, values in sub.items():
        wrapper[tag] = values
    out = bytearray(tiff + b"\x00" * (start - len(tiff)) + wrapper.tobytes(start))
    for i, tag in enumerate(sorted(sub)):  # the wrapper's entries, sorted by tag: 2-byte count, 12 each
        entry = start + 2 + 12 * i
        assert struct.unpack(byteorder + "H", out[entry : entry + 2])[0] == tag
        pointer = pointers[tag]  # the value field of a 12-byte IFD0 entry: code, type, count, value
        out[pointer - 8 : pointer - 6] = struct.pack(byteorder + "H", tag)
        out[pointer : pointer + 4] = out[entry + 8 : entry + 12]
    return bytes(out)


def apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Turn pixels as EXIF Orientation says (1..8), so they are upright; cv2 is several times numpy's speed."""
    if orientation == 2:
        return cv2.flip(a, 1)
    if orientation == 3:
        return cv2.rotate(a, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(a, 0)
    if orientation == 5:
        return cv2.transpose(a)
    if orientation == 6:
        return cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.rotate(cv2.transpose(a), cv2.ROTATE_180)
    if orientation == 8:
        return cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return a
