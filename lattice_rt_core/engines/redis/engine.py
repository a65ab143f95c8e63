"""The Redis engine: one server made of any number of nodes.

A node is a :class:`~lattice_rt_core.engines.fanout.Fanout` whose ring is a replica of the global
log in Redis (:mod:`~lattice_rt_core.engines.redis.log`), with presence in Redis
(:mod:`~lattice_rt_core.engines.redis.presence`). Above it nothing changes: the routes, the SSE wire
contract, the CLI and the tray app see the same :class:`~lattice_rt_core.engines.base.Engine`.

Start-up (:func:`bootstrap`, blocking, before the server listens): the node
must reach Redis; it joins the cluster's current epoch (or starts the first
one) and learns the cluster's server id, owner token and owner user. After
that, Redis may come and go: streams stay open with heartbeats, writes
answer 503, ``health`` says ``degraded``; once Redis is back the node
resubscribes and fills what it missed by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from typing import Any

from redis.exceptions import RedisError

from lattice_rt_core.engines.base import Idempotency, Unavailable
from lattice_rt_core.engines.fanout import Fanout, Subscriber
from lattice_rt_core.engines.identity import new_epoch, new_server_id, new_token
from lattice_rt_core.engines.redis.log import Identity, RedisLog
from lattice_rt_core.engines.redis.presence import RedisPresence
from lattice_rt_core.engines.redis.store import (
    SCRIPTS,
    RedisKeys,
    connect_async,
    connect_sync,
    safe_url,
)
from lattice_rt_core.protocol.defaults import (
    DEFAULT_BACKLOG,
    DEFAULT_HEARTBEAT,
    DEFAULT_RETENTION,
    DEFAULT_RETRY_MS,
    DEFAULT_TTL,
    FEED_LIMIT,
    REPLAY_TAIL,
    STATUS_INTERVAL,
)
from lattice_rt_core.protocol.scope import WorkspaceScope

__all__ = ["DEFAULT_CHECK_INTERVAL", "RedisEngine", "bootstrap", "read_owner_token"]

log = logging.getLogger(__name__)

#: seconds between a node's checks of Redis's last seq and epoch
DEFAULT_CHECK_INTERVAL = 1.0
#: seconds a starting node waits to be subscribed and caught up before it serves anyway
START_TIMEOUT = 10.0


def bootstrap(url: str, keys: RedisKeys, owner_user: str) -> Identity:
    """Reach Redis and join (or start) the cluster; raises :class:`Unavailable`."""
    client = connect_sync(url)
    try:
        values = client.register_script(SCRIPTS["ensure_epoch"])(
            keys=[keys.meta, keys.log],
            args=["", 0, new_epoch(), new_server_id(), new_token(), owner_user],
        )
        version = str(client.info("server").get("redis_version", "0"))
    except (RedisError, OSError) as exc:
        raise Unavailable(f"cannot reach Redis at {safe_url(url)}: {exc}") from None
    finally:
        client.close()
    if int(version.split(".")[0]) < 7:
        raise Unavailable(f"Redis at {safe_url(url)} is version {version}; 7 or later is needed")
    return Identity(values)


def read_owner_token(url: str, keys: RedisKeys) -> str | None:
    """The cluster's owner token, or None when no node has started yet."""
    client = connect_sync(url)
    try:
        token = client.hget(keys.meta, "owner_token")
    except (RedisError, OSError) as exc:
        raise Unavailable(f"cannot reach Redis at {safe_url(url)}: {exc}") from None
    finally:
        client.close()
    return None if token is None else bytes(token).decode()


class RedisEngine(Fanout):
    """:class:`Engine` for a node of a cluster that shares one Redis."""

    def __init__(
        self,
        url: str,
        identity: Identity,
        *,
        keys: RedisKeys | None = None,
        retention: int = DEFAULT_RETENTION,
        backlog: int = DEFAULT_BACKLOG,
        feed_limit: int = FEED_LIMIT,
        replay_tail: int = REPLAY_TAIL,
        heartbeat: float = DEFAULT_HEARTBEAT,
        retry_ms: int = DEFAULT_RETRY_MS,
        presence_ttl: float = DEFAULT_TTL,
        presence_hold: float | None = None,
        status_interval: float = STATUS_INTERVAL,
        check_interval: float = DEFAULT_CHECK_INTERVAL,
        server_version: str = "",
    ) -> None:
        super().__init__(cap=max(backlog, retention), feed_limit=feed_limit,
                         replay_tail=replay_tail, heartbeat=heartbeat, retry_ms=retry_ms)
        self.url = url
        self.keys = keys or RedisKeys()
        self.server_version = server_version
        self._client = connect_async(url)
        self._subscriber = connect_async(url)
        self.log = RedisLog(self, self._client, self._subscriber, self.keys,
                            retention=retention, identity=identity,
                            check_interval=check_interval)
        self.presence_store = RedisPresence(self.log, self.keys, ttl=presence_ttl,
                                            hold=presence_hold, status_interval=status_interval)
        self._stopping: asyncio.Event | None = None
        self._follower: asyncio.Task[None] | None = None

    @property
    def presence_ttl(self) -> float:
        return self.presence_store.ttl

    @property
    def presence_hold(self) -> float:
        return self.presence_store.hold

    @property
    def identity(self) -> Identity:
        return self.log.identity

    @property
    def client(self) -> Any:
        """The node's ``redis.asyncio`` client for commands (accounts and sessions share it)."""
        return self._client

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self.attach_loop(asyncio.get_running_loop())
        self._stopping = asyncio.Event()
        self._follower = asyncio.ensure_future(self.log.follow(self._stopping))
        try:  # serve once the ring holds the newest events and the subscription is up
            await asyncio.wait_for(self.log.ready.wait(), START_TIMEOUT)
        except TimeoutError:
            log.warning("Redis at %s does not answer; serving what arrives once it does",
                        safe_url(self.url))

    async def stop(self) -> None:
        self.close()
        self.presence_store.cancel_timer()
        if self._stopping is not None:
            self._stopping.set()
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None
        for client in (self._client, self._subscriber):
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()

    def healthy(self) -> bool:
        return self.log.connected

    # ---------------------------------------------------------------- events
    async def publish_events(
        self, events: list[dict[str, Any]], idempotency: Idempotency | None = None
    ) -> list[dict[str, Any]]:
        return await self.log.publish(events, idempotency)

    async def current_stats(self) -> dict[str, Any]:
        try:
            await self.presence_store.size()
        except Unavailable:
            pass  # the last count read
        return self.stats()

    @property
    def readings(self) -> RedisEngine:
        return self

    def stats(self) -> dict[str, Any]:
        """``stats`` without a round trip: the presence count as last read (``/metrics``)."""
        out = self.delivery_stats()
        out["presence"] = self.presence_store.count_seen
        out["presence_ttl"] = self.presence_ttl
        if self.server_version:
            out["server_version"] = self.server_version
        out["journal"] = "ok" if self.healthy() else "degraded"
        out["engine"] = "redis"
        out["server_id"] = self.identity.server_id
        out["epoch"] = self.log.epoch
        return out

    # --------------------------------------------------------------- streams
    async def open_stream(
        self,
        scope: WorkspaceScope,
        *,
        user: str,
        client_ids: Collection[str],
        last_event_id: int | None,
    ) -> Subscriber:
        """A subscriber at the tail, at its resume point, or after a reset.

        An id at or below the epoch's floor comes from an older epoch: a
        reset, then every event of this epoch that is kept. An id above what
        this node shows may only mean the node lags (the client saw it on
        another node): it waits for it, unless Redis has no such seq either.
        """
        prefix = b""
        floor = self.log.floor
        if last_event_id is None:
            cursor = self.tail_cursor(scope)
        elif floor > 0 and last_event_id <= floor:
            cursor = floor
            prefix = self.reset_frame(last_event_id, cursor, "epoch")
        elif last_event_id > self.visible_seq and last_event_id > await self._redis_seq():
            cursor = self.tail_cursor(scope)
            prefix = self.reset_frame(last_event_id, cursor, "ahead")
        else:
            cursor = last_event_id
        sub = self.add_subscriber(scope, user, client_ids, cursor, prefix)
        if client_ids:
            try:
                await self.presence_store.refresh(client_ids, user=user, proof=True)
            except Unavailable as exc:
                log.debug("presence not refreshed on connect: %s", exc)
        return sub

    async def _redis_seq(self) -> int:
        """Redis's last seq in this node's epoch (while unreachable: assume the id exists)."""
        try:
            values = await self._client.hmget(self.keys.meta, ["epoch", "seq"])
        except (RedisError, OSError):
            return 1 << 62
        if values[0] is None or bytes(values[0]).decode() != self.log.epoch:
            return 1 << 62  # the epoch check that follows decides
        return int(values[1])

    # -------------------------------------------------------------- presence
    async def presence_owner(self, client_id: str) -> tuple[str, str | None] | None:
        return await self.presence_store.owner(client_id)

    async def presence_count(self, user: str) -> int:
        return await self.presence_store.count(user)

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
        return await self.presence_store.join(
            user=user, client_id=client_id, workspace_id=workspace_id,
            display_name=display_name, status=status, status_text=status_text,
        )

    async def set_status(
        self, client_id: str, status: str, status_text: str | None
    ) -> dict[str, Any] | None:
        return await self.presence_store.set_status(client_id, status, status_text)

    async def leave(self, client_id: str, *, reason: str = "left") -> bool:
        return await self.presence_store.leave(client_id, reason=reason)

    async def presence(self, scope: WorkspaceScope) -> list[dict[str, Any]]:
        return await self.presence_store.snapshot(scope)

    async def sweep(self) -> int:
        return await self.presence_store.sweep(self.held_client_ids())
