"""The spec-time decisions of build.spec: version, resources, what is pruned, platform icons."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import engine

ROOT = Path(__file__).resolve().parents[2]


def test_version_comes_from_pyproject_and_matches_the_engine(spec_helpers):
    assert spec_helpers.project_version(ROOT / "pyproject.toml") == engine.__version__


def test_version_without_tomllib_path(spec_helpers, tmp_path, monkeypatch):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.x]\nversion = "9"\n\n[project]\nname = "r"\nversion = "1.2.3"\n', encoding="utf-8")
    monkeypatch.setattr(spec_helpers.sys, "version_info", (3, 10, 0))
    assert spec_helpers.project_version(pyproject) == "1.2.3"


def test_missing_version_is_an_error(spec_helpers, tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "r"\n', encoding="utf-8")
    with pytest.raises((ValueError, KeyError)):
        spec_helpers.project_version(pyproject)


def test_resource_datas_take_models_cards_icons_and_samples(spec_helpers, tmp_path):
    res = tmp_path / "resources"
    for path in ("models/rechroma-v1.onnx", "models/rechroma-v1.md", "models/notes.txt", "models/.hidden.onnx",
                 "icons/rechroma.svg", "icons/rechroma.png", "samples/harbour.jpg", "samples/CREDITS.md",
                 "samples/more/street.png", "samples/.DS_Store"):
        (res / path).parent.mkdir(parents=True, exist_ok=True)
        (res / path).write_bytes(b"x")
    (res / "other").mkdir()
    (res / "other" / "ignored.txt").write_bytes(b"x")
    got = {(Path(src).relative_to(res).as_posix(), dest) for src, dest in spec_helpers.resource_datas(tmp_path)}
    assert got == {
        ("models/rechroma-v1.onnx", "resources/models"),
        ("models/rechroma-v1.md", "resources/models"),
        ("icons/rechroma.svg", "resources/icons"),
        ("icons/rechroma.png", "resources/icons"),
        ("samples/harbour.jpg", "resources/samples"),
        ("samples/CREDITS.md", "resources/samples"),
        ("samples/more/street.png", "resources/samples/more"),
    }


def test_resource_datas_of_the_repository_include_the_app_icon(spec_helpers):
    dests = {(Path(src).name, dest) for src, dest in spec_helpers.resource_datas(ROOT)}
    assert ("rechroma.svg", "resources/icons") in dests
    assert all(dest.startswith("resources/") for _, dest in dests)


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/translations/qtbase_de.qm",
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/plugins/imageformats/libqpdf.so",
        "PySide6/Qt/plugins/imageformats/libqtga.so",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
        "PySide6/Qt/plugins/egldeviceintegrations/libqeglfs-kms-integration.so",
        "PySide6/Qt/plugins/tls/libqopensslbackend.so",
        "PySide6/Qt/plugins/generic/libqevdevmouseplugin.so",
        "PySide6\\opengl32sw.dll",
        "PySide6/Qt/plugins/imageformats/qpdf.dll",
        "onnxruntime/capi/libonnxruntime.so.1.32.0",
        "cv2/opencv_videoio_ffmpeg4100_64.dll",
    ],
)
def test_unused_qt_and_runtime_parts_are_pruned(spec_helpers, dest):
    assert spec_helpers.is_pruned(dest)


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/plugins/iconengines/libqsvgicon.so",  # the app icon is an SVG
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",  # QImageReader reads photo sizes for the queue
        "PySide6/Qt/plugins/imageformats/qtiff.dll",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",  # the self-test
        "PySide6/Qt/plugins/platforms/qwindows.dll",
        "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
        "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
        "PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so",
        "PySide6/Qt/lib/libQt6Svg.so.6",
        "PySide6/Qt/lib/libQt6Widgets.so.6",
        "PySide6/Qt/lib/libQt6Network.so.6",  # QLocalServer: one instance, "Open with" joins its queue
        "onnxruntime/capi/onnxruntime_pybind11_state.cpython-311-x86_64-linux-gnu.so",
        "onnxruntime/capi/libonnxruntime_providers_shared.so",
        "onnxruntime/capi/libonnxruntime_providers_cuda.so",  # the GPU variant's provider
        "resources/samples/translations/readme.txt",  # only Qt's translations go
    ],
)
def test_what_the_app_uses_is_kept(spec_helpers, dest):
    assert not spec_helpers.is_pruned(dest)


def test_prune_filters_a_toc(spec_helpers):
    toc = [("PySide6/Qt/translations/qt_fr.qm", "/x/qt_fr.qm", "DATA"), ("numpy/x.so", "/x/x.so", "EXTENSION")]
    assert spec_helpers.prune(toc) == [toc[1]]


def test_cli_analysis_excludes_qt_and_both_exclude_the_trainer(spec_helpers):
    for name in ("torch", "trainer", "onnx", "scipy", "skimage", "matplotlib", "tests", "PySide6.QtQml"):
        assert name in spec_helpers.EXCLUDES
    assert {"PySide6", "desktop"} <= set(spec_helpers.CLI_EXCLUDES)
    for needed in ("PySide6", "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtNetwork",
                   "engine", "desktop", "cv2"):
        assert needed not in spec_helpers.EXCLUDES


def test_windows_icon_is_a_multi_size_ico(spec_helpers, tmp_path):
    icon = spec_helpers.platform_icon(ROOT / "resources" / "icons" / "rechroma.png", tmp_path, platform="win32")
    assert icon.suffix == ".ico"
    with Image.open(icon) as ico:
        assert {(16, 16), (32, 32), (256, 256)} <= set(ico.info["sizes"])


def test_macos_icon_is_an_icns_with_a_retina_size(spec_helpers, tmp_path):
    icon = spec_helpers.platform_icon(ROOT / "resources" / "icons" / "rechroma.png", tmp_path, platform="darwin")
    assert icon.suffix == ".icns"
    with Image.open(icon) as icns:
        assert icns.format == "ICNS"
        assert max(icns.info["sizes"])[0] >= 512


def test_linux_needs_no_converted_icon(spec_helpers, tmp_path):
    assert spec_helpers.platform_icon(ROOT / "resources" / "icons" / "rechroma.png", tmp_path, "linux") is None
    assert not any(tmp_path.iterdir())
