"""The settings as plain values: defaults, validation, list parsing."""

from __future__ import annotations

import pytest

from lattice_rt_core.defaults import DEFAULT_PORT
from lattice_rt_tray.settings_values import (
    EMBEDDED,
    MAX_PORT,
    REMOTE,
    NotifyPrefs,
    SettingsValues,
    parse_list,
)


def test_defaults_are_the_embedded_server_on_the_default_port():
    values = SettingsValues()
    assert values.server_mode == EMBEDDED and values.port == DEFAULT_PORT
    assert values.notify == NotifyPrefs() and values.validate() is None


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (SettingsValues(server_mode="banana"), "unknown server mode"),
        (SettingsValues(port=MAX_PORT + 1), f"between 0 and {MAX_PORT}"),
        (SettingsValues(port=-1), "between 0"),
        (SettingsValues(server_mode=REMOTE, remote_url="ftp://x"), "http"),
        (SettingsValues(workspaces=("a,b",)), "commas"),
        (SettingsValues(workspaces=(" ",)), "empty"),
    ],
)
def test_unusable_values_get_a_message_for_a_person(values, problem):
    message = values.validate()
    assert message is not None and problem in message


def test_usable_values_pass():
    assert SettingsValues(port=0).validate() is None
    assert SettingsValues(port=MAX_PORT).validate() is None
    remote = SettingsValues(server_mode=REMOTE, remote_url="https://team:8765", port=-1)
    assert remote.validate() is None  # the port only matters for the embedded server


def test_parse_list():
    assert parse_list(" a, b,,a ,c ") == ("a", "b", "c")
    assert parse_list(["x", " y "]) == ("x", "y")
    assert parse_list(None) == ()


