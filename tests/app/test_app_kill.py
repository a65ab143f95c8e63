"""kill -9 and a restart of the real app (its own process) show nothing again."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_tray.logic.resume import ResumePoint, identity_of
from lattice_rt_tray.logic.settings_values import ConnectionSettings, local_connection
from lattice_rt_tray.services.settings import Settings
from tests.app.test_app_quit import NO_KEYRING, ROOT

TIMEOUT = 30.0


class App:
    """``lattice-rt-tray --notifier record`` in its own process; its notices as they come."""

    def __init__(self, ini: Path, data_dir: Path) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "app"), str(ROOT)]),
                   QT_QPA_PLATFORM="offscreen", PYTHON_KEYRING_BACKEND=NO_KEYRING)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lattice_rt_tray", "--settings", str(ini),
             "--notifier", "record", "--data-dir", str(data_dir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.notices: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.notices.put(json.loads(line))

    def next_notice(self) -> dict[str, Any]:
        return self.notices.get(timeout=TIMEOUT)

    def stop(self, sig: signal.Signals) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=10)
        return err


def workflow(server: RealtimeServer, n: int) -> int:
    server.bus.publish({"area": "workflow", "event_type": "workflow_run",
                        "workspace_id": "ws_k", "payload": {"workflow_id": f"wf_{n}"}})
    return server.bus.last_seq


def test_a_killed_app_started_again_shows_nothing_it_showed(tmp_path):
    server = RealtimeServer(ServerConfig(port=0, data_dir=tmp_path / "server"))
    server.start()
    apps: list[App] = []
    try:
        ini = tmp_path / "tray.ini"
        settings = Settings.open(ini)
        settings.update(connections=(local_connection(enabled=False),
                                     ConnectionSettings("t1", "Team", url=server.url)),
                        workspaces=("ws_k",))
        settings.set_file_token("t1", server.owner_token)
        identity = identity_of({"stats": server.bus.stats()})
        assert identity is not None
        before = ResumePoint(identity, server.bus.last_seq)  # as an earlier run left it
        settings.set_resume_points("t1", {identity.server_id: before})
        settings.sync()

        first = App(ini, tmp_path / "data")
        apps.append(first)
        # until the app follows the stream, the event is caught up, not live: either way
        # it is shown once, and its notice names it
        shown = workflow(server, 1)
        notice = first.next_notice()
        assert notice["seq"] == shown and "wf_1" in notice["body"]
        first.stop(signal.SIGKILL)
        # what a kill can leave in the settings file: the resume point of before
        settings.set_resume_points("t1", {identity.server_id: before})
        settings.sync()

        again = App(ini, tmp_path / "data")
        apps.append(again)
        later = workflow(server, 2)
        notice = again.next_notice()
        # wf_1 again would come first, or be counted with wf_2 in one catch-up
        assert (notice["seq"], notice["count"]) == (later, 1)
        assert "wf_2" in notice["body"]
        err = again.stop(signal.SIGTERM)
        assert "Traceback" not in err
        assert again.notices.empty()
    finally:
        for app in apps:
            if app.proc.poll() is None:
                app.proc.kill()
                app.proc.communicate(timeout=5)
        server.stop()
