"""One server per data directory: an exclusive OS lock held for the server's life.

Two servers on one directory would both hand out the next seq from the same
journal. So a server locks ``server.lock`` in the directory (``flock`` on
Linux and macOS, straight from :mod:`fcntl`; ``LockFileEx`` on Windows,
through :mod:`filelock`, which costs the endpoint 2 MB and 10 ms) before
it opens anything else there, and keeps it until it has stopped. The OS
releases the lock when the process dies, however it dies, so a crashed
server never blocks the next one.

Only the holder writes and removes ``server.json``; a refused server reads
it to say which server holds the directory.

The lock is on a file, so deleting the directory (``rm -rf``) takes the lock
with it: another server may then make the directory again and lock it. A
server therefore watches the files it holds open there (:class:`DataDirWatch`)
and stops taking events once they are no longer the ones at those paths.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lattice_rt_core.paths import LOCK_FILE, read_server_info

__all__ = ["DataDirInUse", "DataDirLock", "DataDirWatch"]


class DataDirInUse(Exception):
    """Another server holds the data directory; the message names it."""


class DataDirLock:
    """The exclusive lock on one data directory (not re-entrant, not shared)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_FILE
        self._fd: int | None = None  # the locked file, open while held (POSIX)
        self._windows: Any = None  # a filelock.FileLock (Windows)

    def acquire(self) -> None:
        """Take the lock without waiting.

        Raises :class:`DataDirInUse` when another server holds it and
        ``OSError`` when the lock file cannot be created or opened.
        """
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            self._acquire_windows()
            return
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by children
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirInUse(self._who()) from None
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def _acquire_windows(self) -> None:  # pragma: no cover - Windows only
        from filelock import FileLock, Timeout

        lock = FileLock(self.path, mode=0o600, thread_local=False, is_singleton=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise DataDirInUse(self._who()) from None
        self._windows = lock

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the file lets the lock go
        lock, self._windows = self._windows, None
        if lock is not None:  # pragma: no cover - Windows only
            lock.release(force=True)

    def _who(self) -> str:
        info = read_server_info(self.data_dir)
        pid = info.get("pid") if info is not None else None
        if info is None or not isinstance(pid, int):
            holder = "another lattice-rt server (still starting, or serving without server.json)"
        else:
            holder = f"the lattice-rt server at {info['url']} (pid {pid})"
        return (
            f"data directory {self.data_dir} is in use by {holder}; stop it first, "
            "or give this one another --data-dir"
        )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class DataDirWatch:
    """Are the files this server holds open in its data directory still there?

    Each file (the lock file, the database) is held open by the server, so
    its inode cannot be reused while the server runs: a path that names
    another inode, or nothing, was removed or replaced. Two ``stat`` calls,
    cheap enough for every publish. Once lost, always lost (a directory made
    again is not this server's).
    """

    def __init__(self, data_dir: Path, files: Iterable[Path], *,
                 consequence: str = "it cannot keep events any more; restart it") -> None:
        self.data_dir = Path(data_dir)
        self._files = {Path(f): _identity(Path(f)) for f in files}
        self._consequence = consequence
        self._lost: str | None = None

    def lost(self) -> str | None:
        """Why this server can no longer keep events there, or None while it can."""
        if self._lost is None:
            for path, identity in self._files.items():
                if identity is not None and _identity(path) != identity:
                    self._lost = (
                        f"the data directory {self.data_dir} was removed or replaced under "
                        f"this server: {self._consequence}")
                    break
        return self._lost
