"""A client of a lattice-rt endpoint: the live stream plus request helpers.

:class:`RealtimeClient` keeps one SSE stream open on its own daemon thread and
hands every frame to callbacks:

* data frames (enriched events) to ``on_event``; ``event: gap`` bodies to
  ``on_gap``; ``event: reset`` bodies to ``on_reset``; comments (heartbeats)
  are ignored;
* connection changes to ``on_state(ClientState, detail)``.

When the stream fails (refused, dropped, or silent for longer than the read
timeout, which sits above the heartbeat interval) it reconnects after a
:class:`Backoff` delay, never shorter than the server's ``retry:`` hint, and
resumes with ``Last-Event-ID`` so nothing retained is missed. A server that
refuses the token (401, 403) is retried on the backoff's slow schedule
(minutes). Callbacks run on the client thread; an exception in one is logged
and the stream goes on.

With ``resume_from``, every connection attempt first asks ``/realtime/health``
(with the token) and lets the caller choose the ``Last-Event-ID`` from the
answer, whose ``stats`` name the server (``server_id``) and its history
(``epoch``): a resume point is only meaningful to the server that gave it.

With ``resume_from`` the client also learns what it follows (:attr:`kind`): a
server without ``/realtime/health`` whose feed answers is a Lattice AI server
(:class:`ServerKind`), whose frames carry no ids; its stream is followed through
:class:`~lattice_rt_core.net.unnumbered.Unnumbered` (each event once, oldest
first, a restart of the server reported as a reset). A server with neither
route has no realtime API: said once, retried on the slow schedule.

The request helpers (:meth:`RealtimeClient.feed`, :meth:`RealtimeClient.publish`
...) are synchronous, may be called from any thread and raise :class:`ApiError`
with the server's ``{"error"}`` text (status 0 when the server cannot be
reached).
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from lattice_rt_core.net.api import (
    REFUSED_STATUSES,
    ApiError,
    ClientState,
    ServerKind,
    answer_error,
    check_url,
    reason,
)
from lattice_rt_core.net.backoff import Backoff, duration
from lattice_rt_core.net.plain import PlainRequests, PlainStream
from lattice_rt_core.net.requests import MISSING, REQUEST_TIMEOUT
from lattice_rt_core.net.sse import Frame, FrameTooLarge, SseDecoder
from lattice_rt_core.net.tls import CaFile
from lattice_rt_core.net.tls import describe as describe_tls
from lattice_rt_core.net.unnumbered import Unnumbered
from lattice_rt_core.protocol.defaults import DEFAULT_HEARTBEAT

__all__ = [
    "REFUSED_STATUSES",
    "ApiError",
    "Backoff",
    "REQUEST_TIMEOUT",
    "ClientState",
    "RealtimeClient",
    "ResumeFrom",
    "ServerKind",
    "check_url",
]

log = logging.getLogger(__name__)

MAX_SERVER_RETRY = 300.0  # seconds; a larger retry: hint is capped
#: how much of an unnumbered server's feed is read at each connect (its replay is 10)
CATCH_UP_LIMIT = 200
#: a stream that ends by itself this soon after opening (a server that replays and
#: then ends) is opened again no sooner than this: followed, not hammered
SHORT_STREAM = 10.0
SHORT_STREAM_PAUSE = 5.0

EventCallback = Callable[[dict[str, Any]], None]
#: (the server's health answer, the client's own resume point) -> the Last-Event-ID to send
ResumeFrom = Callable[[dict[str, Any], int | None], int | None]


class RealtimeClient(PlainRequests):
    """The realtime stream on a worker thread, and the endpoint's requests
    (:class:`~lattice_rt_core.net.plain.PlainRequests`), over the standard library.

    One-shot: :meth:`start` once, :meth:`stop` once; build a new client to
    follow another endpoint. ``read_timeout`` defaults to ``heartbeat * 2 + 5``.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        client_ids: Iterable[str] = (),
        last_event_id: int | None = None,
        heartbeat: float = DEFAULT_HEARTBEAT,
        on_event: EventCallback | None = None,
        on_gap: EventCallback | None = None,
        on_reset: EventCallback | None = None,
        on_state: Callable[[ClientState, str], None] | None = None,
        resume_from: ResumeFrom | None = None,
        backoff: Backoff | None = None,
        read_timeout: float | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        ca_file: CaFile | None = None,
    ) -> None:
        url = check_url(base_url)
        if heartbeat <= 0:
            raise ValueError("heartbeat must be positive")
        self.read_timeout = read_timeout if read_timeout is not None else heartbeat * 2 + 5
        self._on_event = on_event
        self._on_gap = on_gap
        self._on_reset = on_reset
        self._on_state = on_state
        self._resume_from = resume_from
        self._backoff = backoff if backoff is not None else Backoff()
        self._client_ids: tuple[str, ...] = tuple(client_ids)
        self._last_event_id = last_event_id
        self._server_retry = 0.0
        self.last_error: ApiError | None = None  # the last HTTP error answer (cleared on connect)
        self._unnumbered = Unnumbered()
        self._caught_up = threading.Event()  # an unnumbered server's feed was handed over
        self._caught_up_seq: int | None = None

        super().__init__(url, token, request_timeout=request_timeout, ca_file=ca_file)

        self._lock = threading.Lock()  # guards _response, _thread
        self._callback_lock = threading.RLock()  # one callback at a time; none after stop
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: PlainStream | None = None
        self._state = ClientState.STOPPED
        self._detail = ""

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def detail(self) -> str:
        """Human text for the current state (why it is reconnecting, ...)."""
        return self._detail

    @property
    def last_event_id(self) -> int | None:
        """The id of the last data, gap or reset frame received (the resume point)."""
        return self._last_event_id

    @property
    def running(self) -> bool:
        """True while the stream thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def server_retry(self) -> float:
        """The server's ``retry:`` hint in seconds (0 until one arrives)."""
        return self._server_retry

    # -------------------------------------------------------------- lifecycle
    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("RealtimeClient.start() may be called only once")
            self._thread = threading.Thread(
                target=self._run, name="lattice-rt-stream", daemon=True
            )
        self._set_state(ClientState.CONNECTING, f"connecting to {self.base_url}")
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the stream, interrupting a blocked read; no callback runs after this.

        Waits up to ``timeout`` for the thread. A thread stuck in a TCP connect
        finishes on its own later, silently.
        """
        self._stopping.set()
        with self._lock:
            response = self._response
            thread = self._thread
        if response is not None:
            response.abort()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._set_state(ClientState.STOPPED, "stopped")

    def close(self) -> None:
        """Stop the stream. After an explicit :meth:`stop` this does not wait for the
        thread again."""
        self.stop(timeout=0.0 if self._stopping.is_set() else 1.0)

    def __enter__(self) -> RealtimeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ stream loop
    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                refused = False
                opened = threading.Event()
                started = time.monotonic()
                try:
                    detail = self._stream_once(opened)
                except ApiError as exc:
                    if exc.status:  # an answer, not a connection failure
                        self.last_error = exc
                    refused = exc.lasting
                    detail = str(exc)
                except (OSError, http.client.HTTPException, FrameTooLarge) as exc:
                    detail = self._describe(exc)
                except Exception as exc:  # noqa: BLE001 - the loop must survive anything
                    log.exception("stream loop error")
                    detail = f"unexpected error: {exc!r}"
                finally:
                    self._caught_up.set()  # no one waits for a catch-up that will not come
                if self._stopping.is_set():
                    break
                delay = self._backoff.next_delay(minimum=self._server_retry, refused=refused)
                if opened.is_set() and time.monotonic() - started < SHORT_STREAM:
                    delay = max(delay, SHORT_STREAM_PAUSE)
                self._set_state(
                    ClientState.RECONNECTING, f"{detail}; retrying in {duration(delay)}"
                )
                if self._stopping.wait(delay):
                    break
                self._set_state(ClientState.RECONNECTING, f"reconnecting to {self.base_url}")
        finally:
            with self._lock:
                self._response = None
            self._set_state(ClientState.STOPPED, "stopped")

    def _stream_once(self, opened: threading.Event) -> str:
        """One connection: returns why it ended, or raises what broke it."""
        if self._resume_from is not None:
            hello = self.hello()  # ApiError when the server cannot be reached
            if self._stopping.is_set():
                return "stopped"
            self._last_event_id = self._resume_from(hello, self._last_event_id)
        params = [("client_id", cid) for cid in self._client_ids]
        headers: dict[str, str] = {}
        if self._last_event_id is not None and self._kind is not ServerKind.LATTICE_AI:
            headers["Last-Event-ID"] = str(self._last_event_id)
        self._caught_up.clear()
        response = self.open_stream("/realtime/stream", params, headers, self.read_timeout)
        with self._lock:
            self._response = response
        try:
            if self._stopping.is_set():
                return "stopped"
            if response.status != 200:
                error = answer_error(response.status, response.body(), response.reason)
                if error.status in MISSING and self._kind is None:
                    self._learn()  # raises the reason when the server has no realtime API
                raise error
            if response.content_type != "text/event-stream":
                raise ApiError(
                    response.status,
                    f"/realtime/stream answered {response.content_type or 'no content type'}, "
                    "not an event stream",
                )
            self.last_error = None
            self._backoff.reset()
            opened.set()
            self._set_state(ClientState.CONNECTED, f"connected to {self.base_url}")
            if self._kind is ServerKind.LATTICE_AI:
                self._catch_up()
            decoder = SseDecoder()
            for chunk in response.chunks():
                for frame in decoder.feed(chunk):
                    if self._stopping.is_set():
                        return "stopped"
                    self._handle(frame)
        finally:
            with self._lock:
                self._response = None
            response.close()
        return "the server closed the stream"

    def _catch_up(self) -> None:
        """An unnumbered server's feed after the connect: the events not seen, oldest first."""
        try:
            answer = self.feed(CATCH_UP_LIMIT)
        except ApiError as exc:
            log.info("cannot read the feed of %s to catch up: %s", self.base_url, exc)
            answer = {}
        feed = answer.get("events")
        events = [e for e in feed if isinstance(e, dict)] if isinstance(feed, list) else []
        caught = self._unnumbered.catch_up(events, CATCH_UP_LIMIT)
        self._caught_up_seq = caught.newest
        if caught.restarted:
            self._restarted()
        if caught.missed and self._on_gap is not None:
            self._call(self._on_gap, {"missed": caught.missed, "reason": "not in the feed",
                                      "message": f"up to {caught.missed} events were missed "
                                                 "while disconnected"})
        for event in caught.events:
            if self._on_event is not None:
                self._call(self._on_event, event)
        self._caught_up.set()

    def _restarted(self) -> None:
        if self._on_reset is not None:
            self._call(self._on_reset, {
                "reason": "restart", "server_seq": 0,
                "message": "the server restarted and numbers its events from 1 again",
            })

    def _handle(self, sse: Frame) -> None:
        if sse.retry is not None:
            self._server_retry = min(max(sse.retry, 0) / 1000.0, MAX_SERVER_RETRY)
        if sse.id:
            try:
                self._last_event_id = int(sse.id)
            except ValueError:
                log.debug("ignoring non-numeric event id %r", sse.id)
        if not sse.data:
            return  # a retry-only frame: nothing to dispatch (as in the SSE spec)
        if sse.event == "message":
            callback = self._on_event
        elif sse.event == "gap":
            callback = self._on_gap
        elif sse.event == "reset":
            callback = self._on_reset
        else:
            log.debug("ignoring unknown event %r", sse.event)
            return
        try:
            body = sse.json()
        except ValueError:
            log.warning("ignoring a frame whose data is not JSON: %.200r", sse.data)
            return
        if not isinstance(body, dict):
            log.warning("ignoring a frame whose data is not a JSON object: %.200r", sse.data)
            return
        if callback is self._on_event and self._kind is ServerKind.LATTICE_AI and not sse.id:
            new, restarted = self._unnumbered.accept(body)
            if restarted:
                self._restarted()
            if not new:
                return
        if callback is not None:
            self._call(callback, body)

    def _call(self, callback: EventCallback, body: dict[str, Any]) -> None:
        with self._callback_lock:
            if self._stopping.is_set():
                return
            try:
                callback(body)
            except Exception:  # noqa: BLE001 - a bad callback must not end the stream
                log.exception("realtime callback %r failed", callback)

    def _set_state(self, state: ClientState, detail: str) -> None:
        with self._callback_lock:
            if self._stopping.is_set() and state is not ClientState.STOPPED:
                return
            if (state, detail) == (self._state, self._detail):
                return
            self._state = state
            self._detail = detail
            if self._on_state is not None:
                try:
                    self._on_state(state, detail)
                except Exception:  # noqa: BLE001 - a bad callback must not end the stream
                    log.exception("realtime state callback failed")

    def _describe(self, exc: Exception) -> str:
        """One line for what broke an open stream."""
        tls_failure = describe_tls(exc, self.base_url)
        if tls_failure is not None:
            return tls_failure
        if isinstance(exc, TimeoutError):
            return f"no data from the server for {self.read_timeout:g} s"
        if isinstance(exc, FrameTooLarge):
            return f"not an event stream: {exc}"
        if isinstance(exc, http.client.IncompleteRead):
            return "connection lost (the server ended the stream mid-frame)"
        return f"connection lost ({reason(exc)})"

    def server_stats(self, timeout: float = REQUEST_TIMEOUT) -> dict[str, Any]:
        """The server's ``stats`` after a connect (``seq``: what was replayed is catch-up).

        An unnumbered server has no stats: its ``seq`` is the newest of the feed read
        at the connect (waited for up to ``timeout``), and it says that its presence
        does not expire (``presence_expires``: False).
        """
        if self._kind is ServerKind.LATTICE_AI:
            self._caught_up.wait(timeout)
            return {"seq": self._caught_up_seq, "presence_expires": False}
        stats = self.health().get("stats")
        return stats if isinstance(stats, dict) else {}
