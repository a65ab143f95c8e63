"""User accounts: names, token hashes and workspace memberships.

:class:`Accounts` is the one place that changes them. The admin routes and
the local ``lattice-rt user`` commands both call these methods, so the rules
(an existing name is not silently re-created, a renewed token replaces the old
one at once, names follow the API's one rule) hold whichever way an admin comes
in. The storage is the project's SQLite file; nothing outside this class
knows its tables.

Only a SHA-256 of each user token is stored; a token is shown once, when it is
made (:meth:`Accounts.add_user`, :meth:`Accounts.renew`).

:class:`AccountStore` is how the server uses accounts (coroutines, so a
cluster's can live in Redis: redis_accounts.py); :class:`LocalAccountStore`
is this SQLite one behind it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, TypeVar

from lattice_rt_core.engines.base import Unavailable
from lattice_rt_core.engines.identity import new_token
from lattice_rt_core.engines.local.journal import JournalError, open_db
from lattice_rt_core.protocol.accounts import (
    NoSuchUser,
    UserExists,
    check_name,
    check_unlike,
    workspaces_of,
)

T = TypeVar("T")

__all__ = [
    "AccountStore",
    "Accounts",
    "LocalAccountStore",
    "token_digest",
]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS memberships (
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    PRIMARY KEY (user, workspace_id)
);
CREATE TABLE IF NOT EXISTS account_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT OR IGNORE INTO account_version (id, n) VALUES (1, 0);
"""

# every change moves it, in the change's transaction: servers poll it to end the
# open streams of a token that was removed or renewed (see Accounts.version)
_BUMP = "UPDATE account_version SET n = n + 1 WHERE id = 1"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Accounts:
    """Users, their token hashes and workspace memberships (SQLite). Thread-safe."""

    def __init__(self, db_path: Path, *, read_only: bool = False) -> None:
        """Open (creating if needed) the accounts in ``db_path``.

        ``read_only``: open an existing file without ever writing to it (a
        read-only data directory); every change then fails.
        """
        if read_only:
            uri = f"{Path(db_path).resolve().as_uri()}?mode=ro&immutable=1"
            try:
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
                self._conn.execute("SELECT 1 FROM users LIMIT 1").fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"{db_path}: {exc}") from exc
        else:
            self._conn = open_db(db_path)
            self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    # ---------------------------------------------------------------- changes
    def add_user(self, name: str, workspaces: Iterable[str] = ()) -> str:
        """Create ``name`` with these workspaces; returns its token.

        Raises :class:`UserExists` when the name is taken: re-adding must not
        replace the token of someone who uses it (see :meth:`grant`, :meth:`renew`).
        """
        check_name("user name", name)
        spaces = workspaces_of(workspaces)
        token = new_token()
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            if self._exists(name):
                raise UserExists(f"user {name!r} already exists")
            check_unlike(name, (row[0] for row in self._conn.execute("SELECT name FROM users")))
            self._conn.execute(
                "INSERT INTO users (name, token_sha256) VALUES (?, ?)", (name, token_digest(token))
            )
            self._insert_memberships(name, spaces)
            self._conn.execute(_BUMP)
        return token

    def grant(self, name: str, workspaces: Iterable[str]) -> set[str]:
        """Add workspaces to ``name``; returns all of its workspaces."""
        spaces = workspaces_of(workspaces)
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._require(name)
            self._insert_memberships(name, spaces)
            self._conn.execute(_BUMP)
            return self._memberships(name)

    def revoke(self, name: str, workspaces: Iterable[str]) -> set[str]:
        """Take workspaces from ``name`` (ones it lacks are ignored); returns what is left."""
        spaces = workspaces_of(workspaces)
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._require(name)
            self._conn.executemany(
                "DELETE FROM memberships WHERE user = ? AND workspace_id = ?",
                [(name, ws) for ws in spaces],
            )
            self._conn.execute(_BUMP)
            return self._memberships(name)

    def renew(self, name: str) -> str:
        """A new token for ``name``; the old one stops working with this commit."""
        token = new_token()
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._require(name)
            self._conn.execute(
                "UPDATE users SET token_sha256 = ? WHERE name = ?", (token_digest(token), name)
            )
            self._conn.execute(_BUMP)
        return token

    def remove_user(self, name: str) -> None:
        """Delete ``name``, its token and its memberships."""
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._require(name)
            self._conn.execute("DELETE FROM memberships WHERE user = ?", (name,))
            self._conn.execute("DELETE FROM users WHERE name = ?", (name,))
            self._conn.execute(_BUMP)

    # ---------------------------------------------------------------- lookups
    def users(self) -> dict[str, set[str]]:
        """Every user and its workspaces."""
        with self._lock:
            names = [r[0] for r in self._conn.execute("SELECT name FROM users ORDER BY name")]
            rows = self._conn.execute("SELECT user, workspace_id FROM memberships").fetchall()
        out: dict[str, set[str]] = {n: set() for n in names}
        for user, ws in rows:
            out.setdefault(user, set()).add(ws)
        return out

    def user_for_token(self, token: str) -> str | None:
        return self.user_for_digest(token_digest(token))

    def user_for_digest(self, digest: str) -> str | None:
        """The user whose token has this SHA-256 (hex), or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT name FROM users WHERE token_sha256 = ?", (digest,)
            ).fetchone()
        return None if row is None else str(row[0])

    def version(self) -> int:
        """A number every change moves, whichever connection or process made it.

        0 for a database from before versions (read-only, so never changed here).
        """
        try:
            with self._lock:
                row = self._conn.execute(
                    "SELECT n FROM account_version WHERE id = 1").fetchone()
        except sqlite3.OperationalError:
            return 0
        return 0 if row is None else int(row[0])

    def allowed_scopes(self, user: str) -> set[str]:
        """The workspaces ``user`` belongs to.

        The reference falls back to ``None`` (see everything) when resolution
        fails; here a failure fails closed: the empty set, which still
        delivers unscoped events but no workspace's.
        """
        try:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT workspace_id FROM memberships WHERE user = ?", (user,)
                ).fetchall()
        except sqlite3.Error as exc:
            log.error("cannot resolve the workspaces of %r: %s", user, exc)
            return set()
        return {str(r[0]) for r in rows if r[0]}

    # ---------------------------------------------------------------- helpers
    def _exists(self, name: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
        return row is not None

    def _require(self, name: str) -> None:
        if not self._exists(name):
            raise NoSuchUser(f"no user named {name!r}")

    def _insert_memberships(self, name: str, spaces: list[str]) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO memberships (user, workspace_id) VALUES (?, ?)",
            [(name, ws) for ws in spaces],
        )

    def _memberships(self, name: str) -> set[str]:
        rows = self._conn.execute(
            "SELECT workspace_id FROM memberships WHERE user = ?", (name,)
        ).fetchall()
        return {str(r[0]) for r in rows}


class AccountStore(Protocol):
    """The accounts as the server uses them: these methods, as coroutines.

    :class:`LocalAccountStore` (SQLite, this data directory) and
    :class:`~lattice_rt_core.auth.redis_accounts.RedisAccounts` (a cluster's, in Redis) implement
    it: the admin routes and the authenticator never know which.
    """

    async def add_user(self, name: str, workspaces: Iterable[str] = ()) -> str: ...

    async def grant(self, name: str, workspaces: Iterable[str]) -> set[str]: ...

    async def revoke(self, name: str, workspaces: Iterable[str]) -> set[str]: ...

    async def renew(self, name: str) -> str: ...

    async def remove_user(self, name: str) -> None: ...

    async def users(self) -> dict[str, set[str]]: ...

    async def lookup_token(self, token: str) -> tuple[str, frozenset[str]] | None:
        """The user holding ``token`` and their workspaces, or None."""
        ...

    async def lookup_credential(self, digest: str) -> tuple[str, frozenset[str]] | None:
        """The same for the token whose SHA-256 is ``digest`` (a :func:`token_digest`)."""
        ...

    async def version(self) -> int:
        """A number that every change of the accounts moves, on every node."""
        ...

    async def scopes_of(self, user: str) -> frozenset[str]:
        """The workspaces of ``user`` now (empty when unknown: fails closed)."""
        ...


class LocalAccountStore:
    """:class:`AccountStore` over :class:`Accounts`, every call on a worker thread.

    SQLite answers in microseconds, except when another connection holds the
    database (a ``lattice-rt user`` command, a backup): a change then waits up
    to the busy timeout (10 s). On the event loop that wait would freeze the
    whole server, health checks and streams included; on a thread it delays
    only the requests that need the accounts. A database that refuses a change
    (read-only, full, still locked) is a
    :class:`~lattice_rt_core.engines.base.Unavailable`, as an unreachable Redis is.
    """

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    async def _change(self, change: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(change)
        except sqlite3.Error as exc:
            raise Unavailable(f"the accounts cannot be changed: {exc}") from None

    async def add_user(self, name: str, workspaces: Iterable[str] = ()) -> str:
        return await self._change(lambda: self.accounts.add_user(name, workspaces))

    async def grant(self, name: str, workspaces: Iterable[str]) -> set[str]:
        return await self._change(lambda: self.accounts.grant(name, workspaces))

    async def revoke(self, name: str, workspaces: Iterable[str]) -> set[str]:
        return await self._change(lambda: self.accounts.revoke(name, workspaces))

    async def renew(self, name: str) -> str:
        return await self._change(lambda: self.accounts.renew(name))

    async def remove_user(self, name: str) -> None:
        await self._change(lambda: self.accounts.remove_user(name))

    async def users(self) -> dict[str, set[str]]:
        return await asyncio.to_thread(self.accounts.users)

    async def lookup_token(self, token: str) -> tuple[str, frozenset[str]] | None:
        return await self.lookup_credential(token_digest(token))

    async def lookup_credential(self, digest: str) -> tuple[str, frozenset[str]] | None:
        # a lookup takes the lock a waiting change holds: off the loop too
        return await asyncio.to_thread(self._lookup, digest)

    async def version(self) -> int:
        return await asyncio.to_thread(self.accounts.version)

    def _lookup(self, digest: str) -> tuple[str, frozenset[str]] | None:
        user = self.accounts.user_for_digest(digest)
        if user is None:
            return None
        return user, frozenset(self.accounts.allowed_scopes(user))

    async def scopes_of(self, user: str) -> frozenset[str]:
        return frozenset(await asyncio.to_thread(self.accounts.allowed_scopes, user))
