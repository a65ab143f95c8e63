"""SIGTERM quits the real app like the Quit action, leaving presence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_tray.logic.settings_values import ConnectionSettings, local_connection
from lattice_rt_tray.services.presence_keeper import presence_client_id
from lattice_rt_tray.services.settings import Settings
from tests.app.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
#: keyring's own switch: the real app never touches this machine's keyring in a test
NO_KEYRING = "keyring.backends.fail.Keyring"


def test_sigterm_quits_the_real_app_and_it_leaves_presence(tmp_path, qtbot):
    server = RealtimeServer(ServerConfig(port=0, data_dir=tmp_path / "server"))
    server.start()
    try:
        ini = tmp_path / "tray.ini"
        settings = Settings.open(ini)
        settings.update(connections=(local_connection(enabled=False),
                                     ConnectionSettings("t1", "Team", url=server.url)),
                        workspaces=("ws_sig",))
        settings.set_file_token("t1", server.owner_token)  # as where there is no keyring
        cid = presence_client_id(settings.instance_id, "ws_sig")
        settings.sync()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "app"), str(ROOT)]),
                   QT_QPA_PLATFORM="offscreen", PYTHON_KEYRING_BACKEND=NO_KEYRING)
        proc = subprocess.Popen(
            [sys.executable, "-m", "lattice_rt_tray", "--settings", str(ini),
             "--notifier", "record", "--data-dir", str(tmp_path / "unused")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            # another process: polling the server is the only way to see it join
            wait_until(qtbot, lambda: cid in {e["client_id"] for e in server.bus.presence()},
                       timeout=20)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=10)
            assert proc.returncode == 0, err
            assert "Traceback" not in err
            assert cid not in {e["client_id"] for e in server.bus.presence()}
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=5)
    finally:
        server.stop()
