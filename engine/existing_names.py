"""Which output names are already on disk: one folder listing per folder instead of one stat per photo.

Planning 100,000 outputs stat-ed each one (0.6 s), though the output folder usually holds none of those
names or does not exist yet. A listing answers the common case, a miss, with a set look-up. It answers
exactly what ``os.stat`` would:

- a name in the listing (not a symlink) exists;
- a hit only after case folding (a case-insensitive file system may hold ``SCAN_COLOR.JPG``), a symlink
  (it may dangle), a name with non-ASCII letters (Unicode normalisation and case rules differ between file
  systems) and a name longer than the folder's limit are looked up with a real ``os.stat``, as before, so a
  name too long to look up still raises ENAMETOOLONG for that one photo;
- a folder that is not there holds nothing; one that cannot be listed (no read permission, where a stat
  may still work) is asked name by name.
"""

from __future__ import annotations

import errno
import os
import unicodedata

#: The longest name trusted to a listing where the file system's own limit is unknown (no ``pathconf``,
#: or a folder not there): a longer one is stat-ed, which raises ENAMETOOLONG where that is the answer.
NAME_LIMIT_GUESS = 128


def path_exists(path: str) -> bool:
    """Path.exists without pathlib's overhead; like it, an error other than "not there" (a name too long
    to look up) is raised."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


#: What Path.exists takes for "not there" besides a missing name: a link loop, a bad descriptor, and on
#: Windows a drive not ready, an invalid name, a name that cannot be resolved.
_NOT_THERE_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP}
_NOT_THERE_WINERRORS = {21, 123, 1921}


class _Listing:
    __slots__ = ("exact", "folded", "limit")

    def __init__(self, exact: set[str], folded: set[str], limit: int) -> None:
        self.exact = exact  #: names that are there, symlinks left out (a link may dangle)
        self.folded = folded  #: every name, case-folded (see :func:`_fold`)
        self.limit = limit  #: longer names are stat-ed


class ExistingNames:
    """``exists(folder, name)``: whether ``folder/name`` is on disk (Path.exists), from one listing of
    each folder taken when the folder is first asked about."""

    def __init__(self) -> None:
        self._listings: dict[str, _Listing | None] = {}

    def exists(self, folder: str, name: str) -> bool:
        listing = self._listings.get(folder, _UNLISTED)
        if listing is _UNLISTED:
            listing = self._listings[folder] = _list(folder)
        if listing is None:
            return path_exists(os.path.join(folder, name))
        if name in listing.exact:
            return True
        if len(name) > listing.limit or not name.isascii() or name.lower() in listing.folded:
            return path_exists(os.path.join(folder, name))
        return False


    def exists_as_pathlib(self, folder: str, name: str) -> bool:
        """:meth:`exists` as Path.exists answers it, which is what picking a free ``-2`` name always used: a
        link loop (and the like) counts as not there; a name too long to look up still raises."""
        try:
            return self.exists(folder, name)
        except OSError as exc:
            if exc.errno in _NOT_THERE_ERRNOS or getattr(exc, "winerror", None) in _NOT_THERE_WINERRORS:
                return False
            raise


_UNLISTED = _Listing(set(), set(), 0)


def _list(folder: str) -> _Listing | None:
    """The listing of ``folder`` ("" is the current folder); empty when it is not there, None when it
    cannot be listed."""
    try:
        with os.scandir(folder or ".") as entries:
            exact, folded = set(), set()
            for entry in entries:
                name = entry.name
                if not entry.is_symlink():
                    exact.add(name)
                folded.add(_fold(name))
    except (FileNotFoundError, NotADirectoryError):
        return _Listing(set(), set(), NAME_LIMIT_GUESS)
    except OSError:
        return None
    return _Listing(exact, folded, _name_limit(folder or "."))


def _fold(name: str) -> str:
    """An ASCII name lower-cased; any other name also decomposed (``ſ`` -> ``s``) and upper-cased first
    (``ı`` -> ``I`` -> ``i``), so that a name some file system takes for an ASCII name folds onto it too: a
    false hit costs one stat, a missed one would plan onto an existing file."""
    if name.isascii():
        return name.lower()
    return unicodedata.normalize("NFKD", name).upper().lower()


def _name_limit(folder: str) -> int:
    """The file system's longest name in ``folder`` (in bytes; ASCII names are the only ones trusted)."""
    if not hasattr(os, "pathconf"):
        return NAME_LIMIT_GUESS
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 0  # unknown: every name not in the listing is stat-ed
