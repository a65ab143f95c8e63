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

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, SSEError, connect_sse

from lattice_rt_core.net.api import (
    NO_EVENTS_MESSAGE,
    NO_REALTIME_MESSAGE,
    NO_STATUS_MESSAGE,
    REFUSED_STATUSES,
    ApiError,
    ClientState,
    ServerKind,
    accept_language,
    check_url,
)
from lattice_rt_core.net.backoff import Backoff
from lattice_rt_core.net.tls import CaFile, TlsError, client_context
from lattice_rt_core.net.tls import describe as describe_tls
from lattice_rt_core.net.unnumbered import Unnumbered
from lattice_rt_core.protocol.defaults import DEFAULT_FEED_LIMIT, DEFAULT_HEARTBEAT
from lattice_rt_core.protocol.events import to_json
from lattice_rt_core.version import __version__

__all__ = [
    "REFUSED_STATUSES",
    "ApiError",
    "Backoff",
    "ClientState",
    "RealtimeClient",
    "ResumeFrom",
    "ServerKind",
    "check_url",
]

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 5.0
MAX_SERVER_RETRY = 300.0  # seconds; a larger retry: hint is capped
#: how much of an unnumbered server's feed is read at each connect (its replay is 10)
CATCH_UP_LIMIT = 200
#: a stream that ends by itself this soon after opening (a server that replays and
#: then ends) is opened again no sooner than this: followed, not hammered
SHORT_STREAM = 10.0
SHORT_STREAM_PAUSE = 5.0
_MISSING = frozenset({404, 405})
#: the cookie a Lattice AI server's ``POST /login`` sets: its session token
SESSION_COOKIE = "session_token"

EventCallback = Callable[[dict[str, Any]], None]
#: (the server's health answer, the client's own resume point) -> the Last-Event-ID to send
ResumeFrom = Callable[[dict[str, Any], int | None], int | None]


class RealtimeClient:
    """The realtime stream on a worker thread, and the endpoint's request API.

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
        transport: httpx.BaseTransport | None = None,
        read_timeout: float | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        ca_file: CaFile | None = None,
    ) -> None:
        url = check_url(base_url)
        if heartbeat <= 0:
            raise ValueError("heartbeat must be positive")
        self.base_url = url
        self.read_timeout = read_timeout if read_timeout is not None else heartbeat * 2 + 5
        self.request_timeout = request_timeout
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
        self._kind: ServerKind | None = None
        self._unnumbered = Unnumbered()
        self._caught_up = threading.Event()  # an unnumbered server's feed was handed over
        self._caught_up_seq: int | None = None

        headers = {"User-Agent": f"lattice-rt/{__version__}", "Accept-Language": accept_language()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:  # one verifying context for both pools: the system store (+ ca_file)
            verify = client_context(ca_file) if url.startswith("https://") else True
        except TlsError as exc:
            raise ApiError(0, str(exc)) from None
        self._http = httpx.Client(
            base_url=url, headers=headers, timeout=request_timeout, transport=transport,
            verify=verify,
        )
        self._stream_http = httpx.Client(
            base_url=url,
            headers=headers,
            timeout=httpx.Timeout(request_timeout, read=self.read_timeout),
            transport=transport,
            verify=verify,
        )

        self._lock = threading.Lock()  # guards _response, _thread
        self._callback_lock = threading.RLock()  # one callback at a time; none after stop
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: httpx.Response | None = None
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
    def kind(self) -> ServerKind | None:
        """What this client follows, once learned (None: not asked yet)."""
        return self._kind

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
            _abort(response)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._set_state(ClientState.STOPPED, "stopped")

    def close(self) -> None:
        """Stop the stream and release both connection pools.

        After an explicit :meth:`stop` this does not wait for the thread again.
        """
        self.stop(timeout=0.0 if self._stopping.is_set() else 1.0)
        self._http.close()
        with self._lock:
            thread = self._thread
        if thread is None or not thread.is_alive():
            self._stream_http.close()

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
                except (httpx.HTTPError, SSEError) as exc:
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
                    ClientState.RECONNECTING, f"{detail}; retrying in {_duration(delay)}"
                )
                if self._stopping.wait(delay):
                    break
                self._set_state(ClientState.RECONNECTING, f"reconnecting to {self.base_url}")
        finally:
            with self._lock:
                self._response = None
            self._set_state(ClientState.STOPPED, "stopped")
            if self._http.is_closed:  # close() ran while we were still going
                self._stream_http.close()

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
        with connect_sse(
            self._stream_http, "GET", "/realtime/stream", params=params, headers=headers
        ) as source:
            response = source.response
            with self._lock:
                self._response = response
            try:
                if self._stopping.is_set():
                    return "stopped"
                if response.status_code != 200:
                    response.read()
                    error = _error_from(response)
                    if error.status in _MISSING and self._kind is None:
                        self._learn()  # raises the reason when the server has no realtime API
                    raise error
                ctype = response.headers.get("content-type", "").partition(";")[0].strip()
                if ctype != "text/event-stream":
                    raise ApiError(
                        response.status_code,
                        f"/realtime/stream answered {ctype or 'no content type'}, "
                        "not an event stream",
                    )
                self.last_error = None
                self._backoff.reset()
                opened.set()
                self._set_state(ClientState.CONNECTED, f"connected to {self.base_url}")
                if self._kind is ServerKind.LATTICE_AI:
                    self._catch_up()
                for sse in source.iter_sse():
                    if self._stopping.is_set():
                        return "stopped"
                    self._handle(sse)
            finally:
                with self._lock:
                    self._response = None
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

    def _handle(self, sse: ServerSentEvent) -> None:
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
        tls_failure = describe_tls(exc, self.base_url)
        if tls_failure is not None:
            return tls_failure
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect to {self.base_url} ({_reason(exc)})"
        if isinstance(exc, httpx.ConnectTimeout):
            return f"cannot connect to {self.base_url} (timed out)"
        if isinstance(exc, httpx.ReadTimeout):
            return f"no data from the server for {self.read_timeout:g} s"
        if isinstance(exc, SSEError):
            return f"not an event stream: {exc}"
        return f"connection lost ({_reason(exc)})"

    # -------------------------------------------------------------- requests
    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One request; the answer's JSON object, or :class:`ApiError` (any route of the API)."""
        kwargs: dict[str, Any] = {
            "timeout": timeout if timeout is not None else self.request_timeout
        }
        if body is not None:
            kwargs["content"] = to_json(body).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        if params:
            kwargs["params"] = params
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, self._request_failure(exc)) from exc
        if response.status_code >= 400:
            raise _error_from(response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise ApiError(response.status_code, f"{path} did not answer JSON") from exc
        if not isinstance(answer, dict):
            raise ApiError(response.status_code, f"{path} answered an unexpected shape")
        return answer

    def _request_failure(self, exc: httpx.HTTPError) -> str:
        tls_failure = describe_tls(exc, self.base_url)
        if tls_failure is not None:
            return tls_failure
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect to {self.base_url} ({_reason(exc)})"
        if isinstance(exc, httpx.TimeoutException):
            return f"{self.base_url} did not answer in time"
        return f"request to {self.base_url} failed ({_reason(exc)})"

    @staticmethod
    def _field(answer: dict[str, Any], key: str, kind: type, path: str) -> Any:
        value = answer.get(key)
        if not isinstance(value, kind):
            raise ApiError(200, f"{path} answered without {key!r}")
        return value

    def join(
        self,
        workspace_id: str | None = None,
        client_id: str | None = None,
        display_name: str | None = None,
        status: str | None = None,
        status_text: str | None = None,
    ) -> dict[str, Any]:
        """Announce presence; returns the presence entry (with its client_id).

        ``status`` (with ``status_text``) sets the entry's state; without it
        a new entry is ``active`` and a re-join keeps what the entry says.
        """
        body = {
            key: value
            for key, value in (
                ("client_id", client_id),
                ("workspace_id", workspace_id),
                ("display_name", display_name),
                ("status", status),
                ("status_text", status_text),
            )
            if value is not None
        }
        answer = self.request("POST", "/realtime/presence/join", body=body)
        entry: dict[str, Any] = self._field(answer, "presence", dict, "presence/join")
        return entry

    def set_status(
        self, client_id: str, status: str, status_text: str | None = None
    ) -> dict[str, Any]:
        """Change an entry's status and status line (None: no line); returns the entry."""
        body: dict[str, Any] = {"client_id": client_id, "status": status}
        if status_text is not None:
            body["status_text"] = status_text
        try:
            answer = self.request("POST", "/realtime/presence/status", body=body)
        except ApiError as exc:
            raise self._missing_route(exc, NO_STATUS_MESSAGE) from None
        entry: dict[str, Any] = self._field(answer, "presence", dict, "presence/status")
        return entry

    def leave(self, client_id: str, timeout: float = 1.0) -> None:
        self.request(
            "POST", "/realtime/presence/leave", body={"client_id": client_id}, timeout=timeout
        )

    def feed(self, limit: int = DEFAULT_FEED_LIMIT) -> dict[str, Any]:
        return self.request("GET", "/realtime/feed", params={"limit": limit})

    def presence(self) -> dict[str, Any]:
        return self.request("GET", "/realtime/presence")

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/realtime/health")

    def hello(self) -> dict[str, Any]:
        """The server's health, learning what it is (:attr:`kind`) on the way.

        A lattice-rt server answers its health. A server without that route is
        asked for its feed: a Lattice AI server answers it (the result is then
        ``{"kind": "lattice-ai"}``: it has no identity or stats to give); with no
        feed either, the server has no realtime API (an unsupported ApiError).
        """
        try:
            health = self.health()
        except ApiError as exc:
            if exc.status not in _MISSING:
                raise
            self._learn()
            return {"kind": ServerKind.LATTICE_AI.value}
        self._kind = ServerKind.LATTICE_RT
        return health

    def _learn(self) -> None:
        """Health is missing: a Lattice AI server, or one without a realtime API (raised)."""
        try:
            self.request("GET", "/realtime/feed", params={"limit": 1})
        except ApiError as exc:
            if exc.status in _MISSING:
                self._kind = ServerKind.NO_REALTIME
                raise ApiError(exc.status, NO_REALTIME_MESSAGE, unsupported=True) from None
            if exc.refused:  # the feed is there, for someone signed in: a Lattice AI server
                self._kind = ServerKind.LATTICE_AI
            raise
        self._kind = ServerKind.LATTICE_AI

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

    def publish(
        self,
        area: str,
        event_type: str,
        payload: Any = None,
        workspace_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Publish one event; returns it enriched (with its seq) once durable."""
        event = dict(extra)
        event.update(
            area=area,
            event_type=event_type,
            workspace_id=workspace_id,
            payload=payload if payload is not None else {},
        )
        events = self.publish_many([event])
        if len(events) != 1:
            raise ApiError(200, "events answered an unexpected number of events")
        return events[0]

    def publish_many(self, events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        try:
            answer = self.request("POST", "/realtime/events", body=[dict(e) for e in events])
        except ApiError as exc:
            raise self._missing_route(exc, NO_EVENTS_MESSAGE) from None
        published: list[dict[str, Any]] = self._field(answer, "events", list, "events")
        return published

    def sign_in(self, email: str, password: str) -> str:
        """Sign in with a password (a Lattice AI server in auth mode: ``POST /login``);
        returns the session token, which works as this client's bearer token."""
        try:
            response = self._http.post("/login", json={"email": email, "password": password})
        except httpx.HTTPError as exc:
            raise ApiError(0, self._request_failure(exc)) from exc
        token = response.cookies.get(SESSION_COOKIE)
        self._http.cookies.clear()  # the token goes in Authorization, never a cookie jar
        if response.status_code == 404:
            raise ApiError(404, "this server has no password sign-in (POST /login); "
                                "use a token", unsupported=True)
        if response.status_code >= 400:
            raise _error_from(response)
        if not token:
            raise ApiError(response.status_code, "the server answered the sign-in without a "
                                                 "session")
        return token

    def _missing_route(self, exc: ApiError, message: str) -> ApiError:
        """A 404 explained: a Lattice AI server lacks the route, or there is no realtime API."""
        if exc.status not in _MISSING:
            return exc
        if self._kind is None:
            try:
                self.hello()
            except ApiError as other:
                return other if other.unsupported else exc
        if self._kind is ServerKind.LATTICE_AI:
            return ApiError(exc.status, message, unsupported=True)
        return exc

    def launch_url(self) -> str:
        """A one-time URL that logs a browser into the activity page (60 s)."""
        answer = self.request("POST", "/realtime/launch", body={})
        url: str = self._field(answer, "url", str, "launch")
        return url


def _duration(seconds: float) -> str:
    """``3.9 s`` below a minute, ``4 min`` from there (a refused token waits minutes)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{round(seconds / 60):d} min"


def _abort(response: httpx.Response) -> None:
    """Wake a thread blocked reading ``response`` (callable from any thread).

    Closing a socket does not interrupt a ``recv`` blocked on it in another
    thread; shutting it down does. Without a socket (a mock transport) the
    stream's own close() is the only lever.
    """
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
        return
    try:
        response.close()
    except Exception:  # noqa: BLE001 - best effort from a foreign thread
        log.debug("closing the stream response failed", exc_info=True)


def _error_from(response: httpx.Response) -> ApiError:
    """An ApiError with the server's ``{"error"}`` text (or a short fallback)."""
    message = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            message = _error_text(body.get("error")) or _error_text(body.get("detail"))
    except (ValueError, httpx.ResponseNotRead):
        pass
    if not message:
        try:
            text = response.text.strip()
        except (httpx.ResponseNotRead, UnicodeDecodeError):
            text = ""
        first = text.splitlines()[0] if text else ""
        message = first[:200] if first and not first.lstrip().startswith("<") else ""
    if not message:
        message = response.reason_phrase or "request failed"
    return ApiError(response.status_code, message)


def _error_text(value: object) -> str:
    """An error body's text as the server wrote it: ``{"error"}`` (ours), ``{"detail"}``
    (FastAPI: a string, or a list of validation problems, each with a ``msg``)."""
    if isinstance(value, str):
        return value.strip()[:500]
    if isinstance(value, list):
        parts = []
        for item in value[:5]:
            if isinstance(item, dict) and isinstance(item.get("msg"), str):
                where = item.get("loc")
                field = ".".join(str(p) for p in where[1:]) if isinstance(where, list) else ""
                parts.append(f"{field}: {item['msg']}" if field else item["msg"])
        return "; ".join(parts)[:500]
    return ""


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if "Connection refused" in text:
        return "connection refused"
    return text or type(exc).__name__

