from __future__ import annotations

import pytest

from lattice_rt_tray.summary import MAX_SUMMARY, event_body, event_summary, event_title


@pytest.mark.parametrize(
    ("area", "kind", "title"),
    [
        ("workflow", "workflow_run", "Workflow run"),
        ("workspace", "member_added", "Workspace: member added"),
        ("graph", "indexing_paused", "Graph: indexing paused"),
        ("plugins", "plugin_enabled", "Plugin enabled"),
        ("skills", "skill_installed", "Skill installed"),
        (None, None, "Workspace: event"),
    ],
)
def test_titles(area, kind, title):
    assert event_title({"area": area, "event_type": kind}) == title


def test_presence_titles_and_summaries():
    join = {"area": "presence", "event_type": "join", "workspace_id": "ws_a",
            "payload": {"client_id": "c", "user": "grace", "display_name": "Grace"}}
    leave = {**join, "event_type": "leave", "payload": {**join["payload"], "reason": "timeout"}}
    assert event_title(join) == "Grace joined"
    assert event_summary(leave) == "Grace left ws_a (timeout)"
    assert event_body(join) == "in ws_a"


def test_summary_picks_the_telling_fields():
    event = {"area": "workflow", "event_type": "workflow_run", "workspace_id": "ws_m",
             "payload": {"run_id": "r7", "workflow_id": "wf_3", "status": "ok", "x": [1]},
             "actor": "ada"}
    assert event_summary(event) == "wf_3 · run id r7 · ok"
    assert event_body(event) == "wf_3 · run id r7 · ok\nin ws_m by ada"


def test_odd_payloads():
    assert event_summary({"payload": "plain\ntext"}) == "plain text"
    assert event_summary({"payload": {"a": 1, "b": {"deep": 1}}}) == "a=1"
    long = event_summary({"payload": {"title": "x" * 500}})
    assert len(long) == MAX_SUMMARY and long.endswith("…")
    assert event_body({"payload": None}) == "in personal"
