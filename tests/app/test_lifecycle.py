"""Single instance and clean Ctrl-C/SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lattice_rt_tray.services.single_instance import SingleInstance, instance_key
from lattice_rt_tray.services.unix_signals import SignalHandler

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


def _wakeup_fd() -> int:
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd


@pytest.mark.parametrize(
    "sigint_before",
    [None, signal.SIG_IGN, signal.default_int_handler],
    ids=["as-started", "ignored", "python-default"],
)
def test_sigterm_and_sigint_become_a_qt_signal(qtbot, sigint_before):
    """Both signals reach the GUI thread as ``interrupted``; afterwards all is as before.

    A shell starts a background job with SIGINT ignored, so what is restored
    is whatever was installed before, never a fixed default (``as-started``
    is how this pytest itself was started; the others set it first).
    """
    started_with = signal.getsignal(signal.SIGINT)
    if sigint_before is not None:
        signal.signal(signal.SIGINT, sigint_before)
    try:
        before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        wakeup_before = _wakeup_fd()
        handler = SignalHandler()
        handler.activate()
        try:
            for signum in (signal.SIGTERM, signal.SIGINT):
                with qtbot.waitSignal(handler.interrupted, timeout=30_000) as got:
                    os.kill(os.getpid(), signum)
                assert got.args == [signum]
        finally:
            handler.deactivate()
        assert {s: signal.getsignal(s) for s in before} == before
        assert _wakeup_fd() == wakeup_before
    finally:
        signal.signal(signal.SIGINT, started_with)
