"""Finding the photos named by files, folders and glob patterns: one suffix list, one set of rules.

The CLI uses it, and front ends that scan folders should too, so that "a folder of photos" means the same
everywhere: supported suffixes, no hidden files, sub-folders only when asked, our own earlier results left
out (checked by their provenance, not only by their name), and each photo once.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from engine import photo_io  # a lazy package (see made_by_rechroma)
from engine.gc_pause import gc_paused
from engine.naming import DEFAULT_PATTERN, folder_prefix, result_stems
from engine.photo_io.formats import SUPPORTED_SUFFIXES

#: The one list of photo suffixes a folder scan picks up (content, not the suffix, decides the decoder).
PHOTO_SUFFIXES = SUPPORTED_SUFFIXES
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class FoundPhoto:
    #: The photo as found, or (with :attr:`name`, from a folder scan) the folder it was found in.
    location: Path
    #: The sub-folder below the scanned folder (recursive scans), kept under an output folder.
    subdir: Path = Path()
    #: The photo's resolved path as a string (links and ``..`` followed): what tells two photos apart.
    real: str = ""
    #: The photo's file name when :attr:`location` is its folder.
    name: str = ""

    @cached_property
    def path(self) -> Path:
        """The photo as found: built only when asked for (the app wants only :attr:`resolved`, and a Path per
        photo is a cost at 100,000 photos)."""
        return self.location / self.name if self.name else self.location

    @property
    def text(self) -> str:
        """``str(self.path)`` without building the Path (the CLI plans 100,000 photos in strings)."""
        if "path" in self.__dict__ or not self.name:
            return str(self.path)
        return folder_prefix(self.location) + self.name

    @property
    def resolved(self) -> Path:
        """The resolved path, built only when asked for (a Path per photo is a cost at 100,000 photos)."""
        return Path(self.real) if self.real else self.path.resolve()


@dataclass
class FoundPhotos:
    photos: list[FoundPhoto] = field(default_factory=list)
    #: (input as given, reason) for inputs that gave nothing: a missing path, a glob without matches.
    problems: list[tuple[Path, str]] = field(default_factory=list)


def is_photo_name(path: Path) -> bool:
    return path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith(".")


@gc_paused()
def find_photos(
    paths: Iterable[str | os.PathLike],
    recursive: bool = False,
    skip_results: bool = True,
    *,
    exclude: Path | None = None,
    pattern: str = DEFAULT_PATTERN,
    follow_links: bool = False,
) -> FoundPhotos:
    """Files as given (whatever their suffix), folders scanned, globs expanded; each photo once, first wins.

    ``recursive`` walks sub-folders and lets ``**`` match across folders. ``skip_results`` leaves out a
    scanned ``x_color.jpg`` next to ``x.jpg`` when Rechroma's provenance is in it (a user's own file of that
    name stays a photo). ``exclude`` is a folder never scanned (the output folder). Linear in the number of
    files: each path is resolved once. ``follow_links`` descends into symlinked sub-folders too, each
    folder once (a link loop is not followed again): the app does, for folders a user drops on it.
    """
    found = FoundPhotos()
    skip = exclude.absolute() if exclude is not None else None
    keyed: list[tuple[FoundPhoto, str]] = []
    for given in paths:
        text = os.fspath(given)
        path = Path(text)
        if path.is_dir():
            keyed += _without_results(_scan_folder(path, recursive, skip, follow_links), skip_results, pattern)
        elif path.is_file():
            real = str(path.resolve())
            keyed.append((FoundPhoto(path, real=real), real))  # named explicitly: always tried
        elif _GLOB_CHARS & set(text):
            matches: list[tuple[FoundPhoto, str]] = []
            for match in sorted(Path(m) for m in glob.glob(text, recursive=recursive)):
                if match.is_dir():
                    matches += _scan_folder(match, recursive=False, skip=skip, follow_links=follow_links)
                elif match.is_file() and is_photo_name(match) and not _inside(match.absolute(), skip):
                    real = str(match.resolve())
                    matches.append((FoundPhoto(match, real=real), real))
            if not matches:
                found.problems.append((path, "no photos match this pattern"))
            keyed += _without_results(matches, skip_results, pattern)
        else:
            found.problems.append((path, "no such file or folder"))
    seen: set[str] = set()
    for photo, key in keyed:
        if key not in seen:
            seen.add(key)
            found.photos.append(photo)
    return found


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def _scan_folder(
    folder: Path, recursive: bool, skip: Path | None, follow_links: bool = False
) -> list[tuple[FoundPhoto, str]]:
    """The photos in ``folder`` (and below), each with its resolved path as a string for de-duplication.

    One os.scandir per folder and the folder resolved once: resolving and stat-ing each of 100,000 files
    one by one took seconds. Only symlinked files are resolved on their own (they may point anywhere).
    """
    photos = []
    for root, relative in _folders(folder, recursive, skip, follow_links):
        real_root = os.path.join(os.path.realpath(root), "")  # with its separator: + a name is a join
        try:
            entries = sorted(os.scandir(root), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            dot = name.rfind(".")  # name[dot:] is os.path.splitext's suffix for a name not hidden
            if dot <= 0 or name.startswith(".") or name[dot:].lower() not in PHOTO_SUFFIXES:
                continue
            try:
                if not entry.is_file():
                    continue
                key = os.path.realpath(entry.path) if entry.is_symlink() else real_root + name
            except OSError:
                continue
            photos.append((FoundPhoto(root, relative, key, name), key))
    return photos


def _folders(folder: Path, recursive: bool, skip: Path | None, follow_links: bool) -> list[tuple[Path, Path]]:
    if not recursive:
        return [(folder, Path())]
    found = []
    seen: set[tuple[int, int] | None] = {_identity(folder)} if follow_links else set()
    for root, dirs, _names in os.walk(folder, followlinks=follow_links):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _inside((root_path / d).absolute(), skip))
        if follow_links:  # each folder once, however many links lead to it: a link loop ends here
            kept = []
            for d in dirs:
                identity = _identity(root_path / d)
                if identity is not None and identity not in seen:
                    seen.add(identity)
                    kept.append(d)
            dirs[:] = kept
        found.append((root_path, root_path.relative_to(folder)))
    return found


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _without_results(photos: list[tuple[FoundPhoto, str]], skip_results: bool,
                     pattern: str) -> list[tuple[FoundPhoto, str]]:
    """Drop our own earlier results: named like a sibling's output *and* carrying our provenance."""
    if not skip_results:
        return photos
    result = result_stems(pattern)
    # The literal parts of the pattern first: a plain substring test spares 100,000 regex matches.
    prefix, _, suffix = pattern.partition("{stem}")
    named_like_results = [i for i, (photo, _) in enumerate(photos)
                          if prefix in (name := _name(photo)) and suffix in name and result.fullmatch(_stem(name))]
    if not named_like_results:
        return photos
    stems = {(os.path.dirname(key), _stem(_name(photo))) for photo, key in photos}
    drop = set()
    for i in named_like_results:
        photo, key = photos[i]
        match = result.fullmatch(_stem(_name(photo)))
        if match and (os.path.dirname(key), match.group(1)) in stems and made_by_rechroma(photo.path):
            drop.add(i)
    return [entry for i, entry in enumerate(photos) if i not in drop]


def made_by_rechroma(path: Path) -> bool:
    """engine.photo_io.made_by_rechroma, which loads the decoders: only when a scan meets a result's name."""
    return photo_io.made_by_rechroma(path)


def _name(photo: FoundPhoto) -> str:
    return photo.name or photo.location.name


def _stem(name: str) -> str:
    return os.path.splitext(name)[0]
