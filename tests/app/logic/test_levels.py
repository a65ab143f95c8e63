"""Stages one and three of the way from event to notice, each on its own (no coalescer)."""

from __future__ import annotations

from lattice_rt_tray.logic.digest import Tally
from lattice_rt_tray.logic.levels import NOT_NEWS, Audience, level_for
from lattice_rt_tray.logic.notices import Group, NoticeKind, render
from lattice_rt_tray.logic.rules import Level, Rule
from lattice_rt_tray.logic.settings_values import NotifyPrefs

IID = "a1b2c3"


def ev(kind="workflow_run", ws="ws_a", area="workflow", seq=1, **payload):
    return {"seq": seq, "area": area, "event_type": kind, "workspace_id": ws,
            "payload": payload or {"workflow_id": "wf_1"}}


def join(cid, ws="ws_a"):
    return {"seq": 1, "area": "presence", "event_type": "join", "workspace_id": ws,
            "payload": {"client_id": cid, "display_name": "Grace", "workspace_id": ws}}


def test_what_the_user_never_hears_of_is_silent_whatever_the_rules():
    loud = NotifyPrefs(presence=True, rules=(Rule(Level.CRITICAL),))
    audience = Audience(IID, loud, frozenset({"ws_muted"}))
    assert level_for({**ev(), "origin": IID}, audience) is Level.SILENT  # their own action
    assert level_for(join(f"{IID}:c1"), audience) is Level.SILENT  # their own presence
    assert level_for({**join("other:c1"), NOT_NEWS: True}, audience) is Level.SILENT
    assert level_for(ev(ws="ws_muted"), audience) is Level.SILENT  # muted for an hour
    assert level_for(join("other:c1"), audience) is Level.CRITICAL  # the rule, once heard


def test_presence_and_muted_prefs_silence_before_the_rules_decide():
    prefs = NotifyPrefs(muted_workspaces=frozenset({"ws_b"}), muted_areas=frozenset({"graph"}))
    audience = Audience(IID, prefs)
    assert level_for(join("other:c1"), audience) is Level.SILENT  # presence not asked for
    assert level_for(ev(ws="ws_b"), audience) is Level.SILENT
    assert level_for(ev(area="graph", kind="graph_indexed"), audience) is Level.SILENT
    assert level_for(ev(), audience) is Level.NORMAL
    assert level_for(ev("workflow_failed", error="disk full"), audience) is Level.CRITICAL


def test_a_rule_by_server_name_applies_only_to_that_server():
    prefs = NotifyPrefs(rules=(Rule(Level.CRITICAL, server="Team", type="deploy_*"),))
    audience = Audience(IID, prefs)
    deploy = ev("deploy_started", area="deploy", target="prod-eu")
    assert level_for(deploy, audience, "k1", "Team") is Level.CRITICAL
    assert level_for(deploy, audience, "k2", "This computer") is Level.NORMAL


def test_render_words_a_group_and_names_the_server_only_beside_others():
    failed = ev("workflow_failed", seq=7, name="Nightly import", error="disk full")
    tally = Tally()
    tally.add([ev(seq=5), ev("graph_indexed", area="graph", seq=6), failed], "k1")
    digest = Group(NoticeKind.DIGEST, "k1:burst:1", "k1", tally)
    alone = render(digest, {"k1": "Team"})
    assert alone.title == "3 new events in ws_a" and alone.critical and alone.seq == 7
    assert alone.body.splitlines()[0].startswith("1 failed: ")
    assert "disk full" in alone.body.splitlines()[0]
    beside = render(digest, {"k1": "Team", "k2": "This computer"})
    assert beside.title == "3 new events in ws_a · Team"


def test_a_group_of_one_event_is_that_event_at_its_level():
    one = Tally()
    one.add([ev("member_added", area="workspace", role="admin", user="grace")], "k1",
            [Level.LOW])
    notice = render(Group(NoticeKind.EVENT, "k1:burst:1", "k1", one), {"k1": "Team"})
    assert notice.count == 1 and notice.quiet and not notice.critical
    assert notice.workspace == "ws_a" and notice.seq == 1
    assert "admin" in notice.body


def test_a_copied_tally_counts_on_without_touching_the_first():
    first = Tally()
    first.add([ev(seq=1)], "k1")
    burst = first.copy()
    burst.add([ev(seq=2, ws="ws_b")], "k1")
    assert (first.count, dict(first.spaces)) == (1, {"ws_a": 1})
    assert (burst.count, burst.newest, len(burst.spaces)) == (2, 2, 2)
