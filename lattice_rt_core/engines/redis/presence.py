"""Presence in Redis: one registry for every node of a cluster.

The rules are presence.py's (a first join publishes ``presence/join``, a
re-join refreshes, a move is a leave with reason ``moved`` and a join; an
open stream keeps an entry only within ``hold`` of the client's last
request; an entry nobody refreshes within the TTL leaves with reason
``timeout``), and so is every event's shape (``presence_event``). What
differs is where the state lives and who may change it:

* an entry is read, the node decides what to write and which events to
  publish, and ``presence_write`` applies both atomically only if the entry
  is still what was read (else the node reads again): a compare-and-set, so
  two nodes never both publish a join for one client id;
* refresh times are Redis's own clock (``TIME`` inside the scripts);
* every node sweeps; ``presence_write`` in ``expire`` mode deletes an entry
  only if it is still stale, so one expiry is exactly one leave event
  however many nodes sweep at once. A node that dies stops holding its
  streams' entries, and they expire after the TTL;
* a status change inside ``status_interval`` of the entry's last status
  event waits in ``P:presence:due``; the node that made it publishes the
  latest state when the interval is over, and every node's sweep does so for
  one whose node died. Whoever comes first, the compare-and-set makes it one
  event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from lattice_rt_core.engines.base import Unavailable
from lattice_rt_core.engines.presence import PresenceEntry, PresenceRegistry, new_client_id
from lattice_rt_core.engines.redis.log import RedisLog, encode_for_script
from lattice_rt_core.engines.redis.store import RedisKeys
from lattice_rt_core.protocol.defaults import DEFAULT_STATUS, STATUS_INTERVAL
from lattice_rt_core.protocol.events import enrich, now_iso, to_json
from lattice_rt_core.protocol.scope import WorkspaceScope, accepts

__all__ = ["RedisPresence"]

log = logging.getLogger(__name__)

_ATTEMPTS = 16  # compare-and-set rounds before a write gives up (a 503)
_SWEEP_BATCH = 100


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _record(entry: PresenceEntry) -> str:
    """What Redis keeps of an entry: its public fields but ``last_seen`` (the refresh
    time), and the state its last event carried, with when (Redis's clock, seconds)."""
    fields = entry.public()
    del fields["last_seen"]
    fields["_published"] = list(entry.published)
    fields["_published_at"] = entry.published_at
    return to_json(fields)


def _entry(record: bytes | str, last_seen: str) -> PresenceEntry:
    fields = json.loads(record)
    published = fields.get("_published") or [DEFAULT_STATUS, None]
    return PresenceEntry(
        client_id=fields["client_id"], user=fields["user"],
        workspace_id=fields.get("workspace_id"), joined_at=fields["joined_at"],
        last_seen=last_seen, display_name=fields.get("display_name"), seen_at=0.0,
        status=fields.get("status", DEFAULT_STATUS), status_text=fields.get("status_text"),
        status_since=fields.get("status_since", ""),
        published=(published[0], published[1]),
        published_at=float(fields.get("_published_at", 0)),
    )


class RedisPresence:
    """The presence registry in Redis (see the module docstring)."""

    def __init__(
        self,
        log_: RedisLog,
        keys: RedisKeys,
        *,
        ttl: float,
        hold: float | None = None,
        status_interval: float = STATUS_INTERVAL,
        wallclock: Callable[[], str] = now_iso,
    ) -> None:
        if ttl <= 0:
            raise ValueError("presence ttl must be positive")
        self.log = log_
        self.keys = keys
        self.ttl = ttl
        self.hold = ttl if hold is None else hold
        self.status_interval = status_interval
        self._wallclock = wallclock
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flush_at = 0.0  # loop time the timer fires
        self._keys = [keys.meta, keys.log, *keys.presence]
        self.count_seen = 0  # entries at the last read (stats while Redis is away)

    # ----------------------------------------------------------------- reads
    async def _call(self, name: str, *args: Any) -> Any:
        try:
            return await getattr(self.log.client, name)(*args)
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis is unreachable: {exc}") from None

    async def owner(self, client_id: str) -> tuple[str, str | None] | None:
        """(user, workspace) of the entry, or None."""
        record = await self._call("hget", self.keys.presence[0], client_id)
        if record is None:
            return None
        entry = _entry(record, "")
        return entry.user, entry.workspace_id

    async def _read(self, client_id: str) -> tuple[bytes | None, int]:
        """The entry as stored and Redis's clock (ms), in one round trip."""
        try:
            async with self.log.client.pipeline(transaction=False) as pipe:
                pipe.hget(self.keys.presence[0], client_id)
                pipe.time()
                record, (secs, micros) = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis is unreachable: {exc}") from None
        return record, int(secs) * 1000 + int(micros) // 1000

    async def count(self, user: str) -> int:
        return int(await self._call("hget", self.keys.presence[4], user) or 0)

    async def size(self) -> int:
        self.count_seen = int(await self._call("hlen", self.keys.presence[0]))
        return self.count_seen

    async def snapshot(self, scope: WorkspaceScope) -> list[dict[str, Any]]:
        entries, seen = self.keys.presence[0], self.keys.presence[2]
        try:
            async with self.log.client.pipeline(transaction=True) as pipe:
                pipe.hgetall(entries)
                pipe.zrange(seen, 0, -1, withscores=True)
                records, times = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis is unreachable: {exc}") from None
        when = {bytes(cid): float(ms) for cid, ms in times}
        self.count_seen = len(records)
        out = []
        for cid, record in records.items():
            entry = _entry(record, _iso(when.get(bytes(cid), 0.0)))
            if accepts(scope, entry.workspace_id):
                out.append(entry.public())
        return out

    # ---------------------------------------------------------------- writes
    async def _write(
        self,
        client_id: str,
        expected: bytes | None,
        new: str,
        user: str,
        events: list[dict[str, Any]],
        *,
        mode: str = "write",
        due: int = -1,
    ) -> tuple[str, int, int]:
        """One compare-and-set with its events: (outcome, last seq, Redis ms).

        ``due``: when the entry's pending status event is due (Redis ms), 0 for
        none, -1 to leave it as it is.
        """
        stamp = self._wallclock()
        args: list[Any] = [client_id, expected or b"", new, user, mode,
                           int(self.ttl * 1000), due, len(events)]
        for event in events:
            args.extend(encode_for_script(enrich(event, 0, stamp)))
        result = await self.log.run_appending("presence_write", self._keys, args)
        outcome = bytes(result[0]).decode()
        if outcome != "OK":
            return outcome, 0, 0
        last, now = int(result[1]), int(result[2])
        self.count_seen = int(result[3])
        self.log.fanout.published += len(events)
        if events:
            await self.log.visible(last)  # answered once visible here: read-your-writes
        return outcome, last, now

    def _rules(self, now_ms: int, entry: PresenceEntry | None = None) -> PresenceRegistry:
        """presence.py's registry holding just ``entry``, at Redis's time ``now_ms``.

        Every decision (what a join does, when a status event is due) is
        presence.py's: the registry decides on this one entry, and the
        compare-and-set writes the outcome only if the entry did not change.
        """
        rules = PresenceRegistry(ttl=self.ttl, clock=lambda: now_ms / 1000,
                                 wallclock=self._wallclock, stream_hold=self.hold,
                                 status_interval=self.status_interval)
        if entry is not None:
            rules.adopt(entry)
        return rules

    @staticmethod
    def _due(rules: PresenceRegistry) -> int:
        """When the entry's held status event is due (Redis ms, rounded up: never before
        it is), 0 for none."""
        due = rules.next_status_due()
        return 0 if due is None else max(1, math.ceil(due * 1000))

    async def join(
        self,
        *,
        user: str,
        client_id: str | None,
        workspace_id: str | None,
        display_name: str | None,
        status: str | None = None,
        status_text: str | None = None,
    ) -> dict[str, Any]:
        cid = client_id or new_client_id()
        for _ in range(_ATTEMPTS):
            current, now = await self._read(cid)
            old = None if current is None else _entry(current, self._wallclock())
            rules = self._rules(now, old)
            entry, events = rules.join(
                user=user, client_id=cid, workspace_id=workspace_id,
                display_name=display_name, status=status, status_text=status_text,
            )
            due = self._due(rules)
            outcome, _, written = await self._write(cid, current, _record(entry), user, events,
                                                    due=due)
            if outcome == "OK":
                self._arm(due, written)
                entry.last_seen = _iso(written)
                return entry.public()
        raise Unavailable(f"presence entry {cid!r} kept changing; try again")

    async def set_status(
        self, client_id: str, status: str, status_text: str | None
    ) -> dict[str, Any] | None:
        for _ in range(_ATTEMPTS):
            current, now = await self._read(client_id)
            if current is None:
                return None
            entry = _entry(current, self._wallclock())
            rules = self._rules(now, entry)
            events = rules.set_status(client_id, status, status_text)
            due = self._due(rules)
            outcome, _, written = await self._write(
                client_id, current, _record(entry), entry.user, events, mode="keep", due=due
            )
            if outcome == "OK":
                self._arm(due, written)
                return entry.public()
        raise Unavailable(f"presence entry {client_id!r} kept changing; try again")

    def _arm(self, due: int, now: int) -> None:
        """Publish pending status changes when ``due`` (Redis ms) comes (this node)."""
        if due <= 0:
            return
        loop = asyncio.get_running_loop()
        at = loop.time() + max(0, due - now) / 1000
        if self._flush_timer is not None and self._flush_at <= at:
            return
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._flush_at = at
        self._flush_timer = loop.call_at(at, lambda: asyncio.ensure_future(self._on_timer()))

    async def _on_timer(self) -> None:
        self._flush_timer = None
        try:
            await self.flush_status()
        except Unavailable as exc:
            log.warning("status changes not published yet: %s", exc)

    def cancel_timer(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    async def flush_status(self) -> int:
        """Publish every status change whose interval is over; how many events."""
        published = 0
        while True:
            due = await self.log.script(
                "presence_due", [self.keys.presence[0], self.keys.presence[5]],
                [0, _SWEEP_BATCH, "1"],  # due at its millisecond, not the one after
            )
            now, pairs = int(due[0]), due[1:]
            for cid, record in zip(pairs[::2], pairs[1::2], strict=True):
                client_id = bytes(cid).decode()
                if not record:  # left meanwhile; its due time goes with it
                    await self._write(client_id, None, "", "", [], mode="keep", due=0)
                    continue
                entry = _entry(record, self._wallclock())
                rules = self._rules(now, entry)
                events = rules.flush_status()
                later = self._due(rules)
                outcome, _, _ = await self._write(client_id, bytes(record), _record(entry),
                                                  entry.user, events, mode="keep", due=later)
                if outcome == "OK":
                    published += len(events)
                    self._arm(later, now)  # still held (not due yet): this node publishes it
            if len(pairs) < 2 * _SWEEP_BATCH:
                return published

    async def leave(self, client_id: str, *, reason: str = "left") -> bool:
        for _ in range(_ATTEMPTS):
            current = await self._call("hget", self.keys.presence[0], client_id)
            if current is None:
                return False
            old = _entry(current, "")
            events = self._rules(0, old).leave(client_id, reason=reason)
            outcome, _, _ = await self._write(client_id, current, "", old.user, events)
            if outcome == "OK":
                return True
        raise Unavailable(f"presence entry {client_id!r} kept changing; try again")

    async def refresh(self, client_ids: Collection[str], *, user: str, proof: bool) -> None:
        """A request from the client (``proof``) or an open stream naming these entries."""
        if not client_ids:
            return
        args = [user, "1" if proof else "0", int(self.hold * 1000), *client_ids]
        await self.log.script("presence_refresh", self.keys.presence[1:4], args)

    async def sweep(self, held: Iterable[tuple[str, tuple[str, ...]]]) -> int:
        """Hold what this node's open streams name, expire what is stale, publish
        status changes that are due (a node that died left them)."""
        by_user: dict[str, set[str]] = {}
        for user, named in held:
            by_user.setdefault(user, set()).update(named)
        for user, client_ids in by_user.items():
            await self.refresh(sorted(client_ids), user=user, proof=False)
        await self.flush_status()
        await self.size()  # the count stats and /metrics show between reads
        expired = 0
        while True:
            due = (await self.log.script(
                "presence_due", [self.keys.presence[0], self.keys.presence[2]],
                [int(self.ttl * 1000), _SWEEP_BATCH, "0"],
            ))[1:]
            claimed = 0
            for cid, record in zip(due[::2], due[1::2], strict=True):
                client_id = bytes(cid).decode()
                events: list[dict[str, Any]] = []
                user = ""
                if record:
                    old = _entry(record, "")
                    user = old.user
                    events = self._rules(0, old).leave(client_id, reason="timeout")
                outcome, _, _ = await self._write(
                    client_id, bytes(record) or None, "", user, events, mode="expire"
                )
                if outcome == "OK":
                    claimed += 1
                    expired += 1 if record else 0
            if len(due) < 2 * _SWEEP_BATCH or not claimed:
                return expired
