"""The shown-marks files: per connection, written atomically, read at start, damage moved aside."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lattice_rt_tray.logic.resume import ServerIdentity
from lattice_rt_tray.system.shown_files import ShownFiles

ONE = ServerIdentity("srv-1", "e1")


def ev(seq):
    return {"seq": seq, "timestamp": "t", "event_type": "workflow_run"}


def test_marks_are_written_and_read_back_by_a_new_start(tmp_path):
    files = ShownFiles(tmp_path / "shown")
    assert files.fresh("local", ONE, [ev(1), ev(2)]) == [ev(1), ev(2)]
    files.note("local", ONE, [ev(1), ev(2)])
    files.note("a1b2c3", None, [ev(9)])
    assert not (tmp_path / "shown").exists()  # nothing written before save
    assert files.save() == []
    assert sorted(os.listdir(tmp_path / "shown")) == ["a1b2c3.json", "local.json"]  # no temp
    assert stat.S_IMODE((tmp_path / "shown" / "local.json").stat().st_mode) == 0o600
    again = ShownFiles(tmp_path / "shown")
    assert again.fresh("local", ONE, [ev(2), ev(3)]) == [ev(3)]
    assert again.fresh("a1b2c3", None, [ev(9), ev(10)]) == [ev(10)]
    again.forget("a1b2c3")
    assert not (tmp_path / "shown" / "a1b2c3.json").exists()


def test_a_damaged_file_is_moved_aside_and_the_marks_start_afresh(tmp_path, caplog):
    (tmp_path / "local.json").write_text("{torn")
    files = ShownFiles(tmp_path)
    assert files.fresh("local", ONE, [ev(1)]) == [ev(1)]
    assert (tmp_path / "local.json.damaged").read_text() == "{torn"
    assert "local.json is damaged (not JSON" in caplog.text


def test_a_file_that_cannot_be_written_is_said_not_raised(tmp_path):
    (tmp_path / "blocker").write_text("a file where the folder should be")
    files = ShownFiles(tmp_path / "blocker")
    files.note("local", ONE, [ev(1)])
    [problem] = files.save()
    assert problem.startswith(f"cannot record what was shown in {tmp_path / 'blocker'}")


def test_a_key_is_never_a_path():
    with pytest.raises(ValueError, match="not a connection key"):
        ShownFiles(Path("/tmp")).path("../etc")
