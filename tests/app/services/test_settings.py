"""Settings stored with QSettings: connections, change groups, fallbacks, tokens without a
keyring, resume points by server identity, and the migration of a one-server tray.ini."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace

import pytest
from PySide6.QtCore import QSettings

from lattice_rt_core.protocol.defaults import DEFAULT_PORT
from lattice_rt_tray.logic.dnd import DoNotDisturb
from lattice_rt_tray.logic.quiet_hours import QuietHours
from lattice_rt_tray.logic.resume import ResumePoint, ServerIdentity
from lattice_rt_tray.logic.rules import Level, Rule
from lattice_rt_tray.logic.settings_values import (
    LOCAL_KEY,
    ConnectionSettings,
    NotifyPrefs,
    local_connection,
)
from lattice_rt_tray.logic.status_machine import DEFAULT_AWAY_AFTER, DEFAULT_IDLE_AFTER
from lattice_rt_tray.services.settings import Settings

TEAM = ConnectionSettings("a1b2c3", "Team", url="https://team.example.lan:8765")


def test_defaults_and_round_trip(tmp_path, qtbot):
    path = tmp_path / "s.ini"
    s = Settings.open(path)
    values = s.values()
    assert values.connections == (local_connection(),)
    assert values.workspaces == () and values.notify == NotifyPrefs()
    assert values.display_name  # the login name
    with qtbot.waitSignals([s.changed, s.changed], timeout=1000):
        changed = s.update(workspaces=("ws_a", "ws_b"),
                           notify=NotifyPrefs(presence=True, muted_areas=frozenset({"memory"})))
    assert changed == {"presence", "notify"}
    again = Settings.open(path).values()
    assert again.workspaces == ("ws_a", "ws_b")
    assert again.notify.presence and again.notify.muted_areas == {"memory"}
    assert s.update(workspaces=("ws_a", "ws_b")) == set()


def test_connections_are_stored_in_order_with_their_overrides(tmp_path):
    s = Settings.open(tmp_path / "s.ini")
    team = replace(TEAM, ca_file="/etc/ca.pem", display_name="ada", workspaces=("ws_t",),
                   token="secret")
    other = ConnectionSettings("d4e5f6", "Other", url="http://other:1", workspaces=(),
                               enabled=False)
    assert s.update(connections=(local_connection(port=0), team, other)) == {"connections"}
    stored = Settings.open(tmp_path / "s.ini").values()
    assert stored.connections == (local_connection(port=0), replace(team, token=""), other)
    assert "secret" not in (tmp_path / "s.ini").read_text()  # tokens are not written here
    # only the token differs: nothing to store, nothing changed
    assert s.update(connections=(local_connection(port=0), replace(team, token="x"), other)) \
        == set()
    # removed: its settings and resume points go too
    s.set_resume_points(other.key, {"s1": ResumePoint(ServerIdentity("s1", "e1"), 3)})
    s.update_connection(team.key, name="Team A")
    s.update(connections=(local_connection(port=0), replace(team, name="Team A")))
    assert [c.name for c in s.values().connections] == ["This computer", "Team A"]
    assert "d4e5f6" not in (tmp_path / "s.ini").read_text()


def test_instance_id_is_made_once_and_kept(tmp_path):
    a = Settings.open(tmp_path / "s.ini").instance_id
    assert a and ":" not in a
    assert Settings.open(tmp_path / "s.ini").instance_id == a


def test_bad_values_fall_back_and_bad_input_is_refused(tmp_path):
    (tmp_path / "s.ini").write_text(
        "[app]\nsettings_version=2\n[connections]\norder=local,x1\n"
        "[connection]\nlocal\\port=notaport\nx1\\enabled=maybe\n"
        "[notify]\nenabled=maybe\ndnd=soon\n")
    s = Settings.open(tmp_path / "s.ini")
    v = s.values()
    assert v.connections[0] == local_connection()
    assert v.connections[1] == ConnectionSettings("x1", "x1")  # a name and a URL to fill in
    assert v.notify.enabled is True and s.dnd == DoNotDisturb()
    with pytest.raises(ValueError, match="http"):
        s.update_connection("x1", url="ftp://x")
    with pytest.raises(KeyError):
        s.update_connection("nobody", name="x")


def test_the_history_size_is_the_files_or_none(settings):  # type: ignore[no-untyped-def]
    assert settings.history_size() is None  # not set: the default of logic/history.py
    settings.set_history_size(250)
    assert settings.history_size() == 250
    settings.set_history_size(0)
    assert settings.history_size() == 0  # history switched off
    settings._store.setValue("general/history_size", "lots")  # noqa: SLF001 - a hand edit
    assert settings.history_size() is None


def test_dnd_and_resume_points_by_server_identity(tmp_path, qtbot):
    s = Settings.open(tmp_path / "s.ini")
    with qtbot.waitSignal(s.changed, timeout=1000) as changed:
        s.set_dnd(DoNotDisturb(until=123.0))
    assert changed.args == ["notify"] and s.dnd == DoNotDisturb(until=123.0)
    assert s.resume_points(LOCAL_KEY) == {}
    points = {"s1": ResumePoint(ServerIdentity("s1", "e1"), 42),
              "s2": ResumePoint(ServerIdentity("s2", "e7"), 5)}
    s.set_resume_points(LOCAL_KEY, points)
    assert Settings.open(tmp_path / "s.ini").resume_points(LOCAL_KEY) == points
    assert s.resume_points("other") == {}


def test_without_a_keyring_a_token_is_kept_in_a_private_file(tmp_path):
    path = tmp_path / "conf" / "tray.ini"
    s = Settings.open(path)
    s.update(connections=(local_connection(), TEAM))
    os.chmod(path, 0o644)
    s.set_file_token(TEAM.key, "secret")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert s.file_tokens() == {TEAM.key: "secret"}
    s.update(display_name="Ada")  # rewriting the file keeps it private
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Settings.open(path).values().connection(TEAM.key).token == "secret"  # type: ignore
    s.clear_file_token(TEAM.key)
    assert s.file_tokens() == {} and "secret" not in path.read_text()


def old_key(identity: str) -> str:
    """How the one-server format named a resume point."""
    return "last_event_id_" + hashlib.sha1(identity.encode()).hexdigest()[:12]


def test_a_one_server_tray_ini_is_migrated(tmp_path):
    data_dir = tmp_path / "data"
    path = tmp_path / "tray.ini"
    path.write_text(
        "[app]\ninstance_id=abc123\n"
        "[server]\nmode=remote\nport=9000\nurl=https://team.example.lan:8765/\ntoken=s3cret\n"
        "[presence]\ndisplay_name=Ada\nworkspaces=\"ws_a,ws_b\"\n"
        "[notify]\nmuted_areas=memory\n"
        f"[stream]\n{old_key(f'embedded:{data_dir}')}=77\n"
        f"{old_key('remote:https://team.example.lan:8765')}=5\n"
    )
    s = Settings.open(path)
    assert s.migrate(data_dir)
    values = s.values()
    local, team = values.connections
    assert local == local_connection(port=9000, enabled=False)  # it followed the server
    assert (team.name, team.url, team.enabled) == ("team.example.lan",
                                                  "https://team.example.lan:8765", True)
    assert s.file_tokens() == {team.key: "s3cret"}  # until the vault moves it to the keyring
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (values.display_name, values.workspaces) == ("Ada", ("ws_a", "ws_b"))
    assert values.notify.muted_areas == {"memory"} and s.instance_id == "abc123"
    assert (s.legacy_resume(LOCAL_KEY), s.legacy_resume(team.key)) == (77, 5)
    text = path.read_text()
    assert "[server]" not in text and "[stream]" not in text
    assert not Settings.open(path).migrate(data_dir)  # once


def test_an_embedded_one_server_file_keeps_the_embedded_endpoint_on(tmp_path):
    path = tmp_path / "tray.ini"
    path.write_text("[server]\nmode=embedded\nport=0\nurl=http://old-team:8765\n")
    s = Settings.open(path)
    assert s.migrate(tmp_path / "data")
    local, team = s.values().connections
    assert local == local_connection(port=0) and not team.enabled  # kept, switched off
    assert s.file_tokens() == {} and s.legacy_resume(team.key) is None
    fresh = Settings.open(tmp_path / "new.ini")
    assert not fresh.migrate(tmp_path / "data")
    assert fresh.values().connections == (local_connection(),)
    assert DEFAULT_PORT == local_connection().port


def test_idle_and_away_times_and_the_status_choice(tmp_path, qtbot):
    path = tmp_path / "s.ini"
    s = Settings.open(path)
    values = s.values()
    assert (values.idle_after, values.away_after) == (DEFAULT_IDLE_AFTER, DEFAULT_AWAY_AFTER)
    assert values.notify.status is False  # status changes are not notified by default
    assert s.status_choice() == (None, None)
    with qtbot.waitSignals([s.changed, s.changed], timeout=1000):
        changed = s.update(idle_after=120.0, away_after=600.0, notify=NotifyPrefs(status=True))
    assert changed == {"status", "notify"}
    s.set_status_choice("away", "Lunch")
    again = Settings.open(path)
    assert (again.values().idle_after, again.values().away_after) == (120.0, 600.0)
    assert again.values().notify.status and again.status_choice() == ("away", "Lunch")
    with pytest.raises(ValueError, match="idle time must be shorter than the away time"):
        s.update(idle_after=600.0, away_after=600.0)
    store = QSettings(str(path), QSettings.Format.IniFormat)
    for idle, away in (("x", "600"), ("900", "600"), ("0", "600")):  # edited by hand: defaults
        store.setValue("status/idle_after", idle)
        store.setValue("status/away_after", away)
        store.setValue("status/manual", "asleep")
        store.sync()
        fresh = Settings.open(path)
        assert (fresh.values().idle_after, fresh.values().away_after) == (300.0, 900.0)
        assert fresh.status_choice() == (None, "Lunch")


RULES = (Rule(Level.CRITICAL, workspace="ws_ops", type="deploy*"),
         Rule(Level.SILENT, area="graph", type="graph_indexed"),
         Rule(Level.NORMAL, text="prod, staging"))


def test_rules_quiet_hours_and_cut_through_round_trip(tmp_path, qtbot):
    path = tmp_path / "s.ini"
    s = Settings.open(path)
    assert s.values().notify.rules == () and s.values().notify.critical_through
    evenings = QuietHours.parse("weekdays 19:00-08:00")
    notify = NotifyPrefs(rules=RULES, quiet_hours=evenings, critical_through=False)
    with qtbot.waitSignal(s.changed, timeout=1000, check_params_cb=lambda g: g == "notify"):
        s.update(notify=notify)
    again = Settings.open(path)
    assert again.values().notify == notify and again.notify_problems() == []
    text = path.read_text()
    assert "1\\level=critical" in text and "3\\text=\"prod, staging\"" in text
    assert s.update(notify=notify) == set()


def test_a_bad_rule_in_the_file_is_reported_skipped_and_kept(tmp_path):
    path = tmp_path / "s.ini"
    path.write_text(
        "[rules]\n"
        "1\\level=critical\n1\\workspace=ws_ops\n1\\type=deploy*\n"
        "2\\level=urgent\n2\\area=graph\n"
        "3\\level=silent\n3\\area=graph\n3\\type=graph_indexed\n"
        "x\\level=low\n"
        "[notify]\nquiet_hours=funday 19:00-08:00\n"
    )
    s = Settings.open(path)
    assert s.values().notify.rules == RULES[:2]
    assert s.values().notify.quiet_hours is None
    assert s.notify_problems() == [
        "rule 2 skipped: unknown level 'urgent' (one of critical, normal, low, silent)",
        "rule x skipped: rules are numbered 1, 2, 3, …",
        "quiet hours 'funday 19:00-08:00': unknown day 'funday' "
        "(one of mon, tue, wed, thu, fri, sat, sun)",
    ]
    # saving other settings touches neither the rules nor the quiet hours
    s.update(workspaces=("ws_a",))
    s.update(notify=replace(s.values().notify, presence=True))
    reread = Settings.open(path)
    assert reread.notify_problems() == s.notify_problems()
    assert reread.values().notify.rules == RULES[:2]
    # saving new rules keeps the bad ones where they were (rule 2 and x), nothing lost
    s.update(notify=replace(s.values().notify, rules=RULES))
    reread = Settings.open(path)
    assert reread.values().notify.rules == RULES
    assert reread.notify_problems()[:2] == s.notify_problems()[:2]
    assert "2\\level=urgent" in path.read_text() and "x\\level=low" in path.read_text()
