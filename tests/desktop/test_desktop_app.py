"""The app's command line (--help, --version, --self-test), single instance and the Linux desktop entry."""

from __future__ import annotations

import configparser
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QDir

from desktop import app, desktop_entry
from desktop.single_instance import InstanceServer, instance_name, parse_message, send_to_running
from engine import __version__

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 30_000


def test_help_lists_self_test_and_version_prints_it(capsys) -> None:
    with pytest.raises(SystemExit) as exit_help:
        app.main(["--help"])
    out = capsys.readouterr().out
    assert exit_help.value.code == 0
    for flag in ("--self-test", "--version", "--model", "--install-desktop-file"):
        assert flag in out
    with pytest.raises(SystemExit) as exit_version:
        app.main(["--version"])
    assert exit_version.value.code == 0 and capsys.readouterr().out.strip() == f"rechroma {__version__}"


def clean_env(tmp_path: Path) -> dict[str, str]:
    """The app's settings, queue and single-instance name inside this test's folder, Qt offscreen."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "RECHROMA_DATA_DIR": str(tmp_path / "appdata"),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }


def test_self_test_passes_without_qt_plugin_noise(standin_model: Path, tmp_path: Path) -> None:
    photo = tmp_path / "scan.png"
    Image.new("L", (96, 64), 120).save(photo)
    result = subprocess.run(
        [sys.executable, "-m", "desktop.app", "--self-test", "--model", str(standin_model), "--photo", str(photo)],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ok   window" in output and "ok   single instance" in output
    assert "propagateSizeHints" not in output and "plugin" not in result.stderr, output


# --- single instance --------------------------------------------------------------------------------------
def test_a_second_launch_hands_its_photos_to_the_running_window(
    qtbot, make_window, photo_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    server = InstanceServer(instance_name(tmp_path / "instance"), window)
    server.pathsReceived.connect(window.open_from_elsewhere)
    assert server.listen()
    assert not InstanceServer(server.name).listen()  # a second one cannot take the name of a live one

    assert send_to_running(server.name, [photo_dir / "colour.jpg", photo_dir / "grey.png"])
    qtbot.waitUntil(lambda: window.controller.model.rowCount() == 2, timeout=TIMEOUT_MS)
    assert {item.name for item in window.controller.model.items()} == {"colour.jpg", "grey.png"}
    assert send_to_running(server.name, [])  # no photos: the window only comes to the front
    qtbot.wait(100)
    assert window.controller.model.rowCount() == 2
    server.close()
    assert not send_to_running(server.name, [photo_dir / "sepia.jpg"], timeout_ms=300)


def test_malformed_messages_are_ignored() -> None:
    assert parse_message(b"") is None
    assert parse_message(b"\xff\xfe") is None
    assert parse_message(b'{"paths": "not a list"}') is None
    assert parse_message(b'{"other": 1}') is None
    assert parse_message(b'{"paths": ["/a/b.jpg"]}') == [Path("/a/b.jpg")]


@pytest.mark.skipif(sys.platform == "win32", reason="stale socket files are a Unix thing")
def test_a_socket_left_by_a_crashed_instance_is_replaced(qtbot, tmp_path: Path) -> None:
    name = instance_name(tmp_path / "crashed")
    stale = Path(QDir.tempPath()) / name
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(stale))  # bound, never listening, then gone: what a killed app leaves behind
    dead.close()
    assert stale.exists()
    assert not send_to_running(name, [], timeout_ms=300)
    server = InstanceServer(name)
    assert server.listen()
    received = []
    server.pathsReceived.connect(received.append)
    assert send_to_running(name, [tmp_path / "x.jpg"])
    qtbot.waitUntil(lambda: bool(received), timeout=TIMEOUT_MS)
    server.close()


def _lines(stream) -> queue.Queue:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue, text: str, timeout_s: float = 60) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never came; got: {''.join(seen)}")


def test_open_with_while_the_app_runs_adds_to_its_queue_instead_of_a_second_window(
    standin_model: Path, photo_dir: Path, tmp_path: Path
) -> None:
    """Two real `rechroma` processes, as a file manager's "Open with" would start them."""
    env = clean_env(tmp_path)
    command = [sys.executable, "-m", "desktop.app", "--model", str(standin_model)]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        lines = _lines(first.stderr)
        _wait_for(lines, "listening for photos from later launches")
        second = subprocess.run(
            [*command, str(photo_dir / "colour.jpg"), str(photo_dir / "grey.png")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        _wait_for(lines, "handed over 2 photo(s)")
        assert first.poll() is None  # the first app is still the one running
    finally:
        first.terminate()
        first.wait(timeout=30)


# --- the desktop entry -------------------------------------------------------------------------------------
def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_install_desktop_file_writes_the_entry_and_icons(tmp_path: Path, monkeypatch, capsys) -> None:
    launcher = tmp_path / "my apps" / "rechroma"
    written = desktop_entry.install(tmp_path / "share", command=[str(launcher)])
    entry = read_entry(tmp_path / "share" / "applications" / "rechroma.desktop")
    assert entry["Type"] == "Application" and entry["Name"] == "Rechroma" and entry["Icon"] == "rechroma"
    assert entry["Exec"] == f'"{launcher}" %F'  # quoted (a space in the path), then the files it was given
    mime = entry["MimeType"].rstrip(";").split(";")
    for needed in ("image/jpeg", "image/png", "image/tiff", "image/webp", "image/bmp", "image/gif"):
        assert needed in mime
    assert entry["StartupWMClass"] == desktop_entry.APP_ID
    icons = {p.relative_to(tmp_path / "share").as_posix() for p in written if "icons" in p.parts}
    assert icons == {"icons/hicolor/scalable/apps/rechroma.svg", "icons/hicolor/256x256/apps/rechroma.png"}

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert app.main(["--install-desktop-file"]) == 0
    out = capsys.readouterr().out
    installed = tmp_path / "xdg" / "applications" / "rechroma.desktop"
    assert installed.is_file() and str(installed) in out and "rm " in out
    assert read_entry(installed)["Exec"].endswith(" %F")


def test_window_has_the_app_icon(make_window) -> None:
    window = make_window()
    assert not window.windowIcon().isNull()
    assert not window.windowIcon().pixmap(64, 64).isNull()
