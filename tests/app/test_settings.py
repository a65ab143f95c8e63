"""Settings stored with QSettings, and start at login on the three platforms."""

from __future__ import annotations

import plistlib

import pytest

from lattice_rt_core.defaults import DEFAULT_PORT
from lattice_rt_tray.autostart import RUN_VALUE, Autostart
from lattice_rt_tray.coalescer import NotifyPrefs
from lattice_rt_tray.dnd import DoNotDisturb
from lattice_rt_tray.settings import Settings, SettingsValues, parse_list


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
    assert SettingsValues(port=70000).validate()
    assert SettingsValues(workspaces=("a,b",)).validate()


def test_dnd_and_resume_points(tmp_path, qtbot):
    s = Settings.open(tmp_path / "s.ini")
    with qtbot.waitSignal(s.changed, timeout=1000) as changed:
        s.set_dnd(DoNotDisturb(until=123.0))
    assert changed.args == ["notify"] and s.dnd == DoNotDisturb(until=123.0)
    assert s.last_event_id("embedded:/x") is None
    s.set_last_event_id("embedded:/x", 42)
    assert Settings.open(tmp_path / "s.ini").last_event_id("embedded:/x") == 42
    assert s.last_event_id("remote:http://other") is None


def test_parse_list():
    assert parse_list(" a, b,,a ,c ") == ("a", "b", "c")
    assert parse_list(["x", " y "]) == ("x", "y")
    assert parse_list(None) == ()


def test_autostart_linux(tmp_path):
    auto = Autostart(platform="linux", home=tmp_path, config_dir=tmp_path / "cfg",
                     command=["/opt/lattice rt/lattice-rt-tray", "--x=100%"])
    assert not auto.enabled()
    auto.set_enabled(True)
    text = (tmp_path / "cfg" / "autostart" / "lattice-rt-tray.desktop").read_text()
    assert "Exec='/opt/lattice rt/lattice-rt-tray' --x=100%%\n" in text
    assert "[Desktop Entry]" in text and auto.enabled()
    auto.set_enabled(False)
    assert not auto.enabled()


def test_autostart_macos(tmp_path):
    auto = Autostart(platform="darwin", home=tmp_path, command=["/Applications/L.app/x"])
    auto.set_enabled(True)
    plist = plistlib.loads(auto.path.read_bytes())
    assert plist["ProgramArguments"] == ["/Applications/L.app/x"] and plist["RunAtLoad"]
    auto.set_enabled(False)
    assert not auto.path.exists()


def test_autostart_windows_uses_the_run_key(ini_registry):
    auto = Autostart(platform="win32", registry=ini_registry,
                     command=["C:\\Program Files\\Lattice\\lattice-rt-tray.exe"])
    auto.set_enabled(True)
    assert ini_registry.value(RUN_VALUE) == '"C:\\Program Files\\Lattice\\lattice-rt-tray.exe"'
    assert auto.enabled() and auto.path is None
    auto.set_enabled(False)
    assert not auto.enabled()
