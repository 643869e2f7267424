"""A large JPEG encoded in horizontal parts on several threads, joined by restart markers into one file.

libjpeg-turbo encodes on one thread: 33-41 ms of a 12 MP photo's ~260 ms, on one core of two. JPEG itself
allows the split: a restart marker resets the entropy coder and the DC predictions, exactly as the start of
a scan does. So parts a whole number of MCU rows tall, encoded as separate JPEGs with the same settings
(the same quantisation tables, and the standard Huffman tables, since the encoder does not optimise them),
join into one baseline JPEG: the first part's headers with the full height and a DRI segment whose interval
is one part's MCU count, then each part's entropy-coded data with RST0..RST7 between them. Every decoder
reads restart markers (cameras write them), and the decoded pixels equal those of a one-piece encode,
because each 16 x 16 MCU is coded from its own pixels (tests/engine/test_jpeg_parts.py).

Written here because no maintained Python JPEG library encodes on more than one thread.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

import numpy as np

#: 4:2:0 chroma subsampling: an MCU is 16 x 16 pixels.
MCU_SIDE = 16
#: DRI holds a 16-bit MCU count.
MAX_INTERVAL = 0xFFFF
_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"
_SOS, _DRI = 0xDA, 0xDD
_SOF_BASELINE = 0xC0


def part_rows(height: int, width: int, parts: int) -> int:
    """Rows per part (a multiple of the MCU height) for about ``parts`` parts, within DRI's 16-bit interval;
    ``height`` or more when the photo should be encoded in one piece."""
    mcu_rows, mcu_columns = -(-height // MCU_SIDE), -(-width // MCU_SIDE)
    per_part = -(-mcu_rows // max(1, parts))
    per_part = min(per_part, MAX_INTERVAL // mcu_columns)
    return max(1, per_part) * MCU_SIDE


def encode_in_parts(rows: np.ndarray, encode: Callable[[np.ndarray], bytes], parts: int,
                    pool: Executor) -> bytes:
    """One JPEG of ``rows`` (H x W x C) from ``encode`` (one piece -> a complete baseline 4:2:0 JPEG) run on
    about ``parts`` horizontal parts in ``pool``. Falls back to one piece if the parts' headers are not
    what the join needs."""
    height, width = rows.shape[:2]
    step = part_rows(height, width, parts)
    if step >= height:
        return encode(rows)
    spans = [(y0, min(height, y0 + step)) for y0 in range(0, height, step)]
    pieces = list(pool.map(lambda span: encode(rows[span[0]:span[1]]), spans))
    joined = join(pieces, height, (step // MCU_SIDE) * -(-width // MCU_SIDE))
    return joined if joined is not None else encode(rows)


def join(pieces: Sequence[bytes], height: int, interval: int) -> bytes | None:
    """The pieces' scans joined under the first piece's headers (height and restart interval set), or None
    if a piece is not a plain baseline 4:2:0 JPEG with one scan."""
    head = _headers(pieces[0])
    if head is None:
        return None
    out = bytearray(_SOI)
    for marker, segment in head[0]:
        if marker == _SOF_BASELINE:
            segment = segment[:5] + struct.pack(">H", height) + segment[7:]
        elif marker == _SOS:
            out += struct.pack(">BBHH", 0xFF, _DRI, 4, interval)
        out += segment
    body = [pieces[0][head[1]:-2]]
    for number, piece in enumerate(pieces[1:]):
        parsed = _headers(piece)
        if parsed is None:
            return None
        body += [bytes((0xFF, 0xD0 + number % 8)), piece[parsed[1]:-2]]
    return bytes(out) + b"".join(body) + _EOI


def _headers(jpeg: bytes) -> tuple[list[tuple[int, bytes]], int] | None:
    """(marker, segment bytes) of the segments up to and including the one SOS, and where the scan data
    starts; None for anything but a baseline 4:2:0 JPEG with one scan that ends at EOI."""
    if jpeg[:2] != _SOI or jpeg[-2:] != _EOI:
        return None
    at, segments = 2, []
    while at + 4 <= len(jpeg) and jpeg[at] == 0xFF:
        marker = jpeg[at + 1]
        end = at + 2 + struct.unpack(">H", jpeg[at + 2:at + 4])[0]
        segment = jpeg[at:end]
        if marker == _DRI or (0xC1 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)):
            return None  # already has restarts, or not baseline: not ours to join
        if marker == _SOF_BASELINE and not _is_420(segment):
            return None
        segments.append((marker, segment))
        at = end
        if marker == _SOS:
            return segments, at
    return None


def _is_420(sof: bytes) -> bool:
    """Three components, the first sampled 2 x 2 and the others 1 x 1: MCUs of 16 x 16."""
    if len(sof) < 19 or sof[9] != 3:
        return False
    return sof[11] == 0x22 and sof[14] == 0x11 and sof[17] == 0x11
