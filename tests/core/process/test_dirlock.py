"""One server per data directory: the OS lock, who holds it, and its release."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lattice_rt_core.paths import LOCK_FILE, SERVER_INFO_FILE
from lattice_rt_core.process.dirlock import DataDirInUse, DataDirLock

HOLD = """
import sys
from lattice_rt_core.process.dirlock import DataDirLock
lock = DataDirLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
sys.stdin.read()  # until the test closes stdin or kills us
"""


def test_a_second_lock_on_the_directory_is_refused_until_the_first_is_released(
    tmp_path: Path,
) -> None:
    first, second = DataDirLock(tmp_path), DataDirLock(tmp_path)
    first.acquire()
    try:
        assert (tmp_path / LOCK_FILE).exists()
        with pytest.raises(DataDirInUse):
            second.acquire()
        second.release()  # releasing a lock not held changes nothing
        with pytest.raises(DataDirInUse):
            DataDirLock(tmp_path).acquire()
    finally:
        first.release()
    second.acquire()
    with pytest.raises(DataDirInUse):
        first.acquire()
    second.release()
    first.acquire()
    first.release()


def test_the_refusal_names_the_running_server_from_server_json(tmp_path: Path) -> None:
    holder = DataDirLock(tmp_path)
    holder.acquire()
    try:
        with pytest.raises(DataDirInUse) as without_info:
            DataDirLock(tmp_path).acquire()
        assert str(without_info.value).startswith(f"data directory {tmp_path} is in use by ")
        assert "another lattice-rt server" in str(without_info.value)
        (tmp_path / SERVER_INFO_FILE).write_text(
            json.dumps({"url": "https://team.example:8797", "pid": 4242})
        )
        with pytest.raises(DataDirInUse) as with_info:
            DataDirLock(tmp_path).acquire()
        message = str(with_info.value)
        assert "the lattice-rt server at https://team.example:8797 (pid 4242)" in message
        assert "\n" not in message and "--data-dir" in message
    finally:
        holder.release()


def test_the_os_releases_the_lock_of_a_killed_process(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        with pytest.raises(DataDirInUse):
            DataDirLock(tmp_path).acquire()
        child.kill()  # no cleanup runs: only the OS can let go
        child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
    lock = DataDirLock(tmp_path)
    lock.acquire()
    lock.release()
