"""Browser sessions that outlive the server's process, in a file of the data dir.

The embedded endpoint restarts with the app; a page signed in before must not
be signed out by that (issue 22, item 4). :class:`FileSessions` keeps browser
sessions (kind ``"session"``) in ``sessions.json`` (mode 0600, written
atomically) and launch codes (60 s, single use) in memory only, as before.

What the file holds is no credential: each session is there by the SHA-256 of
its id, with its user, its wall-clock expiry and the digest of the token that
minted it, so revocation still ends it at once (:meth:`Authenticator.recheck`
reads that token's account on every use). The owner's sessions name the owner
token's digest: a new owner token (``owner.token`` deleted) ends them all. At
most :data:`MAX_SESSIONS` are kept, the newest. A file that cannot be written
(a full disk, a read-only directory) leaves the session working until the
process ends, with a warning; a file that cannot be read is started afresh.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lattice_rt_core.auth.accounts import token_digest
from lattice_rt_core.auth.callers import MemorySessions, Principal
from lattice_rt_core.paths import write_private_json

__all__ = ["MAX_SESSIONS", "SESSIONS_FILE", "FileSessions"]

log = logging.getLogger(__name__)

SESSIONS_FILE = "sessions.json"
#: browser sessions kept; a new one beyond that drops the one that expires first
MAX_SESSIONS = 256
_KIND = "session"
_FORMAT = 1


class FileSessions:
    """:class:`~lattice_rt_core.auth.callers.SessionStore` whose sessions survive a restart.

    ``owner_token``: the token the owner's sessions belong to; ``clock``: wall
    seconds (an expiry must mean the same after a restart).
    """

    def __init__(self, path: Path, owner_token: str | None,
                 clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._owner = token_digest(owner_token) if owner_token else ""
        self._clock = clock
        self._codes = MemorySessions(time.monotonic)
        self._lock = threading.Lock()
        self._sessions, dropped = self._load()
        if dropped:  # what expired or was the owner's before is gone from the file too
            self._save()

    async def put(self, kind: str, key: str, principal: Principal, ttl: float) -> None:
        if kind != _KIND:
            await self._codes.put(kind, key, principal, ttl)
            return
        with self._lock:
            now = self._clock()
            live = {k: v for k, v in self._sessions.items() if v["expires"] > now}
            live[token_digest(key)] = {
                "user": principal.user,
                "owner": principal.owner,
                "credential": self._owner if principal.owner else principal.credential,
                "expires": now + ttl,
            }
            if len(live) > MAX_SESSIONS:
                kept = sorted(live.items(), key=lambda item: item[1]["expires"])[-MAX_SESSIONS:]
                live = dict(kept)
            self._sessions = live
            self._save()

    async def get(self, kind: str, key: str, *, consume: bool) -> Principal | None:
        if kind != _KIND:
            return await self._codes.get(kind, key, consume=consume)
        digest = token_digest(key)
        with self._lock:
            entry = self._sessions.get(digest)
            if entry is None:
                return None
            expired = entry["expires"] <= self._clock()
            if expired or consume:
                del self._sessions[digest]
                self._save()
            if expired:
                return None
        return _principal(entry)

    # ------------------------------------------------------------------ file
    def _load(self) -> tuple[dict[str, dict[str, Any]], bool]:
        """The live sessions of the file, and whether it held others."""
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}, False
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s): browser sessions start afresh", self._path, exc)
            return {}, False
        if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(
                rows := data.get("sessions"), dict):
            log.warning("%s is not a sessions file of this version: ignored", self._path)
            return {}, False
        now = self._clock()
        kept = {}
        for digest, entry in rows.items():
            if not _valid(entry) or entry["expires"] <= now:
                continue
            if entry["owner"] and (not self._owner or entry["credential"] != self._owner):
                continue  # the owner token is another now
            kept[digest] = entry
        return kept, len(kept) < len(rows)

    def _save(self) -> None:
        try:
            write_private_json(self._path, {"format": _FORMAT, "sessions": self._sessions})
        except OSError as exc:
            log.warning("cannot write %s (%s): browser sessions signed in now end when "
                        "this server stops", self._path, exc)


def _valid(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("user"), str)
        and isinstance(entry.get("owner"), bool)
        and isinstance(entry.get("credential"), (str, type(None)))
        and isinstance(entry.get("expires"), (int, float))
    )


def _principal(entry: dict[str, Any]) -> Principal:
    if entry["owner"]:
        return Principal(entry["user"], None, owner=True)
    # the scope is read again on every use (Authenticator.recheck)
    return Principal(entry["user"], frozenset(), credential=entry["credential"])
