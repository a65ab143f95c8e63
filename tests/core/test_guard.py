"""The Host/Origin guard: as an ASGI layer on its own, and in front of a real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from lattice_rt_core.guard import HostOriginGuard
from lattice_rt_core.server import RealtimeServer

PORT = 8765


class Inner:
    """The app behind the guard: records what reached it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen.append(scope["type"])


def call(guard: HostOriginGuard, headers: dict[str, str], kind: str = "http") -> list[Any]:
    """Run one request through ``guard``; the messages it sent."""
    sent: list[Any] = []
    scope = {
        "type": kind,
        "server": ("127.0.0.1", PORT),
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


def test_the_allowed_hosts_are_loopback_and_named_ones_with_the_servers_port() -> None:
    guard = HostOriginGuard(Inner(), ["Team.example", "other.example:9000", "[fd00::1]"])
    assert guard.allowed(PORT) == {
        "127.0.0.1:8765", "localhost:8765", "[::1]:8765",
        "team.example:8765", "other.example:9000", "[fd00::1]:8765",
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
