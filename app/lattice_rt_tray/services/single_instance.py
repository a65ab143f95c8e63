"""One running app per user and settings file.

The first instance holds a QLockFile and listens on a QLocalServer. A second
launch fails to take the lock, connects to that server, asks the first one to
show its Activity window and exits. A lock left by a crashed process is stale
(its PID is gone) and is taken over.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QDir, QLockFile, QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from lattice_rt_tray.logic.identity import APP_ID

__all__ = ["ACTIVATE", "SingleInstance", "instance_key"]

log = logging.getLogger(__name__)

ACTIVATE = b"activate\n"
CONNECT_MS = 1000


def instance_key(settings_path: str) -> str:
    """A name unique to this user and settings file (no path separators)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    digest = hashlib.sha1(f"{user}\0{settings_path}".encode()).hexdigest()[:16]
    return f"{APP_ID}-{digest}"


class SingleInstance(QObject):
    """Signals:
    activation_requested(): another launch asked this instance to come forward.
    """

    activation_requested = Signal()

    def __init__(self, key: str, lock_dir: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.key = key
        folder = lock_dir if lock_dir is not None else Path(QDir.tempPath())
        self.lock_path = folder / f"{key}.lock"
        self._lock = QLockFile(str(self.lock_path))
        self._lock.setStaleLockTime(0)  # stale only when the owner process is gone
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """Become the running instance; False when another one already is."""
        if not self._lock.tryLock(0):
            if self._lock.error() == QLockFile.LockError.LockFailedError:
                return False
            raise OSError(f"cannot create the lock file {self.lock_path}")
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(self.key)  # a crashed instance may have left it
        if not server.listen(self.key):
            log.warning("single instance: cannot listen on %s: %s", self.key,
                        server.errorString())
        server.newConnection.connect(self.on_new_connection)
        self._server = server
        return True

    def ask_running_instance(self) -> bool:
        """Ask the running instance to show itself; True when it was reached."""
        socket = QLocalSocket()
        socket.connectToServer(self.key)
        if not socket.waitForConnected(CONNECT_MS):
            return False
        socket.write(ACTIVATE)
        ok = socket.waitForBytesWritten(CONNECT_MS)
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(CONNECT_MS)
        return ok

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

    @Slot()
    def on_new_connection(self) -> None:
        server = self._server
        if server is None:
            return
        while server.hasPendingConnections():
            socket = server.nextPendingConnection()
            socket.readyRead.connect(self.on_ready_read)
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                self._read(socket)

    @Slot()
    def on_ready_read(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        data = bytes(socket.readAll().data())
        if ACTIVATE.strip() in data:
            self.activation_requested.emit()
