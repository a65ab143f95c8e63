"""Starting the app: without a display it says so in one line instead of Qt's abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lattice_rt_core.version import __version__
from lattice_rt_tray.main import no_display

ROOT = Path(__file__).resolve().parents[2]
NO_DISPLAY = (
    "lattice-rt-tray: no display (neither DISPLAY nor WAYLAND_DISPLAY is set): start it in a "
    "desktop session, or with QT_QPA_PLATFORM=offscreen for a headless test"
)


@pytest.mark.parametrize(
    ("environ", "platform", "problem"),
    [
        ({}, "linux", NO_DISPLAY),
        ({}, "freebsd14", NO_DISPLAY),
        ({"DISPLAY": ":0"}, "linux", None),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", None),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", None),
        ({"QT_QPA_PLATFORM": ""}, "linux", NO_DISPLAY),  # make exports it empty
        ({}, "win32", None),
        ({}, "darwin", None),
    ],
)
def test_no_display(environ, platform, problem):
    assert no_display(environ, platform) == problem


def run_app(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "app"), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "lattice_rt_tray", "--settings", str(tmp_path / "tray.ini"),
         "--data-dir", str(tmp_path / "data"), *argv],
        env=env, capture_output=True, text=True, timeout=60,
    )


def test_without_a_display_the_real_app_says_so_and_exits_1(tmp_path):
    done = run_app(tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", NO_DISPLAY + "\n")
    assert not (tmp_path / "data").exists()  # it touched nothing


def test_version_needs_no_display(tmp_path):
    done = run_app(tmp_path, "--version")
    assert (done.returncode, done.stdout) == (0, f"lattice-rt-tray {__version__}\n")
