"""Decisions that ``build.spec`` takes at spec time, as plain functions so tests can check them without a build.

``build.spec`` loads this file by path (``packaging/`` is deliberately not a Python package: the name would
shadow the PyPI ``packaging`` library that setuptools, pip and PyInstaller import).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

APP_NAME = "Rechroma"
GUI_EXE = "rechroma"
CLI_EXE = "rechroma-cli"
BUNDLE_ID = "org.rechroma.Rechroma"

#: Modules the app never imports but that the analysis would drag in through optional imports of its
#: dependencies (torch/onnx via onnxruntime's tooling, matplotlib via Pillow/tqdm, scipy via numpy, ...).
EXCLUDES = [
    # the training side and its tooling
    "trainer", "torch", "torchvision", "torchaudio", "onnx", "onnxscript", "onnxconverter_common",
    "onnxruntime.transformers", "onnxruntime.quantization", "onnxruntime.tools", "onnxruntime.training",
    "scipy", "skimage", "matplotlib", "pandas", "sympy", "sklearn", "IPython", "jupyter", "notebook",
    # tests and developer tools
    "tests", "pytest", "_pytest", "pytestqt", "ruff", "PyInstaller", "setuptools", "pip", "pkg_resources",
    # GUI toolkits the app does not use
    "tkinter", "_tkinter", "PyQt5", "PyQt6", "PySide2", "PIL.ImageTk", "PIL._imagingtk",
    # an offline app: no TLS (drops OpenSSL's libcrypto/libssl, ~5 MB; hashlib falls back to its builtins)
    "ssl", "_ssl", "_hashlib",
    # Pillow's AVIF codec (libavif, ~5 MB): AVIF is not among the engine's photo formats
    "PIL._avif", "PIL.AvifImagePlugin",
    # Qt modules the desktop does not import (it uses QtCore, QtGui, QtWidgets, and QtNetwork for the local
    # socket that keeps one instance; the SVG icon goes through the iconengines plugin, which links libQt6Svg
    # on its own)
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2",
    "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtDesigner",
    "PySide6.QtUiTools", "PySide6.QtHelp", "PySide6.QtPrintSupport", "PySide6.QtXml", "PySide6.QtDBus",
    "PySide6.QtConcurrent", "PySide6.QtPdf", "PySide6.QtPdfWidgets", "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick", "PySide6.QtWebChannel", "PySide6.QtWebSockets",
    "PySide6.Qt3DCore", "PySide6.Qt3DRender", "PySide6.Qt3DExtras", "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets", "PySide6.QtCharts", "PySide6.QtDataVisualization", "PySide6.QtGraphs",
    "PySide6.QtSvgWidgets", "PySide6.QtSvg", "PySide6.QtBluetooth", "PySide6.QtPositioning",
    "PySide6.QtLocation", "PySide6.QtSensors", "PySide6.QtSerialPort", "PySide6.QtRemoteObjects",
    "PySide6.QtScxml", "PySide6.QtStateMachine", "PySide6.QtTextToSpeech", "PySide6.QtSpatialAudio",
    "PySide6.QtNetworkAuth", "PySide6.QtHttpServer",
]

#: The CLI executable is engine-only: Qt and the desktop must not leak into its analysis.
CLI_EXCLUDES = EXCLUDES + ["PySide6", "shiboken6", "desktop"]

#: Qt plugins kept, per plugin folder; every other plugin in a listed folder is pruned. Folders not listed
#: here are kept whole, except those in PRUNED_PLUGIN_DIRS.
KEPT_PLUGINS = {
    # xcb/wayland for Linux desktops, offscreen for the self-test, the native ones elsewhere
    "platforms": {"qxcb", "qwayland", "qoffscreen", "qwindows", "qcocoa", "qdirect2d"},
    # svg for the app icon; jpeg/tiff/webp/gif because the queue reads photo dimensions with QImageReader
    # (png and bmp are built into QtGui)
    "imageformats": {"qsvg", "qjpeg", "qtiff", "qwebp", "qgif"},
    # compose (dead keys) and ibus input methods; the virtual keyboard would pull in QtQuick
    "platforminputcontexts": {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"},
    # the desktop portal theme (native file dialogs through xdg-desktop-portal). Not qgtk3: it links the build
    # machine's GTK stack (cairo, pango, glib, ...), whose bundled copies would clash with the user's GTK.
    "platformthemes": {"qxdgdesktopportal"},
}
#: Plugin folders of features the app does not use (embedded Linux input/EGL, networking, SQL, QML, ...).
PRUNED_PLUGIN_DIRS = {
    "egldeviceintegrations", "generic", "networkinformation", "tls", "bearer", "sqldrivers", "qmltooling",
    "qmllint", "designer", "printsupport", "vectorimageformats", "position", "multimedia", "renderers",
    "sceneparsers", "geometryloaders", "webview", "wayland-graphics-integration-server",
}

#: Qt libraries only pruned plugins link (embedded EGL full-screen): no kept file needs them. (libQt6Network
#: stays: desktop.single_instance's QLocalServer lives in it; its tls/networkinformation plugins are pruned.)
UNUSED_QT_LIBS = ("libQt6EglFSDeviceIntegration", "libQt6EglFsKmsSupport")

#: onnxruntime's C-API library (libonnxruntime.so / .dylib) is for C/C++ users: the Python binding
#: (onnxruntime_pybind11_state) contains the runtime itself and does not link it (checked with readelf), so
#: it is 34 MB of dead weight. Windows' onnxruntime.dll is left alone (not verified there).
_UNUSED_LIBRARY = re.compile(r"^onnxruntime/capi/libonnxruntime\.(so\.[\d.]+|[\d.]*\.?dylib)$")

RESOURCE_FOLDERS = ("models", "icons", "samples")
_MODEL_SUFFIXES = {".onnx", ".md"}


def project_version(pyproject: Path) -> str:
    """``[project] version`` from pyproject.toml, so the bundle's version has one source."""
    text = pyproject.read_text(encoding="utf-8")
    if sys.version_info >= (3, 11):
        import tomllib

        return str(tomllib.loads(text)["project"]["version"])
    # Python 3.10 has no tomllib; the version line is simple enough for a regex (no third-party parser).
    in_project = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_project = stripped == "[project]"
        elif in_project:
            match = re.match(r'version\s*=\s*"([^"]+)"', stripped)
            if match:
                return match.group(1)
    raise ValueError(f"no [project] version in {pyproject}")


def resource_datas(root: Path) -> list[tuple[str, str]]:
    """(source file, destination folder) for every shipped resource, relative folders kept under ``resources/``.

    models: ``*.onnx`` and their ``*.md`` cards (whatever is there; none is fine, the self-test says so);
    icons and samples: every file except hidden ones (sample licences and credits travel with the photos).
    """
    datas = []
    resources = root / "resources"
    for folder in RESOURCE_FOLDERS:
        base = resources / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            relative = path.relative_to(resources)
            if not path.is_file() or any(part.startswith(".") for part in relative.parts):
                continue
            if folder == "models" and path.suffix.lower() not in _MODEL_SUFFIXES:
                continue
            datas.append((str(path), str(PurePosixPath("resources", *relative.parent.parts))))
    return datas


def _posix(dest: str) -> PurePosixPath:
    return PurePosixPath(dest.replace("\\", "/"))


def _qt_plugin(dest: PurePosixPath) -> tuple[str, str] | None:
    """(plugin folder, plugin name without lib prefix/suffix) for a file under ``.../Qt*/plugins/``."""
    parts = dest.parts
    for i, part in enumerate(parts[:-2]):
        if part == "plugins" and i > 0 and parts[i - 1].lower().startswith("qt"):
            stem = parts[-1].split(".")[0]
            return parts[i + 1], stem[3:] if stem.startswith("lib") else stem
    return None


def is_pruned(dest: str) -> bool:
    """Whether a collected file (its destination path inside the bundle) is left out of the bundle."""
    path = _posix(dest)
    parts = path.parts
    if "translations" in parts and any(p.lower().startswith("qt") for p in parts):
        return True  # Qt's own UI strings: the app is English only, and they are ~5 MB
    if path.name.lower() == "opengl32sw.dll":
        return True  # Windows software OpenGL (~20 MB): widgets paint with the raster engine
    if path.name.lower().startswith("opencv_videoio_ffmpeg"):
        return True  # Windows/macOS OpenCV's FFmpeg video plugin (~25 MB), loaded only by VideoCapture/Writer
    if _UNUSED_LIBRARY.match(str(path)):
        return True
    if path.name.startswith(UNUSED_QT_LIBS) and any(p.lower().startswith("qt") or p == "PySide6" for p in parts[:-1]):
        return True
    plugin = _qt_plugin(path)
    if plugin is None:
        return False
    folder, name = plugin
    if folder in PRUNED_PLUGIN_DIRS:
        return True
    kept = KEPT_PLUGINS.get(folder)
    return kept is not None and name not in kept


def prune(toc: Iterable[tuple]) -> list[tuple]:
    """A PyInstaller TOC (dest, source, kind) without the pruned entries."""
    return [entry for entry in toc if not is_pruned(entry[0])]


def platform_icon(png: Path, out_dir: Path, platform: str = sys.platform) -> Path | None:
    """The app icon in the format the platform's executable wants (.ico on Windows, .icns on macOS), made
    from the PNG with Pillow at spec time; None on Linux, where the desktop file points at the PNG/SVG."""
    if platform.startswith("win"):
        suffix, sizes = ".ico", [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
    elif platform == "darwin":
        suffix, sizes = ".icns", None  # Pillow writes every ICNS size it can from the largest image
    else:
        return None
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{GUI_EXE}{suffix}"
    with Image.open(png) as image:
        image = image.convert("RGBA")
        if suffix == ".ico":
            image.save(target, format="ICO", sizes=sizes)
        else:
            if max(image.size) < 1024:  # ICNS wants a 1024 px source for its largest (retina) entry
                image = image.resize((1024, 1024), Image.Resampling.LANCZOS)
            image.save(target, format="ICNS")
    return target
