"""Reader for Qt binary resource bundles (``.rcc``), so photos packed inside apps can be reused.

Hand-written because no maintained Python library reads the format; it follows Qt's
``qresource.cpp`` (RCC format versions 1-3):

header   : b"qres", then big-endian uint32 version, tree offset, data offset, names offset
           (+ uint32 overall flags when version >= 3)
tree     : nodes of 14 bytes (v1) or 22 bytes (v2+, adds a uint64 mtime); node 0 is the root
           name offset u32, flags u16, then directory: child count u32, first child index u32
                                             file     : country u16, language u16, data offset u32
names    : u16 length, u32 hash, ``length`` UTF-16BE code units
data     : u32 size, then the payload; flag 1 = zlib in qCompress framing (u32 big-endian
           uncompressed length + zlib stream), flag 4 = a zstd frame, flag 2 = directory
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"qres"
FLAG_ZLIB = 0x01
FLAG_DIRECTORY = 0x02
FLAG_ZSTD = 0x04


class RccError(ValueError):
    """The bytes are not a readable Qt resource bundle."""


@dataclass(frozen=True)
class RccEntry:
    """One file inside a bundle; ``path`` uses "/" and has no leading slash."""

    path: str
    flags: int
    data_offset: int


class RccBundle:
    """Lazily decodes entries of one ``.rcc`` file held in memory."""

    def __init__(self, blob: bytes) -> None:
        if len(blob) < 20 or blob[:4] != MAGIC:
            raise RccError("not a Qt rcc bundle (missing 'qres' magic)")
        self._blob = blob
        self.version, self._tree, self._data, self._names = struct.unpack_from(">IIII", blob, 4)
        if self.version not in (1, 2, 3):
            raise RccError(f"unsupported rcc format version {self.version}")
        self._node_size = 14 if self.version == 1 else 22
        for name, off in (("tree", self._tree), ("data", self._data), ("names", self._names)):
            if off >= len(blob):
                raise RccError(f"{name} offset {off} lies outside the {len(blob)}-byte file")

    @classmethod
    def open(cls, path: str | Path) -> RccBundle:
        return cls(Path(path).read_bytes())

    def _unpack(self, fmt: str, offset: int) -> tuple:
        try:
            return struct.unpack_from(fmt, self._blob, offset)
        except struct.error as exc:
            raise RccError(f"truncated rcc bundle at byte {offset}") from exc

    def _name(self, offset: int) -> str:
        (length,) = self._unpack(">H", self._names + offset)
        start = self._names + offset + 6  # skip length and the 4-byte hash
        raw = self._blob[start : start + 2 * length]
        if len(raw) != 2 * length:
            raise RccError("truncated name table")
        return raw.decode("utf-16-be")

    def entries(self) -> list[RccEntry]:
        """All files in the bundle, depth first."""
        found: list[RccEntry] = []
        stack: list[tuple[int, str]] = [(0, "")]
        seen: set[int] = set()
        while stack:
            index, prefix = stack.pop()
            if index in seen:  # a malformed tree could loop forever
                raise RccError("rcc tree contains a cycle")
            seen.add(index)
            node = self._tree + index * self._node_size
            name_off, flags = self._unpack(">IH", node)
            name = "" if index == 0 else self._name(name_off)
            path = f"{prefix}/{name}" if prefix else name
            if flags & FLAG_DIRECTORY:
                count, first = self._unpack(">II", node + 6)
                stack.extend((first + i, path) for i in reversed(range(count)))
            else:
                (data_off,) = self._unpack(">I", node + 10)
                found.append(RccEntry(path=path, flags=flags, data_offset=data_off))
        return found

    def read(self, entry: RccEntry) -> bytes:
        """The decompressed payload of ``entry``."""
        (size,) = self._unpack(">I", self._data + entry.data_offset)
        start = self._data + entry.data_offset + 4
        payload = self._blob[start : start + size]
        if len(payload) != size:
            raise RccError(f"truncated data for {entry.path}")
        if entry.flags & FLAG_ZLIB:
            if size < 4:
                raise RccError(f"zlib entry {entry.path} shorter than its length prefix")
            (expected,) = struct.unpack(">I", payload[:4])
            data = zlib.decompress(payload[4:])
            if len(data) != expected:
                raise RccError(f"{entry.path}: zlib gave {len(data)} bytes, header says {expected}")
            return data
        if entry.flags & FLAG_ZSTD:
            import zstandard  # only bundles built with zstd need it

            return zstandard.ZstdDecompressor().decompressobj().decompress(payload)
        return payload

    def iter_files(self, suffixes: tuple[str, ...] = ()) -> Iterator[tuple[str, bytes]]:
        """(path, bytes) for each file whose lower-cased name ends with one of ``suffixes``."""
        for entry in self.entries():
            if not suffixes or entry.path.lower().endswith(suffixes):
                yield entry.path, self.read(entry)
