"""The Activity and Presence windows are built the first time they are needed (issue 23).

A fresh interpreter builds and starts the app as ``main()`` does, over a real
endpoint: until a window is opened none of the windows' modules is imported
and no window exists. Opened late, a window shows what the app was told
before it existed: the connection line, the intro, a status-bar message, the
events that arrived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lattice_rt_tray.logic.link_status import FIRST_RUN
from lattice_rt_tray.views.activity_model import EVENT_COLUMN
from tests.app.conftest import wait_until

REPO = Path(__file__).resolve().parents[2]

#: the modules only a window needs (a start must import none of them)
WINDOW_MODULES = (
    "lattice_rt_tray.views.activity_window", "lattice_rt_tray.views.activity_delegate",
    "lattice_rt_tray.views.activity_days", "lattice_rt_tray.views.event_detail",
    "lattice_rt_tray.views.presence_window",
)

#: builds and starts the app, waits until it caught up and joined, then writes the
#: modules loaded and the windows made; then opens both windows and writes them again
_PROBE = """
import json, sys
from pathlib import Path
from PySide6.QtCore import QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget
qapp = QApplication([])
from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_tray.main import build
from lattice_rt_tray.services.notifiers import RecordingNotifier
from lattice_rt_tray.services.settings import Settings
from tests.app.idle_fakes import Desk

home, out = Path(sys.argv[1]), Path(sys.argv[2])
servers = []

def server(port, data_dir):
    servers.append(RealtimeServer(ServerConfig(port=0, data_dir=data_dir)))
    return servers[-1]

app = build(settings=Settings.open(home / "tray.ini"), data_dir=home / "data",
            tray_available=True, notifier=lambda tray, parent: RecordingNotifier(parent),
            server_factory=server, discover_local=lambda data_dir: None,
            keyring=lambda: None, idle_backend=Desk, parent=QObject())
loop = QEventLoop()
waiting = {"caught up", "joined"}

def seen(what):
    waiting.discard(what)
    if not waiting:
        loop.quit()

app.controller.caught_up.connect(lambda key: seen("caught up"))
app.connections.joined.connect(lambda key, entries: seen("joined"))
QTimer.singleShot(20_000, loop.quit)
app.controller.start()
loop.exec()

def state():
    return {"modules": sorted(sys.modules), "ready": not waiting,
            "windows": sorted(w.objectName() for w in qapp.topLevelWidgets()
                              if w.objectName().endswith("-window")),
            "built": [lazy.window is not None for lazy in (app.views.activity,
                                                          app.views.presence)]}

started = state()
app.views.actions.activity.trigger()
app.views.actions.presence.trigger()
opened = state()
loop = QEventLoop()
app.controller.quit_finished.connect(loop.quit)
app.controller.quit()
loop.exec()
app.controller.wait_for_shutdown(2.0)
for each in servers:
    each.stop(timeout=2.0)
out.write_text(json.dumps({"started": started, "opened": opened}))
"""


def _loaded(modules: list[str]) -> list[str]:
    return [m for m in WINDOW_MODULES if m in modules]


def test_a_start_imports_no_window_module_and_builds_no_window(tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATTICE_RT_")}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"),
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "app")]))
    done = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path), str(out)], env=env,
                          capture_output=True, text=True, timeout=90, check=False,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    started, opened = result["started"], result["opened"]
    assert started["ready"]  # connected, caught up and present: the start is over
    assert _loaded(started["modules"]) == []
    assert started["windows"] == [] and started["built"] == [False, False]
    # the probe sees them once they are needed
    assert _loaded(opened["modules"]) == list(WINDOW_MODULES)
    assert opened["windows"] == ["activity-window", "presence-window"]
    assert opened["built"] == [True, True]


def test_a_window_opened_late_shows_what_it_was_told_before(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    bus = harness.box.current.bus
    bus.publish({"area": "graph", "event_type": "indexing_paused", "workspace_id": "ws_r",
                 "payload": {"graph_id": "papers"}})
    # taken in from the stream (the row alone can come first from the history read at start)
    qtbot.waitUntil(lambda: app.coalescer.unread == 1, timeout=10_000)
    app.controller.on_report("Notifications: rule 1 skipped")
    app.views.actions.presence.trigger()  # the People window alone
    activity = app.views.activity
    assert activity.window is None and not activity.is_visible()  # asking builds nothing
    assert app.coalescer.unread == 1
    with qtbot.waitSignal(activity.built, timeout=5000) as built:
        app.views.actions.activity.trigger()
    window = built.args[0]
    assert window is activity.window and window.isVisible() and not window.main_window
    assert window.connection_label.full_text() == (
        f"● Connected to This computer ({harness.box.current.url})")
    assert window.connection_level == "ok"
    assert window.intro == FIRST_RUN
    assert window.statusBar().currentMessage() == "Notifications: rule 1 skipped"
    assert window.count_label.text() == "1 event"
    assert window.model.index(0, EVENT_COLUMN).data() == "Graph: indexing paused"
    assert window.workspace_box.findText("ws_r") >= 0
    assert app.coalescer.unread == 0  # shown: read, as with a window built at start
    # wired as at start: later reports go straight to it
    app.controller.on_report("a later problem")
    assert window.statusBar().currentMessage() == "a later problem"
    activity.get().hide()
    assert activity.get() is window  # built once


def test_quitting_before_any_window_was_opened_builds_none(harness, settings, qtbot):
    app = harness.build(settings)
    harness.start(app)
    with qtbot.waitSignal(app.activity_model.rowsInserted, timeout=10_000):
        harness.box.current.bus.publish({"area": "workflow", "event_type": "workflow_run"})
    harness.quit(app)
    assert app.views.activity.window is None and app.views.presence.window is None


def test_the_presence_window_opened_late_lists_who_joined_before(harness, settings, qtbot):
    settings.update(display_name="Ada", workspaces=("ws_a",))
    app = harness.build(settings)
    harness.start(app)
    harness.box.current.bus.join(user="grace", client_id="grace-1", workspace_id="ws_a",
                                 display_name="Grace")
    wait_until(qtbot, lambda: "2 people online" in app.views.tray.icon.toolTip())
    assert app.views.presence.window is None
    with qtbot.waitSignal(app.views.presence.built, timeout=5000) as built:
        app.views.actions.presence.trigger()
    window = built.args[0]
    assert window.isVisible()
    assert window.summary.text() == "2 people online in 1 workspace"
    assert window.view.model().rowCount() > 0
