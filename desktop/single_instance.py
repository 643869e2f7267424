"""One Rechroma per user: a second launch ("Open with Rechroma" in a file manager) hands its photos to the
running app's queue and exits, instead of opening a second window with a second model and a second queue
writing the same files.

QLocalServer/QLocalSocket (a Unix socket or a Windows named pipe; nothing leaves the machine). The message
is one JSON object, ``{"paths": [absolute paths]}``, and the server reads it when the client disconnects.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from pathlib import Path
from typing import cast

from PySide6.QtCore import QByteArray, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 1000
#: Largest message accepted (a few thousand paths); anything bigger is not from a Rechroma launch.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


def instance_name(data_dir: Path) -> str:
    """The server name: one per user and data folder (so tests and RECHROMA_DATA_DIR instances stay apart)."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (some containers): the data folder still separates
        user = ""
    digest = hashlib.sha256(f"{user}\0{Path(data_dir).resolve()}".encode()).hexdigest()[:16]
    return f"rechroma-{digest}"


def send_to_running(name: str, paths: list[Path], timeout_ms: int = CONNECT_TIMEOUT_MS) -> bool:
    """Give ``paths`` to the Rechroma listening on ``name``; False when none is running (start one)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    message = json.dumps({"paths": [str(Path(p).absolute()) for p in paths]}).encode("utf-8")
    socket.write(QByteArray(message))
    written = socket.waitForBytesWritten(timeout_ms) or socket.bytesToWrite() == 0
    socket.disconnectFromServer()
    if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
        socket.waitForDisconnected(timeout_ms)
    return written


class InstanceServer(QObject):
    """Listens for later launches; emits :attr:`pathsReceived` with the photos each one was given."""

    pathsReceived = Signal(list)  # list[Path]; empty when the launch had no photos (just show the window)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user only
        self.server.newConnection.connect(self._on_new_connection)
        self._buffers: dict[QLocalSocket, bytearray] = {}

    def listen(self) -> bool:
        """Start listening, unless another instance answers on the name (then False).

        Asked first, because on Unix a listen with socket options binds elsewhere and renames over the name,
        which would silently take it from a live instance; a socket file left by a crash is removed."""
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(CONNECT_TIMEOUT_MS):
            probe.disconnectFromServer()
            return False
        QLocalServer.removeServer(self.name)
        if not self.server.listen(self.name):
            log.warning("single instance: cannot listen on %s: %s", self.name, self.server.errorString())
            return False
        return True

    def close(self) -> None:
        self.server.close()
        for socket in list(self._buffers):
            socket.abort()
        self._buffers.clear()

    # Slots are bound methods (not closures), so Qt drops the connections when this object goes away and a
    # late "disconnected" never calls into a deleted server.
    def _on_new_connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = bytearray()
            socket.readyRead.connect(self._on_ready_read)
            socket.disconnected.connect(self._on_disconnected)
            if socket.state() != QLocalSocket.LocalSocketState.ConnectedState:  # gone before we looked
                self._finish(socket)

    def _on_ready_read(self) -> None:
        socket = cast(QLocalSocket, self.sender())
        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer.extend(bytes(socket.readAll().data()))
        if len(buffer) > MAX_MESSAGE_BYTES:
            self._buffers.pop(socket, None)
            socket.abort()

    def _on_disconnected(self) -> None:
        self._finish(cast(QLocalSocket, self.sender()))

    def _finish(self, socket: QLocalSocket) -> None:
        buffer = self._buffers.pop(socket, None)
        if buffer is None:
            return
        buffer.extend(bytes(socket.readAll().data()))
        socket.deleteLater()
        paths = parse_message(bytes(buffer))
        if paths is not None:
            self.pathsReceived.emit(paths)


def parse_message(data: bytes) -> list[Path] | None:
    """The paths of one launch message, or None for anything that is not one (logged, ignored)."""
    if not data:  # a connection that only checked whether this instance is alive
        return None
    try:
        message = json.loads(data.decode("utf-8"))
        paths = message["paths"]
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError("paths is not a list of strings")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        log.warning("single instance: ignored a malformed message (%s)", exc)
        return None
    return [Path(p) for p in paths]
