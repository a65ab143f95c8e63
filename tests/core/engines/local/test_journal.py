"""The SQLite journal: durable seq, retention, clean/unclean shutdown."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from lattice_rt_core.engines.local.bus import RealtimeBus
from lattice_rt_core.engines.local.journal import Journal, JournalError


def test_events_survive_a_restart_and_seq_continues(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    bus = RealtimeBus(journal=Journal(path))
    first = [bus.publish({"area": "graph", "payload": {"i": i}})["seq"] for i in range(5)]
    assert first == [1, 2, 3, 4, 5]
    assert bus.flush()
    bus._journal.close()  # type: ignore[union-attr]

    bus2 = RealtimeBus(journal=Journal(path))
    assert bus2.last_seq == 5
    assert [e["payload"]["i"] for e in bus2.recent(10)] == [4, 3, 2, 1, 0]
    assert bus2.publish({})["seq"] == 6
    bus2.flush()
    bus2._journal.close()  # type: ignore[union-attr]


def test_retention_caps_the_file_but_not_the_seq(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path, retention=20)
    bus = RealtimeBus(journal=journal)
    for i in range(300):
        bus.publish({"payload": {"i": i}})
    assert bus.flush()
    journal.close()
    with sqlite3.connect(path) as conn:
        count, low, high = conn.execute(
            "SELECT COUNT(*), MIN(seq), MAX(seq) FROM events"
        ).fetchone()
    assert high == 300
    assert (count, low) == (20, 281)  # trimmed to the retention on close
    state = Journal(path, retention=20).load()
    assert state.last_seq == 300
    assert [s for s, _, _ in state.events] == list(range(281, 301))


def test_unclean_shutdown_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    assert j.load().clean_shutdown is True
    j.start()
    j.append(1, None, "{}")
    assert j.flush()
    # no close(): as after kill -9
    j2 = Journal(path)
    state = j2.load()
    assert state.clean_shutdown is False
    assert state.last_seq == 1


def test_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_corrupt_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError):
        Journal(path).load()


def test_durable_future_resolves_after_commit(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    j.load()
    j.start()
    fut = j.durable(3)
    for seq in (1, 2, 3):
        j.append(seq, "ws", f'{{"seq": {seq}}}')
    fut.result(timeout=5)
    assert j.durable_seq == 3
    j.close()


def test_write_failure_degrades_and_refuses_the_batch(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    bus = RealtimeBus(journal=j)
    seen: list[int] = []
    refused: list[tuple[int, int]] = []
    j.on_durable = seen.append
    j.on_refused = lambda lo, hi: refused.append((lo, hi))
    j._conn.execute("DROP TABLE events")  # every later insert fails
    fut = j.durable(1)
    bus.publish({"a": 1})
    with pytest.raises(JournalError):
        fut.result(timeout=5)
    assert j.degraded is not None
    assert (seen, refused) == ([], [(1, 1)])  # never made visible
    assert bus.stats()["journal"] == "degraded"
    assert bus.visible_seq == 0 and bus.recent(10) == []
    j.close()
