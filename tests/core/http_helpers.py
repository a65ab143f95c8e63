"""Helpers for the HTTP tests against a real server on a loopback port."""

from __future__ import annotations

import threading

import httpx
from httpx_sse import connect_sse

from lattice_rt_core.server import RealtimeServer


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def events(owner: httpx.Client, *items: dict[str, object]) -> list[dict[str, object]]:
    """Publish ``items`` as the owner; the enriched events."""
    r = owner.post("/realtime/events", json=list(items))
    assert r.status_code == 200, r.text
    return r.json()["events"]


def read_stream(
    server: RealtimeServer,
    headers: dict[str, str],
    count: int,
    params: dict[str, object] | None = None,
    ready: threading.Event | None = None,
) -> list[tuple[str, str, str]]:
    """Open a stream and return (event, id, data) of the first ``count`` non-empty frames."""
    out: list[tuple[str, str, str]] = []
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        with connect_sse(client, "GET", "/realtime/stream", params=params) as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            if ready is not None:
                ready.set()
            for sse in source.iter_sse():
                if sse.data:
                    out.append((sse.event, sse.id, sse.data))
                if len(out) >= count:
                    break
    return out
