"""RealtimeClient: request helpers, stream dispatch, reconnect, resume, stop.

Unit tests script the server as an httpx transport served on a loopback port
(tests/core/mock_http.py: the client speaks real HTTP to it); the rest run
against a real endpoint on a loopback port (the ``server`` fixture) or a raw
socket that stalls. Tests wait
on callbacks through a Condition, never on sleeps.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lattice_rt_core.client import Backoff, RealtimeClient
from lattice_rt_core.net.api import ApiError, ClientState, ServerKind
from lattice_rt_core.net.discovery import discover
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.core.mock_http import MockHttp

WAIT = 15.0  # generous upper bound for anything that should happen "soon"


class Recorder:
    """Collects every callback; tests wait on its condition."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: list[dict[str, Any]] = []
        self.gaps: list[dict[str, Any]] = []
        self.resets: list[dict[str, Any]] = []
        self.states: list[tuple[ClientState, str]] = []

    def _add(self, bucket: list[Any], item: Any) -> None:
        with self.cond:
            bucket.append(item)
            self.cond.notify_all()

    def on_event(self, event: dict[str, Any]) -> None:
        self._add(self.events, event)

    def on_gap(self, body: dict[str, Any]) -> None:
        self._add(self.gaps, body)

    def on_reset(self, body: dict[str, Any]) -> None:
        self._add(self.resets, body)

    def on_state(self, state: ClientState, detail: str) -> None:
        self._add(self.states, (state, detail))

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_event": self.on_event,
            "on_gap": self.on_gap,
            "on_reset": self.on_reset,
            "on_state": self.on_state,
        }

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, WAIT), f"timed out waiting for {what}"

    def wait_state(self, state: ClientState, count: int = 1) -> None:
        self.wait(
            lambda: sum(1 for s, _ in self.states if s is state) >= count, f"{state} x{count}"
        )

    def seqs(self) -> list[int]:
        with self.cond:
            return [e["seq"] for e in self.events]


def quick_backoff() -> Backoff:
    return Backoff(initial=0.01, maximum=0.05, jitter=0.0)


# --------------------------------------------------------------- mock streams
class BlockingStream(httpx.SyncByteStream):
    """Yields ``chunks`` then blocks until closed, like an idle SSE stream."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        self.closed.wait(WAIT)

    def close(self) -> None:
        self.closed.set()


SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}


def sse_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers=SSE_HEADERS, content=body)


def frame(seq: int, **fields: Any) -> bytes:
    event = {"seq": seq, "area": "workflow", "event_type": "run", **fields}
    return f"id: {seq}\ndata: {json.dumps(event)}\n\n".encode()


class MockServer:
    """A MockTransport handler that answers stream requests from a script."""

    def __init__(self, script: list[Callable[[httpx.Request], httpx.Response]]) -> None:
        self.script = script
        self.requests: list[httpx.Request] = []
        self.cond = threading.Condition()
        self.streams: list[BlockingStream] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.cond:
            self.requests.append(request)
            index = len(self.requests) - 1
            self.cond.notify_all()
        if index < len(self.script):
            return self.script[index](request)
        stream = BlockingStream([b"retry: 10\n\n"])
        self.streams.append(stream)
        return httpx.Response(200, headers=SSE_HEADERS, stream=stream)

    def wait_requests(self, count: int) -> list[httpx.Request]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.requests) >= count, WAIT)
            return list(self.requests)


@pytest.fixture
def make_client() -> Iterator[Callable[..., RealtimeClient]]:
    """RealtimeClient(url, ...); with ``transport=`` (an httpx transport: the scripted
    server), that transport answers on a loopback port and the client follows it there,
    under ``url``'s path."""
    clients: list[RealtimeClient] = []
    served: dict[int, MockHttp] = {}

    def make(url: str, *args: Any, transport: httpx.BaseTransport | None = None,
             **kwargs: Any) -> RealtimeClient:
        if transport is not None:
            if id(transport) not in served:
                served[id(transport)] = MockHttp(transport)
            url = served[id(transport)].url + urlsplit(url).path
        client = RealtimeClient(url, *args, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    for mock in served.values():
        mock.close()


# ------------------------------------------------------------ request helpers
def json_handler(
    answers: dict[str, tuple[int, Any]], seen: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = answers[request.url.path]
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    return handle


def test_requests_carry_the_token_and_a_json_body(make_client) -> None:
    seen: list[httpx.Request] = []
    entry = {"client_id": "c1", "user": "ada", "workspace_id": "ws1"}
    answers = {"/realtime/presence/join": (200, {"presence": entry})}
    client = make_client(
        "http://127.0.0.1:1/", "secret", transport=httpx.MockTransport(json_handler(answers, seen))
    )
    assert client.join(workspace_id="ws1", display_name="Ada") == entry
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/realtime/presence/join"
    assert request.headers["authorization"] == "Bearer secret"
    assert request.headers["content-type"] == "application/json"
    # only the fields given are sent: the server generates a missing client_id
    assert json.loads(request.content) == {"workspace_id": "ws1", "display_name": "Ada"}


def test_without_a_token_no_authorization_header_is_sent(make_client) -> None:
    seen: list[httpx.Request] = []
    answers = {"/realtime/health": (200, {"status": "ok"})}
    client = make_client("http://h:1", transport=httpx.MockTransport(json_handler(answers, seen)))
    assert client.health() == {"status": "ok"}
    assert "authorization" not in seen[0].headers


def test_publish_sends_one_event_with_extra_keys_and_returns_it_enriched(make_client) -> None:
    seen: list[httpx.Request] = []
    enriched = {"seq": 7, "area": "graph", "event_type": "indexed", "actor": "ada"}
    answers = {"/realtime/events": (200, {"events": [enriched]})}
    transport = httpx.MockTransport(json_handler(answers, seen))
    client = make_client("http://h:1", "t", transport=transport)
    out = client.publish("graph", "indexed", {"n": 3}, workspace_id="ws1", origin="cli")
    assert out == enriched
    assert json.loads(seen[0].content) == [
        {"origin": "cli", "area": "graph", "event_type": "indexed",
         "workspace_id": "ws1", "payload": {"n": 3}}
    ]


class LosesTheFirstAnswer(httpx.BaseTransport):
    """A proxy to a real server whose first publish reaches it, but whose answer is lost."""

    def __init__(self, upstream: str) -> None:
        self.upstream = httpx.Client(base_url=upstream)
        self.keys: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k != "host"}
        answer = self.upstream.request(request.method, request.url.raw_path.decode(),
                                       headers=headers, content=request.content)
        if request.url.path == "/realtime/events":
            self.keys.append(request.headers["idempotency-key"])
            if len(self.keys) == 1:
                raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def close(self) -> None:
        self.upstream.close()


def test_a_publish_whose_answer_was_lost_is_retried_once_and_stored_once(
    make_client, server: RealtimeServer, owner: httpx.Client
) -> None:
    # fails without: the Idempotency-Key and the one retry in ApiRequests.publish_many
    # (issue 20, item 5: a retry created a duplicate)
    transport = LosesTheFirstAnswer(server.url)
    client = make_client(server.url, server.owner_token, transport=transport)
    event = client.publish("deploy", "done", {"n": 1})
    assert event["seq"] == 1
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1]
    assert [e["seq"] for e in owner.get("/realtime/feed").json()["events"]] == [1]
    mine = client.publish("deploy", "done", {"n": 2}, idempotency_key="run-42")
    assert transport.keys[2] == "run-42" and mine["seq"] == 2
    assert client.publish("deploy", "done", {"n": 2}, idempotency_key="run-42") == mine


def test_feed_presence_leave_and_launch(make_client) -> None:
    seen: list[httpx.Request] = []
    answers = {
        "/realtime/feed": (200, {"events": [], "stats": {}}),
        "/realtime/presence": (200, {"presence": [], "stats": {}}),
        "/realtime/presence/leave": (200, {"status": "ok"}),
        "/realtime/launch": (200, {"code": "x", "url": "http://h:1/activity?code=x"}),
    }
    transport = httpx.MockTransport(json_handler(answers, seen))
    client = make_client("http://h:1", "t", transport=transport)
    assert client.feed(limit=5) == {"events": [], "stats": {}}
    assert seen[-1].url.params["limit"] == "5"
    assert client.presence() == {"presence": [], "stats": {}}
    assert client.leave("c1") is None
    assert json.loads(seen[-1].content) == {"client_id": "c1"}
    assert client.launch_url() == "http://h:1/activity?code=x"


def test_join_and_set_status_send_only_what_is_given(make_client) -> None:
    seen: list[httpx.Request] = []
    entry = {"client_id": "c1", "status": "away"}
    answers = {
        "/realtime/presence/join": (200, {"presence": entry}),
        "/realtime/presence/status": (200, {"presence": entry}),
    }
    client = make_client("http://h:1", "t",
                         transport=httpx.MockTransport(json_handler(answers, seen)))
    assert client.join("ws", "c1", status="dnd", status_text="Focus") == entry
    assert json.loads(seen[-1].content) == {"client_id": "c1", "workspace_id": "ws",
                                            "status": "dnd", "status_text": "Focus"}
    client.join("ws", "c1")
    assert json.loads(seen[-1].content) == {"client_id": "c1", "workspace_id": "ws"}
    assert client.set_status("c1", "away", "Lunch") == entry
    assert json.loads(seen[-1].content) == {"client_id": "c1", "status": "away",
                                            "status_text": "Lunch"}
    client.set_status("c1", "active")
    assert json.loads(seen[-1].content) == {"client_id": "c1", "status": "active"}


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (403, {"error": "workspace ws9 is not yours"}, "workspace ws9 is not yours"),
        (400, b"plain text problem\nsecond line", "plain text problem"),
        (500, b"<html><body>oops</body></html>", "Internal Server Error"),
        (404, b"", "Not Found"),
    ],
)
def test_http_errors_carry_the_servers_message(
    make_client, status: int, body: Any, message: str
) -> None:
    answers = {"/realtime/feed": (status, body)}
    client = make_client("http://h:1", transport=httpx.MockTransport(json_handler(answers, [])))
    with pytest.raises(ApiError) as info:
        client.feed()
    assert info.value.status == status
    assert info.value.message == message
    assert str(info.value) == f"{message} (HTTP {status})"


def test_an_answer_without_the_expected_field_is_an_api_error(make_client) -> None:
    answers = {"/realtime/launch": (200, {"code": "x"}), "/realtime/health": (200, b"[]")}
    client = make_client("http://h:1", transport=httpx.MockTransport(json_handler(answers, [])))
    with pytest.raises(ApiError, match="without 'url'"):
        client.launch_url()
    with pytest.raises(ApiError, match="unexpected shape"):
        client.health()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_a_clear_api_error(make_client) -> None:
    port = unused_port()
    client = make_client(f"http://127.0.0.1:{port}")
    with pytest.raises(ApiError) as info:
        client.health()
    assert info.value.status == 0
    assert str(info.value) == f"cannot connect to http://127.0.0.1:{port} (connection refused)"


def test_a_timeout_is_a_clear_api_error(make_client) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = make_client("http://h:1", transport=httpx.MockTransport(slow))
    with pytest.raises(ApiError, match="did not answer in time") as info:
        client.presence()
    assert info.value.status == 0


@pytest.mark.parametrize("url", ["127.0.0.1:8765", "ftp://x", ""])
def test_a_url_without_http_scheme_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="http://"):
        RealtimeClient(url)


def test_read_timeout_sits_above_the_heartbeat() -> None:
    client = RealtimeClient("http://h:1", heartbeat=15.0)
    try:
        assert client.read_timeout == 35.0
    finally:
        client.close()


# -------------------------------------------------------------- stream (mock)
def test_frames_are_dispatched_by_kind_and_the_id_advances(make_client) -> None:
    body = b"".join(
        [
            b"retry: 2500\n\n",
            frame(5, payload={"x": 1}),
            b": heartbeat\n\n",
            b"id: 9\nevent: gap\n"
            b'data: {"from_seq":6,"to_seq":9,"missed":4,"reason":"overflow"}\n\n',
            frame(10),
            b"event: mystery\ndata: {}\n\n",
            b"data: not json\n\n",
            b"data: [1, 2]\n\n",
            b'id: 3\nevent: reset\ndata: {"last_event_id":99,"server_seq":3,"reason":"ahead"}\n\n',
        ]
    )
    mock = MockServer([lambda r: sse_response(body)])
    rec = Recorder()
    client = make_client(
        "http://h:1", transport=httpx.MockTransport(mock), backoff=quick_backoff(),
        **rec.callbacks(),
    )
    client.start()
    rec.wait(lambda: len(rec.resets) == 1, "the reset frame")
    assert rec.seqs() == [5, 10]
    assert rec.events[0]["payload"] == {"x": 1}
    assert rec.gaps == [{"from_seq": 6, "to_seq": 9, "missed": 4, "reason": "overflow"}]
    assert rec.resets == [{"last_event_id": 99, "server_seq": 3, "reason": "ahead"}]
    assert client.server_retry == 2.5
    # the reset's id is where the server restarted us; the next connect resumes there
    requests = mock.wait_requests(2)
    assert "last-event-id" not in requests[0].headers
    assert requests[1].headers["last-event-id"] == "3"
    assert client.last_event_id == 3


def test_stream_request_shape_and_new_client_ids_after_a_restart(make_client) -> None:
    mock = MockServer([lambda r: sse_response(b"retry: 10\n\n" + frame(1))])
    transport = httpx.MockTransport(mock)
    client = make_client(
        "http://h:1/", "tok", client_ids=["a", "b"], last_event_id=0,
        transport=transport, backoff=quick_backoff(),
    )
    client.start()
    first, reconnect = mock.wait_requests(2)[:2]  # the scripted stream ends: it reconnects
    client.stop()
    assert not client.running
    # the app's way to change its presence ids: a new client from the old one's resume point
    restarted = make_client(
        "http://h:1/", "tok", client_ids=["c"], last_event_id=client.last_event_id,
        transport=transport, backoff=quick_backoff(),
    )
    restarted.start()
    third = mock.wait_requests(3)[2]
    assert first.url.path == "/realtime/stream"
    assert first.url.params.get_list("client_id") == ["a", "b"]
    assert first.headers["accept"] == "text/event-stream"
    assert first.headers["authorization"] == "Bearer tok"
    assert first.headers["last-event-id"] == "0"
    assert reconnect.url.params.get_list("client_id") == ["a", "b"]
    assert reconnect.headers["last-event-id"] == "1"
    assert third.url.params.get_list("client_id") == ["c"]
    assert third.headers["last-event-id"] == "1"


def test_a_failing_callback_is_logged_and_the_stream_goes_on(
    make_client, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[int] = []
    done = threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        seen.append(event["seq"])
        if event["seq"] == 1:
            raise RuntimeError("boom in the app")
        done.set()

    def bad_state(state: ClientState, detail: str) -> None:
        raise RuntimeError("boom in on_state")

    body = b"retry: 10\n\n" + frame(1) + frame(2)
    mock = MockServer([lambda r: sse_response(body)])
    client = make_client(
        "http://h:1", transport=httpx.MockTransport(mock), on_event=on_event,
        on_state=bad_state, backoff=quick_backoff(),
    )
    with caplog.at_level(logging.ERROR, logger="lattice_rt_core.client"):
        client.start()
        assert done.wait(WAIT)
    assert seen == [1, 2]
    assert client.running
    messages = [r.getMessage() for r in caplog.records]
    assert any("callback" in m for m in messages)
    assert any(r.exc_info and "boom in the app" in str(r.exc_info[1]) for r in caplog.records)


def test_errors_back_off_and_the_servers_retry_is_the_floor(make_client) -> None:
    class SpyBackoff(Backoff):
        def __init__(self) -> None:
            super().__init__(initial=0.01, maximum=0.02, jitter=0.0)
            self.minimums: list[float] = []
            self.resets = 0

        def next_delay(self, minimum: float = 0.0, *, refused: bool = False) -> float:
            self.minimums.append(minimum)
            return super().next_delay(minimum=min(minimum, 0.02), refused=refused)

        def reset(self) -> None:
            self.resets += 1
            super().reset()

    busy = httpx.Response(503, json={"error": "server is shutting down"})
    mock = MockServer([
        lambda r: busy,
        lambda r: sse_response(b"retry: 40\n\n" + frame(1)),
        lambda r: busy,
    ])
    rec = Recorder()
    spy = SpyBackoff()
    client = make_client(
        "http://h:1", transport=httpx.MockTransport(mock), backoff=spy, **rec.callbacks()
    )
    client.start()
    mock.wait_requests(4)
    rec.wait_state(ClientState.CONNECTED, 2)
    # before any retry: hint the floor is 0; afterwards it is the hint (40 ms)
    assert spy.minimums[:3] == [0.0, 0.04, 0.04]
    assert spy.resets == 2  # each successful connect starts the backoff again
    assert client.last_error is None  # cleared by the successful connect
    details = [d for s, d in rec.states if s is ClientState.RECONNECTING]
    assert details[0] == "server is shutting down (HTTP 503); retrying in 0.0 s"
    assert "the server closed the stream; retrying in" in details[2]
    kinds = [s for s, _ in rec.states]
    assert kinds[0] is ClientState.CONNECTING
    assert ClientState.STOPPED not in kinds


def test_a_refused_token_is_retried_on_the_slow_schedule(make_client) -> None:
    """401/403 cannot change by retrying: minutes apart, while other errors stay quick."""

    class SpyBackoff(Backoff):
        def __init__(self) -> None:
            super().__init__(initial=0.01, maximum=0.02, jitter=0.0,
                             refused_initial=0.03, refused_maximum=0.04)
            self.refused: list[bool] = []

        def next_delay(self, minimum: float = 0.0, *, refused: bool = False) -> float:
            self.refused.append(refused)
            return super().next_delay(refused=refused)

    def answer(status: int, error: str) -> Callable[[httpx.Request], httpx.Response]:
        return lambda r: httpx.Response(status, json={"error": error})

    mock = MockServer([
        answer(401, "authentication required"),
        answer(503, "server is shutting down"),
        answer(403, "forbidden"),
        lambda r: sse_response(b"retry: 1\n\n" + frame(1)),
    ])
    rec = Recorder()
    spy = SpyBackoff()
    client = make_client(
        "http://h:1", "tok", transport=httpx.MockTransport(mock), backoff=spy, **rec.callbacks()
    )
    client.start()
    rec.wait_state(ClientState.CONNECTED)
    assert spy.refused[:3] == [True, False, True]
    details = [d for s, d in rec.states if s is ClientState.RECONNECTING]
    assert details[0] == "authentication required (HTTP 401); retrying in 0.0 s"


@pytest.mark.parametrize(
    ("refused_initial", "said"), [(15.0, "retrying in 15.0 s"), (240.0, "retrying in 4 min")]
)
def test_the_wait_after_a_refusal_is_said_in_seconds_or_minutes(
    make_client, refused_initial: float, said: str
) -> None:
    mock = MockServer([lambda r: httpx.Response(401, json={"error": "authentication required"})])
    rec = Recorder()
    client = make_client(
        "http://h:1", "wrong", transport=httpx.MockTransport(mock), **rec.callbacks(),
        backoff=Backoff(jitter=0.0, refused_initial=refused_initial),
    )
    client.start()
    rec.wait_state(ClientState.RECONNECTING)
    assert rec.states[-1][1] == f"authentication required (HTTP 401); {said}"
    assert client.last_error is not None and client.last_error.refused
    client.stop()  # interrupts the long wait at once
    assert not client.running


def test_resume_from_chooses_the_last_event_id_from_the_servers_health_before_each_connect(
    make_client,
) -> None:
    health = {"status": "ok", "stats": {"server_id": "s1", "epoch": "e1", "seq": 7}}
    stream = [
        lambda r: sse_response(b"retry: 1\n\n" + frame(8)),  # then it ends: a reconnect
    ]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/realtime/health":
            return httpx.Response(200, json=health)
        return mock(request)

    mock = MockServer(stream)
    asked: list[tuple[dict[str, Any], int | None]] = []

    def resume_from(answer: dict[str, Any], own: int | None) -> int | None:
        asked.append((answer, own))
        return 5 if own is None else own  # a remembered point first, then its own

    client = make_client(
        "http://h:1", "tok", transport=httpx.MockTransport(handle), backoff=quick_backoff(),
        resume_from=resume_from,
    )
    client.start()
    first, second = mock.wait_requests(2)[:2]
    assert first.headers["last-event-id"] == "5"
    assert second.headers["last-event-id"] == "8"
    assert asked[:2] == [(health, None), (health, 8)]


def test_without_an_answer_to_health_no_stream_is_opened(make_client) -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        raise httpx.ReadError("connection reset", request=request)  # closed, no answer

    rec = Recorder()
    client = make_client(
        "http://h:1", transport=httpx.MockTransport(handle), backoff=quick_backoff(),
        resume_from=lambda answer, own: own, **rec.callbacks(),
    )
    client.start()
    rec.wait_state(ClientState.RECONNECTING, 2)
    client.stop()
    assert set(seen) == {"/realtime/health"}
    assert rec.states[1][1].startswith(f"request to {client.base_url} failed (")
    assert client.last_error is None  # no server answered

    port = unused_port()  # nothing there at all
    rec = Recorder()
    client = make_client(f"http://127.0.0.1:{port}", backoff=quick_backoff(),
                         resume_from=lambda answer, own: own, **rec.callbacks())
    client.start()
    rec.wait_state(ClientState.RECONNECTING, 2)
    client.stop()
    assert rec.states[1][1].startswith(
        f"cannot connect to http://127.0.0.1:{port} (connection refused); ")


def test_a_non_event_stream_answer_reconnects(make_client) -> None:
    mock = MockServer([lambda r: httpx.Response(200, json={"hello": 1})])
    rec = Recorder()
    client = make_client(
        "http://h:1", transport=httpx.MockTransport(mock), backoff=quick_backoff(),
        **rec.callbacks(),
    )
    client.start()
    rec.wait_state(ClientState.CONNECTED)
    details = [d for s, d in rec.states if s is ClientState.RECONNECTING]
    assert details[0].startswith("/realtime/stream answered application/json, not an event stream")


def test_stop_closes_a_blocked_mock_stream_and_reports_stopped_once(make_client) -> None:
    mock = MockServer([])
    rec = Recorder()
    client = make_client("http://h:1", transport=httpx.MockTransport(mock), **rec.callbacks())
    client.start()
    rec.wait_state(ClientState.CONNECTED)
    client.stop(timeout=WAIT)
    assert not client.running
    assert mock.streams[0].closed.wait(WAIT)  # the server sees the hang-up (soon after)
    assert client.state is ClientState.STOPPED
    assert [s for s, _ in rec.states].count(ClientState.STOPPED) == 1
    client.stop()  # idempotent
    assert [s for s, _ in rec.states].count(ClientState.STOPPED) == 1


def test_start_twice_is_refused(make_client) -> None:
    client = make_client("http://h:1", transport=httpx.MockTransport(MockServer([])))
    client.start()
    with pytest.raises(RuntimeError, match="only once"):
        client.start()


# ------------------------------------------------------- real sockets: stalls
class StallingServer:
    """Accepts, answers SSE headers and a retry frame, then never sends again."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.cond = threading.Condition()
        self.accepted: list[socket.socket] = []
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            request = conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
                b"b\r\nretry: 10\n\n\r\n"
            )
            with self.cond:
                self.accepted.append(conn)
                self.requests.append(request)
                self.cond.notify_all()

    def wait_connections(self, count: int) -> list[bytes]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.accepted) >= count, WAIT)
            return list(self.requests)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def stalling_server() -> Iterator[StallingServer]:
    srv = StallingServer()
    yield srv
    srv.close()


def test_a_stalled_stream_times_out_and_reconnects(make_client, stalling_server) -> None:
    rec = Recorder()
    client = make_client(
        f"http://127.0.0.1:{stalling_server.port}", read_timeout=0.3,
        backoff=quick_backoff(), **rec.callbacks(),
    )
    client.start()
    stalling_server.wait_connections(2)
    details = [d for s, d in rec.states if s is ClientState.RECONNECTING]
    assert details[0].startswith("no data from the server for 0.3 s; retrying in")


def test_stop_interrupts_a_blocked_read_on_a_real_socket(make_client, stalling_server) -> None:
    rec = Recorder()
    client = make_client(
        f"http://127.0.0.1:{stalling_server.port}", heartbeat=600.0, **rec.callbacks()
    )
    client.start()
    rec.wait_state(ClientState.CONNECTED)
    stalling_server.wait_connections(1)
    # the read would block for 1205 s; stop() must wake it well within WAIT
    client.stop(timeout=WAIT)
    assert not client.running
    assert rec.states[-1] == (ClientState.STOPPED, "stopped")


def test_stop_interrupts_the_backoff_wait(make_client) -> None:
    rec = Recorder()
    client = make_client(
        f"http://127.0.0.1:{unused_port()}",
        backoff=Backoff(initial=600.0, maximum=600.0, jitter=0.0), **rec.callbacks(),
    )
    client.start()
    rec.wait_state(ClientState.RECONNECTING)
    assert "connection refused" in rec.states[-1][1]
    assert rec.states[-1][1].endswith("retrying in 10 min")
    client.stop(timeout=WAIT)
    assert not client.running


# --------------------------------------------------------- against the server
@pytest.fixture
def fast_retry(server: RealtimeServer) -> RealtimeServer:
    """The real endpoint, with a short retry hint so reconnects are quick."""
    assert server.bus is not None
    server.bus.retry_ms = 20
    return server


def test_live_events_arrive_with_their_seq(make_client, fast_retry: RealtimeServer) -> None:
    rec = Recorder()
    client = make_client(fast_retry.url, fast_retry.owner_token, **rec.callbacks())
    client.start()
    rec.wait_state(ClientState.CONNECTED)
    published = [
        client.publish("workflow", "workflow_run", {"n": n}, workspace_id="ws1")
        for n in range(3)
    ]
    rec.wait(lambda: len(rec.events) >= 3, "three events")
    assert rec.events == published
    assert [e["payload"] for e in rec.events] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert client.last_event_id == published[-1]["seq"]
    assert client.server_retry == 0.02


def test_resume_by_last_event_id_replays_exactly_what_was_missed(
    make_client, fast_retry: RealtimeServer
) -> None:
    publisher = make_client(fast_retry.url, fast_retry.owner_token)
    first = publisher.publish_many([{"area": "graph", "event_type": f"e{n}"} for n in range(15)])
    resume_from = first[-1]["seq"]
    later = publisher.publish_many([{"area": "graph", "event_type": f"l{n}"} for n in range(4)])
    rec = Recorder()
    client = make_client(
        fast_retry.url, fast_retry.owner_token, last_event_id=resume_from, **rec.callbacks()
    )
    client.start()
    rec.wait(lambda: len(rec.events) >= 4, "the four missed events")
    assert rec.seqs() == [e["seq"] for e in later]
    assert rec.gaps == []


def test_without_last_event_id_the_reference_tail_of_ten_is_replayed(
    make_client, fast_retry: RealtimeServer
) -> None:
    publisher = make_client(fast_retry.url, fast_retry.owner_token)
    events = publisher.publish_many([{"event_type": f"e{n}"} for n in range(12)])
    rec = Recorder()
    client = make_client(fast_retry.url, fast_retry.owner_token, **rec.callbacks())
    client.start()
    rec.wait(lambda: len(rec.events) >= 10, "the replay tail")
    assert rec.seqs() == [e["seq"] for e in events[-10:]]


def test_reconnects_and_resumes_across_a_server_restart(
    make_client, data_dir: Path
) -> None:
    def start(port: int) -> RealtimeServer:
        srv = RealtimeServer(ServerConfig(port=port, data_dir=data_dir, owner_user="owner"))
        srv.start()
        assert srv.bus is not None
        srv.bus.retry_ms = 20
        return srv

    srv = start(0)
    port = srv.port
    try:
        rec = Recorder()
        client = make_client(srv.url, srv.owner_token, backoff=quick_backoff(), **rec.callbacks())
        client.start()
        rec.wait_state(ClientState.CONNECTED)
        before = client.publish("workspace", "before_restart")
        rec.wait(lambda: len(rec.events) >= 1, "the first event")
        srv.stop()
        rec.wait_state(ClientState.RECONNECTING)
        srv = start(port)
        rec.wait_state(ClientState.CONNECTED, 2)
        after = client.publish("workspace", "after_restart")
        rec.wait(lambda: len(rec.events) >= 2, "the event after the restart")
        assert rec.seqs() == [before["seq"], after["seq"]]
        assert after["seq"] > before["seq"]  # seq survives the restart
        assert rec.gaps == [] and rec.resets == []
    finally:
        srv.stop()


def test_a_resume_past_retention_reports_the_gap(make_client, data_dir: Path) -> None:
    srv = RealtimeServer(
        ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                     journal_retention=10, backlog=10)
    )
    srv.start()
    try:
        publisher = make_client(srv.url, srv.owner_token)
        events = publisher.publish_many([{"event_type": f"e{n}"} for n in range(250)])
        first, last = events[0]["seq"], events[-1]["seq"]
        rec = Recorder()
        client = make_client(srv.url, srv.owner_token, last_event_id=first, **rec.callbacks())
        client.start()
        rec.wait(lambda: len(rec.events) >= 200, "the retained events")
        oldest = last - 199  # the feed and ring hold 200
        assert rec.gaps == [
            {"from_seq": first + 1, "to_seq": oldest - 1, "missed": oldest - first - 1,
             "reason": "retention"}
        ]
        assert rec.seqs() == list(range(oldest, last + 1))
        assert client.last_event_id == last
    finally:
        srv.stop()


def test_a_resume_from_the_future_is_reset(make_client, fast_retry: RealtimeServer) -> None:
    rec = Recorder()
    client = make_client(
        fast_retry.url, fast_retry.owner_token, last_event_id=10**6, **rec.callbacks()
    )
    client.start()
    rec.wait(lambda: len(rec.resets) >= 1, "the reset")
    assert rec.resets[0]["last_event_id"] == 10**6
    assert rec.resets[0]["reason"] == "ahead"
    assert client.last_event_id == rec.resets[0]["server_seq"]


def test_a_bad_token_is_reported_and_retried(make_client, fast_retry: RealtimeServer) -> None:
    rec = Recorder()
    client = make_client(
        fast_retry.url, "not-the-token", backoff=quick_backoff(), **rec.callbacks()
    )
    with pytest.raises(ApiError) as info:
        client.feed()
    assert info.value.status == 401
    client.start()
    rec.wait_state(ClientState.RECONNECTING)
    assert client.last_error is not None and client.last_error.status == 401
    assert rec.states[1][1].startswith(f"{client.last_error}; retrying in")


def test_stop_interrupts_an_idle_real_stream(make_client, server: RealtimeServer) -> None:
    rec = Recorder()
    client = make_client(server.url, server.owner_token, **rec.callbacks())
    client.start()
    rec.wait_state(ClientState.CONNECTED)
    client.stop(timeout=WAIT)  # the server's heartbeat is 15 s away
    assert not client.running


def test_presence_round_trip(make_client, server: RealtimeServer) -> None:
    client = make_client(server.url, server.owner_token)
    entry = client.join(workspace_id="ws1", display_name="Ada")
    listed = client.presence()["presence"]
    assert [p["client_id"] for p in listed] == [entry["client_id"]]
    assert listed[0]["display_name"] == "Ada"
    client.leave(entry["client_id"])
    assert client.presence()["presence"] == []
    feed = client.feed(limit=2)["events"]
    assert [(e["area"], e["event_type"]) for e in feed] == [("presence", "leave"),
                                                            ("presence", "join")]
    assert feed[0]["payload"]["reason"] == "left"


def test_server_errors_reach_the_caller_verbatim(make_client, server: RealtimeServer) -> None:
    client = make_client(server.url, server.owner_token)
    with pytest.raises(ApiError) as info:
        client.publish_many([{"area": 5}])
    assert (info.value.status, info.value.message) == (422, "'area' must be a string")


# ------------------------------------------------------------------ discover
def write_server_files(directory: Path, url: str, pid: int, token: str | None) -> None:
    info = {"url": url, "pid": pid, "version": "0.1.0", "auth": True}
    (directory / "server.json").write_text(json.dumps(info))
    if token is not None:
        (directory / "owner.token").write_text(token + "\n")


def test_discover_reads_the_local_server(tmp_path: Path) -> None:
    write_server_files(tmp_path, "http://127.0.0.1:9999", os.getpid(), "tok")
    assert discover(tmp_path) == ("http://127.0.0.1:9999", "tok")


def test_discover_never_sends_the_owner_token_elsewhere(tmp_path: Path) -> None:
    write_server_files(tmp_path, "http://127.0.0.1:9999", os.getpid(), "tok")
    assert discover(tmp_path, url="http://team.example:8765/") == (
        "http://team.example:8765", None
    )
    assert discover(tmp_path, url="http://127.0.0.1:9999/") == ("http://127.0.0.1:9999", "tok")
    assert discover(tmp_path, url="http://x:1", token="given") == ("http://x:1", "given")


def test_discover_without_a_server_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(ApiError, match="lattice-rt serve") as info:
        discover(tmp_path)
    assert info.value.status == 0


@pytest.mark.skipif(os.name != "posix", reason="pid liveness is checked on POSIX")
def test_discover_notices_a_stale_server_json(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", ""])  # a pid that surely exited
    child.wait()
    write_server_files(tmp_path, "http://127.0.0.1:9999", child.pid, "tok")
    with pytest.raises(ApiError, match="stale"):
        discover(tmp_path)


def test_discover_finds_a_real_server(server: RealtimeServer, make_client) -> None:
    url, token = discover(server.data_dir)
    assert (url, token) == (server.url, server.owner_token)
    assert make_client(url, token).health()["status"] == "ok"


def lattice_ai(request: httpx.Request) -> httpx.Response:
    """What a Lattice AI server in auth mode answers (ltcai 11.5.2, by its source)."""
    if request.url.path == "/login":
        body = json.loads(request.content)
        if body == {"email": "ada@example.org", "password": "pw123456"}:
            return httpx.Response(200, json={"status": "ok", "email": body["email"]},
                                  headers={"set-cookie": "session_token=s3cr3t; HttpOnly; "
                                                         "Max-Age=86400; Path=/; SameSite=lax"})
        return httpx.Response(401, json={"detail": "Invalid email or password."})
    if not request.url.path.startswith(("/realtime/feed", "/realtime/presence")):
        return httpx.Response(404, json={"detail": "Not Found"})  # routing comes before auth
    if request.headers.get("authorization") != "Bearer s3cr3t":
        return httpx.Response(401, json={"detail": "인증이 필요합니다."})
    if request.url.path == "/realtime/feed":
        return httpx.Response(200, json={"events": [], "stats": {"feed_size": 0}})
    if request.url.path == "/realtime/presence/join":
        body = json.loads(request.content)
        return httpx.Response(422, json={"detail": [
            {"loc": ["body", "client_id"], "msg": "Input should be a valid string",
             "type": "string_type"}]} if not isinstance(body.get("client_id"), str) else
            {"presence": {"client_id": body["client_id"]}})
    return httpx.Response(200, json={"presence": []})


def test_sign_in_returns_the_session_and_keeps_no_cookie(make_client) -> None:
    client = make_client("http://lattice:4825", transport=httpx.MockTransport(lattice_ai))
    assert client.sign_in("ada@example.org", "pw123456") == "s3cr3t"
    seen: list[httpx.Request] = []
    watched = make_client("http://lattice:4825", transport=httpx.MockTransport(
        lambda r: seen.append(r) or lattice_ai(r)))
    watched.sign_in("ada@example.org", "pw123456")
    with pytest.raises(ApiError):  # the token is a bearer token, never kept as a cookie
        watched.feed()
    assert "cookie" not in seen[-1].headers and "authorization" not in seen[-1].headers
    with pytest.raises(ApiError) as refused:
        client.sign_in("ada@example.org", "wrong")
    assert (refused.value.status, refused.value.message) == (401, "Invalid email or password.")


def test_a_lattice_ai_server_is_learned_and_its_missing_routes_are_said(make_client) -> None:
    anonymous = make_client("http://lattice:4825", transport=httpx.MockTransport(lattice_ai))
    with pytest.raises(ApiError) as refused:
        anonymous.hello()
    assert refused.value.refused and refused.value.message == "인증이 필요합니다."
    assert anonymous.kind is ServerKind.LATTICE_AI  # the feed is there, behind sign-in

    client = make_client("http://lattice:4825", "s3cr3t",
                         transport=httpx.MockTransport(lattice_ai))
    assert client.hello() == {"kind": "lattice-ai"}
    assert client.kind is ServerKind.LATTICE_AI
    assert client.server_stats(timeout=0) == {"seq": None, "presence_expires": False}
    with pytest.raises(ApiError) as missing:
        client.publish("workflow", "workflow_run")
    assert missing.value.unsupported and missing.value.message == (
        "this server takes no events (it has no publish route, like the Lattice AI server)")
    with pytest.raises(ApiError) as invalid:
        client.request("POST", "/realtime/presence/join", body={"client_id": 7})
    assert invalid.value.message == "client_id: Input should be a valid string"


def test_a_server_without_realtime_routes_is_said_once(make_client) -> None:
    def nothing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    client = make_client("http://h:1", transport=httpx.MockTransport(nothing))
    with pytest.raises(ApiError) as missing:
        client.hello()
    assert missing.value.unsupported and missing.value.lasting
    assert str(missing.value) == ("this server has no realtime API (Lattice AI 11.6 and later "
                                  "moved it)")
    assert client.kind is ServerKind.NO_REALTIME


def test_history_pages_back_through_what_the_server_keeps(server: RealtimeServer) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        client.publish_many([{"payload": {"i": i}} for i in range(250)])
        events, older = client.history()
        assert [e["seq"] for e in events] == list(range(250, 50, -1)) and older == 51
        events, older = client.history(older, limit=30)
        assert [e["seq"] for e in events] == list(range(50, 20, -1)) and older == 21
        events, older = client.history(older)
        assert [e["seq"] for e in events] == list(range(20, 0, -1)) and older is None


def test_history_of_a_server_without_pages_is_its_feed(make_client) -> None:
    # a server whose feed answers no next_before (the Lattice AI server), or one that
    # ignores before and answers the same page again: nothing further back
    seen: list[httpx.Request] = []
    page = {"events": [{"seq": 3}, {"seq": 2}, "junk"], "stats": {}}
    transport = httpx.MockTransport(json_handler({"/realtime/feed": (200, page)}, seen))
    client = make_client("http://h:1", "t", transport=transport)
    assert client.history() == ([{"seq": 3}, {"seq": 2}], None)
    assert "before" not in seen[-1].url.params and seen[-1].url.params["limit"] == "200"
    page["next_before"] = 9
    assert client.history(5) == ([{"seq": 3}, {"seq": 2}], None)
    assert seen[-1].url.params["before"] == "5"
