"""Render the app icon PNG and the main-window screenshot for the docs, offscreen.

    python tools/render_screenshots.py            # icon + docs/screenshot-main.png from resources/samples
    python tools/render_screenshots.py --photos DIR --grey --photo NAME   # B&W copies of other photos
    python tools/render_screenshots.py --icon-only
    python tools/render_screenshots.py --hints    # docs/screenshot-hints.png: a B&W sample with colour hints

The screenshot colorizes real photos from resources/samples/ with the shipped model (resources/models/*.onnx)
when there is one, else with the test stand-in generator (random weights: its colours are not meaningful);
the script prints which. The strength slider is set mid-way (100 %). The caption under the screenshot in
docs/desktop.md (between the ``screenshot-caption`` markers) is rewritten from what was really rendered, so it
cannot name another photo or model.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication, QSettings, QSize, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

ICON_SVG = ROOT / "resources" / "icons" / "rechroma.svg"
ICON_PNG = ROOT / "resources" / "icons" / "rechroma.png"
SCREENSHOT = ROOT / "docs" / "screenshot-main.png"
CAPTION_DOC = ROOT / "docs" / "desktop.md"
CAPTION_START, CAPTION_END = "<!-- screenshot-caption -->", "<!-- /screenshot-caption -->"
HINTS_SCREENSHOT = ROOT / "docs" / "screenshot-hints.png"
HINTS_CAPTION_START, HINTS_CAPTION_END = "<!-- hints-screenshot-caption -->", "<!-- /hints-screenshot-caption -->"
#: The hints placed for the hints screenshot: (x, y) fractions of the photo and the colour (album swatches).
HINTS_PHOTO = "hills.jpg"
HINTS = ((0.5, 0.12, "#8db3d9"), (0.5, 0.9, "#6e9140"), (0.8, 0.7, "#4d6a38"))
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"}


def render_icon(size: int = 256) -> Path:
    """Rasterise the SVG icon with Qt's own SVG renderer (no extra dependency)."""
    renderer = QSvgRenderer(str(ICON_SVG))
    if not renderer.isValid():
        raise SystemExit(f"{ICON_SVG} is not a valid SVG")
    image = QImage(QSize(size, size), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(ICON_PNG)):
        raise SystemExit(f"could not write {ICON_PNG}")
    return ICON_PNG


def pick_model(scratch: Path) -> tuple[Path, str]:
    shipped = sorted((ROOT / "resources" / "models").glob("*.onnx"))
    if shipped:
        return shipped[-1], f"shipped model {shipped[-1].name}"
    sys.path.insert(0, str(ROOT / "tests"))
    from standin_model import build_standin_model

    return build_standin_model(scratch / "standin.onnx"), "TEST STAND-IN model (random weights, not the real one)"


def pick_photos(folder: Path, scratch: Path, grey: bool, limit: int = 6) -> list[Path]:
    """Up to ``limit`` photos from ``folder``; with ``grey``, black-and-white copies of them (the use case)."""
    photos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)[:limit]
    if not photos:
        raise SystemExit(f"no photos in {folder}: pass --photos DIR")
    if not grey:
        return photos
    from PIL import Image, ImageOps

    copies = []
    for photo in photos:
        with Image.open(photo) as im:
            copy = scratch / f"{photo.stem.split('--')[-1]}.jpg"
            ImageOps.exif_transpose(im).convert("L").save(copy, quality=92)
            copies.append(copy)
    return copies


def caption_text(photo: str, model: str, strength: int, grey: bool, when: str) -> str:
    source = "a black-and-white copy of" if grey else "the bundled sample"
    return (
        f"*(Screenshot rendered offscreen by `tools/render_screenshots.py` on {when}: {source} `{photo}` "
        f"colorized by {model}, strength {strength} %.)*"
    )


def update_caption(doc: Path, caption: str, markers: tuple[str, str] = (CAPTION_START, CAPTION_END)) -> None:
    """Put ``caption`` between the markers in ``doc`` (SystemExit if they are missing, so it is never lost)."""
    opening, closing = markers
    text = doc.read_text(encoding="utf-8")
    start, end = text.find(opening), text.find(closing)
    if start < 0 or end < start:
        raise SystemExit(f"{doc} has no {opening} ... {closing} markers for the caption")
    text = text[: start + len(opening)] + "\n" + caption + "\n" + text[end:]
    doc.write_text(text, encoding="utf-8")


def wait_until(app: QApplication, condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


def render_screenshot(app: QApplication, featured: str | None, folder: Path, grey: bool) -> tuple[Path, str]:
    """Render the main window; returns the file and the caption that says what it shows."""
    from desktop.main_window import MainWindow
    from desktop.queue_model import State
    from desktop.queue_store import QueueStore
    from desktop.settings import AppSettings

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        model_path, model_note = pick_model(scratch)
        print(f"model: {model_note}")
        settings = AppSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, QueueStore(scratch / "data"), model_path, threads=2)
        window.resize(1360, 820)
        window.show()
        photos = pick_photos(folder, scratch, grey)
        window.add_paths(photos)
        controller = window.controller
        wait_until(app, lambda: controller.model_info is not None, 60)
        controller.start()
        finished = wait_until(app, lambda: not controller.has_unfinished_work(), 600)
        print(f"colorized {controller.model.count(State.DONE)}/{len(photos)} photos (finished={finished})")
        names = [item.name for item in controller.model.items()]
        row = names.index(featured) if featured in names else 0
        window.select_row(row)
        window.strength.setValue(100)
        info = controller.model_info
        model_words = (
            f"the shipped model {info.name} v{info.version}"
            if "STAND-IN" not in model_note
            else "the test stand-in model (random weights, not the real one)"
        )
        caption = caption_text(names[row], model_words, window.strength.value(), grey, time.strftime("%Y-%m-%d"))
        wait_until(app, lambda: window.compare.after is not None, 30)
        window.compare.set_divider(0.5)
        wait_until(app, lambda: False, 0.3)  # let thumbnails and layout settle
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(SCREENSHOT))
        print(f"photo shown: {names[row]}")
        window.close()
        app.processEvents()
    return SCREENSHOT, caption


def render_hints_screenshot(app: QApplication, folder: Path) -> tuple[Path, str]:
    """A black-and-white copy of a sample with colour hints placed (hint tool on), the divider showing the
    original on the left and the hinted colour on the right; returns the file and its caption."""
    from desktop.hint_points import HintPoint
    from desktop.main_window import MainWindow
    from desktop.queue_store import QueueStore
    from desktop.settings import AppSettings

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        model_path, model_note = pick_model(scratch)
        settings = AppSettings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, QueueStore(scratch / "data"), model_path, threads=2)
        window.resize(1360, 820)
        window.show()
        photos = [p for p in pick_photos(folder, scratch, grey=True) if p.name == HINTS_PHOTO]
        if not photos:
            raise SystemExit(f"{HINTS_PHOTO} is not among the samples in {folder}")
        window.add_paths(photos)
        controller = window.controller
        wait_until(app, lambda: controller.model_info is not None, 60)
        controller.start()
        wait_until(app, lambda: not controller.has_unfinished_work(), 600)
        window.select_row(0)
        wait_until(app, lambda: window.compare.after is not None, 30)
        window.actions.hint_tool.setChecked(True)
        item = controller.model.item_at(0)
        renders = window.hint_renders
        window.hints._push(item.id, tuple(HintPoint(x, y, c) for x, y, c in HINTS), "Add hints")
        wait_until(app, lambda: window.hint_renders > renders, 60)
        window.compare.set_divider(0.3)
        wait_until(app, lambda: False, 0.5)
        window.grab().save(str(HINTS_SCREENSHOT))
        info = controller.model_info
        model_words = (
            f"the shipped model {info.name} v{info.version}"
            if "STAND-IN" not in model_note
            else "the test stand-in model (random weights, not the real one)"
        )
        window.close()
        app.processEvents()
    caption = (
        f"*(Screenshot rendered offscreen by `tools/render_screenshots.py --hints` on {time.strftime('%Y-%m-%d')}: "
        f"a black-and-white copy of `{HINTS_PHOTO}` colorized by {model_words} with {len(HINTS)} colour hints "
        "(sky, grass, foliage from the album swatches); original left of the divider, colour right.)*"
    )
    return HINTS_SCREENSHOT, caption


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--icon-only", action="store_true")
    parser.add_argument("--photo", help="file name of the photo to feature")
    parser.add_argument("--photos", type=Path, default=ROOT / "resources" / "samples", help="folder of photos")
    parser.add_argument("--grey", action="store_true", help="colorize black-and-white copies of the photos")
    parser.add_argument("--hints", action="store_true", help="only the colour hints screenshot")
    args = parser.parse_args()
    QCoreApplication.setOrganizationName("RechromaScreenshots")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    QGuiApplication.setApplicationDisplayName("Rechroma")
    if args.hints:
        shot, caption = render_hints_screenshot(app, args.photos)
        update_caption(CAPTION_DOC, caption, (HINTS_CAPTION_START, HINTS_CAPTION_END))
        print(f"wrote {shot}\ncaption in {CAPTION_DOC}: {caption}")
        return 0
    print(f"wrote {render_icon()}")
    if not args.icon_only:
        shot, caption = render_screenshot(app, args.photo, args.photos, args.grey)
        update_caption(CAPTION_DOC, caption)
        print(f"wrote {shot}\ncaption in {CAPTION_DOC}: {caption}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
