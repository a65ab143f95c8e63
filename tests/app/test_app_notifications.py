"""Notifications from real events over a real embedded endpoint."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime

from lattice_rt_tray.logic.dnd import DndMode
from lattice_rt_tray.logic.notices import NoticeKind
from lattice_rt_tray.logic.quiet_hours import QuietHours
from lattice_rt_tray.logic.rules import Level, Rule
from lattice_rt_tray.logic.settings_values import LOCAL_KEY
from lattice_rt_tray.services.settings import Settings
from lattice_rt_tray.views.icons import TrayState
from tests.app.conftest import wait_until


def _event(n: int, ws: str = "ws_marketing", **extra):
    return {
        "area": "workflow",
        "event_type": "workflow_run",
        "workspace_id": ws,
        "payload": {"workflow_id": f"wf_{n}", "status": "ok"},
        **extra,
    }


def test_a_published_event_is_notified_once(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    notifier = app.notifier
    with qtbot.waitSignal(notifier.shown, timeout=10_000) as shown:
        harness.box.current.bus.publish(_event(1))
    notice = shown.args[0]
    assert notice.kind is NoticeKind.EVENT
    assert notice.title == "Workflow run"
    assert "wf_1" in notice.body and "ws_marketing" in notice.body
    # the activity list has it too, and the icon says there is unread activity
    wait_until(qtbot, lambda: app.activity_model.rowCount() >= 1)
    assert app.views.tray.state is TrayState.UNREAD
    assert app.coalescer.unread == 1
    assert len(notifier.notices) == 1


def test_history_before_the_first_start_is_not_notified(harness, settings, qtbot):
    """A first start (no resume point) replays a tail: shown in the list, not popped up."""
    from lattice_rt_core.server import RealtimeServer, ServerConfig

    before = RealtimeServer(ServerConfig(port=0, data_dir=harness.data_dir))
    before.start()
    for i in range(5):
        before.bus.publish(_event(i))
    before.stop()
    app = harness.build(settings)
    harness.start(app)
    # the list also gets the app's own presence join, before or after the replay
    # (under load, often before): wait for the replayed events themselves
    model = app.activity_model
    wait_until(qtbot, lambda: [
        event["seq"] for event in map(model.event_at, range(model.rowCount()))
        if event is not None and event.get("area") == "workflow"
    ] == [5, 4, 3, 2, 1])
    assert app.notifier.notices == []
    assert app.coalescer.unread == 0
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        harness.box.current.bus.publish(_event(99))
    assert shown.args[0].seq == harness.box.current.bus.last_seq


def test_own_actions_are_not_notified(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    bus.publish(_event(1, origin=settings.instance_id))
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        bus.publish(_event(2))
    assert shown.args[0].seq == bus.last_seq
    assert [n.seq for n in app.notifier.notices] == [bus.last_seq]
    # both are in the activity list
    wait_until(qtbot, lambda: app.activity_model.rowCount() >= 2)


def test_a_burst_becomes_one_digest_replacing_the_first(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    with qtbot.waitSignal(
        app.notifier.shown,
        timeout=10_000,
        check_params_cb=lambda notice: notice.kind is NoticeKind.DIGEST,
    ) as shown:
        bus.publish_many([_event(i) for i in range(12)])
    digest = shown.args[0]
    first = app.notifier.notices[0]
    assert first.kind is NoticeKind.EVENT
    assert digest.key == first.key  # replaces it
    assert digest.title == "12 new events in ws_marketing"
    assert digest.count == 12
    assert len(app.notifier.notices) == 2


def test_do_not_disturb_from_the_menu_silences_but_counts(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    with qtbot.waitSignal(app.controller.status_changed, timeout=5000):
        app.views.actions.dnd[DndMode.HOUR].trigger()
    assert settings.dnd.active(settings.dnd.until - 1)
    assert app.views.tray.state is TrayState.DND
    bus = harness.box.current.bus
    with qtbot.waitSignal(app.bridge.events_received, timeout=10_000):
        bus.publish(_event(1))
    with qtbot.waitSignal(app.bridge.events_received, timeout=10_000):
        bus.publish_many([_event(2, ws="ws_sales"), _event(3)])
    wait_until(qtbot, lambda: app.coalescer.unread == 3)
    assert app.notifier.notices == []
    # off again: one summary of what it held, then the next event pops up
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        app.views.actions.dnd[DndMode.OFF].trigger()
    held = shown.args[0]
    assert (held.kind, held.title, held.body) == (
        NoticeKind.HELD, "While do-not-disturb was on", "3 events in 2 workspaces")
    assert app.views.tray.state is TrayState.UNREAD
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        bus.publish(_event(4))
    assert shown.args[0].kind is NoticeKind.EVENT
    assert len(app.notifier.notices) == 2


def test_muted_area_and_presence_are_quiet_by_settings(harness, settings, qtbot):
    settings.update(notify=settings.values().notify.__class__(muted_areas=frozenset({"memory"})))
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    bus.publish({"area": "memory", "event_type": "memory_upserted", "workspace_id": "ws_a"})
    bus.join(client_id="someone-else", workspace_id="ws_a", display_name="Grace")
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        bus.publish(_event(3))
    assert shown.args[0].title == "Workflow run"
    assert len(app.notifier.notices) == 1
    # a settings change applies at once: presence notifications on
    notify = settings.values().notify
    settings.update(notify=notify.__class__(presence=True, muted_areas=notify.muted_areas))
    app.coalescer._server(LOCAL_KEY).window_end = None  # noqa: SLF001 - a fresh burst, for clarity
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        bus.join(client_id="another-one", workspace_id="ws_b", display_name="Linus")
    assert shown.args[0].title == "Linus joined"


def test_clicking_a_notification_opens_the_activity_window_on_its_event(
    harness, settings, qtbot
):
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        bus.publish(_event(7))
    assert not app.views.activity.is_visible() and app.views.activity.window is None
    with qtbot.waitSignal(app.views.activity.built, timeout=5000) as built:
        app.notifier.click(shown.args[0])
    window = built.args[0]
    assert window.isVisible() and window is app.views.activity.window
    assert window.selected_event() == (LOCAL_KEY, shown.args[0].seq)
    assert app.coalescer.unread == 0


def test_missed_events_arrive_as_one_catch_up_digest(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000):
        bus.publish(_event(0))
    harness.quit(app)
    data_dir = harness.data_dir

    # while the app is away, 37 events in 3 workspaces (through a server of its own)
    from lattice_rt_core.server import RealtimeServer, ServerConfig

    away = RealtimeServer(ServerConfig(port=0, data_dir=data_dir))
    away.start()
    for i in range(37):
        away.bus.publish(_event(i, ws=("ws_a", "ws_b", "ws_c")[i % 3]))
    away.stop()

    again = harness.build(settings)
    with qtbot.waitSignal(
        again.notifier.shown,
        timeout=15_000,
        check_params_cb=lambda n: n.kind is NoticeKind.CATCH_UP,
    ) as shown:
        again.controller.start()
    notice = shown.args[0]
    assert notice.title == "While you were away"
    assert notice.body == "37 events in 3 workspaces"
    assert again.coalescer.unread == 37
    assert [n.kind for n in again.notifier.notices] == [NoticeKind.CATCH_UP]


def test_join_and_leave_notices_are_per_person_not_per_connection(harness, settings, qtbot):
    """Seen in a trial: "Grace Hopper left" while her other connection stayed."""
    notify = settings.values().notify
    settings.update(notify=notify.__class__(presence=True))
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        bus.join(client_id="grace-laptop", workspace_id="ws_a", display_name="Grace Hopper")
    assert shown.args[0].title == "Grace Hopper joined"
    bus.join(client_id="grace-phone", workspace_id="ws_a", display_name="Grace Hopper")
    bus.leave("grace-laptop")
    # her two joins and the leave reached the app (its own join is not listed)
    wait_until(qtbot, lambda: app.activity_model.rowCount() >= 3)
    app.coalescer._server(LOCAL_KEY).window_end = None  # noqa: SLF001 - a fresh burst
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        bus.leave("grace-phone")  # her last connection: now she left
    assert shown.args[0].title == "Grace Hopper left"
    titles = [n.title for n in app.notifier.notices]
    assert titles.count("Grace Hopper joined") == 1 and titles.count("Grace Hopper left") == 1


def kill(app) -> None:
    """What a kill -9 leaves behind: no quit sequence (no resume points saved at the end,
    no presence left, the settings not synced); its client and server simply stop."""
    app.controller.quitting = True  # a dead process handles nothing more
    for connection in app.connections:
        connection.close()
        client, server = connection.client, connection.server
        if client is not None:
            client.stop(timeout=2.0)
            client.close()
        if server is not None:
            server.stop(timeout=2.0)


def test_nothing_shown_is_shown_again_after_a_kill_and_a_restart(harness, settings, qtbot):
    """Seen in a trial: after a kill and a restart "Graph: indexed · Team" came again."""
    first = harness.build(settings)  # an earlier run, quit as usual: a resume point
    harness.start(first)
    with qtbot.waitSignal(first.notifier.shown, timeout=10_000):
        harness.box.current.bus.publish(_event(0))
    harness.quit(first)
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000):
        bus.publish(_event(1))
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000,
                          check_params_cb=lambda n: n.kind is NoticeKind.DIGEST) as shown:
        bus.publish_many([_event(2), _event(3, ws="ws_sales"), _event(4)])
    assert shown.args[0].count == 4
    last = bus.last_seq
    kill(app)
    [point] = settings.resume_points(LOCAL_KEY).values()
    assert point.seq < last - 3  # where it stood at its connect, before all that

    again = harness.build(settings)
    harness.start(again)
    model = again.activity_model
    wait_until(qtbot, lambda: any(  # the replay reached the list: it is not lost
        (model.event_at(r) or {}).get("seq") == last for r in range(model.rowCount())))
    assert again.notifier.notices == []  # and nothing of it popped up again
    with qtbot.waitSignal(again.notifier.shown, timeout=10_000) as shown:
        harness.box.current.bus.publish(_event(5))
    assert shown.args[0].seq == harness.box.current.bus.last_seq
    assert [n.seq for n in again.notifier.notices] == [shown.args[0].seq]


def test_rules_decide_and_a_critical_one_cuts_through_do_not_disturb(harness, settings, qtbot):
    notify = settings.values().notify
    settings.update(notify=replace(notify, rules=(
        Rule(Level.CRITICAL, workspace="ws_ops", type="deploy*"),
        Rule(Level.SILENT, area="graph", type="indexed"))))
    app = harness.build(settings)
    harness.start(app)
    with qtbot.waitSignal(app.controller.status_changed, timeout=5000):
        app.views.actions.dnd[DndMode.HOUR].trigger()
    bus = harness.box.current.bus
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        bus.publish_many([
            _event(1),  # held by do-not-disturb
            {"area": "graph", "event_type": "indexed", "workspace_id": "ws_a"},  # silent
            {"area": "deploy", "event_type": "deploy_started", "workspace_id": "ws_ops",
             "payload": {"target": "prod-eu", "version": "4.2.1"}},
        ])
    deploy = shown.args[0]
    assert deploy.critical and deploy.title == "Deploy started"
    assert deploy.body.splitlines()[0] == "target prod-eu · version 4.2.1"
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        app.views.actions.dnd[DndMode.OFF].trigger()
    assert (shown.args[0].title, shown.args[0].body) == (
        "While do-not-disturb was on", "1 event in ws_marketing")


class HeldClock:
    """A wall clock standing still at ``at`` until :meth:`run`, then running on from there."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.shift: float | None = None

    def run(self) -> None:
        self.shift = self.at - time.time()

    def __call__(self) -> float:
        return self.at if self.shift is None else time.time() + self.shift


def test_what_quiet_hours_held_comes_as_one_summary_when_they_end(harness, settings, qtbot):
    # a second before 08:00, the end of nightly quiet hours; the clock stands still until
    # the events are in, so a slow start cannot let the quiet hours end before them
    clock = HeldClock(datetime.now().replace(hour=7, minute=59, second=59,
                                             microsecond=0).timestamp())
    settings.update(notify=replace(settings.values().notify,
                                   quiet_hours=QuietHours.parse("mon,tue,wed,thu,fri,sat,sun "
                                                                "19:00-08:00")))
    app = harness.build(settings, wallclock=clock)
    harness.start(app)
    assert app.controller.status().dnd == "Quiet hours until 08:00"
    harness.box.current.bus.publish_many([_event(1), _event(2, ws="ws_sales")])
    wait_until(qtbot, lambda: app.coalescer.unread == 2)
    assert app.notifier.notices == []
    with qtbot.waitSignal(app.notifier.shown, timeout=15_000) as shown:
        clock.run()
    held = shown.args[0]
    assert (held.kind, held.title, held.body) == (
        NoticeKind.HELD, "While quiet hours were on", "2 events in 2 workspaces")
    assert app.controller.status().dnd == ""


def test_a_bad_rule_in_the_file_is_said_at_start_and_the_good_ones_apply(harness, tmp_path,
                                                                          qtbot):
    path = tmp_path / "rules.ini"
    path.write_text("[rules]\n1\\level=urgent\n1\\area=workflow\n"
                    "2\\level=silent\n2\\area=workflow\n")
    settings = Settings.open(path)
    app = harness.build(settings)
    harness.start(app)
    assert app.views.activity.get().statusBar().currentMessage() == (
        "Notifications: rule 1 skipped: unknown level 'urgent' "
        "(one of critical, normal, low, silent)")
    bus = harness.box.current.bus
    bus.publish(_event(1))  # silent by rule 2
    with qtbot.waitSignal(app.notifier.shown, timeout=10_000) as shown:
        bus.publish({"area": "plugin", "event_type": "enabled", "workspace_id": "ws_a"})
    assert shown.args[0].title == "Plugin: enabled"
    assert len(app.notifier.notices) == 1
    assert "1\\level=urgent" in path.read_text()


def test_the_apps_own_joins_stay_out_of_the_activity_list(harness, settings, qtbot):
    """Seen in a screenshot: the app's own joins cluttered the list at every start."""
    from lattice_rt_tray.views.activity_model import EVENT_ROLE

    app = harness.build(settings)
    harness.start(app)  # the app joined: its own join event reached it
    bus = harness.box.current.bus
    bus.join(client_id="grace-laptop", workspace_id="ws_a", display_name="Grace Hopper")
    model = app.activity_model

    def presence_rows() -> list[dict[str, object]]:
        rows = (model.index(r, 0).data(EVENT_ROLE) for r in range(model.rowCount()))
        return [e for e in rows if e and e.get("area") == "presence"]

    wait_until(qtbot, lambda: any(e.get("client_id") == "grace-laptop"
                                  or (e.get("payload") or {}).get("client_id") == "grace-laptop"
                                  for e in presence_rows()))
    own = f"{settings.instance_id}:"
    assert not [e for e in presence_rows()
                if str((e.get("payload") or {}).get("client_id", "")).startswith(own)]
