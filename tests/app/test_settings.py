"""Settings stored with QSettings: typed values, change groups, fallbacks."""

from __future__ import annotations

import pytest

from lattice_rt_core.defaults import DEFAULT_PORT
from lattice_rt_tray.dnd import DoNotDisturb
from lattice_rt_tray.settings import Settings
from lattice_rt_tray.settings_values import NotifyPrefs


def test_defaults_and_round_trip(tmp_path, qtbot):
    path = tmp_path / "s.ini"
    s = Settings.open(path)
    values = s.values()
    assert values.server_mode == "embedded" and values.port == DEFAULT_PORT
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


def test_instance_id_is_made_once_and_kept(tmp_path):
    a = Settings.open(tmp_path / "s.ini").instance_id
    assert a and ":" not in a
    assert Settings.open(tmp_path / "s.ini").instance_id == a


def test_bad_values_fall_back_and_bad_input_is_refused(tmp_path):
    (tmp_path / "s.ini").write_text(
        "[server]\nmode=banana\nport=notaport\n[notify]\nenabled=maybe\ndnd=soon\n")
    s = Settings.open(tmp_path / "s.ini")
    v = s.values()
    assert v.server_mode == "embedded" and v.port == DEFAULT_PORT
    assert v.notify.enabled is True and s.dnd == DoNotDisturb()
    with pytest.raises(ValueError, match="http"):
        s.update(server_mode="remote", remote_url="ftp://x")


def test_dnd_and_resume_points(tmp_path, qtbot):
    s = Settings.open(tmp_path / "s.ini")
    with qtbot.waitSignal(s.changed, timeout=1000) as changed:
        s.set_dnd(DoNotDisturb(until=123.0))
    assert changed.args == ["notify"] and s.dnd == DoNotDisturb(until=123.0)
    assert s.last_event_id("embedded:/x") is None
    s.set_last_event_id("embedded:/x", 42)
    assert Settings.open(tmp_path / "s.ini").last_event_id("embedded:/x") == 42
    assert s.last_event_id("remote:http://other") is None
