"""The local engine: :class:`RealtimeBus` and its journal behind the engine interface."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Collection
from typing import Any

from lattice_rt_core.engines.base import (
    Idempotency,
    IdempotencyConflict,
    NotPersisted,
    NotPublished,
    Unavailable,
)
from lattice_rt_core.engines.fanout import Subscriber
from lattice_rt_core.engines.local.bus import RealtimeBus
from lattice_rt_core.engines.local.journal import JournalError
from lattice_rt_core.protocol.scope import WorkspaceScope

__all__ = ["LocalEngine"]


class LocalEngine:
    """:class:`Engine` over the in-process :class:`RealtimeBus` and its journal.

    ``storage_lost``: why the journal's files are gone (the data directory was
    deleted or replaced under the server: process/dirlock.py), or None. While
    it says so, nothing that would be journaled is taken (503) and health is
    degraded; a publish whose commit it overtook is answered as not persisted.
    """

    def __init__(self, bus: RealtimeBus,
                 storage_lost: Callable[[], str | None] | None = None) -> None:
        self.bus = bus
        self._in_flight: dict[str, asyncio.Future[None]] = {}  # idempotency keys (loop)
        self.storage_lost = storage_lost or (lambda: None)
        self.feed_limit = bus.feed_limit
        self.heartbeat = bus.heartbeat

    @property
    def presence_ttl(self) -> float:
        return self.bus.presence_ttl

    async def start(self) -> None:
        self.bus.attach_loop(asyncio.get_running_loop())

    async def stop(self) -> None:
        self.bus.close()

    def close(self) -> None:
        self.bus.close()

    def healthy(self) -> bool:
        return self.bus.durability() != "degraded" and self.storage_lost() is None

    def _refuse_if_lost(self) -> None:
        lost = self.storage_lost()
        if lost is not None:
            raise Unavailable(lost)

    async def publish_events(
        self, events: list[dict[str, Any]], idempotency: Idempotency | None = None
    ) -> list[dict[str, Any]]:
        self._refuse_if_lost()
        if idempotency is None:
            return await self._publish(events, None)
        key = idempotency.key
        while (earlier := self._in_flight.get(key)) is not None:
            await asyncio.shield(earlier)  # the same key in flight: its outcome first
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = done
        try:
            found = await asyncio.to_thread(self.bus.idempotent_answer, key)
            if found is not None:
                fingerprint, answer = found
                if fingerprint != idempotency.fingerprint:
                    raise IdempotencyConflict(
                        "this Idempotency-Key was used for a different publish")
                replayed: list[dict[str, Any]] = json.loads(answer)
                return replayed
            return await self._publish(events, (key, idempotency.fingerprint))
        finally:
            del self._in_flight[key]
            done.set_result(None)

    async def _publish(
        self, events: list[dict[str, Any]], key: tuple[str, str] | None
    ) -> list[dict[str, Any]]:
        published = self.bus.publish_batch(events, key)
        if published is None:  # no seq may be handed out: ask for more, once
            reserving = self.bus.reserve()
            if reserving is not None and await reserving:
                published = self.bus.publish_batch(events, key)
            if published is None:
                raise NotPublished("not published: the journal cannot write "
                                   f"({self.bus.durability_problem()})")
        if any(e.get("seq") is None for e in published):
            raise Unavailable("the bus could not publish the event (see the server log)")
        waiter = self.bus.durable(published[-1]["seq"]) if published else None
        if waiter is not None:
            try:
                await waiter
            except JournalError as exc:
                raise NotPublished(f"not published: the journal cannot write ({exc})") from None
        lost = self.storage_lost()  # committed (so delivered), but into files that are gone
        if lost is not None:
            raise NotPersisted(f"published but not persisted: {lost}", published)
        return published

    def recent_json(self, limit: int, scope: WorkspaceScope) -> list[bytes]:
        return self.bus.recent_json(limit, scope)

    def page_json(
        self, limit: int, scope: WorkspaceScope, before: int | None = None
    ) -> tuple[list[bytes], int | None]:
        return self.bus.page_json(limit, scope, before)

    async def current_stats(self) -> dict[str, Any]:
        return self.bus.stats()

    @property
    def readings(self) -> RealtimeBus:
        return self.bus

    async def open_stream(
        self,
        scope: WorkspaceScope,
        *,
        user: str,
        client_ids: Collection[str],
        last_event_id: int | None,
    ) -> Subscriber:
        return self.bus.subscribe(
            scope, user=user, client_ids=client_ids, last_event_id=last_event_id
        )

    def stream(
        self, sub: Subscriber, *, heartbeat: float | None = None
    ) -> AsyncGenerator[bytes, None]:
        return self.bus.stream(sub, heartbeat=heartbeat)

    def unsubscribe(self, sub: Subscriber) -> None:
        self.bus.unsubscribe(sub)

    async def presence_owner(self, client_id: str) -> tuple[str, str | None] | None:
        entry = self.bus.presence_entry(client_id)
        return None if entry is None else (entry.user, entry.workspace_id)

    async def presence_count(self, user: str) -> int:
        return self.bus.presence_count(user)

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
        self._refuse_if_lost()
        entry = self.bus.join(
            user=user, client_id=client_id, workspace_id=workspace_id,
            display_name=display_name, status=status, status_text=status_text,
        )
        await self._settle()
        return entry

    async def set_status(
        self, client_id: str, status: str, status_text: str | None
    ) -> dict[str, Any] | None:
        self._refuse_if_lost()
        entry = self.bus.set_status(client_id, status, status_text)
        await self._settle()
        return entry

    async def leave(self, client_id: str, *, reason: str = "left") -> bool:
        left = self.bus.leave(client_id, reason=reason)
        if left:
            await self._settle()
        return left

    async def presence(self, scope: WorkspaceScope) -> list[dict[str, Any]]:
        return self.bus.presence(scope)

    async def sweep(self) -> int:
        return self.bus.sweep()

    async def _settle(self) -> None:
        """Wait until what this request published (presence events) is visible.

        Read-your-writes: after a join or leave is answered, the feed and new
        streams show its event. A journal that cannot write does not block it.
        """
        waiter = self.bus.durable(self.bus.last_seq)
        if waiter is not None:
            try:
                await waiter
            except JournalError:
                pass
