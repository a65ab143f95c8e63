""""Test connection": one sentence about reachability, TLS, the token and membership.

Against real servers on loopback (plain and TLS with a CA made by the test),
through the real RealtimeClient; no Qt.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lattice_rt_core.auth.accounts import Accounts
from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.paths import database_path
from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_tray.logic.settings_values import ConnectionSettings, local_connection
from lattice_rt_tray.system.connection_check import CheckResult, check_connection
from tests.conftest import TlsFiles


def team(url: str, token: str = "", **changes: object) -> ConnectionSettings:
    return replace(ConnectionSettings("t1", "Team", url=url, token=token), **changes)  # type: ignore[arg-type]


def check(settings: ConnectionSettings, *workspaces: str, **kwargs: str) -> CheckResult:
    return check_connection(settings, workspaces, RealtimeClient, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def ada(server: RealtimeServer) -> str:
    """A user of ws_marketing and ws_research."""
    accounts = Accounts(database_path(server.data_dir))
    try:
        return accounts.add_user("ada", ["ws_marketing", "ws_research"])
    finally:
        accounts.close()


def test_a_member_is_told_who_and_where(server, ada):
    result = check(team(server.url, ada), "ws_marketing", "ws_research")
    assert result == CheckResult(True, "Connected to Team as ada; member of ws_marketing and "
                                       "ws_research.")


def test_a_workspace_the_user_is_not_in_is_named(server, ada):
    assert check(team(server.url, ada), "ws_marketing", "ws_sales") == CheckResult(
        False, "Connected to Team as ada, but not a member of ws_sales (member of ws_marketing "
               "and ws_research).")
    assert check(team(server.url, ada)) == CheckResult(
        False, "Connected to Team as ada; set at least one of your workspaces (ws_marketing and "
               "ws_research): without one the server refuses presence.")


def test_the_owner_sees_every_workspace(server):
    assert check(team(server.url, server.owner_token), "ws_x") == CheckResult(
        True, "Connected to Team as owner; you see every workspace.")


def test_a_refused_or_missing_token_is_said(server):
    assert check(team(server.url, "not-the-token")) == CheckResult(
        False, f"{server.url} answers, but the token was refused.")
    assert check(team(server.url)) == CheckResult(False, f"{server.url} answers, but needs a "
                                                         "token.")


def test_an_unreachable_server_is_said(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening
    result = check(team(url, "t"))
    assert result == CheckResult(False, f"Cannot connect to {url} (connection refused).")


def test_something_that_is_not_a_lattice_server_is_said(server):
    url = server.url + "/realtime/openapi.json"  # answers HTTP, but none of the realtime routes
    assert check(team(url, "t")) == CheckResult(
        False, f"{url} answers, but this server has no realtime API (Lattice AI 11.6 and later "
               "moved it).")


@pytest.fixture
def https_server(data_dir: Path, tls_files: TlsFiles) -> Iterator[RealtimeServer]:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                                      tls_cert=tls_files.cert, tls_key=tls_files.key))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_an_untrusted_certificate_is_said_and_the_teams_ca_fixes_it(https_server, tls_files,
                                                                    tmp_path):
    url, token = https_server.url, https_server.owner_token
    assert url.startswith("https://")
    untrusted = check(team(url, token or ""))
    assert not untrusted.ok
    assert untrusted.text.startswith(f"The certificate of {url} is not trusted: ")
    trusted = check(team(url, token or "", ca_file=str(tls_files.ca)), "ws_a")
    assert trusted == CheckResult(True, "Connected to Team as owner; you see every workspace.")
    missing = check(team(url, token or "", ca_file=str(tmp_path / "nope.pem")))
    assert not missing.ok
    assert missing.text.startswith(f"The CA file cannot be used: cannot use CA file "
                                   f"{tmp_path / 'nope.pem'}")


def test_the_embedded_endpoint_is_tested_where_it_runs(server):
    here = local_connection()
    assert check(here, url=server.url, token=server.owner_token or "") == CheckResult(
        True, "Connected to This computer as owner; you see every workspace.")
    assert check(here) == CheckResult(
        False, "The endpoint on this computer is not running (This computer is off or could "
               "not start).")
