"""GET /metrics scraped from real servers: the counters move with what the server does.

(Slow peers cut off: tests/hardening/test_peers.py, where a reader really stalls.)
"""

from __future__ import annotations

import queue
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lattice_rt_core.auth.accounts import Accounts
from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.http.metrics import ServerCounters
from lattice_rt_core.net.api import ClientState
from lattice_rt_core.paths import database_path
from lattice_rt_core.protocol.events import to_json
from lattice_rt_core.server import RealtimeServer, ServerConfig

WAIT = 20.0
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: RealtimeServer) -> Samples:
    r = httpx.get(server.url + "/metrics",
                  headers={"Authorization": f"Bearer {server.owner_token}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_the_counters_follow_streams_presence_and_publishing(server: RealtimeServer) -> None:
    before = scrape(server)
    assert value(before, "lattice_rt_streams_open") == 0
    assert value(before, "lattice_rt_events_published_total") == 0
    assert value(before, "lattice_rt_journal_state", state="ok") == 1
    assert value(before, "lattice_rt_journal_state", state="degraded") == 0

    events: queue.Queue[dict[str, Any]] = queue.Queue()
    connected: queue.Queue[str] = queue.Queue()
    stream = RealtimeClient(
        server.url, server.owner_token, on_event=events.put,
        on_state=lambda state, detail: state is ClientState.CONNECTED and connected.put(detail),
    )
    with stream, RealtimeClient(server.url, server.owner_token) as client:
        stream.start()
        connected.get(timeout=WAIT)
        client.join(workspace_id="ws1", client_id="desk")
        published = client.publish_many([{"event_type": f"e{n}"} for n in range(3)])
        while events.get(timeout=WAIT)["seq"] != published[-1]["seq"]:
            pass
        now = scrape(server)
    assert value(now, "lattice_rt_streams_open") == 1
    assert value(now, "lattice_rt_presence_entries") == 1
    assert value(now, "lattice_rt_events_published_total") == 4  # the join is an event too
    assert value(now, "lattice_rt_visible_seq") == published[-1]["seq"]
    assert value(now, "lattice_rt_frames_delivered_total") >= 4  # retry hint aside
    assert value(now, "lattice_rt_bytes_delivered_total") > sum(
        len(to_json(e)) for e in published)  # each frame carries its event's JSON
    for method, route, count in [("GET", "/realtime/stream", 1),
                                 ("POST", "/realtime/presence/join", 1),
                                 ("POST", "/realtime/events", 1),
                                 ("GET", "/metrics", 1)]:
        assert value(now, "lattice_rt_requests_total", method=method, route=route,
                     status="200") == count, (method, route)


def test_refusals_are_counted_by_reason(server: RealtimeServer, tmp_path: Path) -> None:
    url, h = server.url, {"Authorization": f"Bearer {server.owner_token}"}
    accounts = Accounts(database_path(server.data_dir))
    try:
        ann = accounts.add_user("ann", ["w"])
    finally:
        accounts.close()
    assert httpx.get(url + "/realtime/feed", headers={**h, "Host": "evil.example"}).status_code \
        == 403
    assert httpx.get(url + "/realtime/stream", headers={**h, "Origin": "http://evil.example"}
                     ).status_code == 403
    assert httpx.get(url + "/realtime/feed").status_code == 401
    assert httpx.get(url + "/realtime/stream").status_code == 401
    assert httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {ann}"}).status_code \
        == 403
    assert httpx.post(url + "/realtime/events", headers=h, content=b"x").status_code == 415
    assert httpx.get(url + "/no/such/page/" + "x" * 50, headers=h).status_code == 404
    samples = scrape(server)
    for reason, count in [("forbidden_host", 1), ("forbidden_origin", 1),
                          ("unauthenticated", 2), ("forbidden", 1), ("not_json", 1),
                          ("not_found", 1)]:
        assert value(samples, "lattice_rt_requests_refused_total", reason=reason) == count, reason
    # labels stay bounded: unknown paths are "other", known ones their route
    assert value(samples, "lattice_rt_requests_total", method="GET", route="other",
                 status="404") == 1
    assert value(samples, "lattice_rt_requests_total", method="GET",
                 route="/realtime/stream", status="403") == 1


def test_gaps_are_counted_by_reason(data_dir: Path) -> None:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, journal_retention=10,
                                      backlog=10))
    srv.start()
    try:
        with RealtimeClient(srv.url, srv.owner_token) as client:
            client.publish_many([{"event_type": f"e{n}"} for n in range(250)])
        gaps: queue.Queue[dict[str, Any]] = queue.Queue()
        with RealtimeClient(srv.url, srv.owner_token, last_event_id=1, on_gap=gaps.put) as old:
            old.start()
            assert gaps.get(timeout=WAIT)["reason"] == "retention"
        samples = scrape(srv)
        assert value(samples, "lattice_rt_gaps_total", reason="retention") == 1
        assert value(samples, "lattice_rt_gaps_total", reason="overflow") == 0
    finally:
        srv.stop()


def test_each_server_counts_for_itself(server: RealtimeServer, data_dir: Path,
                                       tmp_path: Path) -> None:
    other = RealtimeServer(ServerConfig(port=0, data_dir=tmp_path / "other"))
    other.start()
    try:
        with RealtimeClient(other.url, other.owner_token) as client:
            client.publish("a", "b")
        assert value(scrape(other), "lattice_rt_events_published_total") == 1
        assert value(scrape(server), "lattice_rt_events_published_total") == 0
    finally:
        other.stop()


@pytest.fixture
def counters() -> Iterator[ServerCounters]:
    c = ServerCounters()
    c.name_routes(["/realtime/feed", "/activity/static/{name}"])
    yield c


@pytest.mark.parametrize(
    ("method", "path", "label"),
    [("GET", "/realtime/feed", ("GET", "/realtime/feed")),
     ("GET", "/activity/static/a.js", ("GET", "/activity/static/{name}")),
     ("GET", "/activity/static/a/b.js", ("GET", "other")),
     ("GET", "/realtime/feed/x", ("GET", "other")),
     ("BREW", "/realtime/feed", ("OTHER", "/realtime/feed"))],
)
def test_labels_are_bounded(
    counters: ServerCounters, method: str, path: str, label: tuple[str, str]
) -> None:
    counters.record({"method": method, "path": path}, 200)
    assert counters.requests == {(*label, 200): 1}
    assert not counters.refused


_SCRAPED_LATE = """
import sys, tempfile, httpx
from pathlib import Path
from lattice_rt_core.server import RealtimeServer, ServerConfig
server = RealtimeServer(ServerConfig(port=0, data_dir=Path(tempfile.mkdtemp()), owner_user="o"))
server.start()
owner = {"Authorization": f"Bearer {server.owner_token}"}
try:
    httpx.post(server.url + "/realtime/events", json={"area": "a", "event_type": "b"},
               headers=owner).raise_for_status()
    before = "prometheus_client" in sys.modules
    r = httpx.get(server.url + "/metrics", headers=owner)
    print(before, r.status_code, "lattice_rt_events_published_total 1.0" in r.text)
finally:
    server.stop()
"""


def test_the_prometheus_library_is_loaded_at_the_first_scrape() -> None:
    # fails without: metrics.Metrics importing metrics_text lazily (3.5 MB of every endpoint)
    out = subprocess.run([sys.executable, "-c", _SCRAPED_LATE], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split() == ["False", "200", "True"], out.stderr
