"""Single instance and clean Ctrl-C/SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from lattice_rt_tray.single_instance import SingleInstance, instance_key
from lattice_rt_tray.unix_signals import SignalHandler

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_launch_brings_the_first_forward_and_exits(qtbot, tmp_path):
    settings = tmp_path / "tray.ini"
    key = instance_key(str(settings))
    first = SingleInstance(key, lock_dir=Path(os.environ.get("TMPDIR", "/tmp")))
    assert first.acquire()
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "app"), str(ROOT)]),
                   QT_QPA_PLATFORM="offscreen")
        with qtbot.waitSignal(first.activation_requested, timeout=20_000):
            proc = subprocess.Popen(
                [sys.executable, "-m", "lattice_rt_tray", "--settings", str(settings)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "already running" in out
    finally:
        first.release()
    # once released, the lock can be taken again (a new first instance)
    again = SingleInstance(key, lock_dir=Path(os.environ.get("TMPDIR", "/tmp")))
    assert again.acquire()
    again.release()


def test_keys_differ_per_settings_file():
    assert instance_key("/a/tray.ini") != instance_key("/b/tray.ini")
    assert "/" not in instance_key("/a/tray.ini")


def test_sigterm_and_sigint_become_a_qt_signal(qtbot):
    handler = SignalHandler()
    handler.activate()
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with qtbot.waitSignal(handler.interrupted, timeout=5000) as got:
                os.kill(os.getpid(), signum)
            assert got.args == [signum]
    finally:
        handler.deactivate()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
