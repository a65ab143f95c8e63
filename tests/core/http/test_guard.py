"""The Host/Origin guard: as an ASGI layer on its own, and in front of a real server."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from lattice_rt_core.http.guard import REFUSED_KEY, HostOriginGuard, RefusedHostLog
from lattice_rt_core.server import RealtimeServer
from tests.clock import Clock

PORT = 8765


class Inner:
    """The app behind the guard: records what reached it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen.append(scope["type"])


def call(
    guard: HostOriginGuard, headers: dict[str, str], kind: str = "http", scheme: str = "http"
) -> list[Any]:
    """Run one request through ``guard``; the messages it sent."""
    sent: list[Any] = []
    scope = {
        "type": kind,
        "scheme": scheme,
        "server": ("127.0.0.1", PORT),
        "client": ("10.1.2.3", 40000),
        "method": "GET",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent


def test_the_allowed_hosts_are_loopback_and_named_ones() -> None:
    """A name without a port: as sent to a proxy on its default port, and with the server's."""
    guard = HostOriginGuard(Inner(), ["Team.example", "other.example:9000", "[fd00::1]"])
    assert guard.allowed(PORT) == {
        "127.0.0.1:8765", "localhost:8765", "[::1]:8765",
        "team.example", "team.example:8765", "other.example:9000",
        "[fd00::1]", "[fd00::1]:8765",
    }


@pytest.mark.parametrize(
    ("headers", "refusal"),
    [
        ({"Host": "localhost:8765"}, None),
        ({"Host": "TEAM.example:8765", "Origin": "http://team.example:8765"}, None),
        ({}, "forbidden host"),
        ({"Host": "localhost"}, "forbidden host"),
        ({"Host": "team.example:9000"}, "forbidden host"),
        ({"Host": "localhost:8765", "Origin": "https://localhost:8765"}, "forbidden origin"),
        ({"Host": "localhost:8765", "Origin": "http://localhost:8765.evil"}, "forbidden origin"),
        # behind a TLS proxy: the name as the browser typed it, and its https origin
        ({"Host": "team.example", "Origin": "https://team.example"}, None),
        ({"Host": "team.example:8765", "Origin": "https://team.example:8765"}, None),
        ({"Host": "team.example", "Origin": "http://team.example"}, None),
        ({"Host": "team.example", "Origin": "https://team.example:443"}, "forbidden origin"),
        ({"Host": "team.example", "Origin": "ftp://team.example"}, "forbidden origin"),
        ({"Host": "team.example", "Origin": "https://evil.example"}, "forbidden origin"),
    ],
)
def test_a_request_passes_only_with_an_allowed_host_and_origin(
    headers: dict[str, str], refusal: str | None
) -> None:
    inner = Inner()
    sent = call(HostOriginGuard(inner, ["team.example"]), headers)
    if refusal is None:
        assert inner.seen == ["http"] and sent == []
        return
    assert inner.seen == []
    assert sent[0]["status"] == 403
    assert json.loads(sent[1]["body"]) == {"error": refusal}


@pytest.mark.parametrize(
    ("scheme", "origin", "passes"),
    [
        ("https", "https://localhost:8765", True),  # a server with TLS: its own origin
        ("https", "http://localhost:8765", False),  # ... and not the plain one
        ("http", "https://localhost:8765", False),
        ("http", "http://localhost:8765", True),
    ],
)
def test_a_loopback_origin_must_have_the_requests_own_scheme(
    scheme: str, origin: str, passes: bool
) -> None:
    inner = Inner()
    sent = call(HostOriginGuard(inner), {"Host": "localhost:8765", "Origin": origin},
                scheme=scheme)
    assert (inner.seen == ["http"]) is passes
    assert bool(sent) is not passes


def test_a_refusal_is_marked_for_the_metrics() -> None:
    scopes: list[Any] = []

    class Guard(HostOriginGuard):
        async def _refuse(self, scope: Any, receive: Any, send: Any, reason: str) -> None:
            await super()._refuse(scope, receive, send, reason)
            scopes.append(scope)

    call(Guard(Inner()), {"Host": "evil.example"})
    call(Guard(Inner()), {"Host": "localhost:8765", "Origin": "http://evil.example"})
    assert [s[REFUSED_KEY] for s in scopes] == ["forbidden_host", "forbidden_origin"]


# ------------------------------------------------------- refused hosts in the log

def test_a_refused_host_is_logged_once_a_minute_with_the_flag_that_allows_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    guard = HostOriginGuard(Inner(), refusal_log=RefusedHostLog(clock))
    with caplog.at_level(logging.WARNING, logger="lattice_rt_core.http.guard"):
        for _ in range(5):
            call(guard, {"Host": "team.example:8765"})
        clock.now += 59.9
        call(guard, {"Host": "team.example:8765"})
        clock.now += 0.2
        call(guard, {"Host": "team.example:8765"})
        call(guard, {"Host": "team.example:9000"})
        call(guard, {"Host": ""})
        call(guard, {"Host": "bad host\n:1"})
    assert [r.getMessage() for r in caplog.records] == [
        "refused a request from 10.1.2.3 for Host 'team.example:8765': not an allowed host; "
        "start the server with --allow-host team.example to accept it",
        "refused a request from 10.1.2.3 for Host 'team.example:8765': not an allowed host; "
        "start the server with --allow-host team.example to accept it "
        "(5 more refused since the last line)",
        "refused a request from 10.1.2.3 for Host 'team.example:9000': not an allowed host; "
        "start the server with --allow-host team.example:9000 to accept it",
        "refused a request from 10.1.2.3 for Host (none): not a host name this server "
        "answers to (see --allow-host)",
        "refused a request from 10.1.2.3 for Host 'bad host\\n:1': not a host name this "
        "server answers to (see --allow-host)",
    ]


def test_refused_host_lines_are_capped_per_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = HostOriginGuard(Inner(), refusal_log=RefusedHostLog(clock, burst=3))
    with caplog.at_level(logging.WARNING, logger="lattice_rt_core.http.guard"):
        for n in range(50):  # a flood of different names
            call(guard, {"Host": f"n{n}.example"})
        clock.now += 60
        call(guard, {"Host": "late.example"})
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4
    assert lines[-1].endswith("(47 more refused since the last line)")


def test_the_lifespan_passes_through() -> None:
    inner = Inner()
    assert call(HostOriginGuard(inner), {}, kind="lifespan") == []
    assert inner.seen == ["lifespan"]


# ------------------------------------------------------- in front of the server
@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1", "127.0.0.1:1", "localhost.evil:80"])
def test_foreign_host_is_refused(owner: httpx.Client, host: str) -> None:
    r = owner.get("/realtime/feed", headers={"Host": host})
    assert r.status_code == 403 and r.json() == {"error": "forbidden host"}


def test_loopback_names_are_allowed(server: RealtimeServer, owner: httpx.Client) -> None:
    for name in ("127.0.0.1", "localhost", "[::1]"):
        assert (
            owner.get("/realtime/feed", headers={"Host": f"{name}:{server.port}"}).status_code
            == 200
        )


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "https://127.0.0.1", "null", "http://127.0.0.1:1"]
)
def test_foreign_origin_is_refused_even_for_the_stream(owner: httpx.Client, origin: str) -> None:
    for path in ("/realtime/feed", "/realtime/stream"):
        r = owner.get(path, headers={"Origin": origin})
        assert r.status_code == 403 and r.json() == {"error": "forbidden origin"}
    assert "access-control-allow-origin" not in r.headers


def test_same_origin_is_allowed(server: RealtimeServer, owner: httpx.Client) -> None:
    assert owner.get("/realtime/feed", headers={"Origin": server.url}).status_code == 200
