"""The real app's embedded endpoint is a process of its own: a crash of either spares the other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from lattice_rt_core.paths import read_owner_token, read_server_info
from lattice_rt_tray.logic.settings_values import local_connection
from lattice_rt_tray.services.presence_keeper import presence_client_id
from lattice_rt_tray.services.settings import Settings
from tests.app.conftest import wait_until
from tests.app.test_app_quit import NO_KEYRING, ROOT

pytestmark = pytest.mark.skipif(os.name != "posix", reason="child endpoints are POSIX only")


class RealApp:
    """``python -m lattice_rt_tray`` with an embedded endpoint on a free port."""

    def __init__(self, tmp_path: Path) -> None:
        ini = tmp_path / "tray.ini"
        settings = Settings.open(ini)
        settings.update(connections=(local_connection(port=0),), workspaces=("ws_proc",))
        self.cid = presence_client_id(settings.instance_id, "ws_proc")
        settings.sync()
        self.data_dir = tmp_path / "data"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "app"), str(ROOT)]),
                   QT_QPA_PLATFORM="offscreen", PYTHON_KEYRING_BACKEND=NO_KEYRING)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lattice_rt_tray", "--settings", str(ini),
             "--notifier", "record", "--data-dir", str(self.data_dir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def endpoint(self) -> dict[str, Any] | None:
        """server.json, once it names a live process other than the app."""
        info = read_server_info(self.data_dir)
        if not info or info.get("pid") in (None, self.proc.pid):
            return None
        return info if psutil.pid_exists(info["pid"]) else None

    def joined(self) -> bool:
        info = read_server_info(self.data_dir)
        if not info:
            return False
        try:
            with httpx.Client(base_url=info["url"], timeout=5, headers={
                    "Authorization": f"Bearer {read_owner_token(self.data_dir)}"}) as c:
                entries = c.get("/realtime/presence").json()["presence"]
        except (httpx.HTTPError, KeyError, ValueError):
            return False
        return self.cid in {e["client_id"] for e in entries}

    def close(self) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.communicate(timeout=20)


@pytest.fixture
def real_app(tmp_path: Path) -> Iterator[RealApp]:
    app = RealApp(tmp_path)
    try:
        yield app
    finally:
        app.close()


def test_the_endpoint_is_a_child_process_and_a_clean_quit_ends_it(real_app, qtbot):
    # another process: polling its files and its server is the only way to watch it
    wait_until(qtbot, lambda: real_app.endpoint() is not None and real_app.joined(), timeout=30)
    info = real_app.endpoint()
    assert info is not None
    child = psutil.Process(info["pid"])
    assert child.ppid() == real_app.proc.pid
    real_app.proc.send_signal(signal.SIGTERM)
    out, err = real_app.proc.communicate(timeout=20)
    assert real_app.proc.returncode == 0, err
    assert "Traceback" not in err
    gone, alive = psutil.wait_procs([child], timeout=20)
    assert alive == []
    assert read_server_info(real_app.data_dir) is None  # the child removed it, cleanly


def test_a_crashed_endpoint_is_replaced_and_the_app_joins_it_again(real_app, qtbot):
    wait_until(qtbot, lambda: real_app.endpoint() is not None and real_app.joined(), timeout=30)
    first = real_app.endpoint()
    assert first is not None
    os.kill(first["pid"], signal.SIGKILL)
    wait_until(qtbot, lambda: (real_app.endpoint() or first)["pid"] != first["pid"], timeout=30)
    second = real_app.endpoint()
    assert second is not None and second["url"] == first["url"]  # the same port
    wait_until(qtbot, real_app.joined, timeout=30)  # the app reconnected and joined again
    assert real_app.proc.poll() is None


def test_a_killed_app_leaves_no_endpoint_behind(real_app, qtbot):
    wait_until(qtbot, lambda: real_app.endpoint() is not None, timeout=30)
    info = real_app.endpoint()
    assert info is not None
    child = psutil.Process(info["pid"])
    real_app.proc.kill()
    real_app.proc.communicate(timeout=20)
    gone, alive = psutil.wait_procs([child], timeout=20)
    assert alive == []
