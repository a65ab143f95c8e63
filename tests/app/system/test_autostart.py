"""Start at login on the three platforms (everything the code touches is injected)."""

from __future__ import annotations

import plistlib

from lattice_rt_tray.system.autostart import RUN_VALUE, Autostart


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
