from __future__ import annotations

import pytest

from lattice_rt_core.protocol.people import NO_WORKSPACE
from lattice_rt_tray.logic.summary import (
    MAX_SUMMARY,
    event_actor,
    event_body,
    event_json,
    event_summary,
    event_title,
    is_failure,
    is_status_change,
    summary_tooltip,
    workspace_label,
)


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
    status = {**join, "event_type": "status",
              "payload": {**join["payload"], "status": "away", "status_text": "Lunch"}}
    assert event_title(status) == "Grace: Away · Lunch"
    assert event_summary(status) == "Grace: Away · Lunch ws_a"
    assert event_title({**status, "payload": {"user": "grace", "status": "dnd"}}) == (
        "grace: Do not disturb")
    assert is_status_change(status) and not is_status_change(join)


def test_summary_picks_the_telling_fields():
    event = {"area": "workflow", "event_type": "workflow_run", "workspace_id": "ws_m",
             "payload": {"run_id": "r7", "workflow_id": "wf_3", "status": "ok", "x": [1]},
             "actor": "ada"}
    assert event_summary(event) == "wf_3 · run id r7 · ok"
    assert event_body(event) == "wf_3 · run id r7 · ok\nin ws_m by ada"


def test_odd_payloads():
    assert event_summary({"payload": "plain\ntext"}) == "plain text"
    assert event_summary({"payload": {"a": 1, "b": {"deep": 1}}}) == "a 1"
    long = event_summary({"payload": {"title": "x" * 500}})
    assert len(long) == MAX_SUMMARY and long.endswith("…")
    assert event_body({"payload": None}) == NO_WORKSPACE
    assert event_body({"payload": {"id": 1}, "actor": "ada"}) == f"1\n{NO_WORKSPACE}, by ada"
    assert workspace_label({"workspace_id": ""}) == NO_WORKSPACE


def test_a_failure_shows_its_status_error_and_reason():
    # issue 10: "Workflow failed" showed only the run id
    failed = {"area": "workflow", "event_type": "workflow_failed", "workspace_id": "ws_m",
              "actor": "grace",
              "payload": {"run_id": "r9", "status": "failed", "error": "step 3 timed out",
                          "reason": "deadline 60 s"}}
    assert event_title(failed) == "Workflow failed"
    assert event_body(failed) == (
        "r9 · failed\nError: step 3 timed out\nReason: deadline 60 s\nin ws_m by grace"
    )
    assert event_summary(failed) == "r9 · failed · step 3 timed out · deadline 60 s"
    nested = {**failed, "payload": {"error": {"message": "disk full", "code": 28}}}
    assert event_body(nested) == "Error: disk full\nin ws_m by grace"
    opaque = {**failed, "payload": {"error": {"code": 28}}}
    assert event_summary(opaque) == '{"code": 28}'
    long = {**failed, "payload": {"title": "t" * 300, "error": "e" * 300}}
    first, error, _ = event_body(long).split("\n")
    assert len(first) == len(error) == MAX_SUMMARY and error.startswith("Error: eee")


@pytest.mark.parametrize(
    ("event_type", "payload", "failed"),
    [
        ("workflow_failed", {}, True),
        ("run_error", {}, True),
        ("syncFailed", {}, True),
        ("workflow_run", {"status": "failed"}, True),
        ("workflow_run", {"state": "Error"}, True),
        ("workflow_run", {"result": "failure"}, True),
        ("agent_run", {"error": "boom"}, True),
        ("agent_run", {"error": {"code": 3}}, True),
        ("agent_run", {"error": True}, True),
        ("workflow_run", {"status": "ok"}, False),
        ("agent_run", {"error": None}, False),
        ("agent_run", {"error": ""}, False),
        ("agent_run", {"error": "  "}, False),
        ("member_added", {"name": "failing tests team"}, False),  # only type, status, error
        ("trailblazer", "failed", False),  # not a payload dict: no status to read
    ],
)
def test_is_failure(event_type, payload, failed):
    assert is_failure({"area": "workflow", "event_type": event_type, "payload": payload}) is failed


def test_presence_is_never_a_failure():
    leave = {"area": "presence", "event_type": "leave",
             "payload": {"client_id": "c", "reason": "timeout", "error": "x"}}
    assert not is_failure(leave)


def test_presence_without_a_workspace_reads_as_a_sentence():
    join = {"area": "presence", "event_type": "join", "workspace_id": None,
            "payload": {"client_id": "c", "user": "barbara", "display_name": "Barbara"}}
    assert event_summary(join) == "Barbara joined"
    assert event_body(join) == NO_WORKSPACE


def test_the_actor_is_the_servers_word_or_the_presence_entrys_user():
    assert event_actor({"actor": "ada", "payload": {"user": "x"}}) == "ada"
    assert event_actor({"area": "workspace", "payload": {"user": "x"}}) == ""  # not a presence
    join = {"area": "presence", "event_type": "join", "payload": {"user": "grace"}}
    assert event_actor(join) == "grace"
    assert event_actor({"actor": 3, "payload": None}) == ""


# What the Lattice AI server publishes for real user actions (ltcai 2.0.0 and 11.5.2).
LATTICE_MEMBER = {"seq": 4, "area": "workspace", "event_type": "member_added",
                  "workspace_id": "personal", "type": "timeline",
                  "payload": {"workspace_id": "org_7", "user_id": "grace@example.org",
                              "role": "admin"},
                  "contract": {"schema": "lattice.realtime_event", "version": "1"}}


def test_a_lattice_member_added_names_the_member_the_role_and_the_workspace_acted_on():
    assert event_title(LATTICE_MEMBER) == "Workspace: member added"
    assert event_body(LATTICE_MEMBER) == "grace@example.org · role admin\nin org_7"
    assert workspace_label(LATTICE_MEMBER) == "org_7"


def test_lattice_events_name_their_subject():
    def body(event_type: str, payload: dict) -> str:
        return event_body({"area": "x", "event_type": event_type, "payload": payload})

    assert body("plugin_toggled", {"plugin": "web_search", "enabled": True}) == (
        "web_search · enabled\nNo workspace")
    assert body("plugin_installed", {"plugin": "ocr", "version": "1.2"}) == (
        "ocr · version 1.2\nNo workspace")
    assert body("workflow_run", {"run_id": "r1", "workflow_id": "wf_9", "status": "completed"}
                ).splitlines()[0] == "wf_9 · run id r1 · completed"
    assert body("snapshot_saved", {"snapshot_id": "s1", "name": "Before import"}
                ).splitlines()[0] == "Before import · snapshot id s1"
    assert body("deploy_started", {"target": "prod-eu", "version": "4.2.1"}
                ).splitlines()[0] == "target prod-eu · version 4.2.1"


def test_the_contract_object_is_never_shown():
    assert "contract" not in event_json(LATTICE_MEMBER)
    assert "contract" not in event_summary(LATTICE_MEMBER)


def test_a_cut_summarys_tooltip_is_the_whole_line_wrapped():
    # seen in a screenshot: the tooltip of a cut summary was cut the same way
    error = "step 3 (render) timed out after 60 s while waiting for the GPU pool " * 4
    event = {"area": "workflow", "event_type": "workflow_failed",
             "payload": {"workflow_id": "wf_launch", "error": error.strip()}}
    assert event_summary(event).endswith("…") and len(event_summary(event)) == MAX_SUMMARY
    tip = summary_tooltip(event)
    assert "…" not in tip and " ".join(tip.split("\n")) == f"wf_launch · {error.strip()}"
    assert max(len(line) for line in tip.split("\n")) <= 80
