"""TokenVault: tokens in the OS keyring, off the GUI thread; the private file without one.

Most tests give the vault a keyring in memory, one without a backend, or one
that fails or hangs; the last ones run it against a real Secret Service
(GNOME Keyring on a private session bus, unlocked by the test).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lattice_rt_tray.logic.settings_values import ConnectionSettings, local_connection
from lattice_rt_tray.services.settings import Settings
from lattice_rt_tray.services.tasks import TaskRunner
from lattice_rt_tray.services.token_vault import SERVICE, TokenVault
from tests.app.conftest import MemoryKeyring, local
from tests.secret_service import MISSING, SecretService

WAIT_MS = 10_000
ROOT = Path(__file__).resolve().parents[3]
TEAM = ConnectionSettings("t1", "Team", url="https://team.example.lan:8765")
OTHER = ConnectionSettings("o2", "Other", url="http://other:8765")


@pytest.fixture
def runner(qapp) -> Iterator[TaskRunner]:
    tasks = TaskRunner("keyring-test", workers=1)
    yield tasks
    tasks.close()


@pytest.fixture
def stored(tmp_path: Path) -> Settings:
    s = Settings.open(tmp_path / "tray.ini")
    s.update(connections=(local_connection(), TEAM, OTHER))
    return s


def opened(qtbot, vault: TokenVault, keys: list[str]) -> dict[str, str]:
    with qtbot.waitSignal(vault.ready, timeout=WAIT_MS) as ready:
        vault.open(keys)
    return ready.args[0]


def test_a_token_found_in_the_file_moves_into_the_keyring(qtbot, runner, stored):
    memory = MemoryKeyring()
    memory.set_password(SERVICE, OTHER.key, "other-token")
    stored.set_file_token(TEAM.key, "team-token")  # an old file, or one from before a keyring
    vault = TokenVault(runner, stored, backend=lambda: memory)
    tokens = opened(qtbot, vault, [TEAM.key, OTHER.key])
    assert tokens == {TEAM.key: "team-token", OTHER.key: "other-token"}
    assert vault.available is True
    assert memory.passwords[(SERVICE, TEAM.key)] == "team-token"
    assert stored.file_tokens() == {} and "team-token" not in Path(stored.path).read_text()


def test_stored_and_forgotten_in_the_keyring_never_in_the_file(qtbot, runner, stored):
    memory = MemoryKeyring()
    vault = TokenVault(runner, stored, backend=lambda: memory)
    opened(qtbot, vault, [TEAM.key])
    vault.store(TEAM.key, "new-token")
    assert runner.wait_idle(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: memory.passwords.get((SERVICE, TEAM.key)) == "new-token")
    assert "new-token" not in Path(stored.path).read_text()
    vault.store(TEAM.key, "")  # emptied in Settings: gone
    vault.forget(OTHER.key)  # never stored: nothing to say
    assert runner.wait_idle(WAIT_MS / 1000)
    assert memory.passwords == {}


def test_without_a_keyring_tokens_stay_in_the_private_file(qtbot, runner, stored):
    stored.set_file_token(TEAM.key, "team-token")
    os.chmod(stored.path, 0o644)
    vault = TokenVault(runner, stored, backend=lambda: None)
    assert opened(qtbot, vault, [TEAM.key, OTHER.key]) == {TEAM.key: "team-token"}
    assert vault.available is False
    vault.store(OTHER.key, "other-token")  # written at once, no keyring to ask
    assert stored.file_tokens() == {TEAM.key: "team-token", OTHER.key: "other-token"}
    assert stat.S_IMODE(os.stat(stored.path).st_mode) == 0o600
    vault.forget(TEAM.key)
    assert stored.file_tokens() == {OTHER.key: "other-token"}


def test_the_keyring_is_loaded_only_when_there_is_a_token(qtbot, runner, stored):
    # fails without: TokenVault._open skipping the backend (it costs ~9 MB of an idle app)
    memory, asked = MemoryKeyring(), []

    def backend() -> MemoryKeyring:
        asked.append(True)
        return memory

    vault = TokenVault(runner, stored, backend=backend)
    assert opened(qtbot, vault, []) == {}  # only the embedded endpoint, no token in the file
    assert asked == [] and vault.available is None
    vault.store(TEAM.key, "team-token")  # the first token: now it is looked for, and used
    assert runner.wait_idle(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: vault.available is True)
    assert asked == [True] and memory.passwords == {(SERVICE, TEAM.key): "team-token"}
    assert stored.file_tokens() == {}
    vault.store(OTHER.key, "other-token")
    assert runner.wait_idle(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: (SERVICE, OTHER.key) in memory.passwords)
    assert asked == [True]  # once


def test_without_a_keyring_the_first_token_goes_to_the_private_file(qtbot, runner, stored):
    vault = TokenVault(runner, stored, backend=lambda: None)
    opened(qtbot, vault, [])
    vault.store(TEAM.key, "team-token")
    qtbot.waitUntil(lambda: stored.file_tokens() == {TEAM.key: "team-token"})
    assert vault.available is False
    vault.store(OTHER.key, "other-token")  # from now on at once
    assert stored.file_tokens() == {TEAM.key: "team-token", OTHER.key: "other-token"}


class FailingKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("the collection is locked")


def test_a_keyring_that_refuses_is_said_and_nothing_is_lost(qtbot, runner, stored):
    stored.set_file_token(OTHER.key, "kept")
    vault = TokenVault(runner, stored, backend=FailingKeyring)
    failures: list[str] = []
    vault.failed.connect(failures.append)
    tokens = opened(qtbot, vault, [TEAM.key, OTHER.key])
    assert tokens == {OTHER.key: "kept"}  # moved (set works), TEAM's read failed
    assert failures == ["the keyring refused: the collection is locked"]


class HangingKeyring(MemoryKeyring):
    """A keyring waiting for the user to unlock it (a prompt nobody answers yet)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(WAIT_MS / 1000)
        return super().get_password(service, username)


def test_a_hanging_keyring_never_holds_up_the_app(harness, settings, team, qtbot):
    hanging = HangingKeyring()
    hanging.set_password(SERVICE, TEAM.key, team.owner_token)
    settings.update(connections=(local_connection(), ConnectionSettings(TEAM.key, "Team",
                                                                        url=team.url)))
    app = harness.build(settings, keyring=lambda: hanging)
    try:
        harness.start(app)  # the embedded endpoint connects, the GUI thread runs
        team_link = app.connections[TEAM.key]
        assert team_link.status().detail == "waiting for the keyring"
        assert local(app).online and team_link.client is None
    finally:
        hanging.release.set()
    with qtbot.waitSignal(app.controller.caught_up, timeout=WAIT_MS,
                          check_params_cb=lambda key: key == TEAM.key):
        pass
    assert app.connections[TEAM.key].online


# ------------------------------------------------------- a real Secret Service
@pytest.fixture
def secret_service(tmp_path: Path) -> Iterator[SecretService]:
    if MISSING:
        pytest.skip(f"needs {', '.join(MISSING)} (scripts/sysdeps.sh test installs them)")
    service = SecretService(tmp_path / "secrets")
    service.start()
    try:
        yield service
    finally:
        service.stop()


def default_keyring_in(env: dict[str, str], code: str) -> str:
    """Run ``code`` with the app's default keyring as ``k`` in a fresh interpreter."""
    script = ("import sys; sys.path[:0] = sys.argv[1:]\n"
              "from lattice_rt_tray.services.token_vault import SERVICE, default_keyring\n"
              "k = default_keyring()\n" + code)
    out = subprocess.run([sys.executable, "-c", script, str(ROOT / "app"), str(ROOT)],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def test_against_gnome_keyring_tokens_are_kept_by_the_secret_service(
    qtbot, runner, stored, secret_service, monkeypatch
):
    from keyring.backends import SecretService as backend

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.address)
    stored.set_file_token(TEAM.key, "team-token")
    vault = TokenVault(runner, stored, backend=backend.Keyring)
    assert opened(qtbot, vault, [TEAM.key, OTHER.key]) == {TEAM.key: "team-token",
                                                          OTHER.key: ""}
    vault.store(OTHER.key, "other-token")
    assert runner.wait_idle(WAIT_MS / 1000)
    assert stored.file_tokens() == {}
    # another process finds them there, with keyring choosing the Secret Service itself
    env = dict(secret_service.env, PYTHONPATH="")
    found = default_keyring_in(env, "print(type(k).__module__, k.get_password(SERVICE, 't1'),"
                                    " k.get_password(SERVICE, 'o2'))")
    assert found == "keyring.backends.SecretService team-token other-token"
    vault.forget(TEAM.key)
    assert runner.wait_idle(WAIT_MS / 1000)
    assert default_keyring_in(env, "print(k.get_password(SERVICE, 't1'))") == "None"


def test_without_a_backend_the_default_keyring_is_none(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    assert default_keyring_in(env, "print(k)") == "None"
    no_bus = {"PATH": env["PATH"], "HOME": str(tmp_path),
              "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}"}
    assert default_keyring_in(no_bus, "print(k)") == "None"
