"""``lattice-rt token`` and ``lattice-rt user ...`` on the local database."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.auth.accounts import Accounts
from lattice_rt_core.paths import database_path
from lattice_rt_core.server import RealtimeServer
from tests.core.cli_helpers import assert_one_error_line, run


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LATTICE_RT_URL", "LATTICE_RT_TOKEN", "LATTICE_RT_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LATTICE_RT_DATA_DIR", str(tmp_path / "not-used"))


def _accounts(data: str) -> Accounts:
    return Accounts(database_path(Path(data)))


# -------------------------------------------------------------------- token
def test_token_prints_the_owner_token(capsys, tmp_path: Path) -> None:
    (tmp_path / "owner.token").write_text("the-owner-token\n")
    code, out, _ = run(capsys, "--data-dir", str(tmp_path), "token")
    assert (code, out) == (0, ["the-owner-token"])


def test_token_before_the_first_start_says_what_to_do(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "token", "--data-dir", str(tmp_path))
    assert code == 1 and out == []
    assert_one_error_line(err, "no owner token", "lattice-rt serve")


def test_token_with_a_url_is_refused(
    capsys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "owner.token").write_text("the-owner-token\n")
    code, out, err = run(capsys, "--data-dir", str(tmp_path), "--url", "http://team:8765",
                         "token")
    assert code == 2 and out == []
    assert_one_error_line(err, "never fetched over the network")
    monkeypatch.setenv("LATTICE_RT_URL", "http://team:8765")
    code, out, _ = run(capsys, "--data-dir", str(tmp_path), "token")
    assert code == 2 and out == []


# -------------------------------------------------------------------- users
def test_user_add_list_remove(capsys, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    code, out, err = run(capsys, "--data-dir", data, "user", "add", "ada", "-w", "ws1",
                         "--workspace", "ws2")
    assert code == 0 and len(out) == 1 and err == []
    token = out[0]
    accounts = _accounts(data)
    try:
        assert accounts.user_for_token(token) == "ada"
        assert accounts.allowed_scopes("ada") == {"ws1", "ws2"}
    finally:
        accounts.close()
    assert (Path(data).stat().st_mode & 0o777) == 0o700
    code, out, _ = run(capsys, "--data-dir", data, "user", "list")
    assert (code, out) == (0, ['{"user":"ada","workspaces":["ws1","ws2"]}'])
    assert run(capsys, "--data-dir", data, "user")[1] == out  # list is the default
    assert run(capsys, "--data-dir", data, "user", "remove", "ada")[0] == 0
    code, _, err = run(capsys, "--data-dir", data, "user", "remove", "ada")
    assert code == 1
    assert_one_error_line(err, "no user named 'ada'")


def test_adding_an_existing_user_is_an_error_that_keeps_its_token(
    capsys, tmp_path: Path
) -> None:
    data = str(tmp_path / "data")
    token = run(capsys, "--data-dir", data, "user", "add", "ada", "-w", "ws1")[1][0]
    code, out, err = run(capsys, "--data-dir", data, "user", "add", "ada", "-w", "ws2")
    assert code == 1 and out == []
    assert_one_error_line(err, "user 'ada' already exists", "lattice-rt user grant ada",
                          "lattice-rt user renew ada")
    accounts = _accounts(data)
    try:
        assert accounts.user_for_token(token) == "ada"  # not locked out
        assert accounts.allowed_scopes("ada") == {"ws1"}
    finally:
        accounts.close()


def test_grant_and_revoke_change_workspaces_only(capsys, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    token = run(capsys, "--data-dir", data, "user", "add", "ada", "-w", "ws1")[1][0]
    code, out, err = run(capsys, "--data-dir", data, "user", "grant", "ada", "-w", "ws2",
                         "-w", "ws3")
    assert (code, out, err) == (0, ['{"user":"ada","workspaces":["ws1","ws2","ws3"]}'], [])
    code, out, err = run(capsys, "--data-dir", data, "user", "revoke", "ada", "-w", "ws1",
                         "-w", "ws2", "-w", "never-had")
    assert (code, out, err) == (0, ['{"user":"ada","workspaces":["ws3"]}'], [])
    code, out, err = run(capsys, "--data-dir", data, "user", "revoke", "ada", "-w", "ws3")
    assert (code, out) == (0, ['{"user":"ada","workspaces":[]}'])
    assert len(err) == 1 and "warning: ada has no workspace" in err[0]
    accounts = _accounts(data)
    try:
        assert accounts.user_for_token(token) == "ada"  # the token never changed
    finally:
        accounts.close()
    for action in ("grant", "revoke"):
        code, _, err = run(capsys, "--data-dir", data, "user", action, "bob", "-w", "ws1")
        assert code == 1
        assert_one_error_line(err, "no user named 'bob'")


def test_renew_replaces_the_token_at_once(capsys, server: RealtimeServer) -> None:
    data = str(server.data_dir)
    old = run(capsys, "--data-dir", data, "user", "add", "ada", "-w", "ws1")[1][0]
    health = server.url + "/realtime/health"
    assert httpx.get(health, headers={"Authorization": f"Bearer {old}"}).json()["user"] == "ada"
    code, out, _ = run(capsys, "--data-dir", data, "user", "renew", "ada")
    assert code == 0 and len(out) == 1 and out[0] != old
    new = out[0]
    assert "user" not in httpx.get(health, headers={"Authorization": f"Bearer {old}"}).json()
    assert httpx.get(health, headers={"Authorization": f"Bearer {new}"}).json()["user"] == "ada"
    code, _, err = run(capsys, "--data-dir", data, "user", "renew", "bob")
    assert code == 1
    assert_one_error_line(err, "no user named 'bob'")


def test_a_user_without_a_workspace_gets_a_warning(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "--data-dir", str(tmp_path), "user", "add", "eve")
    assert code == 0 and len(out) == 1
    assert len(err) == 1 and err[0].startswith("lattice-rt: warning: eve has no workspace")


def test_a_user_added_while_the_server_runs_can_publish_in_its_workspace(
    capsys, server: RealtimeServer
) -> None:
    data = str(server.data_dir)
    code, out, _ = run(capsys, "--data-dir", data, "user", "add", "ada", "-w", "ws1")
    assert code == 0
    token = out[0]
    code, out, _ = run(capsys, "--url", server.url, "--token", token, "publish", "graph",
                       "indexed", "--workspace", "ws1")
    assert code == 0 and json.loads(out[0])["actor"] == "ada"
    code, _, err = run(capsys, "--url", server.url, "--token", token, "publish", "graph",
                       "indexed", "--workspace", "ws2")
    assert code == 1
    assert_one_error_line(err, "not a member of workspace 'ws2' (HTTP 403)")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["user", "add", " "], "user name must not be only whitespace"),
        (["user", "add", "ada", "-w", "x\ty"], "workspace id must not contain control"),
        (["user", "add", "a" * 129], "must be 1 to 128 characters"),
        (["user", "grant", "ada", "-w", ""], "workspace id must be 1 to 128 characters"),
    ],
)
def test_bad_names_are_usage_errors(
    capsys, tmp_path: Path, argv: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, "--data-dir", str(tmp_path), *argv)
    assert code == 2 and out == []
    assert_one_error_line(err, fragment)


def test_user_add_on_an_unusable_data_dir(capsys, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "--data-dir", str(blocker), "user", "add", "ada")
    assert code == 1
    assert_one_error_line(err, "cannot open the accounts", "not a directory")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root (chown)")
def test_a_data_dir_of_another_account_is_managed_through_its_server(
    capsys, tmp_path: Path
) -> None:
    data = tmp_path / "service-data"
    data.mkdir(mode=0o700)
    os.chown(data, 65534, 65534)  # like /var/lib/lattice-rt of the systemd unit
    code, out, err = run(capsys, "--data-dir", str(data), "user", "add", "ada")
    assert code == 1 and out == []
    assert_one_error_line(err, f"{data} belongs to another user (uid 65534)", "--url")
    assert list(data.iterdir()) == []  # nothing created in it


# ------------------------------------------------- through a server's admin routes
def test_with_a_url_the_user_commands_go_through_the_server(
    capsys, server: RealtimeServer, tmp_path: Path
) -> None:
    local = tmp_path / "laptop"  # the admin's own data dir: must stay untouched
    remote = ["--data-dir", str(local), "--url", server.url, "--token", str(server.owner_token)]
    code, out, err = run(capsys, *remote, "user", "add", "zed", "-w", "ws_x")
    assert code == 0 and len(out) == 1 and err == []
    token = out[0]
    health = httpx.get(server.url + "/realtime/health",
                       headers={"Authorization": f"Bearer {token}"}).json()
    assert health["user"] == "zed"  # the team server knows zed, with this token
    assert not local.exists()

    code, out, err = run(capsys, *remote, "user", "add", "zed")
    assert code == 1 and out == []
    assert_one_error_line(err, "user 'zed' already exists", "lattice-rt user grant zed")
    assert run(capsys, *remote, "user", "grant", "zed", "-w", "ws_y")[1] == [
        '{"user":"zed","workspaces":["ws_x","ws_y"]}']
    assert run(capsys, *remote, "user", "revoke", "zed", "-w", "ws_x")[1] == [
        '{"user":"zed","workspaces":["ws_y"]}']
    code, out, _ = run(capsys, *remote, "user", "renew", "zed")
    assert code == 0 and out[0] != token
    assert run(capsys, *remote, "user", "list")[1] == ['{"user":"zed","workspaces":["ws_y"]}']
    assert run(capsys, *remote, "user", "remove", "zed")[0] == 0
    code, _, err = run(capsys, *remote, "user", "remove", "zed")
    assert code == 1
    assert_one_error_line(err, "no user named 'zed'")
    assert not local.exists()


def test_a_url_from_the_environment_is_used_too(
    capsys, monkeypatch: pytest.MonkeyPatch, server: RealtimeServer
) -> None:
    monkeypatch.setenv("LATTICE_RT_URL", server.url)
    monkeypatch.setenv("LATTICE_RT_TOKEN", str(server.owner_token))
    code, out, _ = run(capsys, "user", "add", "amy")
    assert code == 0
    assert run(capsys, "user", "list")[1] == ['{"user":"amy","workspaces":[]}']


def test_remote_administration_needs_the_owner_token(
    capsys, server: RealtimeServer, tmp_path: Path
) -> None:
    user = run(capsys, "--data-dir", str(server.data_dir), "user", "add", "ada", "-w", "w")[1][0]
    code, _, err = run(capsys, "--url", server.url, "--token", user, "user", "list")
    assert code == 1
    assert_one_error_line(err, "only the owner token may use this route (HTTP 403)")
    code, _, err = run(capsys, "--data-dir", str(tmp_path), "--url", server.url, "user", "list")
    assert code == 1
    assert_one_error_line(err, f"{server.url} needs a token (HTTP 401)")
