"""History: the real app shows what the server keeps on start, and older pages on demand.

The embedded endpoint's data directory is filled by a real server first (its
SQLite journal keeps the last 500 events), so the app starts with a past it
did not see live; the stream's tail and the pages of history overlap, and each
event is one row. Nothing read back pops a notification or counts as unread.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_tray.history_link import LOADING, NO_MORE
from lattice_rt_tray.logic.settings_values import LOCAL_KEY, ConnectionSettings, local_connection
from tests.app.conftest import local
from tests.lattice_ai.server import VERSIONS, LatticeServer

WAIT_MS = 15_000


@pytest.fixture(params=VERSIONS, ids=[f"ltcai-{v}" for v in VERSIONS])
def lattice(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LatticeServer]:
    """The real Lattice AI server (local mode), each release the app supports."""
    with LatticeServer(request.param, tmp_path / "ltcai") as server:
        yield server


def fill(data_dir: Path, count: int) -> None:
    """``count`` workflow events in the journal of ``data_dir`` (seqs 1..count)."""
    server = RealtimeServer(ServerConfig(port=0, data_dir=data_dir))
    server.start()
    try:
        for i in range(count):
            server.bus.publish({"area": "workflow", "event_type": "workflow_run",
                                "workspace_id": "ws_a", "payload": {"run": i}})
    finally:
        server.stop()


def workflow_seqs(app) -> list[int]:
    model = app.activity_model
    return [e["seq"] for r in range(model.rowCount())
            if (e := model.event_at(r)) is not None and e.get("area") == "workflow"]


def start_and_settle(harness, app, qtbot) -> None:
    with qtbot.waitSignal(app.history.settled, timeout=WAIT_MS,
                          check_params_cb=lambda key: key == LOCAL_KEY):
        harness.start(app)


def test_on_start_the_list_shows_what_the_server_keeps(harness, settings, qtbot):
    fill(harness.data_dir, 700)  # the journal keeps 201..700
    app = harness.build(settings)
    start_and_settle(harness, app, qtbot)
    seqs = workflow_seqs(app)
    assert sorted(seqs, reverse=True) == list(range(700, 200, -1))  # each once
    assert seqs[0] == 700  # newest first
    # history, not news: no notification, nothing unread
    assert app.notifier.notices == [] and app.controller.status().unread == 0
    # a live event after it is news, and is shown once
    with qtbot.waitSignal(app.notifier.shown, timeout=WAIT_MS):
        harness.box.current.bus.publish({"area": "workflow", "event_type": "workflow_run",
                                         "workspace_id": "ws_a"})
    assert workflow_seqs(app)[0] > 700 and len(workflow_seqs(app)) == 501


def test_scrolling_to_the_end_loads_older_events(harness, settings, qtbot):
    fill(harness.data_dir, 450)
    settings.set_history_size(100)
    app = harness.build(settings)
    start_and_settle(harness, app, qtbot)
    window = app.views.activity.get()
    window.show()
    # one page of 200 events (at least the size asked for): the newest workflow events
    # and maybe the app's own presence events (its join and status, which may come before
    # or after the page was read; its join is not listed, its status is)
    assert app.history.pages.read_count(LOCAL_KEY) == 200
    seqs = workflow_seqs(app)
    assert seqs == list(range(450, 450 - len(seqs), -1)) and len(seqs) in (198, 199, 200)
    bar = window.view.verticalScrollBar()
    with qtbot.waitSignal(app.history.settled, timeout=WAIT_MS):
        bar.setValue(bar.maximum())  # the user scrolls to the oldest row
        assert window.history_label.text() == LOADING
    first = len(seqs)  # the next page is the 200 before those
    assert sorted(workflow_seqs(app), reverse=True) == list(range(450, 450 - first - 200, -1))
    with qtbot.waitSignal(app.history.settled, timeout=WAIT_MS):
        bar.setValue(bar.maximum())
    assert sorted(workflow_seqs(app), reverse=True) == list(range(450, 0, -1))
    bar.setValue(bar.maximum())  # nothing older: no request, and the window says so
    assert not app.history.pages.busy() and window.history_label.text() == NO_MORE
    assert app.notifier.notices == [] and app.controller.status().unread == 0


def test_after_a_restart_the_history_is_back(harness, settings, qtbot):
    fill(harness.data_dir, 30)
    first = harness.build(settings)
    start_and_settle(harness, first, qtbot)
    assert len(workflow_seqs(first)) == 30
    harness.quit(first)  # its resume point is saved: the next stream replays nothing
    assert settings.resume_points(LOCAL_KEY)
    second = harness.build(settings)
    start_and_settle(harness, second, qtbot)
    assert local(second).client is not None
    assert sorted(workflow_seqs(second), reverse=True) == list(range(30, 0, -1))
    assert second.notifier.notices == []


def test_a_lattice_ai_servers_history_is_its_feed_each_event_once(harness, settings, lattice,
                                                                 qtbot):
    # the real Lattice AI server: no ids of ours, a feed without pages, and a stream that
    # replays its newest events again on connect; the list holds each event once
    for n in range(3):
        lattice.run_workflow(lattice.create_workflow(f"before-{n}"))
    lattice.wait_for(lambda: len(lattice.feed()) >= 3)
    before = lattice.feed(limit=200)
    settings.update(connections=(local_connection(enabled=False),
                                 ConnectionSettings("l1", "Lattice", url=lattice.url)),
                    workspaces=())
    app = harness.build(settings)
    with qtbot.waitSignal(app.history.settled, timeout=30_000):
        harness.start(app, "l1")
    model = app.activity_model
    shown = [model.event_at(r) for r in range(model.rowCount())]
    keys = [(e["seq"], e["event_type"]) for e in shown if e is not None]
    assert len(keys) == len(set(keys))  # nothing twice
    assert {(e["seq"], e["event_type"]) for e in before} <= set(keys)
    assert app.history.pages.read_count("l1") >= len(before)  # (the app's join may be in it)
    assert not app.history.pages.more()  # one page: the server has no more
    assert app.notifier.notices == []  # what happened before the app started is history
