"""Three real nodes behind nginx, one Redis: one server, whatever node you reach.

redis-server, three ``lattice-rt serve --redis`` processes and nginx with the
shipped cluster configuration, all on loopback. Clients go through nginx
(the balancer decides the node) or straight to one node, to show that every
node answers the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.api import ClientState
from lattice_rt_core.net.backoff import Backoff
from tests.e2e.cluster import WAIT, Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("cluster"), 3)
    try:
        yield running
    finally:
        running.close()


def post(url: str, headers: dict[str, str], body: Any) -> list[dict[str, Any]]:
    r = httpx.post(url + "/realtime/events", json=body, headers=headers, timeout=WAIT)
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["events"]
    return events


def read(url: str, headers: dict[str, str], count: int, **extra: str
         ) -> list[tuple[str, str, dict[str, Any]]]:
    """(event, id, data) of the first ``count`` frames with data of one stream."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    with httpx.Client(base_url=url, headers={**headers, **extra}, timeout=WAIT) as client:
        with connect_sse(client, "GET", "/realtime/stream") as source:
            for sse in source.iter_sse():
                if sse.data:
                    out.append((sse.event, sse.id, json.loads(sse.data)))
                if len(out) >= count:
                    return out
    return out


def seq_now(cluster: Cluster) -> int:
    seq: int = httpx.get(cluster.url + "/realtime/feed?limit=0", headers=cluster.headers,
                         timeout=WAIT).json()["stats"]["seq"]
    return seq


def test_every_node_is_the_same_server(cluster: Cluster) -> None:
    stats = [node.stats(cluster.token) for node in cluster.nodes]
    assert {(s["engine"], s["server_id"], s["epoch"]) for s in stats} == {
        ("redis", stats[0]["server_id"], stats[0]["epoch"])}
    start = seq_now(cluster)
    # publishes through nginx land on every node in turn; one global seq
    seqs = [e["seq"] for i in range(30)
            for e in post(cluster.url, cluster.headers, {"payload": {"i": i}})]
    assert seqs == list(range(start + 1, start + 31))
    # the feed and the replay tail are the same on every node
    feeds = [httpx.get(n.url + "/realtime/feed", params={"limit": 20}, headers=cluster.headers,
                       timeout=WAIT).json()["events"] for n in cluster.nodes]
    assert feeds[0] == feeds[1] == feeds[2] and feeds[0][0]["seq"] == start + 30
    tails = [[f[1] for f in read(n.url, cluster.headers, 10)] for n in cluster.nodes]
    assert tails[0] == tails[1] == tails[2] == [str(s) for s in range(start + 21, start + 31)]


def test_streams_on_every_node_get_every_event_once_in_order(cluster: Cluster) -> None:
    start = seq_now(cluster)
    ready = threading.Barrier(4)
    results: dict[int, list[int]] = {}

    def follow(index: int) -> None:
        node = cluster.nodes[index]
        with httpx.Client(base_url=node.url, timeout=WAIT,
                          headers={**cluster.headers, "Last-Event-ID": str(start)}) as client:
            with connect_sse(client, "GET", "/realtime/stream") as source:
                ready.wait()
                got: list[int] = []
                for sse in source.iter_sse():
                    if sse.data and sse.event == "message":
                        got.append(int(sse.id))
                    if len(got) >= 300:
                        break
                results[index] = got

    readers = [threading.Thread(target=follow, args=(i,)) for i in range(3)]
    for reader in readers:
        reader.start()
    ready.wait()
    # three publishers, one per node, concurrently
    writers = [threading.Thread(target=lambda n=node: [
        post(n.url, cluster.headers, [{"payload": {"k": k}}] * 5) for k in range(20)])
        for node in cluster.nodes]
    for writer in writers:
        writer.start()
    for thread in writers + readers:
        thread.join(WAIT)
    expected = list(range(start + 1, start + 301))
    assert results == {0: expected, 1: expected, 2: expected}


def test_resume_on_any_node(cluster: Cluster) -> None:
    start = seq_now(cluster)
    post(cluster.url, cluster.headers, [{"payload": {"i": i}} for i in range(12)])
    first = read(cluster.nodes[0].url, cluster.headers, 5, **{"Last-Event-ID": str(start)})
    last_seen = first[-1][1]
    rest = read(cluster.nodes[2].url, cluster.headers, 7, **{"Last-Event-ID": last_seen})
    assert [int(f[1]) for f in first + rest] == list(range(start + 1, start + 13))


def test_presence_is_global(cluster: Cluster) -> None:
    a, b = cluster.nodes[0], cluster.nodes[1]
    joined = httpx.post(a.url + "/realtime/presence/join", headers=cluster.headers,
                        json={"client_id": "global-1", "workspace_id": "ws"}, timeout=WAIT)
    assert joined.status_code == 200
    listing = httpx.get(b.url + "/realtime/presence", headers=cluster.headers,
                        timeout=WAIT).json()["presence"]
    assert [p["client_id"] for p in listing if p["client_id"] == "global-1"] == ["global-1"]
    status = httpx.post(cluster.nodes[2].url + "/realtime/presence/status",
                        headers=cluster.headers, timeout=WAIT,
                        json={"client_id": "global-1", "status": "away"})
    assert status.status_code == 200 and status.json()["presence"]["status"] == "away"
    left = httpx.post(b.url + "/realtime/presence/leave", headers=cluster.headers,
                      json={"client_id": "global-1"}, timeout=WAIT)
    assert left.status_code == 200
    feed = httpx.get(a.url + "/realtime/feed", headers=cluster.headers, timeout=WAIT).json()
    assert (feed["events"][0]["event_type"], feed["events"][0]["payload"]["reason"]) == (
        "leave", "left")


def test_a_node_killed_mid_burst_loses_its_clients_nothing(cluster: Cluster) -> None:
    """kill -9 of the node serving a client: it reconnects through nginx, nothing lost
    or repeated; every acknowledged event is delivered."""
    start = seq_now(cluster)
    received: list[int] = []
    states: list[ClientState] = []
    done = threading.Event()
    total = 400
    client = RealtimeClient(
        cluster.url, cluster.token, last_event_id=start, heartbeat=1.0,
        backoff=Backoff(initial=0.1, maximum=0.5),
        on_event=lambda e: (received.append(e["seq"]),
                            done.set() if e.get("payload") == {"last": True} else None),
        on_state=lambda s, _: states.append(s),
    )
    client.start()
    try:
        serving = None
        while serving is None:  # which node holds the client's stream
            serving = next((n for n in cluster.nodes
                            if int(n.stats(cluster.token)["subscribers"]) > 0), None)
        acked: list[int] = []
        with httpx.Client(base_url=cluster.url, headers=cluster.headers, timeout=WAIT) as pub:
            for batch in range(total // 10):
                if batch == 10:
                    serving.kill()
                r = pub.post("/realtime/events", json=[{"payload": {"b": batch}}] * 10)
                if r.status_code == 200:  # a 502: nginx lost the answer with the node
                    acked += [e["seq"] for e in r.json()["events"]]
            acked += [e["seq"] for e in pub.post("/realtime/events",
                                                 json={"payload": {"last": True}}).json()
                      ["events"]]
        assert done.wait(WAIT), (len(received), states)
    finally:
        client.stop()
        serving_restart = [n for n in cluster.nodes if n.popen and n.popen.poll() is not None]
        for node in serving_restart:
            node.start()
    final = acked[-1]
    assert received == list(range(start + 1, final + 1))  # in order, each once, none missing
    assert set(acked) <= set(received) and len(acked) >= total
    assert ClientState.RECONNECTING in states


def test_accounts_and_sign_ins_are_shared_by_every_node(cluster: Cluster) -> None:
    def admin(node: int, action: str, **body: Any) -> dict[str, Any]:
        r = httpx.post(f"{cluster.nodes[node].url}/realtime/admin/users/{action}",
                       headers=cluster.headers, json=body, timeout=WAIT)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def status(node: int, bearer: str) -> int:
        return httpx.get(cluster.nodes[node].url + "/realtime/feed",
                         headers={"Authorization": f"Bearer {bearer}"}, timeout=WAIT).status_code

    # added through node 0, by the CLI's remote administration (the admin routes)
    added = subprocess.run(
        [sys.executable, "-m", "lattice_rt_core.cli", "--url", cluster.nodes[0].url,
         "--token", cluster.token, "user", "add", "ann-cluster", "-w", "ws_a"],
        capture_output=True, text=True, timeout=WAIT, env={**os.environ, "LATTICE_RT_URL": ""},
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert [status(i, token) for i in range(3)] == [200, 200, 200]
    assert admin(2, "grant", user="ann-cluster", workspaces=["ws_b"])["workspaces"] == [
        "ws_a", "ws_b"]
    listed = httpx.get(cluster.nodes[1].url + "/realtime/admin/users", headers=cluster.headers,
                       timeout=WAIT).json()["users"]
    assert {"user": "ann-cluster", "workspaces": ["ws_a", "ws_b"]} in listed
    renewed = admin(1, "renew", user="ann-cluster")["token"]
    # no node caches a token: the old one stops everywhere with the change itself
    assert [status(i, token) for i in range(3)] == [401, 401, 401]
    assert [status(i, renewed) for i in range(3)] == [200, 200, 200]
    admin(2, "remove", user="ann-cluster")
    assert [status(i, renewed) for i in range(3)] == [401, 401, 401]

    # a launch code from one node signs a browser in on another; the session works on a third
    code = httpx.post(cluster.nodes[0].url + "/realtime/launch", headers=cluster.headers,
                      timeout=WAIT).json()["code"]
    landing = httpx.post(cluster.nodes[1].url + "/realtime/session", json={"code": code},
                         timeout=WAIT)
    assert landing.status_code == 200
    session = landing.json()["session"]
    feed = httpx.get(cluster.nodes[2].url + "/realtime/feed",
                     headers={"Authorization": f"Session {session}"}, timeout=WAIT)
    assert feed.status_code == 200
    again = httpx.post(cluster.nodes[2].url + "/realtime/session", json={"code": code},
                       timeout=WAIT)
    assert again.status_code == 401  # single use, cluster-wide
