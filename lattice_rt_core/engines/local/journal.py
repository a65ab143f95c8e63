"""The durable journal: every published event, by seq, in SQLite (WAL).

Writes happen on one writer thread, so ``append()`` (called by the bus under
its lock) costs a list append and never waits on the disk. The writer commits
in batches; after each commit it reports the highest durable seq through
``on_durable`` and resolves the futures returned by ``durable()``. The bus only
lets subscribers see events once they are durable, so an id a client has seen
is always in the journal (until retention drops it) and a seq is never handed
out twice, even after a kill -9.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lattice_rt_core.engines.identity import new_epoch
from lattice_rt_core.protocol.defaults import DEFAULT_RETENTION

__all__ = ["Journal", "JournalError", "JournalState", "open_db"]

log = logging.getLogger(__name__)

_TRIM_EVERY = 64  # commits between retention trims

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    workspace_id TEXT,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class JournalError(RuntimeError):
    """The journal file cannot be used (unreadable, corrupt, not a database).

    ``corrupt`` is True only when the file itself is damaged or not SQLite
    (moving it aside helps), not when it merely cannot be written.
    """

    def __init__(self, message: str, *, corrupt: bool = False) -> None:
        super().__init__(message)
        self.corrupt = corrupt


_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def _is_corrupt(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "not a database" in text or "malformed" in text


@dataclass(slots=True)
class JournalState:
    last_seq: int
    #: retained events, oldest first, as (seq, workspace_id, json text)
    events: list[tuple[int, str | None, str]] = field(default_factory=list)
    clean_shutdown: bool = True
    #: the data epoch: made when the journal starts from nothing, then kept
    epoch: str = ""


def open_db(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the project's SQLite file in WAL mode.

    The file is created with mode 0600 before SQLite opens it: SQLite gives
    the ``-wal`` and ``-shm`` files it creates the database file's mode, so
    they are private from the first byte too.
    """
    _create_private(path)
    try:
        conn = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:  # e.g. unable to open database file
        raise JournalError(f"{path}: {exc}", corrupt=False) from exc
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a process kill
        conn.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise JournalError(f"{path}: {exc}", corrupt=_is_corrupt(exc)) from exc
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if name.stat().st_mode & 0o077:
                os.chmod(name, 0o600)
        except OSError:
            pass
    return conn


def _create_private(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return  # exists already, or cannot be created: SQLite says why
    os.close(fd)


class Journal:
    """Durable, retention-capped event log with a background writer thread."""

    def __init__(self, path: Path | str, *, retention: int = DEFAULT_RETENTION) -> None:
        if retention < 1:
            raise ValueError("journal retention must be at least 1")
        self.path = Path(path)
        self.retention = retention
        self.on_durable: Callable[[int], None] | None = None
        self.degraded: str | None = None  # why writes fail, when they do
        self._conn = open_db(self.path)
        self._cond = threading.Condition()
        self._pending: list[tuple[int, str | None, str]] = []
        self._waiters: list[tuple[int, concurrent.futures.Future[None]]] = []
        self._durable_seq = 0
        self._appended_seq = 0  # the last seq handed to append(), committed or not
        self._commits = 0
        self._closing = False
        self._thread: threading.Thread | None = None

    # -- startup ---------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`JournalError` (``corrupt=True``) if SQLite finds the file damaged."""
        try:
            rows = self._conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path}: {exc}", corrupt=_is_corrupt(exc)) from exc
        if rows != [("ok",)]:
            raise JournalError(f"{self.path}: {rows[0][0] if rows else 'check failed'}",
                               corrupt=True)

    def discard(self) -> None:
        """Close the file without writing to it (a journal that failed :meth:`check`)."""
        self._conn.close()

    def load(self, limit: int | None = None) -> JournalState:
        """Read the last seq and retained events, then mark the journal in use."""
        try:
            row = self._conn.execute("SELECT MAX(seq) FROM events").fetchone()
            meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
            last = max(int(row[0] or 0), int(meta.get("last_seq", 0)))
            n = self.retention if limit is None else min(limit, self.retention)
            rows = self._conn.execute(
                "SELECT seq, workspace_id, data FROM events ORDER BY seq DESC LIMIT ?", (n,)
            ).fetchall()
            clean = meta.get("clean_shutdown", "1") == "1"
            epoch = meta.get("epoch") or new_epoch()
            self._set_meta(clean_shutdown="0", epoch=epoch)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path}: {exc}", corrupt=_is_corrupt(exc)) from exc
        self._durable_seq = last
        rows.reverse()
        return JournalState(last, [(int(s), w, d) for s, w, d in rows], clean, epoch)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
            self._thread.start()

    # -- producer side (any thread, never blocks on disk) -----------------
    def append(self, seq: int, workspace_id: str | None, data: str) -> None:
        with self._cond:
            self._pending.append((seq, workspace_id, data))
            self._appended_seq = seq
            if len(self._pending) == 1:
                self._cond.notify()

    def durable(self, seq: int) -> concurrent.futures.Future[None]:
        """A future that resolves once ``seq`` is committed (fails if it cannot be)."""
        fut: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._cond:
            if seq <= self._durable_seq:
                fut.set_result(None)
            elif self.degraded is not None:
                fut.set_exception(JournalError(self.degraded))
            else:
                self._waiters.append((seq, fut))
        return fut

    @property
    def durable_seq(self) -> int:
        return self._durable_seq

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until everything appended so far is committed.

        The target is the last seq appended, not the last one still pending:
        the writer takes a batch out of ``_pending`` before it commits it, and
        a flush in between must wait for that batch too.
        """
        with self._cond:
            target = self._appended_seq
        if target <= self._durable_seq:
            return True
        try:
            self.durable(target).result(timeout)
        except (concurrent.futures.TimeoutError, JournalError):
            return False
        return True

    def close(self) -> None:
        """Commit what is pending, record a clean shutdown and stop the writer."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        else:
            self._write_pending()
        try:
            with self._conn:
                self._conn.execute("BEGIN")
                self._conn.execute(
                    "DELETE FROM events WHERE seq <= ?", (self._durable_seq - self.retention,)
                )
            self._set_meta(clean_shutdown="1", last_seq=str(self._durable_seq))
        except sqlite3.Error as exc:
            log.warning("journal: could not record a clean shutdown: %s", exc)
        self._conn.close()

    # -- writer thread -----------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending and self._closing:
                    return
            self._write_pending()

    def _write_pending(self) -> None:
        with self._cond:
            batch, self._pending = self._pending, []
        if not batch:
            return
        top = batch[-1][0]
        error: str | None = None
        try:
            with self._conn:  # one transaction per batch
                self._conn.execute("BEGIN")
                self._conn.executemany(
                    "INSERT OR REPLACE INTO events (seq, workspace_id, data) VALUES (?, ?, ?)",
                    batch,
                )
                self._commits += 1
                if self._commits % _TRIM_EVERY == 0 or len(batch) >= self.retention:
                    self._conn.execute(
                        "DELETE FROM events WHERE seq <= ?", (top - self.retention,)
                    )
        except sqlite3.Error as exc:
            error = f"journal write failed: {exc}"
            if self.degraded is None:
                log.error("%s; events are delivered but no longer persisted", error)
        with self._cond:
            self.degraded = error if error is not None else None
        if self.on_durable is not None:
            # Delivery goes on even when the disk refuses: loss of durability
            # is reported (stats, POST answers), loss of the live view is not.
            # Visible first, then answered (durable_seq, flush(), futures):
            # whoever is told "stored" can read it.
            self.on_durable(top)
        with self._cond:
            self._durable_seq = top
            ready = [(s, f) for s, f in self._waiters if s <= top]
            self._waiters = [(s, f) for s, f in self._waiters if s > top]
        for _, fut in ready:
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(JournalError(error))

    def _set_meta(self, **values: str) -> None:
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items())
            )

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "retention": self.retention, "degraded": self.degraded}


def decode(data: str) -> dict[str, Any]:
    value = json.loads(data)
    return value if isinstance(value, dict) else {"payload": value}
