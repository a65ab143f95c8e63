"""The tray app follows a cluster through nginx: three Redis nodes, one server to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lattice_rt_tray.logic.settings_values import ConnectionSettings, local_connection
from lattice_rt_tray.services.presence_keeper import presence_client_id
from lattice_rt_tray.services.token_vault import SERVICE
from tests.app.conftest import wait_until
from tests.e2e.cluster import WAIT, Cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("cluster"), 3)
    try:
        yield running
    finally:
        running.close()


def present(cluster: Cluster, node: int) -> set[str]:
    answer = httpx.get(cluster.nodes[node].url + "/realtime/presence", headers=cluster.headers,
                       timeout=WAIT).json()
    return {p["client_id"] for p in answer["presence"]}


def publish(cluster: Cluster, node: int, count: int) -> list[int]:
    body = [{"area": "workflow", "event_type": "workflow_run", "workspace_id": "ws_team",
             "payload": {"workflow_id": f"wf_{i}"}} for i in range(count)]
    r = httpx.post(cluster.nodes[node].url + "/realtime/events", json=body,
                   headers=cluster.headers, timeout=WAIT)
    assert r.status_code == 200, r.text
    return [e["seq"] for e in r.json()["events"]]


def workflow_seqs(app: Any) -> list[int]:
    model = app.activity_model
    events = [model.event_at(row) for row in range(model.rowCount())]
    return sorted(e["seq"] for e in events if e is not None and e.get("area") == "workflow")


def test_the_tray_app_follows_a_cluster_through_nginx(harness, settings, qtbot, cluster):
    settings.update(connections=(local_connection(enabled=False),
                                 ConnectionSettings("c1", "Cluster", url=cluster.url)),
                    workspaces=("ws_team",))
    harness.keyring.set_password(SERVICE, "c1", cluster.token)
    app = harness.build(settings)
    harness.start(app, "c1")
    cid = presence_client_id(settings.instance_id, "ws_team")
    assert all(cid in present(cluster, i) for i in range(3))  # joined once, seen everywhere

    with qtbot.waitSignal(app.notifier.shown, timeout=15_000) as shown:
        first = publish(cluster, 0, 1)
    assert shown.args[0].seq == first[0]

    # the node holding the app's stream dies: it reconnects through nginx, misses nothing
    serving = next(n for n in cluster.nodes if int(n.stats(cluster.token)["subscribers"]) > 0)
    serving.kill()
    others = [i for i, n in enumerate(cluster.nodes) if n is not serving]
    published = first + publish(cluster, others[0], 20) + publish(cluster, others[1], 20)
    wait_until(qtbot, lambda: workflow_seqs(app) == published, timeout=30.0)
    serving.start()

    harness.quit(app)  # leaves presence, as seen by every node
    assert all(cid not in present(cluster, i) for i in range(3))
