"""Output file names: ``<stem>_color.<ext>`` next to the input or in an output folder, never clobbering."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from engine.atomic_file import free_file_names, split_suffix
from engine.photo_io.formats import OUTPUT_FORMATS

DEFAULT_PATTERN = "{stem}_color"
_ALIASES = {"jpeg": "jpg", "tiff": "tif"}


_FOLDER_PREFIXES: dict[str, str] = {}


def folder_prefix(folder: str | os.PathLike[str]) -> str:
    """``folder`` with a separator, "" for the current one: + a name is ``str(Path(folder) / name)``, built
    without a Path (the scan and the plan name 100,000 photos). Cached for the folders met lately."""
    text = os.fspath(folder)
    prefix = _FOLDER_PREFIXES.get(text)
    if prefix is None:
        if len(_FOLDER_PREFIXES) >= 1024:  # a cache of the folders met lately, not of every folder ever scanned
            _FOLDER_PREFIXES.clear()
        prefix = _FOLDER_PREFIXES[text] = "" if text in ("", ".") else os.path.join(text, "")
    return prefix


def normalise_format(fmt: str) -> str:
    """"JPEG" -> "jpg", ".tiff" -> "tif"; ValueError for a format the engine cannot write."""
    name = fmt.lower().lstrip(".")
    name = _ALIASES.get(name, name)
    if name not in OUTPUT_FORMATS:
        raise ValueError(f"cannot write {fmt!r}: choose one of {', '.join(sorted(OUTPUT_FORMATS))}")
    return name


def output_path(src: Path, out_dir: Path | None, fmt: str | None, pattern: str = DEFAULT_PATTERN) -> Path:
    """Where the colorized ``src`` goes: ``out_dir`` (default: next to ``src``) / pattern + extension.

    The extension is ``fmt`` if given, else the input's own suffix when it is a writable format (kept as
    spelled, lower-cased: ".jpeg" stays ".jpeg"), else ".png" (e.g. for BMP or GIF inputs).
    """
    src = src if isinstance(src, Path) else Path(src)
    name = output_name(src.name, fmt, pattern)
    if out_dir is None:
        return src.with_name(name)
    return (out_dir if isinstance(out_dir, Path) else Path(out_dir)) / name


def output_name(src_name: str, fmt: str | None, pattern: str = DEFAULT_PATTERN) -> str:
    """The file name part of :func:`output_path`, from the input's file name: string work only, for planning
    100,000 names without building Paths for their parts."""
    stem, suffix = split_suffix(src_name)  # Path.stem and Path.suffix, exactly
    if fmt is not None:
        ext = normalise_format(fmt)
    else:
        own = suffix[1:].lower()
        ext = own if _ALIASES.get(own, own) in OUTPUT_FORMATS else "png"
    try:
        stem = pattern.format(stem=stem)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"bad output name pattern {pattern!r}: only {{stem}} is available") from exc
    if not stem or "/" in stem or "\\" in stem:
        raise ValueError(f"output name pattern {pattern!r} must give a plain file name")
    return f"{stem}.{ext}"


def unique_path(path: Path, taken: Collection[Path] = (), *, avoid_existing: bool = True) -> Path:
    """``path`` itself if free, else ``<stem>-2<suffix>``, ``-3``, ... : the first not in ``taken`` (outputs
    already claimed in this batch, and the inputs, which are never written) and, with ``avoid_existing``,
    not already on disk."""
    path = Path(path)
    taken = {Path(p).resolve() for p in taken}
    candidate, n = path, 1
    while candidate.resolve() in taken or (avoid_existing and candidate.exists()):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


class NamePlanner:
    """Output names for a whole batch in linear time: each folder is resolved once and one set holds every
    name taken (the inputs, which are never written, and the outputs already planned).

    ``unique_path`` per photo would resolve every planned name again for each photo: 348,241 resolve()
    calls for 480 photos, hours for an archive of 10,000.
    """

    def __init__(self, reserved: Iterable[Path | str] = ()) -> None:
        self._folders: dict[str, str] = {}
        self._prefixes: dict[str, str] = {}
        self._taken: set[str] = set()
        for path in reserved:
            self.reserve(path)

    def key(self, path: Path | str) -> str:
        """``path`` with its folder resolved (once per folder): equal keys mean the same place."""
        parent, name = os.path.split(os.fspath(path))
        return self._prefix(parent) + name

    def _resolved(self, folder: str) -> str:
        """``folder`` with links and ``..`` followed, once per folder."""
        resolved = self._folders.get(folder)
        if resolved is None:
            resolved = self._folders[folder] = os.path.realpath(folder or ".")
        return resolved

    def reserve(self, path: Path | str) -> None:
        """Mark ``path`` as never to be planned (an input)."""
        self._taken.add(self.key(path))

    def reserve_name(self, folder: str, name: str) -> None:
        """:meth:`reserve` for the file ``name`` in ``folder`` (as os.path.split gives them)."""
        self._taken.add(self._prefix(folder) + name)

    def plan(
        self, src: Path, out_dir: Path | None, fmt: str | None, pattern: str = DEFAULT_PATTERN, *,
        avoid_existing: bool,
    ) -> Path:
        """The output name of ``src`` (:func:`output_path`), made free by :meth:`claim`: the one planning
        rule of the CLI and the app's export. A stem that itself ends in ``-N`` (a pattern like ``{stem}``
        on ``scan-2``) gets ``-2`` added, not its own number raised: it is not one of our numbered names."""
        src = src if isinstance(src, Path) else Path(src)
        folder = os.path.dirname(os.fspath(src)) if out_dir is None else os.fspath(out_dir)
        exists = _on_disk(folder) if avoid_existing else None
        name = self.plan_name(src.name, folder, fmt, pattern, exists=exists)
        return src.with_name(name) if out_dir is None else Path(out_dir) / name

    def plan_name(
        self, src_name: str, folder: str, fmt: str | None, pattern: str = DEFAULT_PATTERN, *,
        exists: Callable[[str], bool] | None = None,
    ) -> str:
        """:meth:`plan` in strings, for a batch of 100,000 photos without a Path each: the output file name
        in ``folder`` (the output folder, or the photo's own as its path spells it, "" for the current one)
        of the photo named ``src_name``. ``exists(name)`` says whether a name in ``folder`` is on disk
        (None: the disk is not looked at)."""
        return self.claim_name(folder, output_name(src_name, fmt, pattern), exists=exists, numbered=False)

    def claim(self, path: Path | str, *, avoid_existing: bool, numbered: bool = True) -> Path | str:
        """The first of ``path``, ``-2``, ``-3``, ... not taken in this batch (and, with ``avoid_existing``,
        not on disk); it is taken from now on. OSError if the name cannot even be looked up (too long).
        ``numbered``: a ``-N`` at the end of ``path`` is one of these numbers (counting goes on from N).
        ``path`` itself comes back as given (a str stays a str); another name as a Path."""
        folder, name = os.path.split(os.fspath(path))
        exists = _on_disk(folder) if avoid_existing else None
        claimed = self.claim_name(folder, name, exists=exists, numbered=numbered)
        return path if claimed == name else Path(path).with_name(claimed)

    def claim_name(
        self, folder: str, name: str, *, exists: Callable[[str], bool] | None = None, numbered: bool = True
    ) -> str:
        """:meth:`claim` in strings: the first free one of the file name ``name``, ``-2``, ... in ``folder``."""
        prefix = self._prefix(folder)
        key = prefix + name
        if key not in self._taken and not (exists is not None and exists(name)):
            self._taken.add(key)
            return name  # the common case: one set look-up
        for candidate in free_file_names(name, numbered=numbered):
            key = prefix + candidate
            if key in self._taken or (exists is not None and exists(candidate)):
                continue
            self._taken.add(key)
            return candidate
        raise FileExistsError(f"no free name left for {os.path.join(folder, name)}")

    def _prefix(self, folder: str) -> str:
        """``folder`` resolved, with a separator: + a name gives that name's :meth:`key` (os.path.join's)."""
        prefix = self._prefixes.get(folder)
        if prefix is None:
            resolved = self._resolved(folder)
            prefix = self._prefixes[folder] = resolved if resolved.endswith(os.sep) else resolved + os.sep
        return prefix


def _on_disk(folder: str) -> Callable[[str], bool]:
    """Whether a name in ``folder`` is on disk, as Path.exists says (a name too long raises OSError)."""
    return lambda name: Path(folder, name).exists()


def result_stems(pattern: str = DEFAULT_PATTERN) -> re.Pattern[str]:
    """A regex whose group 1 is the input stem of a result named by ``pattern`` (``x_color``, ``x_color-2``)."""
    prefix, _, suffix = pattern.partition("{stem}")
    return re.compile(re.escape(prefix) + r"(.+)" + re.escape(suffix) + r"(?:-\d+)?")


def looks_like_output_of(candidate: Path, sources: Collection[Path], pattern: str = DEFAULT_PATTERN) -> bool:
    """True if ``candidate`` is named like a result (``x_color.jpg``, ``x_color-2.png``) of a file ``x.*``
    in ``sources`` from the same folder: folder scans skip earlier results instead of colorizing them again."""
    prefix, _, suffix = pattern.partition("{stem}")
    match = re.fullmatch(re.escape(prefix) + r"(.+)" + re.escape(suffix) + r"(?:-\d+)?", candidate.stem)
    if not match:
        return False
    stem = match.group(1)
    return any(s.stem == stem and s.parent == candidate.parent and s != candidate for s in sources)
