"""The lattice-rt command line: in-process through main(), and as real processes."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net import browser
from lattice_rt_core.server import RealtimeServer, ServerConfig
from lattice_rt_core.version import __version__
from tests.core.cli_helpers import Proc, assert_one_error_line, run


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LATTICE_RT_URL", "LATTICE_RT_TOKEN", "LATTICE_RT_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LATTICE_RT_DATA_DIR", str(tmp_path / "not-used"))


# ------------------------------------------------------------------- basics
def test_version(capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, [f"lattice-rt {__version__}"])


def test_a_command_is_required(capsys) -> None:
    code, out, err = run(capsys)
    assert code == 2 and out == []
    assert err == ["lattice-rt: error: a command is required (see lattice-rt --help)"]


def test_a_subcommand_usage_error_points_to_its_own_help(capsys) -> None:
    code, _, err = run(capsys, "user", "add")
    assert code == 2
    assert err == ["lattice-rt user add: error: the following arguments are required: name "
                   "(see lattice-rt user add --help)"]


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
        (["user", "grant", "ada"], "the following arguments are required: --workspace"),
        (["serve", "--trust-proxy", "proxy.lan"], "not an IP address or network"),
        (["serve", "--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
        (["status", "c1", "busy"], "invalid choice: 'busy'"),
        (["status", "c1"], "the following arguments are required: STATUS"),
    ],
)
def test_usage_errors_exit_2_with_one_line(capsys, argv: list[str], fragment: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == []
    assert len(err) == 1, err  # no usage block
    assert_one_error_line(err, fragment)
    assert err[0].endswith(" --help)")


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


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("127.0.0.1:8765", "must start with http:// or https://"),
        ("http://256.1.1.1:1", "Invalid IPv4 address"),
        ("http://team:99999", "port 99999 is not a TCP port"),
        ("http://", "no valid host name"),
    ],
)
def test_a_bad_url_is_one_line_and_a_usage_error(capsys, url: str, fragment: str) -> None:
    code, _, err = run(capsys, "--url", url, "feed")
    assert code == 2 and len(err) == 1
    assert_one_error_line(err, fragment)


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
    code, out, err = run(capsys, "--data-dir", data, "presence")
    assert code == 0
    assert [json.loads(line)["client_id"] for line in out] == [entry["client_id"]]
    assert err == ["lattice-rt: 1 person online in 1 workspace"]


def test_publish_with_the_same_idempotency_key_publishes_once(
    capsys, server: RealtimeServer
) -> None:
    data = str(server.data_dir)
    answers = []
    for _ in range(2):  # a script that ran again after a failure it could not read
        code, out, _ = run(capsys, "--data-dir", data, "publish", "deploy", "done",
                           "--idempotency-key", "release-1.4")
        assert code == 0
        answers.append(json.loads(out[0]))
    assert answers[0] == answers[1] and answers[0]["seq"] == 1
    code, out, _ = run(capsys, "--data-dir", data, "feed")
    assert [json.loads(line)["seq"] for line in out] == [1]
    code, _, err = run(capsys, "--data-dir", data, "publish", "deploy", "other",
                       "--idempotency-key", "release-1.4")
    assert code == 1
    assert_one_error_line(err, "this Idempotency-Key was used for a different publish")


def test_presence_counts_people_not_entries(capsys, server: RealtimeServer) -> None:
    data = str(server.data_dir)
    code, out, err = run(capsys, "--data-dir", data, "presence")
    assert (code, out, err) == (0, [], ["lattice-rt: Nobody is online"])
    with RealtimeClient(server.url, server.owner_token) as joiner:
        joiner.join(workspace_id="ws1", display_name="Ada")
        joiner.join(workspace_id="ws2", display_name="Ada")  # Ada's second workspace
        joiner.join(workspace_id="ws1", display_name="Grace")
        joiner.join(display_name="Linus")  # no workspace: a person, not a workspace
    code, out, err = run(capsys, "--data-dir", data, "presence")
    assert code == 0 and len(out) == 4  # every entry is still a JSON line on stdout
    assert err == ["lattice-rt: 3 people online in 2 workspaces"]
    with RealtimeClient(server.url, server.owner_token) as joiner:
        joiner.join(workspace_id="ws1", display_name="Barbara", status="away")
    code, out, err = run(capsys, "--data-dir", data, "presence")
    # the words of the tray app and the page: online is present and not away
    assert err == ["lattice-rt: 3 people online in 2 workspaces · 1 away"]


def test_status_takes_a_persons_name_or_me(capsys, server: RealtimeServer) -> None:
    """Seen in a trial: `lattice-rt status` needed ids like 303b8c1717035b16:-."""
    from lattice_rt_core.net.admin import RemoteAccounts

    data = str(server.data_dir)
    with RealtimeClient(server.url, server.owner_token) as owner:
        ada_token = RemoteAccounts(owner).add_user("ada", ["ws1", "ws2"])
        owner.join(workspace_id="ws1", client_id="linus-1", display_name="Linus")
    with RealtimeClient(server.url, ada_token) as ada:
        for ws in ("ws1", "ws2"):  # one person, two workspaces: two entries
            ada.join(workspace_id=ws, client_id=f"ada-{ws}", display_name="Ada Lovelace")

    def statuses() -> dict[str, str]:
        with RealtimeClient(server.url, server.owner_token) as owner:
            return {e["client_id"]: e["status"] for e in owner.presence()["presence"]}

    # by name, any case: every entry of that person, and nobody else's
    code, out, _ = run(capsys, "--data-dir", data, "status", "ada lovelace", "away")
    assert code == 0
    assert sorted(json.loads(line)["client_id"] for line in out) == ["ada-ws1", "ada-ws2"]
    assert statuses() == {"ada-ws1": "away", "ada-ws2": "away", "linus-1": "active"}
    # "me": the entries of the token's own user
    code, out, _ = run(capsys, "--url", server.url, "--token", ada_token, "status", "me", "dnd")
    assert code == 0 and len(out) == 2
    assert statuses() == {"ada-ws1": "dnd", "ada-ws2": "dnd", "linus-1": "active"}
    # a client id still names one entry
    code, out, _ = run(capsys, "--data-dir", data, "status", "linus-1", "idle")
    assert code == 0 and [json.loads(line)["client_id"] for line in out] == ["linus-1"]
    with RealtimeClient(server.url, ada_token) as ada:
        ada.leave("ada-ws1")
        ada.leave("ada-ws2")
    code, out, err = run(capsys, "--url", server.url, "--token", ada_token, "status", "me",
                         "away")
    assert code == 1 and out == []
    assert_one_error_line(err, f"you (ada) have no presence entry on {server.url}")


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
    assert_one_error_line(err, f"nobody called 'nobody' is present on {server.url} (present: "
                               "Ada); give 'me', a person's name or a client_id")
    code, _, err = run(capsys, "--data-dir", data, "status", cid, "away", "--text", "x" * 101)
    assert code == 1
    assert_one_error_line(err, "'status_text' must be 1 to 100 characters (HTTP 422)")


def test_a_refused_token_names_the_server(capsys, server: RealtimeServer) -> None:
    code, _, err = run(capsys, "--url", server.url, "--token", "wrong", "feed")
    assert code == 1
    assert err == [f"lattice-rt: error: token refused by {server.url} (HTTP 401)"]


def test_the_owner_token_is_only_sent_to_the_local_server(
    capsys, server: RealtimeServer, tmp_path: Path
) -> None:
    """Another URL than server.json's gets no token, and the message says why."""
    other = RealtimeServer(ServerConfig(port=0, data_dir=tmp_path / "other"))
    other.start()
    try:
        code, _, err = run(capsys, "--data-dir", str(server.data_dir), "--url", other.url,
                           "feed")
        assert code == 1
        assert_one_error_line(
            err, f"{other.url} needs a token (HTTP 401): the local owner token is only sent "
            f"to {server.url} (server.json); give --token or set LATTICE_RT_TOKEN",
        )
        code, _, err = run(capsys, "--data-dir", str(tmp_path / "none"), "--url", other.url,
                           "feed")
        assert err == [f"lattice-rt: error: {other.url} needs a token (HTTP 401): give "
                       "--token or set LATTICE_RT_TOKEN"]
    finally:
        other.stop()


def test_other_server_errors_keep_the_servers_words(capsys, server: RealtimeServer) -> None:
    code, _, err = run(capsys, "--data-dir", str(server.data_dir), "publish", "a", "b",
                       "--payload", '{"x": "' + "y" * 70_000 + '"}')
    assert code == 1
    assert err == ["lattice-rt: error: event larger than 65536 bytes (HTTP 413)"]


def test_payload_from_a_file_and_from_stdin(
    capsys, monkeypatch: pytest.MonkeyPatch, server: RealtimeServer, tmp_path: Path
) -> None:
    big = {"text": "x" * 40_000, "n": 1}  # far past what fits comfortably on a command line
    (tmp_path / "payload.json").write_text(json.dumps(big))
    data = str(server.data_dir)
    code, out, _ = run(capsys, "--data-dir", data, "publish", "a", "b", "--payload",
                       f"@{tmp_path / 'payload.json'}")
    assert code == 0 and json.loads(out[0])["payload"] == big
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"from": "stdin"}'))
    code, out, _ = run(capsys, "--data-dir", data, "publish", "a", "b", "-p", "-")
    assert code == 0 and json.loads(out[0])["payload"] == {"from": "stdin"}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "No such file or directory"), ("[1]", "must be a JSON object"),
     ("{nope", "is not valid JSON")],
)
def test_a_bad_payload_file_is_a_usage_error(
    capsys, tmp_path: Path, content: str | None, fragment: str
) -> None:
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "publish", "a", "b", "--payload", f"@{path}")
    assert code == 2 and out == [] and len(err) == 1
    assert_one_error_line(err, str(path), fragment)


def test_open_starts_a_browser_on_a_one_time_link(
    capsys, monkeypatch: pytest.MonkeyPatch, server: RealtimeServer
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(browser, "open_browser", lambda url: opened.append(url))
    code, out, err = run(capsys, "--data-dir", str(server.data_dir), "open")
    assert code == 0 and out == []
    assert opened and opened[0].startswith(f"{server.url}/activity?code=")
    assert server.owner_token not in opened[0]
    assert err == ["lattice-rt: opened the activity page in your browser"]


def test_open_with_a_browser_that_fails_prints_the_link(
    capsys, monkeypatch: pytest.MonkeyPatch, server: RealtimeServer
) -> None:
    monkeypatch.setattr(browser, "open_browser", lambda url: "xdg-open exited with status 3")
    code, _, err = run(capsys, "--data-dir", str(server.data_dir), "open")
    assert code == 1
    assert err[0] == ("lattice-rt: could not open a browser (xdg-open exited with status 3); "
                      "open this one-time link within 60 s:")
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
    assert_one_error_line(err, f"token refused by {server.url} (HTTP 401)")


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
    from lattice_rt_core.net.discovery import discover

    return discover(data)


def test_serve_no_auth_warns_loudly(procs: list[Proc], tmp_path: Path) -> None:
    serve = Proc("serve", "--port", "0", "--no-auth", "--data-dir", str(tmp_path / "d"))
    procs.append(serve)
    url = serve.line().rsplit(" ", 1)[1]
    assert "WARNING" in serve.wait_err("authentication is disabled")
    with RealtimeClient(url) as client:
        assert client.publish("a", "b")["actor"] == ""
