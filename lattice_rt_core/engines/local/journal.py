"""The durable journal: every published event, by seq, in SQLite (WAL).

Writes happen on one writer thread, so ``append()`` (called by the bus under
its lock) costs a list append and never waits on the disk. The writer commits
in batches; after each commit it reports the highest durable seq through
``on_durable`` and resolves the futures returned by ``durable()``. The bus only
lets subscribers see events once they are durable, so an id a client has seen
is always in the journal (until retention drops it).

A batch the disk refuses (full, or failing) is *refused*: ``on_refused`` names
its seqs, the bus drops them unseen and their futures fail. Its seqs are never
handed out again, even after a kill -9: every commit also writes ``reserved``
to ``meta``, a high-water mark a block (``reserve``) ahead of the last seq
handed out, and the next run starts above it. The bus hands out no seq past
the durable mark while writes fail. Refused ranges are kept in ``skipped``
(with the next commit), so a resume passes over them as it passes over seqs
that were never used, without a gap. A failed commit is read back before it
is reported: what the file holds is what the answer says.

Idempotency keys (``idempotency``) are written in the same transaction as
their events, with the answer to return to a retry within the window.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lattice_rt_core.engines.fanout import merged_ranges
from lattice_rt_core.engines.identity import new_epoch
from lattice_rt_core.protocol.defaults import DEFAULT_RETENTION, IDEMPOTENCY_WINDOW

__all__ = ["RESERVE_BLOCK", "Journal", "JournalError", "JournalState", "open_db"]

log = logging.getLogger(__name__)

_TRIM_EVERY = 64  # commits between retention trims
#: seqs reserved ahead of the last one handed out (at least two full POST batches;
#: below the ring's size, so the jump after a kill -9 stays inside it)
RESERVE_BLOCK = 2048
_REFUSED_KEPT = 256  # refused ranges remembered in memory (answers, durable())

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    workspace_id TEXT,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS skipped (lo INTEGER PRIMARY KEY, hi INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    answer TEXT NOT NULL,
    created REAL NOT NULL
);
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
    #: seqs handed out but never stored (refused, or above the last row after a
    #: kill -9, up to the reservation), ascending (lo, hi); the next seq is above
    skipped: list[tuple[int, int]] = field(default_factory=list)

    @property
    def top(self) -> int:
        """The highest seq ever handed out (or reserved): the next one is above it."""
        return max(self.last_seq, self.skipped[-1][1] if self.skipped else 0)


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
    """Durable, retention-capped event log with a background writer thread.

    ``reserve``: how far ahead of the last seq handed out the durable
    high-water mark is kept (see the module's docstring). ``window``: seconds
    an idempotency key is remembered.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        retention: int = DEFAULT_RETENTION,
        reserve: int = RESERVE_BLOCK,
        window: float = IDEMPOTENCY_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if retention < 1:
            raise ValueError("journal retention must be at least 1")
        if reserve < 1:
            raise ValueError("the seq reservation must be at least 1")
        self.path = Path(path)
        self.retention = retention
        self.reserve_block = reserve
        self.window = window
        self._clock = clock
        self.on_durable: Callable[[int], None] | None = None
        #: called with (lo, hi) of a refused batch, before its futures fail
        self.on_refused: Callable[[int, int], None] | None = None
        self.degraded: str | None = None  # why writes fail, when they do
        self._conn = open_db(self.path)
        self._reader: sqlite3.Connection | None = None  # idempotency lookups
        self._reader_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: list[tuple[int, str | None, str]] = []
        self._pending_keys: list[tuple[str, str, str, float]] = []
        self._reserve_waiters: list[concurrent.futures.Future[bool]] = []
        self._waiters: list[tuple[int, concurrent.futures.Future[None]]] = []
        self._durable_seq = 0  # the last seq committed
        self._processed = 0  # the last seq whose batch was written or refused
        self._appended_seq = 0  # the last seq handed to append(), committed or not
        #: no seq above it was ever handed out, by this run or an earlier one (durable)
        self.reserved = 0
        self._refused: list[tuple[int, int]] = []  # recent refused ranges (memory)
        self._unsaved: list[tuple[int, int]] = []  # refused ranges not yet in ``skipped``
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
        """Read the last seq, retained events and skipped seqs, then mark the journal
        in use and reserve the next block of seqs."""
        try:
            row = self._conn.execute("SELECT MAX(seq) FROM events").fetchone()
            meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
            last = max(int(row[0] or 0), int(meta.get("last_seq", 0)))
            n = self.retention if limit is None else min(limit, self.retention)
            rows = self._conn.execute(
                "SELECT seq, workspace_id, data FROM events ORDER BY seq DESC LIMIT ?", (n,)
            ).fetchall()
            skipped = [(int(lo), int(hi)) for lo, hi in self._conn.execute(
                "SELECT lo, hi FROM skipped WHERE hi > ? ORDER BY lo",
                (last - self.retention,))]
            reserved = int(meta.get("reserved", 0))
            if reserved > last:  # handed out (or only reserved) and never stored
                skipped.append((last + 1, reserved))
            clean = meta.get("clean_shutdown", "1") == "1"
            epoch = meta.get("epoch") or new_epoch()
            top = max(last, reserved)
            self._set_meta(clean_shutdown="0", epoch=epoch,
                           reserved=str(top + self.reserve_block))
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path}: {exc}", corrupt=_is_corrupt(exc)) from exc
        self._durable_seq = last
        self._processed = self._appended_seq = top
        self.reserved = top + self.reserve_block
        rows.reverse()
        return JournalState(last, [(int(s), w, d) for s, w, d in rows], clean, epoch,
                            merged_ranges(skipped))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
            self._thread.start()

    # -- producer side (any thread, never blocks on disk) -----------------
    def append(self, seq: int, workspace_id: str | None, data: str) -> None:
        self.append_many([(seq, workspace_id, data)])

    def append_many(
        self,
        rows: list[tuple[int, str | None, str]],
        key: tuple[str, str, str] | None = None,
    ) -> None:
        """Queue ``rows`` (ascending seqs) to be written in one transaction, with
        the idempotency ``key`` (key, fingerprint, answer) if any: all or none."""
        if not rows:
            return
        with self._cond:
            self._pending.extend(rows)
            if key is not None:
                self._pending_keys.append((*key, self._clock()))
            self._appended_seq = rows[-1][0]
            self._cond.notify()

    def reserve_now(self) -> concurrent.futures.Future[bool]:
        """Ask the writer to extend the reservation now; True once it is durable."""
        fut: concurrent.futures.Future[bool] = concurrent.futures.Future()
        with self._cond:
            self._reserve_waiters.append(fut)
            self._cond.notify()
        return fut

    def durable(self, seq: int) -> concurrent.futures.Future[None]:
        """A future that resolves once ``seq`` is committed; it fails with a
        :class:`JournalError` if ``seq``'s batch was refused."""
        fut: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._cond:
            if seq <= self._processed:
                refused = self._refused_at(seq)
                if refused is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(JournalError(refused))
            else:
                self._waiters.append((seq, fut))
        return fut

    def _refused_at(self, seq: int) -> str | None:
        for lo, hi in self._refused:
            if lo <= seq <= hi:
                return self.degraded or "journal write failed"
        return None

    @property
    def durable_seq(self) -> int:
        return self._durable_seq

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until everything appended so far is written (False: refused, or late).

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

    def lookup(self, key: str) -> tuple[str, str] | None:
        """(fingerprint, answer) of an idempotency key used within the window (any thread;
        its own connection, so it never waits on the writer)."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = sqlite3.connect(self.path, timeout=10.0,
                                               check_same_thread=False)
            row = self._reader.execute(
                "SELECT fingerprint, answer FROM idempotency WHERE key = ? AND created >= ?",
                (key, self._clock() - self.window),
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

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
                self._save_skipped()
            # nothing past the last seq handed out was used: the next run goes on from it
            self._set_meta(clean_shutdown="1", last_seq=str(self._durable_seq),
                           reserved=str(self._appended_seq))
        except sqlite3.Error as exc:
            log.warning("journal: could not record a clean shutdown: %s", exc)
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        self._conn.close()

    # -- writer thread -----------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._pending or self._reserve_waiters) and not self._closing:
                    self._cond.wait()
                if not (self._pending or self._reserve_waiters) and self._closing:
                    return
            self._write_pending()

    def _write_pending(self) -> None:
        with self._cond:
            batch, self._pending = self._pending, []
            keys, self._pending_keys = self._pending_keys, []
            reserving, self._reserve_waiters = self._reserve_waiters, []
            reserve = max(self.reserved, self._appended_seq + self.reserve_block)
        if not batch and not reserving:
            return
        error: str | None = None
        try:
            self._commit(batch, keys, reserve)
        except sqlite3.Error as exc:
            error = f"journal write failed: {exc}"
        if error is not None and self._settled(batch, reserve):
            log.warning("journal: %s, but the batch is in the file", error)
            error = None
        if error is not None and self.degraded is None:
            log.error("%s; events are refused (not delivered) until it writes again", error)
        with self._cond:
            self.degraded = error
            if error is None:
                self.reserved = reserve
                self._unsaved = []
        for fut in reserving:
            fut.set_result(error is None)
        if batch:
            self._settle(batch[0][0], batch[-1][0], error)

    def _commit(
        self,
        batch: list[tuple[int, str | None, str]],
        keys: list[tuple[str, str, str, float]],
        reserve: int,
    ) -> None:
        """One transaction: the events, their keys, the refused ranges, the reservation."""
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                "INSERT OR REPLACE INTO events (seq, workspace_id, data) VALUES (?, ?, ?)",
                batch,
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO idempotency (key, fingerprint, answer, created) "
                "VALUES (?, ?, ?, ?)", keys,
            )
            self._save_skipped()
            self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('reserved', ?)",
                               (str(reserve),))
            self._commits += 1
            top = batch[-1][0] if batch else self._durable_seq
            if self._commits % _TRIM_EVERY == 0 or len(batch) >= self.retention:
                self._conn.execute("DELETE FROM events WHERE seq <= ?", (top - self.retention,))
                self._conn.execute("DELETE FROM skipped WHERE hi <= ?", (top - self.retention,))
                self._conn.execute("DELETE FROM idempotency WHERE created < ?",
                                   (self._clock() - self.window,))

    def _save_skipped(self) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO skipped (lo, hi) VALUES (?, ?)",
                               self._unsaved)

    def _settled(self, batch: list[tuple[int, str | None, str]], reserve: int) -> bool:
        """After a failed commit: did the transaction land all the same? (It is atomic.)"""
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            row = self._conn.execute(
                "SELECT value FROM meta WHERE key = 'reserved'").fetchone()
            if row is None or int(row[0]) != reserve:
                return False
            if not batch:
                return True
            lo, hi = batch[0][0], batch[-1][0]
            count = self._conn.execute(
                "SELECT COUNT(*) FROM events WHERE seq BETWEEN ? AND ?", (lo, hi)).fetchone()
            return int(count[0]) == hi - lo + 1
        except sqlite3.Error:
            return False

    def _settle(self, lo: int, hi: int, error: str | None) -> None:
        """Report the batch lo..hi (written, or refused) and answer its futures."""
        if error is None:
            if self.on_durable is not None:
                # visible first, then answered (durable_seq, flush(), futures):
                # whoever is told "stored" can read it
                self.on_durable(hi)
        else:
            with self._cond:
                self._refused = merged_ranges([*self._refused, (lo, hi)])[-_REFUSED_KEPT:]
                self._unsaved = merged_ranges([*self._unsaved, (lo, hi)])
            if self.on_refused is not None:
                self.on_refused(lo, hi)  # dropped unseen before anyone is answered
        with self._cond:
            if error is None:
                self._durable_seq = hi
            self._processed = hi
            ready = [(s, f) for s, f in self._waiters if s <= hi]
            self._waiters = [(s, f) for s, f in self._waiters if s > hi]
        for seq, fut in ready:
            refused = self._refused_at(seq) if seq < lo else error
            if refused is None:
                fut.set_result(None)
            else:
                fut.set_exception(JournalError(refused))

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
