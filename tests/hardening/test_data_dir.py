"""The data directory deleted under a running server (issue 20, item 6).

What was seen: after ``rm -rf`` of the data dir the server kept acknowledging
publishes (all lost), health said ok, a second server on the same path handed
out seqs that overlapped, and stopping the first removed the second's
``server.json``. Now: no publish is acknowledged once the directory is gone
(503), health says degraded, ``lattice-rt serve`` exits within seconds with
one line, and a server removes ``server.json`` only while it is its own.
Real ``lattice-rt serve`` processes on temporary directories.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import httpx

from lattice_rt_core.paths import SERVER_INFO_FILE, read_owner_token, read_server_info
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.hardening.helpers import WAIT, ServeProcess, bearer
from tests.redis_server import RedisServer

EXITS = 30.0  # generous: the server notices within about a second


def publish(url: str, token: str) -> httpx.Response:
    return httpx.post(url + "/realtime/events", headers=bearer(token), timeout=WAIT,
                      json={"area": "tests", "event_type": "e", "payload": {}})


def test_serve_stops_taking_events_and_exits_with_one_line_when_its_data_dir_is_deleted(
    tmp_path: Path
) -> None:
    data = tmp_path / "data"
    serve = ServeProcess("--port", "0", "--data-dir", str(data))
    try:
        url = serve.url()
        token = read_owner_token(data)
        assert token is not None
        assert publish(url, token).status_code == 200
        shutil.rmtree(data)
        try:  # the next publish is refused, not acknowledged and lost
            answer = publish(url, token)
        except httpx.TransportError:
            pass  # or the server has already gone
        else:
            assert answer.status_code == 503, answer.text
            assert "data directory" in answer.json()["error"], answer.text
        assert serve.finish(EXITS) == 1
        errors = [line for line in serve.err if "ERROR" in line]
        assert len(errors) == 1, serve.err
        assert str(data) in errors[0] and "removed or replaced" in errors[0], errors
        assert not any("Traceback" in line for line in serve.err), serve.err
        assert not data.exists()  # it recreated nothing there
    finally:
        serve.close()


def test_a_cluster_node_exits_with_one_line_when_its_data_dir_is_deleted(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    data = tmp_path / "node"
    serve = ServeProcess("--port", "0", "--data-dir", str(data), "--redis", redis_server.url)
    try:
        serve.url()
        assert (data / SERVER_INFO_FILE).exists()
        shutil.rmtree(data)
        assert serve.finish(EXITS) == 1
        errors = [line for line in serve.err if "ERROR" in line]
        assert len(errors) == 1, serve.err
        assert errors[0].endswith(
            f"the data directory {data} was removed or replaced under this server: another "
            "server may take the directory now; restart this one"), errors
        assert not data.exists()
    finally:
        serve.close()


def test_an_embedded_server_refuses_events_and_says_degraded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = RealtimeServer(ServerConfig(port=0, data_dir=data))
    server.start()
    try:
        token = server.owner_token
        assert token is not None
        assert publish(server.url, token).status_code == 200
        health = httpx.get(server.url + "/realtime/health", timeout=WAIT).json()
        assert health["status"] == "ok"
        shutil.rmtree(data)
        answer = publish(server.url, token)
        assert answer.status_code == 503
        assert answer.json()["error"] == (
            f"the data directory {data} was removed or replaced under this server: it "
            "cannot keep events any more; restart it")
        health = httpx.get(server.url + "/realtime/health", timeout=WAIT).json()
        assert health["status"] == "degraded"
    finally:
        server.stop()
    assert not data.exists()


def test_a_server_never_removes_the_server_json_of_another(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # a server that has not noticed yet (it looks once an hour here) when it is stopped
    first = RealtimeServer(ServerConfig(port=0, data_dir=data, data_dir_check=3600.0))
    first.start()
    second: ServeProcess | None = None
    try:
        first_id = httpx.get(first.url + "/realtime/health", headers=bearer(first.owner_token),
                             timeout=WAIT).json()["stats"]["server_id"]
        shutil.rmtree(data)
        second = ServeProcess("--port", "0", "--data-dir", str(data))
        url = second.url()  # the path is free: the first's lock went with its directory
        mine = read_server_info(data)
        assert mine is not None and mine["url"] == url and mine["pid"] == second.popen.pid
        first.stop()
        assert read_server_info(data) == mine  # the first left the second's file alone
        token = read_owner_token(data)
        assert token is not None
        stats = httpx.get(url + "/realtime/health", headers=bearer(token),
                          timeout=WAIT).json()["stats"]
        assert stats["server_id"] != first_id  # clients of the first get a reset, not reuse
        second.popen.send_signal(signal.SIGTERM)
        assert second.finish() == 0
        assert not (data / SERVER_INFO_FILE).exists()  # its own, it removes
    finally:
        first.stop()
        if second is not None:
            second.close()


def test_server_json_names_its_writer(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = RealtimeServer(ServerConfig(port=0, data_dir=data))
    server.start()
    try:
        info = json.loads((data / SERVER_INFO_FILE).read_text())
        assert set(info) >= {"url", "pid", "instance"} and len(info["instance"]) == 32
        replaced = {**info, "instance": "0" * 32}  # another writer, same pid and URL
        (data / SERVER_INFO_FILE).write_text(json.dumps(replaced))
    finally:
        server.stop()
    assert json.loads((data / SERVER_INFO_FILE).read_text()) == replaced
