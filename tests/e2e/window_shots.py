"""Screenshots of the app's windows with two servers' real data, for the README.

    .venv/bin/python -m tests.e2e.window_shots docs/screenshots

Two real servers (``RealtimeServer`` on loopback ports, in a temporary
directory) get events and presence joins as a team would make them, one of
them a failed workflow. Their feeds and presence lists, read with
``RealtimeClient``, go into the app's real models the way the app feeds them
(per connection: ``add_events(events, server=key)``, ``Roster.replace``); the
windows are the app's own classes. People joined with a status (active, idle,
away, do-not-disturb, some with a status line); the Presence window reads
them as of 12 minutes later, so it says how long each has been idle or away.
A third server, "Staging", had two people on it and was then stopped: the
Presence window shows it as the app does a server it cannot reach (a grey
group marked offline, its people as last seen). The first events are dated
back (yesterday, and last week) as a page of history read back after a
restart would be, so the Activity window shows its date separators.
The desktop is Xvfb from :mod:`tests.e2e.test_desktop`; each window is photographed alone with
ImageMagick's ``import``. Writes ``activity-window.png``,
``activity-window-empty.png`` (the first run: no event yet, the intro),
``event-detail.png``, ``presence-window.png``, ``about.png``,
``about-licences.png``, ``settings-general.png`` (Settings' General tab) and
``settings-notifications.png`` (its Notifications tab: quiet hours and the rules
editor, with one rule of the settings file skipped), and ``activity-window-dark.png``
and ``presence-window-dark.png`` (a dark theme).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.test_desktop import DesktopStack

INSTANCE = "shots"  # this app's instance id: its presence entries are "you"
SERVERS = {"local": "This computer", "team": "Team server"}
#: (server, area, event type, workspace, payload, actor), published in this order
EVENTS: list[tuple[str, str, str, str | None, dict[str, Any], str]] = [
    ("team", "workflow", "workflow_run", "ws_marketing",
     {"workflow_id": "wf_launch", "run_id": "run-41", "status": "ok"}, "grace"),
    ("local", "graph", "indexing_paused", "ws_research",
     {"graph_id": "papers", "status": "paused"}, "ada"),
    ("team", "workspace", "member_added", "ws_sales", {"member": "margaret@example.com"}, "linus"),
    ("local", "memory", "memory_upserted", "ws_research", {"key": "q3-goals"}, "ada"),
    ("team", "workflow", "workflow_failed", "ws_marketing",
     {"workflow_id": "wf_launch", "run_id": "run-42", "status": "failed",
      "error": "step 3 (render) timed out after 60 s", "attempt": 2}, "grace"),
    ("local", "plugins", "plugin_enabled", "ws_marketing", {"plugin": "calendar-sync"}, "ada"),
    ("team", "agent", "agent_run", "ws_research", {"agent_id": "summariser", "status": "ok"},
     "barbara"),
    ("local", "skills", "skill_installed", None, {"skill": "pdf-export"}, "ada"),
    ("team", "graph", "answer_trace", "ws_research", {"query": "who owns the Q3 launch?"},
     "grace"),
]
#: (server, client id, user, workspace, display name, status, status line)
PEOPLE = [
    ("local", f"{INSTANCE}:ws_marketing", "ada", "ws_marketing", "Ada Lovelace", "active", None),
    ("local", f"{INSTANCE}:ws_research", "ada", "ws_research", "Ada Lovelace", "active", None),
    ("team", f"{INSTANCE}:ws_marketing", "ada", "ws_marketing", "Ada Lovelace", "active", None),
    ("team", "grace-laptop", "grace", "ws_marketing", "Grace Hopper", "away", None),
    ("team", "grace-desk", "grace", "ws_marketing", "Grace Hopper", "idle", None),
    ("team", "margaret-1", "margaret", "ws_marketing", "Margaret Hamilton", "dnd",
     "Launch review until 3"),
    ("team", "linus-box", "linus", "ws_research", "Linus Torvalds", "away", "Lunch"),
    ("team", "barbara-vm", "barbara", None, "Barbara Liskov", "active",
     "Working from the train"),
]
#: people on the server that goes away (server, client id, user, workspace, name)
STAGING = [
    ("staging", "alan-1", "alan", "ws_research", "Alan Turing", "active", None),
    ("staging", "edsger-1", "edsger", "ws_research", "Edsger Dijkstra", "idle", None),
]
#: the windows show the data as it reads this much later (statuses "for 12 min")
LATER = timedelta(minutes=12)
#: how far back the first events are dated (a page of history read back)
DATED_BACK = (timedelta(days=6, hours=2), timedelta(days=1, hours=3),
              timedelta(days=1, hours=2, minutes=40))


def take(out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="lattice-window-shots-"))
    stack = DesktopStack(work / "desktop")
    stack.start()
    try:
        os.environ.update(stack.env)
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        _photograph(stack, work, out)
    finally:
        stack.stop()


def _photograph(stack: DesktopStack, work: Path, out: Path) -> None:
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QWidget

    from lattice_rt_core.client import RealtimeClient
    from lattice_rt_core.server import RealtimeServer, ServerConfig
    from lattice_rt_tray.logic.link_status import FIRST_RUN
    from lattice_rt_tray.logic.quiet_hours import QuietHours
    from lattice_rt_tray.logic.roster import Roster
    from lattice_rt_tray.logic.rules import Level, Rule
    from lattice_rt_tray.logic.settings_values import NotifyPrefs, SettingsValues
    from lattice_rt_tray.views.about import AboutDialog
    from lattice_rt_tray.views.actions import AppActions
    from lattice_rt_tray.views.activity_model import ActivityModel
    from lattice_rt_tray.views.activity_window import ActivityWindow
    from lattice_rt_tray.views.icons import app_icon
    from lattice_rt_tray.views.presence_model import PresenceModel
    from lattice_rt_tray.views.presence_window import PresenceWindow
    from lattice_rt_tray.views.settings_dialog import SettingsDialog

    qapp = QApplication([sys.argv[0]])
    qapp.setApplicationDisplayName("Lattice Realtime Tray")
    qapp.setWindowIcon(app_icon())
    out.mkdir(parents=True, exist_ok=True)

    servers = {key: RealtimeServer(ServerConfig(port=0, data_dir=work / key))
               for key in (*SERVERS, "staging")}
    for server in servers.values():
        server.start()
    try:
        for key, cid, user, ws, name, status, text in PEOPLE + STAGING:
            servers[key].bus.join(user=user, client_id=cid, workspace_id=ws, display_name=name,
                                  status=status, status_text=text)
        for key, area, kind, ws, payload, actor in EVENTS:
            servers[key].bus.publish({"area": area, "event_type": kind, "workspace_id": ws,
                                      "payload": payload, "actor": actor})
            time.sleep(0.35)  # a few seconds of activity, interleaved across the servers
        feeds, presence = {}, {}
        for key, server in servers.items():
            with RealtimeClient(server.url, server.owner_token) as client:
                feeds[key] = list(reversed(client.feed(limit=50)["events"]))
                presence[key] = client.presence()["presence"]
    finally:
        for server in servers.values():
            server.stop()

    model = ActivityModel()
    model.set_servers(SERVERS)
    roster = Roster(f"{INSTANCE}:")
    roster.set_servers(SERVERS)
    stopped = datetime.now(UTC)  # "Staging" has gone away (every server is stopped now)
    roster.set_servers({**SERVERS, "staging": "Staging"})
    for key in SERVERS:  # one connection after the other, as their streams deliver them
        events = feeds[key]
        for event, back in zip(events, DATED_BACK, strict=False):  # history, from days ago
            when = datetime.fromisoformat(event["received_at"]) - back
            event["received_at"] = when.isoformat(timespec="milliseconds")
        model.add_events(events, server=key)
        roster.replace(key, presence[key])
    roster.replace("staging", presence["staging"])
    roster.set_offline("staging", stopped.isoformat())
    people = PresenceModel(roster, now=lambda: datetime.now().astimezone() + LATER)
    people.rebuild()

    def shoot(widget: QWidget, name: str, size: tuple[int, int]) -> None:
        widget.resize(*size)
        widget.move(40, 40)
        widget.show()
        widget.raise_()
        QTest.qWait(900)
        geo = widget.frameGeometry()
        stack.screenshot(out / name, f"{geo.width()}x{geo.height()}+{geo.x()}+{geo.y()}")
        widget.hide()

    activity = ActivityWindow(model, AppActions())
    activity.set_connection_summary("2 servers connected", "ok")
    shoot(activity, "activity-window.png", (1120, 440))
    failed = next(r for r in range(model.rowCount())
                  if (model.event_at(r) or {}).get("event_type") == "workflow_failed")
    activity.open_detail(failed)
    assert activity.detail is not None
    shoot(activity.detail, "event-detail.png", (620, 600))
    shoot(PresenceWindow(people), "presence-window.png", (860, 520))
    first = ActivityWindow(ActivityModel(), AppActions())  # the first run: nothing yet
    first.set_connection_summary("This computer: connected", "ok")
    first.set_intro(FIRST_RUN)
    shoot(first, "activity-window-empty.png", (900, 420))
    about = AboutDialog()
    shoot(about, "about.png", (760, 520))
    loaded: list[bool] = []
    about.licences_loaded.connect(lambda: loaded.append(True))
    about.tabs.setCurrentIndex(1)
    _wait(lambda: bool(loaded), "the licences")
    row = next(r for r in range(about.package_list.count())
               if about.package_list.item(r).text().lower().startswith("starlette "))
    about.package_list.setCurrentRow(row)
    shoot(about, "about-licences.png", (760, 520))
    settings = SettingsDialog()
    settings.load(SettingsValues(display_name="Ada Lovelace",
                                 workspaces=("ws_marketing", "ws_research")))
    settings.tabs.setCurrentIndex(1)
    shoot(settings, "settings-general.png", (720, 450))
    notify = NotifyPrefs(
        rules=(Rule(Level.CRITICAL, workspace="ws_ops", type="deploy*"),
               Rule(Level.SILENT, area="graph", type="graph_indexed"),
               Rule(Level.LOW, server="Team server", failure=True, text="staging"),
               Rule(Level.NORMAL, text="prod")),
        quiet_hours=QuietHours.parse("mon,tue,wed,thu,fri 19:00-08:00"))
    settings.load(SettingsValues(notify=notify), [
        "rule 5 skipped: unknown level 'urgent' (one of critical, normal, low, silent)"])
    settings.tabs.setCurrentIndex(2)
    settings.notify.rules.table.selectRow(0)
    shoot(settings, "settings-notifications.png", (900, 760))

    # the same windows in a dark theme (Fusion, a dark palette): the tones stay readable
    qapp.setStyle("Fusion")
    qapp.setPalette(_dark_palette())
    dark = ActivityModel()  # its brushes follow the palette it is made under
    dark.set_servers(SERVERS)
    for key in SERVERS:
        dark.add_events(feeds[key], server=key)
    window = ActivityWindow(dark, AppActions())
    window.set_connection_summary("This computer: connected; Team: the token was refused "
                                  "(HTTP 401)", "error")
    shoot(window, "activity-window-dark.png", (1120, 440))
    people_dark = PresenceModel(roster, now=lambda: datetime.now().astimezone() + LATER)
    people_dark.rebuild()
    shoot(PresenceWindow(people_dark), "presence-window-dark.png", (860, 520))
    print(f"screenshots written to {out}")


def _dark_palette() -> Any:
    from PySide6.QtGui import QColor, QPalette

    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#202124"),
                         (QPalette.ColorRole.WindowText, "#e8eaed"),
                         (QPalette.ColorRole.Base, "#1b1b1d"),
                         (QPalette.ColorRole.AlternateBase, "#26272a"),
                         (QPalette.ColorRole.Text, "#e8eaed"),
                         (QPalette.ColorRole.Button, "#2d2e31"),
                         (QPalette.ColorRole.ButtonText, "#e8eaed"),
                         (QPalette.ColorRole.Highlight, "#3b5bdb"),
                         (QPalette.ColorRole.HighlightedText, "#ffffff"),
                         (QPalette.ColorRole.Mid, "#5f6368"),
                         (QPalette.ColorRole.ToolTipBase, "#2d2e31"),
                         (QPalette.ColorRole.ToolTipText, "#e8eaed")):
        palette.setColor(role, QColor(colour))
    return palette


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        QTest.qWait(50)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("out", type=Path, help="where the PNG files go")
    take(parser.parse_args().out.resolve())
