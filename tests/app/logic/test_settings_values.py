"""The settings as plain values: connections, defaults, validation, list parsing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lattice_rt_core.protocol.defaults import DEFAULT_PORT
from lattice_rt_tray.logic.settings_values import (
    EMBEDDED,
    LOCAL_KEY,
    MAX_PORT,
    ConnectionSettings,
    NotifyPrefs,
    SettingsValues,
    local_connection,
    new_connection_key,
    parse_list,
)

TEAM = ConnectionSettings("a1b2c3", "Team", url="https://team.example.lan:8765", token="t")


def test_defaults_are_the_embedded_endpoint_on_the_default_port():
    values = SettingsValues()
    [local] = values.connections
    assert (local.key, local.kind, local.port, local.enabled) == (
        LOCAL_KEY, EMBEDDED, DEFAULT_PORT, True)
    assert local.address == f"this computer, port {DEFAULT_PORT}"
    assert values.notify == NotifyPrefs() and values.validate() is None


def with_team(**changes: object) -> SettingsValues:
    return SettingsValues(connections=(local_connection(), replace(TEAM, **changes)))


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (SettingsValues(connections=(local_connection(port=MAX_PORT + 1),)),
         f"between 0 and {MAX_PORT}"),
        (SettingsValues(connections=(local_connection(port=-1),)), "between 0"),
        (with_team(url="ftp://x"), "Team: server URL must start with http:// or https://"),
        (with_team(url="https://team:99999"), "not a TCP port"),
        (with_team(name=" "), "needs a name"),
        (with_team(name="this COMPUTER"), "two connections are called"),
        (with_team(key=LOCAL_KEY), "same key"),
        (with_team(workspaces=("a,b",)), "commas"),
        (SettingsValues(connections=(TEAM,)), "exactly one connection to this computer"),
        (SettingsValues(workspaces=(" ",)), "empty"),
    ],
)
def test_unusable_values_get_a_message_for_a_person(values, problem):
    message = values.validate()
    assert message is not None and problem in message


def test_usable_values_pass():
    assert SettingsValues(connections=(local_connection(port=0),)).validate() is None
    assert with_team(enabled=False).validate() is None
    assert with_team(port=-1).validate() is None  # the port only matters for the embedded one


def test_a_connection_says_what_decides_its_endpoint_and_presence():
    # the name, the switch and the presence settings are not the endpoint
    assert TEAM.endpoint() == replace(TEAM, name="Other", enabled=False,
                                      workspaces=("x",)).endpoint()
    assert TEAM.endpoint() != replace(TEAM, token="new").endpoint()
    assert TEAM.endpoint() != replace(TEAM, ca_file="/ca.pem").endpoint()
    assert TEAM.endpoint() == replace(TEAM, url=TEAM.url + "/").endpoint()
    # presence: the general settings unless the connection says otherwise
    assert TEAM.presence("Ada", ("ws_a",)) == ("Ada", ("ws_a",))
    assert replace(TEAM, display_name="ada@team", workspaces=("ws_t",)).presence(
        "Ada", ("ws_a",)) == ("ada@team", ("ws_t",))
    assert replace(TEAM, workspaces=()).presence("Ada", ("ws_a",)) == ("Ada", ())


def test_tokens_are_read_and_filled_in():
    values = with_team()
    assert values.tokens() == {TEAM.key: "t"}
    filled = values.with_tokens({TEAM.key: "new", "gone": "x"})
    assert filled.connection(TEAM.key).token == "new"  # type: ignore[union-attr]
    assert filled.connection(LOCAL_KEY) == local_connection()


def test_new_keys_are_fresh():
    keys = {new_connection_key() for _ in range(50)}
    assert LOCAL_KEY not in keys and len(keys) == 50
    assert all(len(k) == 12 and int(k, 16) >= 0 for k in keys)


def test_parse_list():
    assert parse_list(" a, b,,a ,c ") == ("a", "b", "c")
    assert parse_list(["x", " y "]) == ("x", "y")
    assert parse_list(None) == ()
