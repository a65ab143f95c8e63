"""The embedded server: lifecycle, restarts, bad environments, quick stop."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from lattice_rt_core.paths import database_path
from lattice_rt_core.server import RealtimeServer, ServerConfig, ServerError


def start(data_dir: Path, **kw: object) -> RealtimeServer:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, **kw))  # type: ignore[arg-type]
    srv.start()
    return srv


def publish(srv: RealtimeServer, n: int) -> list[int]:
    r = httpx.post(
        srv.url + "/realtime/events",
        headers={"Authorization": f"Bearer {srv.owner_token}"},
        json=[{"payload": {"i": i}} for i in range(n)],
    )
    return [e["seq"] for e in r.json()["events"]]


def test_seq_and_resume_survive_a_restart(data_dir: Path) -> None:
    srv = start(data_dir)
    assert publish(srv, 5) == [1, 2, 3, 4, 5]
    token = srv.owner_token
    srv.stop()
    srv = start(data_dir)
    try:
        assert srv.owner_token == token  # the same installation
        assert publish(srv, 1) == [6]
        with httpx.Client(
            base_url=srv.url,
            timeout=10,
            headers={"Authorization": f"Bearer {token}", "Last-Event-ID": "2"},
        ) as c:
            with connect_sse(c, "GET", "/realtime/stream") as source:
                ids = []
                for sse in source.iter_sse():
                    if sse.data:
                        ids.append(int(sse.id))
                    if len(ids) == 4:
                        break
        assert ids == [3, 4, 5, 6]
    finally:
        srv.stop()


def test_server_info_and_private_files(data_dir: Path) -> None:
    data_dir.chmod(0o755)
    srv = start(data_dir)
    info = json.loads((data_dir / "server.json").read_text())
    assert info["url"] == srv.url and info["auth"] is True
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("owner.token", "server.json", database_path(data_dir).name):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    assert len((data_dir / "owner.token").read_text().strip()) == 64  # 256 bits, hex
    srv.stop()
    assert not (data_dir / "server.json").exists()


def test_port_in_use_is_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    srv = start(data_dir)
    try:
        other = RealtimeServer(ServerConfig(port=srv.port, data_dir=tmp_path / "other"))
        with pytest.raises(ServerError, match="already in use"):
            other.start()
    finally:
        srv.stop()


def test_corrupt_database_is_moved_aside(data_dir: Path) -> None:
    database_path(data_dir).write_bytes(b"garbage" * 1000)
    srv = start(data_dir)
    try:
        assert publish(srv, 1) == [1]
        assert list(data_dir.glob("*.corrupt-*"))
    finally:
        srv.stop()


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ServerError, match="data directory"):
        RealtimeServer(ServerConfig(port=0, data_dir=blocker)).start()


def test_stop_with_open_streams_is_prompt(data_dir: Path) -> None:
    srv = start(data_dir)
    opened = threading.Barrier(4)
    ended: list[str] = []

    def hold() -> None:
        with httpx.Client(
            base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {srv.owner_token}"}
        ) as c:
            with connect_sse(c, "GET", "/realtime/stream") as source:
                opened.wait()
                for _ in source.iter_sse():
                    pass
        ended.append("closed")

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for t in threads:
        t.start()
    opened.wait()
    srv.stop(timeout=2.0)
    for t in threads:
        t.join(5)
    assert ended == ["closed"] * 3  # the server ended every stream cleanly
