"""The lattice-rt command line: in-process through main(), and as real processes."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from lattice_rt_core import cli
from lattice_rt_core.auth import Accounts
from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.paths import database_path
from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_core.version import __version__

WAIT = 20.0


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LATTICE_RT_URL", "LATTICE_RT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LATTICE_RT_DATA_DIR", str(tmp_path / "not-used"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def assert_one_error_line(err: list[str], *fragments: str) -> None:
    errors = [line for line in err if "error" in line]
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0]
    assert not any("Traceback" in line for line in err)


# ------------------------------------------------------------------- basics
def test_version(capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, [f"lattice-rt {__version__}"])


def test_a_command_is_required(capsys) -> None:
    code, out, err = run(capsys)
    assert code == 2 and out == []
    assert_one_error_line(err, "a command is required")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["publish", "a", "b", "--payload", "{nope"], "not valid JSON"),
        (["publish", "a", "b", "--payload", "[1]"], "must be a JSON object"),
        (["serve", "--port", "70000"], "not a TCP port"),
        (["serve", "--heartbeat", "0"], "positive number"),
        (["serve", "--retention", "0"], "at least 1"),
        (["tail", "--last-event-id", "-1"], "at least 0"),
        (["feed", "--limit", "many"], "not an integer"),
        (["frobnicate"], "invalid choice"),
        (["status", "c1", "busy"], "invalid choice: 'busy'"),
        (["status", "c1"], "the following arguments are required: STATUS"),
    ],
)
def test_usage_errors_exit_2_with_one_line(capsys, argv: list[str], fragment: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == []
    assert_one_error_line(err, fragment)


def test_token_prints_the_owner_token(capsys, tmp_path: Path) -> None:
    (tmp_path / "owner.token").write_text("the-owner-token\n")
    code, out, _ = run(capsys, "--data-dir", str(tmp_path), "token")
    assert (code, out) == (0, ["the-owner-token"])


def test_token_before_the_first_start_says_what_to_do(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "token", "--data-dir", str(tmp_path))
    assert code == 1 and out == []
    assert_one_error_line(err, "no owner token", "lattice-rt serve")


# -------------------------------------------------------------------- users
def test_user_add_list_remove(capsys, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    code, out, _ = run(capsys, "--data-dir", data, "user", "add", "ada", "-w", "ws1",
                       "--workspace", "ws2")
    assert code == 0 and len(out) == 1
    token = out[0]
    accounts = Accounts(database_path(Path(data)))
    try:
        assert accounts.user_for_token(token) == "ada"
        assert accounts.allowed_scopes("ada") == {"ws1", "ws2"}
    finally:
        accounts.close()
    assert (Path(data).stat().st_mode & 0o777) == 0o700
    code, out, _ = run(capsys, "--data-dir", data, "user", "list")
    assert (code, out) == (0, ['{"user":"ada","workspaces":["ws1","ws2"]}'])
    assert run(capsys, "--data-dir", data, "user", "remove", "ada")[0] == 0
    code, _, err = run(capsys, "--data-dir", data, "user", "remove", "ada")
    assert code == 1
    assert_one_error_line(err, "no user named 'ada'")


def test_a_user_added_while_the_server_runs_can_publish_in_its_workspace(
    capsys, server: RealtimeServer
) -> None:
    data = str(server.data_dir)
    code, out, _ = run(capsys, "--data-dir", data, "user", "add", "ada", "-w", "ws1")
    assert code == 0
    token = out[0]
    code, out, _ = run(capsys, "--url", server.url, "--token", token, "publish", "graph",
                       "indexed", "--workspace", "ws1")
    assert code == 0 and json.loads(out[0])["actor"] == "ada"
    code, _, err = run(capsys, "--url", server.url, "--token", token, "publish", "graph",
                       "indexed", "--workspace", "ws2")
    assert code == 1
    assert_one_error_line(err, "not a member of workspace 'ws2' (HTTP 403)")


def test_user_add_refuses_a_bad_name(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "--data-dir", str(tmp_path), "user", "add", " ")
    assert code == 2 and out == []
    assert_one_error_line(err, "user name must not be only whitespace")


def test_user_add_on_an_unusable_data_dir(capsys, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "--data-dir", str(blocker), "user", "add", "ada")
    assert code == 1
    assert_one_error_line(err, "cannot open the accounts", "not a directory")


# ------------------------------------------------- client commands, in process
def test_client_commands_without_a_server(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "--data-dir", str(tmp_path), "feed")
    assert code == 1 and out == []
    assert_one_error_line(err, "no running lattice-rt server found", "lattice-rt serve")


def test_connection_refused_is_one_line(capsys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = run(capsys, "--url", f"http://127.0.0.1:{port}", "presence")
    assert code == 1
    assert_one_error_line(err, f"cannot connect to http://127.0.0.1:{port}", "refused")


def test_a_bad_url_is_a_usage_error(capsys) -> None:
    code, _, err = run(capsys, "--url", "127.0.0.1:8765", "feed")
    assert code == 2
    assert_one_error_line(err, "http://")


def test_publish_then_feed_and_presence(capsys, server: RealtimeServer) -> None:
    data = str(server.data_dir)  # server.json and owner.token are found there
    code, out, _ = run(capsys, "--data-dir", data, "publish", "workflow", "workflow_run",
                       "--workspace", "ws1", "--payload", '{"run_id": "r1"}')
    assert code == 0
    event = json.loads(out[0])
    assert (event["area"], event["event_type"], event["workspace_id"]) == (
        "workflow", "workflow_run", "ws1"
    )
    assert event["payload"] == {"run_id": "r1"} and event["actor"] == "owner"
    run(capsys, "publish", "graph", "indexed", "--data-dir", data)
    code, out, _ = run(capsys, "--data-dir", data, "feed", "--limit", "2")
    assert code == 0
    assert [json.loads(line)["event_type"] for line in out] == ["workflow_run", "indexed"]

    joiner = RealtimeClient(server.url, server.owner_token)
    try:
        entry = joiner.join(workspace_id="ws1", display_name="Ada")
    finally:
        joiner.close()
    code, out, _ = run(capsys, "--data-dir", data, "presence")
    assert code == 0
    assert [json.loads(line)["client_id"] for line in out] == [entry["client_id"]]


def test_status_sets_a_status_and_presence_shows_it(capsys, server: RealtimeServer) -> None:
    data = str(server.data_dir)
    with RealtimeClient(server.url, server.owner_token) as joiner:
        entry = joiner.join(workspace_id="ws1", display_name="Ada")
    cid = entry["client_id"]
    code, out, _ = run(capsys, "--data-dir", data, "status", cid, "dnd", "--text", "Focus time")
    assert code == 0
    changed = json.loads(out[0])
    assert (changed["client_id"], changed["status"], changed["status_text"]) == (
        cid, "dnd", "Focus time")
    code, out, _ = run(capsys, "--data-dir", data, "presence")
    assert code == 0
    listed = [json.loads(line) for line in out]
    assert [(p["status"], p["status_text"]) for p in listed] == [("dnd", "Focus time")]
    code, out, _ = run(capsys, "status", cid, "active", "--data-dir", data)  # no --text: cleared
    assert code == 0 and "status_text" not in json.loads(out[0])
    code, out, err = run(capsys, "--data-dir", data, "status", "nobody", "away")
    assert code == 1 and out == []
    assert_one_error_line(err, "no presence entry with that client_id (HTTP 404)")
    code, _, err = run(capsys, "--data-dir", data, "status", cid, "away", "--text", "x" * 101)
    assert code == 1
    assert_one_error_line(err, "'status_text' must be 1 to 100 characters (HTTP 422)")


def test_a_server_error_is_one_line(capsys, server: RealtimeServer) -> None:
    code, _, err = run(capsys, "--url", server.url, "--token", "wrong", "feed")
    assert code == 1
    assert_one_error_line(err, "authentication required (HTTP 401)")


def test_open_starts_a_browser_on_a_one_time_link(
    capsys, monkeypatch: pytest.MonkeyPatch, server: RealtimeServer
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(cli.webbrowser, "open", lambda url: opened.append(url) or True)
    code, out, err = run(capsys, "--data-dir", str(server.data_dir), "open")
    assert code == 0 and out == []
    assert opened and opened[0].startswith(f"{server.url}/activity?code=")
    assert server.owner_token not in opened[0]
    assert err == ["lattice-rt: opened the activity page in your browser"]


def test_open_without_a_browser_prints_the_link(
    capsys, monkeypatch: pytest.MonkeyPatch, server: RealtimeServer
) -> None:
    monkeypatch.setattr(cli.webbrowser, "open", lambda url: False)
    code, _, err = run(capsys, "--data-dir", str(server.data_dir), "open")
    assert code == 1
    assert err[-1].startswith(f"{server.url}/activity?code=")
    code, out, _ = run(capsys, "--data-dir", str(server.data_dir), "open", "--print-url")
    assert code == 0 and out[0].startswith(f"{server.url}/activity?code=")


def test_tail_prints_the_replay_as_json_lines(capsys, server: RealtimeServer) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        published = client.publish_many([{"event_type": f"e{n}"} for n in range(3)])
    code, out, err = run(capsys, "--data-dir", str(server.data_dir), "tail", "--count", "3")
    assert code == 0
    assert [json.loads(line) for line in out] == published
    assert f"lattice-rt: connected to {server.url}" in err


def test_tail_resumes_after_last_event_id(capsys, server: RealtimeServer) -> None:
    with RealtimeClient(server.url, server.owner_token) as client:
        published = client.publish_many([{"event_type": f"e{n}"} for n in range(5)])
    start = published[2]["seq"]
    code, out, _ = run(capsys, "--data-dir", str(server.data_dir), "tail",
                       "--last-event-id", str(start), "--count", "2")
    assert code == 0
    assert [json.loads(line)["seq"] for line in out] == [published[3]["seq"],
                                                         published[4]["seq"]]


def test_tail_reports_reset_and_gap_on_stderr(capsys, data_dir: Path) -> None:
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                                      journal_retention=10, backlog=10))
    srv.start()
    try:
        with RealtimeClient(srv.url, srv.owner_token) as client:
            events = client.publish_many([{"event_type": f"e{n}"} for n in range(250)])
        code, out, err = run(capsys, "--data-dir", str(data_dir), "tail",
                             "--last-event-id", "1", "--count", "1")
        assert code == 0
        gap = json.loads(next(line for line in err if line.startswith("{")))
        oldest = events[-1]["seq"] - 199
        assert gap == {"kind": "gap", "from_seq": 2, "to_seq": oldest - 1,
                       "missed": oldest - 2, "reason": "retention"}
        assert json.loads(out[0])["seq"] == oldest

        code, out, err = run(capsys, "--data-dir", str(data_dir), "tail",
                             "--last-event-id", "999999", "--count", "1")
        assert code == 0
        reset = json.loads(next(line for line in err if line.startswith("{")))
        assert reset == {"kind": "reset", "last_event_id": 999999,
                         "server_seq": events[-1]["seq"], "reason": "ahead"}
    finally:
        srv.stop()


def test_tail_with_a_refused_token_exits_1(capsys, server: RealtimeServer) -> None:
    code, out, err = run(capsys, "--url", server.url, "--token", "wrong", "tail")
    assert code == 1 and out == []
    assert_one_error_line(err, "authentication required (HTTP 401)")


def test_serve_on_a_busy_port_is_one_line(capsys, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run(capsys, "serve", "--port", str(port),
                             "--data-dir", str(tmp_path / "d"))
    assert code == 1 and out == []
    assert_one_error_line(err, f"port {port}", "already in use")


# --------------------------------------------------------- as real processes
class Proc:
    """A child process whose stdout and stderr lines arrive on queues."""

    def __init__(self, *argv: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "lattice_rt_core.cli", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.err_lines: list[str] = []
        assert self.popen.stdout is not None and self.popen.stderr is not None
        self.pumps = [
            threading.Thread(target=self._pump, args=(pipe, q), daemon=True)
            for pipe, q in ((self.popen.stdout, self.out), (self.popen.stderr, self.err))
        ]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(pipe: IO[str], q: queue.Queue[str]) -> None:
        for line in pipe:
            q.put(line.rstrip("\n"))

    def line(self) -> str:
        return self.out.get(timeout=WAIT)

    def wait_err(self, fragment: str) -> str:
        while True:
            line = self.err.get(timeout=WAIT)
            self.err_lines.append(line)
            if fragment in line:
                return line

    def finish(self) -> int:
        code = self.popen.wait(timeout=WAIT)
        for pump in self.pumps:
            pump.join(WAIT)  # everything the child wrote is queued
        while not self.err.empty():
            self.err_lines.append(self.err.get())
        return code

    def kill(self) -> None:
        """End the child if it still runs and release its pipes."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        for pump in self.pumps:
            pump.join(WAIT)  # EOF once the child is gone
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.kill()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_and_tail_as_processes(
    procs: list[Proc], tmp_path: Path, stop_signal: signal.Signals
) -> None:
    data = str(tmp_path / "data")
    serve = Proc("serve", "--port", "0", "--data-dir", data)
    procs.append(serve)
    first = serve.line()
    assert first.startswith(f"lattice-rt {__version__} serving http://127.0.0.1:")
    url = first.rsplit(" ", 1)[1]
    info: dict[str, Any] = json.loads((Path(data) / "server.json").read_text())
    assert info["url"] == url and info["pid"] == serve.popen.pid and info["auth"] is True

    tail = Proc("tail", "--count", "2", "--data-dir", data)
    procs.append(tail)
    tail.wait_err("connected to")
    with RealtimeClient(*_local(data)) as client:
        published = [client.publish("workflow", "workflow_run", {"n": n}) for n in range(2)]
    assert [json.loads(tail.line()) for _ in range(2)] == published
    assert tail.finish() == 0

    live = Proc("tail", "--data-dir", data)  # no --count: runs until a signal
    procs.append(live)
    live.wait_err("connected to")
    live.popen.send_signal(stop_signal)
    assert live.finish() == 0

    serve.popen.send_signal(stop_signal)
    assert serve.finish() == 0
    assert not (Path(data) / "server.json").exists()
    assert "lattice-rt: stopped" in serve.err_lines
    assert not any("Traceback" in line for p in procs for line in p.err_lines)


def _local(data: str) -> tuple[str, str | None]:
    from lattice_rt_core.client import discover

    return discover(data)


def test_serve_no_auth_warns_loudly(procs: list[Proc], tmp_path: Path) -> None:
    serve = Proc("serve", "--port", "0", "--no-auth", "--data-dir", str(tmp_path / "d"))
    procs.append(serve)
    url = serve.line().rsplit(" ", 1)[1]
    assert "WARNING" in serve.wait_err("authentication is disabled")
    with RealtimeClient(url) as client:
        assert client.publish("a", "b")["actor"] == ""
