"""The one way Rechroma writes a file: all or nothing, durable, and never onto a file that appeared meanwhile.

Photos, JSON reports, trainer packs, checkpoints and exported models all go through :func:`atomic_write`:
the data goes to a temp file in the target folder, is fsync'ed, and is then *published*. Publishing either
replaces the target (``replace=True``, ``os.replace``) or creates it only if the name is still free
(``replace=False``): ``renameat2(RENAME_NOREPLACE)`` on Linux, a hard link elsewhere, which the kernel
refuses if the name exists. A check-then-rename would replace whatever another process wrote between the
check and the rename; two runs writing 300 same-named photos into one folder lost writes that way.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

#: Part of every temp file's name (``.<name>.rechroma-tmp-<hex>``): how a later run recognises its leftovers.
TEMP_MARKER = ".rechroma-tmp-"
#: A temp file older than this is a leftover of a killed run, not one being written right now.
STALE_TEMP_SECONDS = 10 * 60
#: How many ``-N`` names to try before giving up on a free one.
MAX_FREE_NAMES = 100_000

Writer = bytes | bytearray | memoryview | Callable[[BinaryIO], object]

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100
_TEMP_PATTERN = re.compile(r"^\..*" + re.escape(TEMP_MARKER) + r"[0-9a-f]{8}$")


def atomic_write(
    path: str | os.PathLike,
    writer: Writer,
    *,
    replace: bool,
    mode: int = 0o644,
    fsync: bool = True,
    next_free: bool = False,
) -> Path:
    """Write ``writer`` (bytes, or a function given the open binary file) to ``path``; return the path written.

    ``replace=False`` never replaces anything: if ``path`` exists at the moment of publishing, this raises
    FileExistsError, or with ``next_free`` publishes under the first free ``<stem>-2``, ``-3``, ... instead.
    ``replace=True`` replaces an existing file and keeps its permissions. New files get ``mode`` (less the
    umask). With ``fsync`` the data reaches the disk before the name appears, and the folder entry after.
    On any failure the temp file is removed and nothing at ``path`` has changed; the OSError is raised.
    """
    path = Path(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # the folder's name (or a parent's) is taken by a file
        raise NotADirectoryError(errno.ENOTDIR, "the output folder is a file", str(folder)) from None
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder with this name exists", str(path))
    fd, tmp = _create_temp(folder, path.name, mode)
    pending: Path | None = tmp
    try:
        if isinstance(writer, (bytes, bytearray, memoryview)):
            try:
                _write_all(fd, writer)
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        else:
            with os.fdopen(fd, "wb") as handle:
                writer(handle)
                handle.flush()
                if fsync:
                    os.fsync(handle.fileno())
        if replace:
            try:
                # Replacing a file keeps its permissions (shutil.copymode's own two calls; shutil and secrets
                # are not imported: with hashlib, lzma and bz2 they were a tenth of the engine's start-up).
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
            except FileNotFoundError:
                pass
            os.replace(tmp, path)
            written = path
        else:
            written = _publish_new(tmp, path, next_free)
        pending = None
        if fsync:
            _fsync_folder(folder)
        return written
    finally:
        if pending is not None:
            try:
                pending.unlink()
            except OSError:
                pass


def free_names(path: Path) -> Iterator[Path]:
    """``path``, then the names after it: ``x_color.jpg`` -> ``x_color-2.jpg``, ``-3``, ...;
    ``x_color-2.jpg`` -> ``x_color-3.jpg``, ... (a planned ``-N`` name goes on counting from N)."""
    yield path
    for name in free_file_names(path.name, numbered=True):
        yield path.with_name(name)


def free_file_names(name: str, *, numbered: bool) -> Iterator[str]:
    """The names after the file name ``name`` (not ``name`` itself), as :func:`free_names` counts them;
    ``numbered=False`` reads no ``-N`` in ``name`` (``scan-2.jpg`` -> ``scan-2-2.jpg``). Strings only: the
    batch planner names 100,000 photos without a Path each."""
    stem, suffix = split_suffix(name)
    match = re.fullmatch(r"(.+)-(\d+)", stem) if numbered else None
    stem, start = (match.group(1), int(match.group(2)) + 1) if match else (stem, 2)
    for n in range(start, start + MAX_FREE_NAMES):
        yield f"{stem}-{n}{suffix}"


def split_suffix(name: str) -> tuple[str, str]:
    """``(Path(name).stem, Path(name).suffix)`` without a Path: a leading or trailing dot is not a suffix."""
    dot = name.rfind(".")
    if 0 < dot < len(name) - 1:
        return name[:dot], name[dot:]
    return name, ""


def remove_stale_temps(folder: str | os.PathLike, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete our own temp files (``.*.rechroma-tmp-<hex>``) in ``folder`` that a killed run left behind.

    Only names of exactly our pattern and older than ``older_than`` seconds, so a run writing right now in
    the same folder keeps its temp files. Returns how many were removed; errors are ignored.
    """
    cutoff = time.time() - older_than
    removed = 0
    try:
        entries = list(os.scandir(os.fspath(folder)))
    except OSError:
        return 0
    for entry in entries:
        if not _TEMP_PATTERN.match(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def _create_temp(folder: Path, name: str, mode: int) -> tuple[int, Path]:
    # Not tempfile.mkstemp: it creates files with mode 0600, and outputs must get the requested mode.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{name[:100]}{TEMP_MARKER}{os.urandom(4).hex()}"
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", str(folder))


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _publish_new(tmp: Path, path: Path, next_free: bool) -> Path:
    for candidate in free_names(path) if next_free else (path,):
        try:
            _rename_no_replace(tmp, candidate)
            return candidate
        except FileExistsError:
            if not next_free:
                raise
    raise FileExistsError(errno.EEXIST, "no free file name left", str(path))


def _rename_no_replace(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target`` unless that name exists (then FileExistsError), atomically."""
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, os.fsencode(tmp), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), str(target))
        # The file system does not know the flag: a hard link gives the same guarantee.
    if os.name == "nt":
        os.rename(tmp, target)  # never replaces on Windows
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        # No hard links (FAT, some network shares): claim the name exclusively, then move the data onto it.
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.replace(tmp, target)
        return
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _fsync_folder(folder: Path) -> None:
    """Make the new name itself durable (POSIX); folders cannot be opened for this on Windows."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_renameat2 = _load_renameat2()
