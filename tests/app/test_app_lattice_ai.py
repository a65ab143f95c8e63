"""The real tray app (its own process, offscreen) following the real Lattice AI server.

Each release the app supports, in local and in auth mode: the app joins presence
once, shows a notice for real user actions (``--notifier record`` prints each as
a JSON line) and none for what happened before it started, carries on across a
restart of the Lattice server (whose numbering starts again at 1) and leaves
presence when it quits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lattice_rt_tray.logic.settings_values import ConnectionSettings, local_connection
from lattice_rt_tray.services.presence_keeper import presence_client_id
from lattice_rt_tray.services.settings import Settings
from tests.app.test_app_quit import NO_KEYRING, ROOT
from tests.lattice_ai.server import VERSIONS, LatticeServer

EMAIL, PASSWORD = "ada@example.org", "correct horse 42"


class Tray:
    """``lattice-rt-tray --notifier record`` following one server; its notices as they come."""

    def __init__(self, tmp_path: Path, url: str, token: str = "") -> None:
        ini = tmp_path / "tray.ini"
        settings = Settings.open(ini)
        settings.update(connections=(local_connection(enabled=False),
                                     ConnectionSettings("l1", "Lattice", url=url)),
                        workspaces=())
        if token:
            settings.set_file_token("l1", token)  # as where there is no keyring
        self.client_id = presence_client_id(settings.instance_id, None)
        settings.sync()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "app"), str(ROOT)]),
                   QT_QPA_PLATFORM="offscreen", PYTHON_KEYRING_BACKEND=NO_KEYRING,
                   PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lattice_rt_tray", "--settings", str(ini),
             "--notifier", "record", "--data-dir", str(tmp_path / "unused")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.notices: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.changed:
                self.notices.append(json.loads(line))
                self.changed.notify_all()

    def wait_for_notice(self, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
        with self.changed:
            assert self.changed.wait_for(lambda: any(predicate(n) for n in self.notices),
                                         timeout), self.notices
            return next(n for n in self.notices if predicate(n))

    def quit(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=20)
        self._reader.join(timeout=10)
        assert self.proc.returncode == 0, err
        return err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


@pytest.fixture
def tray_of(tmp_path: Path) -> Iterator[Any]:
    made: list[Tray] = []

    def make(url: str, token: str = "") -> Tray:
        made.append(Tray(tmp_path, url, token))
        return made[-1]

    yield make
    for tray in made:
        tray.kill()


def workflow_notice(notice: dict[str, Any], after: int) -> bool:
    return (notice["kind"] in ("event", "digest") and "Workflow" in notice["title"] + notice["body"]
            and isinstance(notice["seq"], int) and notice["seq"] > after)


@pytest.mark.parametrize("version", VERSIONS, ids=[f"ltcai-{v}" for v in VERSIONS])
def test_the_app_follows_lattice_ai_across_a_restart(version: str, tmp_path: Path,
                                                     tray_of: Any) -> None:
    with LatticeServer(version, tmp_path / "ltcai") as lattice:
        workflow = lattice.create_workflow("Nightly import")
        lattice.run_workflow(workflow)  # before the app starts: history, not news
        lattice.wait_for(lambda: any(e["event_type"] == "workflow_run" for e in lattice.feed()))
        history = max(e["seq"] for e in lattice.feed())

        tray = tray_of(lattice.url)
        lattice.wait_for(lambda: tray.client_id in {e["client_id"] for e in lattice.presence()})
        lattice.run_workflow(workflow)
        tray.wait_for_notice(lambda n: workflow_notice(n, history))
        assert all(n["seq"] is None or n["seq"] > history for n in tray.notices), tray.notices

        lattice.restart()  # its feed and presence are gone, its seq starts at 1 again
        lattice.wait_for(lambda: tray.client_id in {e["client_id"] for e in lattice.presence()})
        shown = len(tray.notices)
        lattice.run_workflow(workflow)
        notice = tray.wait_for_notice(lambda n: tray.notices.index(n) >= shown
                                      and workflow_notice(n, 0))
        assert notice["kind"] != "catch_up"  # news, not "while you were away"

        joins = [e for e in lattice.feed() if e["event_type"] == "join"
                 and e["payload"].get("client_id") == tray.client_id]
        assert len(joins) == 1  # once per connection: no keep-alive re-joins here
        err = tray.quit()
        assert "Traceback" not in err
        assert tray.client_id not in {e["client_id"] for e in lattice.presence()}


@pytest.mark.parametrize("version", VERSIONS, ids=[f"ltcai-{v}" for v in VERSIONS])
def test_the_app_follows_lattice_ai_in_auth_mode_with_a_session(version: str, tmp_path: Path,
                                                                tray_of: Any) -> None:
    with LatticeServer(version, tmp_path / "ltcai", auth=True) as lattice:
        lattice.register(EMAIL, PASSWORD)
        token = lattice.login(EMAIL, PASSWORD)
        workflow = lattice.create_workflow("Weekly report", token)
        tray = tray_of(lattice.url, token)
        lattice.wait_for(lambda: tray.client_id in {
            e["client_id"] for e in lattice.presence(token)})
        [entry] = [e for e in lattice.presence(token) if e["client_id"] == tray.client_id]
        assert entry["user"] == EMAIL
        lattice.run_workflow(workflow, token)
        tray.wait_for_notice(lambda n: workflow_notice(n, 0))
        assert "Traceback" not in tray.quit()
        assert tray.client_id not in {e["client_id"] for e in lattice.presence(token)}


@pytest.mark.parametrize("version", VERSIONS[-1:], ids=[f"ltcai-{v}" for v in VERSIONS[-1:]])
def test_an_ended_session_asks_once_to_sign_in_again(version: str, tmp_path: Path,
                                                     tray_of: Any) -> None:
    """Never a silent retry loop: one notice that says what to do."""
    with LatticeServer(version, tmp_path / "ltcai", auth=True) as lattice:
        lattice.register(EMAIL, PASSWORD)
        tray = tray_of(lattice.url, "a-session-that-ended")
        notice = tray.wait_for_notice(lambda n: n["title"] == "Sign in to Lattice again")
        assert notice["body"] == "Its session ended or was refused. Click to sign in in Settings."
        assert [n["title"] for n in tray.notices].count("Sign in to Lattice again") == 1
        assert "Traceback" not in tray.quit()


def test_the_app_follows_a_server_of_the_reference_design(tmp_path: Path, tray_of,
                                                          qtbot) -> None:
    """A server with no health route, no ids, and a stream that ends after its replay
    (the native host's routes, tests/lattice_ai/native_host.py): the app joins presence,
    notifies nothing of what happened before it, keeps following across the stream's
    ends, and leaves presence when it quits, also between two streams."""
    from tests.app.conftest import wait_until
    from tests.lattice_ai.native_host import NativeHost

    with NativeHost() as host:
        host.publish("join", {"client_id": "before-the-app", "user": None})
        tray = tray_of(host.url)
        # another process: its requests to the server are what can be watched
        wait_until(qtbot, lambda: tray.client_id in host.presence, timeout=30)
        opened = host.streams
        wait_until(qtbot, lambda: host.streams >= opened + 2, timeout=30)  # two more replays
        host.hold.set()  # the next stream does not open: the app is between two streams
        waiting = host.streams
        wait_until(qtbot, lambda: host.streams > waiting, timeout=30)
        try:
            err = tray.quit()
        finally:
            host.released.set()
        assert "Traceback" not in err, err
        assert tray.client_id not in host.presence  # it left, though between two streams
    assert [n for n in tray.notices if "before-the-app" in n["title"] + n["body"]] == []
