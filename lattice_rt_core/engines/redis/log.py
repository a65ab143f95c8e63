"""The global log in Redis and this node's replica of it.

Writing (:meth:`RedisLog.publish`): one ``EVALSHA`` per batch checks the
epoch, takes the next seqs, ``XADD``\\ s each event to the stream and
``PUBLISH``\\ es the batch, atomically. The publisher is answered once the
script returned (and this node shows the events, so a feed read after it
sees them).

Reading (:meth:`RedisLog.follow`): one pub/sub subscription per node. Every
event reaches the ring of the node's :class:`~lattice_rt_core.engines.fanout.Fanout` strictly in
seq order: the next seq is stored and made visible, a later one waits in
``pending`` while the hole before it is filled from the stream (``XRANGE``)
*before* anything past it is delivered. Pub/sub is at-most-once; it only
loses messages with the connection (a dropped link, or an output buffer
overflow, which drops it too), so every (re)subscribe is followed by a fill
up to the current seq, and a low-rate check of the last seq catches a lost
last message. What the stream no longer holds becomes a ``gap`` (reason
``retention``). Duplicates are dropped.

Epochs: a random id in ``meta``. When Redis lost the data (the keyspace was
flushed, or it came back with fewer events than this node saw), the script
``ensure_epoch`` starts a new epoch whose first seq is above every seq this
node saw, and open streams get ``event: reset``. See ARCHITECTURE.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import RedisError, ResponseError

from lattice_rt_core.engines.base import Idempotency, IdempotencyConflict, Unavailable
from lattice_rt_core.engines.fanout import Fanout
from lattice_rt_core.engines.identity import new_epoch
from lattice_rt_core.engines.redis.store import SCRIPTS, RedisKeys
from lattice_rt_core.protocol.defaults import IDEMPOTENCY_WINDOW
from lattice_rt_core.protocol.events import enrich, now_iso, to_json

__all__ = ["Identity", "RedisLog", "encode_for_script", "parse_message"]

log = logging.getLogger(__name__)

_SEQ0 = '{"seq":0'
_UNREACHABLE = "Redis is unreachable"
_FILL_PAGE = 1000
_MAX_BACKOFF = 2.0


def encode_for_script(event: dict[str, Any]) -> tuple[str, str]:
    """(workspace or "", the JSON after ``{"seq":0``) of an enriched event with seq 0."""
    data = to_json(event)
    assert data.startswith(_SEQ0)  # enrich() puts seq first
    return event["workspace_id"] or "", data[len(_SEQ0):]


def parse_message(raw: bytes) -> tuple[str, int, list[tuple[bytes, bytes]]]:
    """(epoch, first seq, [(workspace, json)]) of one pub/sub message."""
    head_end = raw.find(b"\n")
    head = raw if head_end < 0 else raw[:head_end]
    epoch, first = head.split(b" ")
    items: list[tuple[bytes, bytes]] = []
    pos = head_end + 1 if head_end >= 0 else len(raw)
    while pos < len(raw):
        colon = raw.index(b":", pos)
        start = colon + 1 + int(raw[pos:colon])
        end = raw.find(b"\n", start)
        end = len(raw) if end < 0 else end
        items.append((raw[colon + 1:start], raw[start:end]))
        pos = end + 1
    return epoch.decode(), int(first), items


def _replayed(value: bytes | str, idempotency: Idempotency) -> list[dict[str, Any]]:
    """The answer an idempotency key holds ("<fingerprint>\\n<events JSON>")."""
    text = value.decode() if isinstance(value, bytes) else value
    fingerprint, _, answer = text.partition("\n")
    if fingerprint != idempotency.fingerprint:
        raise IdempotencyConflict("this Idempotency-Key was used for a different publish")
    replayed: list[dict[str, Any]] = json.loads(answer)
    return replayed


def _frame(seq: int, data: bytes) -> bytes:
    return b"id: %d\ndata: %s\n\n" % (seq, data)


class Identity:
    """What the cluster is: its epoch and first seq, server id, owner token and user."""

    __slots__ = ("epoch", "first", "owner_token", "owner_user", "seq", "server_id")

    def __init__(self, values: Sequence[bytes | str | None]) -> None:
        text = [v.decode() if isinstance(v, bytes) else (v or "") for v in values]
        self.epoch, first, seq, self.server_id, self.owner_token, self.owner_user = text
        self.first, self.seq = int(first), int(seq)


class RedisLog:
    """Publishes to the global log and keeps ``fanout``'s ring a replica of it.

    ``client``: a ``redis.asyncio`` client for commands; ``subscriber``: one
    for the pub/sub connection. ``retention``: the stream's approximate
    ``MAXLEN``. ``check_interval``: seconds between checks of the last seq.
    Everything here runs on the server's loop.
    """

    def __init__(
        self,
        fanout: Fanout,
        client: Any,
        subscriber: Any,
        keys: RedisKeys,
        *,
        retention: int,
        identity: Identity,
        check_interval: float = 1.0,
        wallclock: Callable[[], str] = now_iso,
    ) -> None:
        self.fanout = fanout
        self.client = client
        self.subscriber = subscriber
        self.keys = keys
        self.retention = retention
        self.identity = identity
        self.check_interval = check_interval
        self._wallclock = wallclock
        #: seconds an idempotency key is kept (Redis expires it)
        self.idempotency_window = IDEMPOTENCY_WINDOW
        self._scripts = {name: client.register_script(src) for name, src in SCRIPTS.items()}
        self.epoch = ""  # the epoch the ring follows ("" until loaded)
        self.floor = 0  # the epoch's first seq - 1
        self.connected = False  # the subscription is up and caught up
        self.ready = asyncio.Event()  # set each time it is (again)
        self._pending: dict[int, tuple[bytes, bytes]] = {}
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._lock = asyncio.Lock()  # one fill or epoch check at a time
        self._last_check = 0.0
        self._due = 0  # Redis's last seq at the previous check

    # -------------------------------------------------------------- scripts
    async def script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run a registered script; Redis unreachable is :class:`Unavailable`."""
        try:
            return await self._scripts[name](keys=keys, args=args)
        except ResponseError:
            raise
        except (RedisError, OSError) as exc:
            raise Unavailable(f"{_UNREACHABLE}: {exc}") from None

    # --------------------------------------------------------------- writing
    async def publish(
        self, events: list[dict[str, Any]], idempotency: Idempotency | None = None
    ) -> list[dict[str, Any]]:
        """Store ``events`` in Redis; the enriched events with their seqs.

        With ``idempotency``, a key used within the window answers what its
        publish answered, and nothing is published (the script checks and sets
        the key atomically with the append).
        """
        stamp = self._wallclock()
        enriched = [enrich(e, 0, stamp) for e in events]
        args: list[Any] = [len(enriched)]
        for event in enriched:
            args.extend(encode_for_script(event))
        keys = [self.keys.meta, self.keys.log]
        try:
            if idempotency is None:
                last = int(await self.run_appending("publish", keys, args))
            else:
                keys.append(self.keys.idempotency(idempotency.key))
                window_ms = max(1, int(self.idempotency_window * 1000))
                done, value = await self.run_appending(
                    "publish_once", keys, [idempotency.fingerprint, window_ms, *args])
                if not int(done):
                    return _replayed(value, idempotency)
                last = int(value)
        except Unavailable as exc:
            if not str(exc).startswith(_UNREACHABLE):
                raise  # Redis refused the script: nothing was appended
            # the link failed while the script may have run: say so, not "not published"
            raise Unavailable(f"{exc}; whether the events were stored is unknown (a retry "
                              "with the same Idempotency-Key publishes them at most once)"
                              ) from None
        first = last - len(enriched) + 1
        for i, event in enumerate(enriched):
            event["seq"] = first + i
        self.fanout.published += len(enriched)
        await self.visible(last)
        return enriched

    async def run_appending(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run a script that appends events (its first ARGV are the epoch's).

        An epoch error (Redis lost data, or the epoch moved on) makes this
        node follow the current epoch, then the script runs once more.
        """
        retried = False
        while True:
            head = [self.epoch, self.fanout.visible_seq, self.retention, self.keys.channel]
            try:
                return await self.script(name, keys, head + args)
            except ResponseError as exc:
                if not str(exc).startswith("EPOCH") or retried:
                    raise Unavailable(f"Redis refused the write: {exc}") from None
            retried = True
            await self.sync()

    async def visible(self, seq: int) -> None:
        """Wait until this node's ring shows ``seq`` (read-your-writes).

        Bounded by two check intervals: the event is stored either way, and a
        node that lost its subscription finds it at its next check.
        """
        if seq <= self.fanout.visible_seq:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (seq, fut)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(fut, 2 * self.check_interval + 1.0)
        except TimeoutError:
            log.warning("seq %d is stored in Redis but not yet shown here", seq)
            if entry in self._waiters:
                self._waiters.remove(entry)

    def _release_waiters(self, everyone: bool = False) -> None:
        top = self.fanout.visible_seq
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for seq, fut in self._waiters:
            if everyone or seq <= top:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((seq, fut))
        self._waiters = keep

    # -------------------------------------------------------------- reading
    def _accept(self, seq: int, workspace: bytes, data: bytes) -> None:
        """Take one event from any source; in order, once."""
        fanout = self.fanout
        if seq <= fanout.visible_seq:
            return  # a duplicate
        if seq != fanout.visible_seq + 1:
            if len(self._pending) < fanout._cap:  # else the fill reads it from the stream
                self._pending[seq] = (workspace, data)
            return
        pending = self._pending
        while True:
            fanout._store(seq, workspace.decode() or None, _frame(seq, data))
            fanout._visible = seq
            seq += 1
            if seq not in pending:
                break
            workspace, data = pending.pop(seq)

    def _delivered(self) -> None:
        self.fanout._schedule_wake()
        if self._waiters:
            self._release_waiters()

    async def _on_message(self, raw: bytes) -> None:
        epoch, first, items = parse_message(raw)
        if epoch != self.epoch:
            await self.sync()  # the stream holds what this message carried
            return
        for i, (workspace, data) in enumerate(items):
            self._accept(first + i, workspace, data)
        self._delivered()
        if self._pending:  # pub/sub skipped something: fill the hole first
            await self.fill(min(self._pending) - 1)

    async def fill(self, upto: int) -> None:
        """Read seqs up to ``upto`` this node lacks from the stream, in order."""
        async with self._lock:
            await self._fill(upto)

    async def _fill(self, upto: int) -> None:
        fanout = self.fanout
        while fanout.visible_seq < upto:
            start = fanout.visible_seq + 1
            try:
                entries = await self.client.xrange(
                    self.keys.log, f"{start}-0", f"{upto}-0", count=_FILL_PAGE
                )
            except (RedisError, OSError) as exc:
                raise Unavailable(f"{_UNREACHABLE}: {exc}") from None
            first = int(entries[0][0].split(b"-", 1)[0]) if entries else upto + 1
            if first > start:
                log.warning("seqs %d to %d are no longer in Redis: streams get a gap",
                            start, first - 1)
                fanout._skip_to(first)
            for entry_id, fields in entries:
                seq = int(entry_id.split(b"-", 1)[0])
                self._accept(seq, fields.get(b"w", b""), fields[b"d"])
            self._pending = {s: v for s, v in self._pending.items() if s > fanout.visible_seq}
            self._delivered()
            if not entries:
                break

    async def sync(self) -> None:
        """Follow Redis's current epoch (a reset if it changed) and fill up to its seq."""
        async with self._lock:
            await self._fill(await self._follow_epoch())

    async def check(self) -> None:
        """The low-rate check: a changed epoch, a rollback, a lost last message.

        A seq Redis had at the previous check that this node still lacks is
        filled from the stream now: a lost message waits at most two check
        intervals, and a busy node does not read twice what pub/sub brings.
        """
        async with self._lock:
            due, self._due = self._due, await self._follow_epoch()
            if self.fanout.visible_seq < min(due, self._due):
                await self._fill(min(due, self._due))

    async def _follow_epoch(self) -> int:
        """Ask Redis for the current epoch (starting one when needed); its last seq."""
        fanout = self.fanout
        base = max([fanout.visible_seq, *self._pending])
        ident = self.identity
        values = await self.script(
            "ensure_epoch", [self.keys.meta, self.keys.log],
            [self.epoch, base, new_epoch(), ident.server_id, ident.owner_token, ident.owner_user],
        )
        current = Identity(values)
        self.identity = current
        if current.epoch != self.epoch:
            if self.epoch:
                log.warning("Redis lost data (epoch %s is now %s, first seq %d): open "
                            "streams get a reset", self.epoch, current.epoch, current.first)
            self._pending.clear()
            await self._load(current)
            if self.epoch:
                fanout._reset_all("epoch", current.first - 1)
                self._release_waiters(everyone=True)
            self.epoch, self.floor = current.epoch, current.first - 1
        self._last_check = time.monotonic()
        return current.seq

    async def _load(self, current: Identity) -> None:
        """Start the ring again from the newest events of ``current``'s epoch."""
        fanout = self.fanout
        try:
            newest = await self.client.xrevrange(
                self.keys.log, f"{current.seq}-0", f"{current.first}-0", count=fanout._cap
            )
        except (RedisError, OSError) as exc:
            raise Unavailable(f"{_UNREACHABLE}: {exc}") from None
        oldest = int(newest[-1][0].split(b"-", 1)[0]) if newest else current.seq + 1
        fanout._restart(oldest - 1)
        for entry_id, fields in reversed(newest):
            self._accept(int(entry_id.split(b"-", 1)[0]), fields.get(b"w", b""), fields[b"d"])
        if oldest - 1 > current.first - 1:  # the stream lost the epoch's oldest events
            fanout._holes.append((current.first, oldest - 1))

    async def follow(self, stopping: asyncio.Event) -> None:
        """Keep the subscription, reconnecting with backoff, until ``stopping`` is set."""
        backoff = 0.05
        while not stopping.is_set():
            pubsub = self.subscriber.pubsub()
            try:
                await pubsub.subscribe(self.keys.channel)
                while (await pubsub.get_message(timeout=self.check_interval) or {}).get(
                    "type"
                ) != "subscribe":
                    pass
                await self.sync()  # everything before the subscription, from the stream
                if not self.connected:
                    log.info("following the Redis log (epoch %s, seq %d)", self.epoch,
                             self.fanout.visible_seq)
                self.connected = True
                self.ready.set()
                backoff = 0.05
                while not stopping.is_set():
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=self.check_interval
                    )
                    if message is not None and message.get("type") == "message":
                        await self._on_message(message["data"])
                    if time.monotonic() - self._last_check >= self.check_interval:
                        await self.check()
            except (RedisError, OSError, Unavailable) as exc:
                if self.connected:
                    log.warning("lost the Redis subscription (%s); reconnecting", exc)
                self.connected = False
                self.ready.clear()
                try:
                    await asyncio.wait_for(stopping.wait(), backoff)
                except TimeoutError:
                    pass
                backoff = min(_MAX_BACKOFF, backoff * 2)
            finally:
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass
