"""A server's identity in stats: a stable server id and the data epoch (local engine)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from lattice_rt_core.engines.identity import SERVER_ID_FILE, load_or_create_server_id
from lattice_rt_core.engines.local.bus import RealtimeBus
from lattice_rt_core.engines.local.journal import Journal
from lattice_rt_core.paths import database_path
from lattice_rt_core.server import RealtimeServer, ServerConfig


def test_the_server_id_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = load_or_create_server_id(tmp_path)
    assert len(first) == 32 and load_or_create_server_id(tmp_path) == first
    assert os.stat(tmp_path / SERVER_ID_FILE).st_mode & 0o077 == 0
    (tmp_path / SERVER_ID_FILE).write_text("not an id\n")
    assert load_or_create_server_id(tmp_path) not in (first, "not an id")


def test_a_directory_that_cannot_be_written_gets_an_id_for_this_run(tmp_path: Path) -> None:
    missing = tmp_path / "missing"  # cannot be written: it does not exist
    assert len(load_or_create_server_id(missing)) == 32


def test_the_epoch_is_kept_by_the_journal_and_new_when_it_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    bus = RealtimeBus(journal=Journal(path))
    epoch = bus.epoch
    bus.publish({})
    bus.flush()
    bus._journal.close()  # type: ignore[union-attr]
    again = RealtimeBus(journal=Journal(path))
    assert again.epoch == epoch and again.last_seq == 1
    again._journal.close()  # type: ignore[union-attr]
    fresh = RealtimeBus(journal=Journal(tmp_path / "other.sqlite"))
    assert fresh.epoch != epoch
    fresh._journal.close()  # type: ignore[union-attr]
    assert RealtimeBus().epoch != RealtimeBus().epoch  # no journal: every bus starts empty


def test_stats_name_the_server_and_its_epoch_across_restarts(data_dir: Path) -> None:
    def identity() -> tuple[str, str, str]:
        srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir))
        srv.start()
        try:
            headers = {"Authorization": f"Bearer {srv.owner_token}"}
            stats = httpx.get(srv.url + "/realtime/health", headers=headers).json()["stats"]
            return stats["server_id"], stats["epoch"], stats["engine"]
        finally:
            srv.stop()

    server_id, epoch, engine = identity()
    assert engine == "local" and len(server_id) == 32 and len(epoch) == 16
    assert identity() == (server_id, epoch, "local")
    for suffix in ("", "-wal", "-shm"):  # the history starts from nothing
        Path(str(database_path(data_dir)) + suffix).unlink(missing_ok=True)
    again_id, again_epoch, _ = identity()
    assert again_id == server_id and again_epoch != epoch
