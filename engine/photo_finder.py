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
from pathlib import Path

from engine.naming import DEFAULT_PATTERN, result_stems
from engine.photo_io import SUPPORTED_SUFFIXES, made_by_rechroma

#: The one list of photo suffixes a folder scan picks up (content, not the suffix, decides the decoder).
PHOTO_SUFFIXES = SUPPORTED_SUFFIXES
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class FoundPhoto:
    path: Path
    #: The sub-folder below the scanned folder (recursive scans), kept under an output folder.
    subdir: Path = Path()


@dataclass
class FoundPhotos:
    photos: list[FoundPhoto] = field(default_factory=list)
    #: (input as given, reason) for inputs that gave nothing: a missing path, a glob without matches.
    problems: list[tuple[Path, str]] = field(default_factory=list)


def is_photo_name(path: Path) -> bool:
    return path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith(".")


def find_photos(
    paths: Iterable[str | os.PathLike],
    recursive: bool = False,
    skip_results: bool = True,
    *,
    exclude: Path | None = None,
    pattern: str = DEFAULT_PATTERN,
) -> FoundPhotos:
    """Files as given (whatever their suffix), folders scanned, globs expanded; each photo once, first wins.

    ``recursive`` walks sub-folders and lets ``**`` match across folders. ``skip_results`` leaves out a
    scanned ``x_color.jpg`` next to ``x.jpg`` when Rechroma's provenance is in it (a user's own file of that
    name stays a photo). ``exclude`` is a folder never scanned (the output folder). Linear in the number of
    files: each path is resolved once.
    """
    found = FoundPhotos()
    skip = exclude.absolute() if exclude is not None else None
    for given in paths:
        text = os.fspath(given)
        path = Path(text)
        if path.is_dir():
            found.photos += _without_results(_scan_folder(path, recursive, skip), skip_results, pattern)
        elif path.is_file():
            found.photos.append(FoundPhoto(path))  # named explicitly: always tried
        elif _GLOB_CHARS & set(text):
            matches = []
            for match in sorted(Path(m) for m in glob.glob(text, recursive=recursive)):
                if match.is_dir():
                    matches += _scan_folder(match, recursive=False, skip=skip)
                elif match.is_file() and is_photo_name(match) and not _inside(match.absolute(), skip):
                    matches.append(FoundPhoto(match))
            if not matches:
                found.problems.append((path, "no photos match this pattern"))
            found.photos += _without_results(matches, skip_results, pattern)
        else:
            found.problems.append((path, "no such file or folder"))
    seen: set[Path] = set()
    unique = []
    for photo in found.photos:
        key = photo.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(photo)
    found.photos = unique
    return found


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def _scan_folder(folder: Path, recursive: bool, skip: Path | None) -> list[FoundPhoto]:
    if not recursive:
        return [FoundPhoto(p) for p in sorted(folder.iterdir()) if is_photo_name(p) and p.is_file()]
    photos = []
    for root, dirs, names in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _inside((root_path / d).absolute(), skip))
        for name in sorted(names):
            path = root_path / name
            if is_photo_name(path) and path.is_file():
                photos.append(FoundPhoto(path, root_path.relative_to(folder)))
    return photos


def _without_results(photos: list[FoundPhoto], skip_results: bool, pattern: str) -> list[FoundPhoto]:
    """Drop our own earlier results: named like a sibling's output *and* carrying our provenance."""
    if not skip_results:
        return photos
    stems = {(p.path.parent, p.path.stem) for p in photos}
    result = result_stems(pattern)
    kept = []
    for photo in photos:
        match = result.fullmatch(photo.path.stem)
        if match and (photo.path.parent, match.group(1)) in stems and made_by_rechroma(photo.path):
            continue
        kept.append(photo)
    return kept
