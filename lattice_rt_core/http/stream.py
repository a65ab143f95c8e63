"""``GET /realtime/stream``: the SSE route and its stalled-peer watchdog.

A plain ASGI app (no framework per frame): it authenticates, asks
``access.check_stream``, opens a stream on the engine and writes what
``Engine.stream`` yields. Its one delicate part is a peer that stops
reading (see :meth:`StreamRoute.send_watched`).

Revocation: while streams of user tokens are open, :meth:`StreamRoute.revocations`
looks at the accounts' version (one cheap read, every ``REVOCATION_INTERVAL``);
when it moved, each open stream's credential is checked again (one lookup per
token) and a stream whose token was removed or renewed, or whose workspaces
were narrowed, ends: the client reconnects and gets a 401 or its new scope.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.types import Message, Receive, Send
from starlette.types import Scope as AsgiScope

from lattice_rt_core.auth.access import Refusal, authenticated, check_stream
from lattice_rt_core.auth.callers import Authenticator, Principal
from lattice_rt_core.engines.base import Engine, Unavailable
from lattice_rt_core.engines.fanout import Subscriber
from lattice_rt_core.http.metrics import ServerCounters
from lattice_rt_core.http.responses import error_response
from lattice_rt_core.protocol.limits import ApiLimits
from lattice_rt_core.protocol.scope import WorkspaceScope

__all__ = ["StreamRoute"]

log = logging.getLogger(__name__)

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
    (b"x-content-type-options", b"nosniff"),
]


class _Outbox:
    """One open stream's write in progress, for the stalled-peer watchdog."""

    __slots__ = ("asgi_scope", "counted", "known", "principal", "since", "stalled", "sub",
                 "task", "watcher")

    def __init__(self, asgi_scope: AsgiScope, task: asyncio.Task[Any], principal: Principal,
                 sub: Subscriber, known: int | None) -> None:
        self.asgi_scope = asgi_scope
        self.task = task
        self.principal = principal
        self.sub = sub
        #: the accounts' version the principal is known to hold at (None: not checked)
        self.known = known
        self.since = 0.0  # loop time the current write started; 0.0 when not writing
        self.stalled = False
        self.counted = False  # in slow_peers_cut
        #: done once the peer is gone (http.disconnect); None: not watched
        self.watcher: asyncio.Future[None] | None = None


class StreamRoute:
    """The stream route (an ASGI app) and the watchdog of its writes.

    ``write_timeout``: a write blocked that long (the peer stopped reading)
    ends the stream; ``abort_connection(asgi_scope)`` drops its connection
    with whatever is still buffered for it. The server runs :meth:`watchdog`
    for as long as it serves.
    """

    def __init__(
        self,
        engine: Engine,
        auth: Authenticator,
        limits: ApiLimits,
        write_timeout: float | None = None,
        abort_connection: Callable[[AsgiScope], bool] | None = None,
        counters: ServerCounters | None = None,
    ) -> None:
        self.engine = engine
        self.auth = auth
        self.limits = limits
        self.write_timeout = write_timeout
        self.abort_connection = abort_connection
        # counted here, not by a wrapper around every write (see metrics.py)
        self.counters = counters if counters is not None else ServerCounters()
        self.streams: Counter[str] = Counter()  # open streams per user
        self.outboxes: set[_Outbox] = set()
        #: the accounts' version last read by :meth:`revoke_stale` (None: never)
        self.accounts_version: int | None = None
        self._user_streams = asyncio.Event()  # set while a stream of a user token may be open

    async def __call__(self, asgi_scope: AsgiScope, receive: Receive, send: Send) -> None:
        request = Request(asgi_scope)
        # read before authenticating: a change after this read is rechecked (revoke_stale)
        known = self.accounts_version
        try:
            principal = await authenticated(self.auth, request.headers, request.cookies)
            last_event_id = _last_event_id(request)
            client_ids = request.query_params.getlist("client_id")
            check_stream(principal, client_ids, open_streams=self.streams[principal.user],
                         limits=self.limits)
            sub = await self.engine.open_stream(
                principal.scope,
                user=principal.user,
                client_ids=client_ids,
                last_event_id=last_event_id,
            )
        except Refusal as exc:
            self.counters.record(asgi_scope, exc.status)
            await error_response(exc.status, exc.message)(asgi_scope, receive, send)
            return
        except Unavailable as exc:
            self.counters.record(asgi_scope, 503)
            await error_response(503, str(exc))(asgi_scope, receive, send)
            return
        except RuntimeError:
            self.counters.record(asgi_scope, 503)
            await error_response(503, "server is shutting down")(asgi_scope, receive, send)
            return
        self.counters.record(asgi_scope, 200)
        self.streams[principal.user] += 1
        task = asyncio.current_task()
        assert task is not None
        box = _Outbox(asgi_scope, task, principal, sub, known)
        self.outboxes.add(box)
        if principal.credential is not None:
            self._user_streams.set()
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        watcher.add_done_callback(lambda _: sub.close())
        box.watcher = watcher
        frames = self.engine.stream(sub)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
            counters = self.counters
            async for chunk in frames:
                message = {"type": "http.response.body", "body": chunk, "more_body": True}
                if not await self.send_watched(box, send, message):
                    await self.drop_stalled(box, watcher)
                    return
                counters.bytes_delivered += len(chunk)
            end = {"type": "http.response.body", "body": b"", "more_body": False}
            if not await self.send_watched(box, send, end):
                await self.drop_stalled(box, watcher)
        except OSError:
            pass  # the peer went away mid-write
        finally:
            self.outboxes.discard(box)
            watcher.cancel()
            await frames.aclose()
            self.engine.unsubscribe(sub)
            self.streams[principal.user] -= 1
            if self.streams[principal.user] <= 0:
                del self.streams[principal.user]

    # The stalled-peer logic: send_watched and watchdog work as a pair.
    #
    # ``send`` returns at once while the connection's write buffer is below
    # its high-water mark; it blocks only when the peer stopped reading (its
    # socket buffer and ours are full). A timer per write would cost too
    # much at thousands of streams, so each write is *stamped* instead
    # (box.since) and one watchdog task scans the stamps every timeout/4.
    #
    # Everything runs on the server's one event loop, so when the watchdog
    # sees a stamp the stream task is suspended exactly inside
    # ``await send(message)``: a cancel it sends lands there and nowhere
    # else. For a write blocked longer than the timeout the watchdog:
    #   1. marks the box stalled and aborts the connection: uvicorn sees the
    #      connection lost and wakes the blocked write, which returns;
    #   2. when there is no connection to abort, or the write is still
    #      blocked at the next scan, cancels the stream task instead.
    # send_watched tells the cancels apart by box.stalled: a cancel while the
    # box is stalled is the watchdog's, so it is swallowed and taken back with
    # ``task.uncancel()``. (asyncio counts cancel requests per task; left
    # counted, the task would still look cancelled to whatever runs in it
    # afterwards, such as asyncio.timeout, task groups or anyio's cancel
    # scopes, and an ordinary exit would be taken for a cancellation.) Any
    # other cancel (server shutdown) is re-raised untouched. Once the box is
    # stalled, send_watched returns False however the write ended, and the
    # stream ends through drop_stalled, which aborts the connection if it is
    # still there.
    #
    # A stalled peer may also be cut by the kernel first (TCP_USER_TIMEOUT
    # applies to a peer that keeps its window shut): the connection is lost
    # while the write waits for the buffer to drain, the write returns, and the
    # stream ends through the disconnect. That is a stalled reader cut too, and
    # counted: the disconnect arrived during this very write, which only waits
    # when the peer stopped reading.
    async def send_watched(self, box: _Outbox, send: Send, message: Message) -> bool:
        """Send ``message``; False when the watchdog found the peer stalled."""
        box.since = asyncio.get_running_loop().time()
        watcher = box.watcher
        connected = watcher is not None and not watcher.done()
        try:
            await send(message)
            if connected and watcher is not None and watcher.done() and not box.stalled:
                self.count_cut(box)  # lost while this write waited: cut by the kernel
        except asyncio.CancelledError:
            if not box.stalled:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            box.since = 0.0
        return not box.stalled

    async def watchdog(self) -> None:
        """End streams whose current write has been blocked for ``write_timeout``."""
        timeout = self.write_timeout
        if timeout is None:
            return
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(timeout / 4)
            deadline = loop.time() - timeout
            for box in list(self.outboxes):
                if box.since and box.since <= deadline:
                    if box.stalled:  # aborting did not unblock the write: cancel it
                        box.task.cancel()
                        continue
                    box.stalled = True
                    if self.abort_connection is None or not self.abort_connection(box.asgi_scope):
                        box.task.cancel()

    async def revocations(self, interval: float) -> None:
        """End streams whose token no longer allows them; sleeps while there are none."""
        while True:
            if not any(box.principal.credential is not None for box in self.outboxes):
                self._user_streams.clear()
                await self._user_streams.wait()
            await asyncio.sleep(interval)
            try:
                await self.revoke_stale()
            except Unavailable as exc:  # Redis away: the streams stay, checked again later
                log.debug("revocation check skipped: %s", exc)
            except Exception:  # noqa: BLE001 - the check must outlive any bug
                log.exception("revocation check failed")

    async def revoke_stale(self) -> None:
        """If the accounts changed, check each open user stream's token again."""
        boxes = [box for box in self.outboxes if box.principal.credential is not None]
        if not boxes:
            return
        version = await self.auth.accounts_version()
        if version is None:
            return
        self.accounts_version = version
        groups: dict[str, list[_Outbox]] = {}
        for box in boxes:
            if box.known != version and box.principal.credential is not None:
                groups.setdefault(box.principal.credential, []).append(box)
        for group in groups.values():
            now = await self.auth.recheck(group[0].principal)
            ended = 0
            for box in group:
                if now is not None and _within(box.principal.scope, now.scope):
                    box.known = version
                else:
                    box.sub.close()  # the stream ends at once; the client reconnects
                    ended += 1
            if ended:
                log.info("ended %d stream(s) of user %r: %s", ended, group[0].principal.user,
                         "its token was removed or renewed" if now is None
                         else "its workspaces were narrowed")

    def count_cut(self, box: _Outbox) -> None:
        """One stalled reader cut (by the watchdog or the kernel), counted once."""
        if not box.counted:
            box.counted = True
            self.counters.slow_peers_cut += 1

    async def drop_stalled(self, box: _Outbox, watcher: asyncio.Future[None]) -> None:
        """Abort a stream whose peer stopped reading (its buffered frames are discarded)."""
        self.count_cut(box)
        asgi_scope = box.asgi_scope
        client = asgi_scope.get("client")
        log.info(
            "closing a stream that read nothing for %g s (peer %s)", self.write_timeout,
            f"{client[0]}:{client[1]}" if client else "unknown",
        )
        if self.abort_connection is not None and self.abort_connection(asgi_scope):
            # the transport reports the loss on its next turn; wait for it so
            # the server sees a disconnected peer, not an unfinished response
            await asyncio.wait({watcher}, timeout=1.0)


def _within(scope: WorkspaceScope, allowed: WorkspaceScope) -> bool:
    """Does a stream filtered by ``scope`` show only what ``allowed`` may see?"""
    if allowed is None:
        return True
    return scope is not None and scope <= allowed


def _last_event_id(request: Request) -> int | None:
    """The resume point: the ``Last-Event-ID`` header, else ``?last_event_id=``; 400 if bad."""
    raw = request.headers.get("last-event-id")
    if raw is None:
        raw = request.query_params.get("last_event_id")
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise Refusal(400, "Last-Event-ID must be a non-negative integer") from None
    if value < 0:
        raise Refusal(400, "Last-Event-ID must be a non-negative integer")
    return value


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
