"""The notification rules, with a fake clock (no Qt, no sleeping)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta, timezone

import pytest

from lattice_rt_tray.logic import digest, notices
from lattice_rt_tray.logic.coalescer import NotificationCoalescer
from lattice_rt_tray.logic.dnd import DoNotDisturb
from lattice_rt_tray.logic.notices import NoticeKind
from lattice_rt_tray.logic.quiet_hours import WEEKDAYS, QuietHours
from lattice_rt_tray.logic.rules import Level, Rule
from lattice_rt_tray.logic.settings_values import NotifyPrefs
from tests.clock import Clock

IID = "me1234"
S = "local"  # the server (connection) of the single-server tests


def make(**kwargs):
    clock = Clock()
    wall = Clock()
    c = NotificationCoalescer(instance_id=IID, clock=clock, wallclock=wall, window=2.0,
                              hold=3.0, **kwargs)
    return c, clock, wall


def ev(seq, ws="ws_a", area="workflow", kind="workflow_run", **extra):
    return {"seq": seq, "area": area, "event_type": kind, "workspace_id": ws,
            "payload": {"workflow_id": f"wf_{seq}"}, **extra}


def presence(seq, cid, kind="join", ws="ws_a", name="Grace"):
    return {"seq": seq, "area": "presence", "event_type": kind, "workspace_id": ws,
            "payload": {"client_id": cid, "user": "g", "workspace_id": ws,
                        "display_name": name}}


def live(c):
    c.connected(S, resumed=False)
    assert c.boundary(S, 0) == []


def test_first_event_is_shown_at_once():
    c, clock, _ = make()
    live(c)
    [notice] = c.offer(S, [ev(1)])
    assert notice.kind is NoticeKind.EVENT and notice.seq == 1 and notice.title == "Workflow run"
    assert "in ws_a" in notice.body
    assert c.next_due() is None


def test_a_burst_becomes_one_digest_with_the_same_key():
    c, clock, _ = make()
    live(c)
    [first] = c.offer(S, [ev(1)])
    assert c.offer(S, [ev(i) for i in range(2, 13)]) == []
    assert c.next_due() == clock.now + 2.0
    clock.now += 2.0
    [digest] = c.poll()
    assert digest.kind is NoticeKind.DIGEST and digest.key == first.key
    assert digest.title == "12 new events in ws_a" and digest.count == 12 and digest.seq == 12
    # the burst goes on: the digest is updated in place
    c.offer(S, [ev(13, ws="ws_b")])
    clock.now += 2.0
    [again] = c.poll()
    assert again.key == first.key and again.title == "13 new events in 2 workspaces"
    # a quiet window ends the burst; the next event starts a new one
    clock.now += 2.0
    assert c.poll() == []
    clock.now += 1.0
    [fresh] = c.offer(S, [ev(14)])
    assert fresh.kind is NoticeKind.EVENT and fresh.key != first.key


def test_a_single_late_event_in_the_window_is_a_digest_of_two():
    c, clock, _ = make()
    live(c)
    c.offer(S, [ev(1)])
    c.offer(S, [ev(2)])
    clock.now += 2.5
    [digest] = c.poll()
    assert digest.count == 2


def test_own_actions_and_own_presence_are_not_notified():
    c, _, _ = make(prefs=NotifyPrefs(presence=True))
    live(c)
    assert c.offer(S, [ev(1, origin=IID)]) == []
    assert c.offer(S, [presence(2, f"{IID}:ws_a")]) == []
    assert c.unread == 0
    [n] = c.offer(S, [presence(3, "someone-else")])
    assert n.title == "Grace joined"


def test_presence_is_off_by_default_and_mutes_apply():
    c, _, _ = make(prefs=NotifyPrefs(muted_workspaces=frozenset({"ws_q"}),
                                     muted_areas=frozenset({"memory"})))
    live(c)
    assert c.offer(S, [presence(1, "x"), ev(2, ws="ws_q"), ev(3, area="memory")]) == []
    assert c.unread == 0
    assert len(c.offer(S, [ev(4)])) == 1


def test_do_not_disturb_and_disabled_silence_but_count_unread():
    c, _, wall = make(dnd=DoNotDisturb(until=wall_now() + 60))
    c._wallclock = lambda: wall_now()  # noqa: SLF001 - a wall clock inside the DND hour
    live(c)
    assert c.offer(S, [ev(1), ev(2)]) == []
    assert c.unread == 2
    c.dnd = DoNotDisturb()
    c.prefs = NotifyPrefs(enabled=False)
    assert c.offer(S, [ev(3)]) == []
    assert c.unread == 3
    c.mark_read()
    assert c.unread == 0


def wall_now() -> float:
    return 5_000_000.0


def test_nothing_is_shown_twice():
    c, clock, _ = make()
    live(c)
    assert len(c.offer(S, [ev(1)])) == 1
    assert c.offer(S, [ev(1)]) == []
    clock.now += 5
    assert c.offer(S, [ev(1)]) == []
    assert c.unread == 1


def test_a_reset_moves_the_mark_back():
    c, clock, _ = make()
    live(c)
    c.offer(S, [ev(50)])
    c.reset(S, {"last_event_id": 50, "server_seq": 3, "reason": "ahead"})
    assert c.offer(S, [ev(3)]) == []  # the server's old tail is not news
    clock.now += 5
    assert len(c.offer(S, [ev(4)])) == 1


def test_after_a_restart_of_the_server_its_new_events_are_news():
    """A Lattice AI server numbers from 1 again: the old boundary must not hold them back."""
    c, clock, _ = make()
    live(c)
    c.offer(S, [ev(21)])
    clock.now += 10
    c.connected(S, resumed=True)
    assert c.boundary(S, None) == []  # its feed was empty after the restart
    c.reset(S, {"reason": "restart", "server_seq": 0})
    clock.now += 5
    notices = c.offer(S, [ev(2)])
    assert [n.kind for n in notices] == [NoticeKind.EVENT]


def test_catch_up_after_a_reconnect_is_one_digest():
    c, clock, _ = make()
    live(c)
    c.offer(S, [ev(1)])
    clock.now += 10
    c.connected(S, resumed=True)
    # the replay of what was missed, then one live event after the boundary
    events = [ev(i, ws=("ws_a", "ws_b", "ws_c")[i % 3]) for i in range(2, 39)]
    assert c.offer(S, events + [ev(39)]) == []
    notices = c.boundary(S, 38)
    assert [n.kind for n in notices] == [NoticeKind.CATCH_UP, NoticeKind.EVENT]
    assert notices[0].title == "While you were away"
    assert notices[0].body == "37 events in 3 workspaces"
    assert notices[1].seq == 39
    assert c.unread == 1 + 37 + 1


def test_late_replayed_events_update_the_catch_up_digest():
    c, _, _ = make()
    live(c)
    c.connected(S, resumed=True)
    c.offer(S, [ev(1), ev(2)])
    [first] = c.boundary(S, 5)
    assert first.count == 2
    [updated] = c.offer(S, [ev(3), ev(4)])
    assert updated.key == first.key == "local:catch-up" and updated.count == 4


def test_first_connect_without_resume_point_is_history():
    c, _, _ = make()
    c.connected(S, resumed=False)
    c.offer(S, [ev(i) for i in range(1, 11)])
    assert c.boundary(S, 10) == []
    assert c.unread == 0


def test_hold_times_out_when_the_boundary_never_comes():
    c, clock, _ = make()
    live(c)
    c.connected(S, resumed=True)
    c.offer(S, [ev(1), ev(2)])
    assert c.holding and c.next_due() == clock.now + 3.0
    clock.now += 3.0
    [notice] = c.poll()
    assert notice.kind is NoticeKind.CATCH_UP and notice.count == 2
    assert not c.holding
    [after] = c.offer(S, [ev(3)])
    assert after.kind is NoticeKind.EVENT


def test_gaps_during_catch_up_are_counted():
    c, _, _ = make()
    live(c)
    c.connected(S, resumed=True)
    c.gap(S, {"from_seq": 1, "to_seq": 12, "missed": 12, "reason": "retention"})
    c.offer(S, [ev(13)])
    [notice] = c.boundary(S, 13)
    assert notice.body == "1 event in ws_a; 12 more could not be replayed"
    c.connected(S, resumed=True)
    c.gap(S, {"missed": 4, "reason": "retention"})
    [only] = c.boundary(S, 13)
    assert only.body == "4 events could not be replayed"
    c.connected(S, resumed=True)
    c.gap(S, {"missed": 1, "reason": "retention"})
    [one] = c.boundary(S, 13)
    assert one.body == "1 event could not be replayed"


def test_invalid_timing_is_refused():
    with pytest.raises(ValueError):
        NotificationCoalescer(instance_id=IID, clock=Clock(), wallclock=Clock(), window=0)


def test_malformed_events_do_not_break_it():
    c, _, _ = make()
    live(c)
    notices = c.offer(S, [{"seq": "x", "payload": [1, 2]}, {"area": None}])
    assert len(notices) == 1 and notices[0].title == "Workspace: event"


def count_work(monkeypatch) -> tuple[Counter, Counter]:
    """How often the coalescer looks at each event's kind, and works out a title (by seq)."""
    kinded: Counter = Counter()
    titled: Counter = Counter()
    real_kind, real_title = digest._kind, notices.event_title

    def kind(event):
        kinded[event["seq"]] += 1
        return real_kind(event)

    def title(event):
        titled[event["seq"]] += 1
        return real_title(event)

    monkeypatch.setattr(digest, "_kind", kind)
    monkeypatch.setattr(notices, "event_title", title)
    monkeypatch.setattr(digest, "event_title", title)
    return kinded, titled


def test_a_long_burst_counts_each_event_once(monkeypatch):
    # regression: every digest of a flood recounted the whole burst (tens of ms on the GUI thread)
    kinded, titled = count_work(monkeypatch)
    c, clock, _ = make()
    live(c)
    digests = []
    for second in range(20):
        digests += c.offer(S, [ev(seq, ws=f"ws_{seq % 3}") for seq in range(second * 100 + 1,
                                                                         second * 100 + 101)])
        clock.now += 1.0
        digests += c.poll()
    clock.now += 2.0
    digests += c.poll()
    assert len(digests) == 11 and {n.key for n in digests} == {"local:burst:1"}
    last = digests[-1]
    assert last.count == 2000 and last.seq == 2000
    assert last.title == "2000 new events in 3 workspaces"
    assert last.body.startswith("Workflow run ×2000\n")
    assert sorted(kinded) == list(range(1, 2001)) and set(kinded.values()) == {1}
    # a title per notice: the first event's, then the one kind's of each digest
    assert sum(titled.values()) == len(digests)


def test_a_long_catch_up_counts_each_event_once(monkeypatch):
    kinded, titled = count_work(monkeypatch)
    c, _, _ = make()
    live(c)
    c.connected(S, resumed=True)
    assert c.boundary(S, 5000) == []
    for start in range(1, 5001, 500):  # the replay arrives in batches after the boundary
        [notice] = c.offer(S, [ev(seq, ws=f"ws_{seq % 2}") for seq in range(start, start + 500)])
    assert notice.kind is NoticeKind.CATCH_UP and notice.count == 5000 and notice.seq == 5000
    assert notice.body == "5000 events in 2 workspaces"
    assert sorted(kinded) == list(range(1, 5001)) and set(kinded.values()) == {1}
    assert sum(titled.values()) == 0  # a catch-up names no kinds: nothing to title


# ----------------------------------------------------------- several servers
def test_each_server_has_its_own_marks_bursts_and_names():
    """Regression (issue 10): the app kept one server's highest seq and took the next
    server's events (seq 5 after 77) as already seen: no notification, no unread."""
    c, clock, _ = make()
    c.set_servers({"local": "This computer", "team": "Team"})
    live(c)
    c.connected("team", resumed=False)
    assert c.boundary("team", 0) == []
    [mine] = c.offer("local", [ev(77)])
    [theirs] = c.offer("team", [ev(5, kind="workflow_failed")])  # far below 77: still news
    assert (mine.title, mine.server, mine.seq) == ("Workflow run · This computer", "local", 77)
    assert (theirs.title, theirs.server, theirs.seq) == ("Workflow failed · Team", "team", 5)
    assert mine.key != theirs.key and c.unread == 2
    # bursts are per server: a digest names its server and replaces that server's popup
    c.offer("team", [ev(6), ev(7)])
    clock.now += 2.0
    [digest_] = c.poll()
    assert digest_.key == theirs.key and digest_.title == "3 new events in ws_a · Team"
    # a history the connection no longer follows is forgotten: its events are new again
    c.forget("team")
    c.connected("team", resumed=False)
    c.offer("team", [ev(1), ev(2)])
    assert c.boundary("team", 2) == [] and c.unread == 4  # history: not notified, not counted
    [again] = c.offer("team", [ev(3)])
    assert again.seq == 3


def test_with_one_server_titles_stay_short():
    c, _, _ = make()
    c.set_servers({"team": "Team"})
    c.connected("team", resumed=False)
    c.boundary("team", 0)
    assert c.offer("team", [ev(1)])[0].title == "Workflow run"


def test_catch_up_is_per_server():
    c, _, _ = make()
    c.set_servers({"local": "This computer", "team": "Team"})
    live(c)
    c.connected("team", resumed=True)
    c.offer("team", [ev(i) for i in range(1, 4)])
    assert c.holds("team") and not c.holds("local")
    [live_one] = c.offer("local", [ev(9)])  # not held: the other server is live
    assert live_one.kind is NoticeKind.EVENT
    [caught] = c.boundary("team", 3)
    assert (caught.kind, caught.title, caught.server) == (
        NoticeKind.CATCH_UP, "While you were away · Team", "team")
    assert caught.key == "team:catch-up"


def test_what_do_not_disturb_held_is_one_summary_when_it_ends():
    c, _, wall = make()
    wall.now = wall_now()
    c.set_servers({"local": "This computer", "team": "Team"})
    c.dnd = DoNotDisturb(until=wall_now() + 60)
    live(c)
    c.connected("team", resumed=False)
    c.boundary("team", 0)
    assert c.offer("local", [ev(1), ev(2, ws="ws_b")]) == []
    assert c.offer("team", [ev(1), presence(2, "someone")]) == []  # presence: not notable
    c.connected("team", resumed=True)
    c.offer("team", [ev(3), ev(4)])
    assert c.boundary("team", 4) == []  # a catch-up while quiet is held too
    assert c.release_held() == []  # still on
    wall.now += 61
    [summary] = c.release_held()
    assert summary.kind is NoticeKind.HELD and summary.title == "While do-not-disturb was on"
    assert summary.body == "5 events in 2 workspaces\nTeam: 3 · This computer: 2"
    assert (summary.server, summary.seq, summary.count) == ("", None, 5)
    assert c.release_held() == []  # once


def test_held_events_of_one_server_open_its_newest_and_off_holds_nothing():
    c, _, wall = make()
    wall.now = wall_now()
    c.dnd = DoNotDisturb(forever=True)
    live(c)
    c.offer(S, [ev(1), ev(2)])
    c.dnd = DoNotDisturb()
    [summary] = c.release_held()
    assert (summary.server, summary.seq, summary.body) == (S, 2, "2 events in ws_a")
    c.prefs = NotifyPrefs(enabled=False)  # notifications off: nothing is held for later
    c.offer(S, [ev(3)])
    c.prefs = NotifyPrefs()
    assert c.release_held() == [] and c.unread == 3


def status_change(seq, cid, status, text=None, name="Grace"):
    event = presence(seq, cid, kind="status", name=name)
    event["payload"].update(status=status, **({"status_text": text} if text else {}))
    return event


def test_status_changes_are_notified_only_with_their_own_switch_and_quietly():
    c, clock, _ = make(prefs=NotifyPrefs(presence=True))  # joins and leaves: on
    live(c)
    assert c.offer(S, [status_change(1, "x", "away")]) == []  # status changes: off
    assert c.unread == 0
    c.prefs = NotifyPrefs(status=True)  # and joins and leaves off
    assert c.offer(S, [presence(2, "x")]) == []
    [n] = c.offer(S, [status_change(3, "x", "away", "Lunch")])
    assert (n.title, n.quiet) == ("Grace: Away · Lunch", True)
    assert c.offer(S, [status_change(4, f"{IID}:ws_a", "dnd")]) == []  # our own: never
    # coalesced like the rest: what follows in the window is one digest, not a popup each
    assert c.offer(S, [status_change(5, "x", "active"), status_change(6, "y", "idle")]) == []
    clock.now += 10
    [digest_notice] = c.poll()
    assert digest_notice.kind is NoticeKind.DIGEST and digest_notice.count == 3
    [joined] = make(prefs=NotifyPrefs(presence=True))[0].offer(S, [presence(7, "z")])
    assert not joined.quiet


def failed(seq, ws="ws_ops", name="Nightly import", error="disk full"):
    return {"seq": seq, "area": "workflow", "event_type": "workflow_failed", "workspace_id": ws,
            "payload": {"name": name, "error": error}}


def test_a_failure_is_critical_and_heads_the_digest_that_holds_it():
    """Seen in a trial: the failure was the "1 more kinds" of a four-event digest."""
    c, clock, _ = make()
    live(c)
    [first] = c.offer(S, [ev(1, area="graph", kind="indexed")])
    assert not first.critical
    c.offer(S, [ev(2, area="workspace", kind="member_added"),
                ev(3, area="plugin", kind="enabled"), failed(4)])
    clock.now += 2.0
    [notice] = c.poll()
    assert notice.kind is NoticeKind.DIGEST and notice.critical
    assert notice.body.splitlines()[0] == "1 failed: Nightly import — disk full"
    assert "more kinds" not in notice.body


def test_a_single_failure_is_critical_and_says_why():
    c, clock, _ = make()
    live(c)
    [notice] = c.offer(S, [failed(1)])
    assert notice.critical and notice.kind is NoticeKind.EVENT
    assert "Error: disk full" in notice.body


def test_while_you_were_away_names_its_failures_first():
    c, clock, _ = make()
    live(c)
    c.offer(S, [ev(1)])
    clock.now += 10
    c.connected(S, resumed=True)
    c.offer(S, [ev(i) for i in range(2, 9)] + [failed(9, name="Deploy prod-eu",
                                                        error="health check failed")])
    [notice] = c.boundary(S, 9)
    assert notice.kind is NoticeKind.CATCH_UP and notice.critical
    assert notice.body == ("1 failed: Deploy prod-eu — health check failed\n"
                           "and 7 other events: 8 events in 2 workspaces")


def test_mute_for_an_hour_silences_one_workspace_until_it_ends():
    c, clock, wall = make()
    live(c)
    [notice] = c.offer(S, [ev(1, ws="ws_ops")])
    assert notice.workspace == "ws_ops"
    c.mute_for("ws_ops", 3600)
    clock.now += 5
    assert c.offer(S, [ev(2, ws="ws_ops")]) == []
    assert len(c.offer(S, [ev(3, ws="ws_b")])) == 1  # other workspaces still speak
    wall.now += 3601
    clock.now += 5
    c._servers[S].window_end = None  # noqa: SLF001 - a fresh burst
    assert len(c.offer(S, [ev(4, ws="ws_ops")])) == 1


# ------------------------------------------------------------------ rules and levels
DEPLOY = {"seq": 0, "area": "deploy", "event_type": "deploy_started", "workspace_id": "ws_ops",
          "payload": {"target": "prod-eu", "version": "4.2.1"}}


def deploy(seq, ws="ws_ops"):
    return {**DEPLOY, "seq": seq, "workspace_id": ws}


RULES = (Rule(Level.CRITICAL, workspace="ws_ops", type="deploy*"),
         Rule(Level.SILENT, area="graph", type="indexed"),
         Rule(Level.LOW, text="nightly"))


def test_rules_decide_the_level_first_match_wins():
    c, clock, _ = make(prefs=NotifyPrefs(rules=RULES))
    live(c)
    assert c.offer(S, [ev(1, area="graph", kind="indexed")]) == []  # silent
    assert c.unread == 0  # not even unread: the user said it does not matter
    [notice] = c.offer(S, [deploy(2)])
    assert notice.critical and not notice.quiet and notice.title == "Deploy started"
    clock.now += 10
    c.poll()
    [low] = c.offer(S, [failed(3)])  # "Nightly import" failed: the user's rule says low
    assert low.quiet and not low.critical
    clock.now += 10
    c.poll()
    [other] = c.offer(S, [deploy(4, ws="ws_dev")])  # no rule of the user's: normal
    assert not other.critical and not other.quiet


def test_a_critical_event_by_rule_heads_the_digest():
    c, clock, _ = make(prefs=NotifyPrefs(rules=RULES))
    live(c)
    c.offer(S, [ev(1)])
    c.offer(S, [ev(2, area="plugin", kind="enabled"), ev(3, area="graph", kind="indexed"),
                deploy(4), ev(5, area="workspace", kind="member_added")])
    clock.now += 2.0
    [digest_notice] = c.poll()
    assert digest_notice.critical and digest_notice.count == 4  # the silent one is not in it
    assert digest_notice.body.splitlines()[0] == "1 critical: Deploy started"


def dnd_on(c, wall, *, through=True):
    c.prefs = NotifyPrefs(critical_through=through)
    c.dnd = DoNotDisturb(until=wall.now + 3600)


def test_critical_cuts_through_do_not_disturb_when_allowed():
    c, clock, wall = make()
    live(c)
    dnd_on(c, wall)
    assert c.offer(S, [ev(1)]) == []
    [notice] = c.offer(S, [failed(2)])
    assert notice.critical and notice.kind is NoticeKind.EVENT and notice.seq == 2
    wall.now += 3601
    [held] = c.release_held()  # the failure was shown: the summary holds the rest
    assert held.body == "1 event in ws_a" and not held.critical


def test_without_cut_through_the_failure_waits_and_heads_the_summary():
    c, clock, wall = make()
    live(c)
    dnd_on(c, wall, through=False)
    assert c.offer(S, [ev(1), failed(2)]) == []
    assert c.release_held() == []  # still on
    wall.now += 3601
    [held] = c.release_held()
    assert held.critical and held.title == "While do-not-disturb was on"
    assert held.body == ("1 failed: Nightly import — disk full\n"
                         "and 1 other event: 2 events in 2 workspaces")


def test_notifications_off_lets_nothing_through():
    c, clock, wall = make(prefs=NotifyPrefs(enabled=False))
    live(c)
    assert c.offer(S, [failed(1)]) == []


EVENINGS = QuietHours(WEEKDAYS, time(19, 0), time(8, 0))
TZ = timezone(timedelta(hours=2))


def test_quiet_hours_hold_and_summarise_when_they_end():
    c, clock, wall = make(prefs=NotifyPrefs(quiet_hours=EVENINGS), tz=TZ)
    wall.now = datetime(2026, 6, 1, 20, 0, tzinfo=TZ).timestamp()  # a Monday evening
    live(c)
    assert c.quiet()
    assert c.offer(S, [ev(1), ev(2, ws="ws_b")]) == []
    [through] = c.offer(S, [failed(3)])  # critical cuts through quiet hours too
    assert through.critical
    assert c.release_held() == []
    assert c.quiet_changes_at() == datetime(2026, 6, 2, 8, 0, tzinfo=TZ).timestamp()
    wall.now = c.quiet_changes_at()
    assert not c.quiet()
    [held] = c.release_held()
    assert (held.kind, held.title, held.body) == (
        NoticeKind.HELD, "While quiet hours were on", "2 events in 2 workspaces")
    assert c.quiet_changes_at() == datetime(2026, 6, 2, 19, 0, tzinfo=TZ).timestamp()
    assert c.describe_quiet() == ""
    wall.now += 11 * 3600 + 1
    assert c.describe_quiet() == "Quiet hours until 08:00 tomorrow"
