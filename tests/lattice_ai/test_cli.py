"""``lattice-rt`` against the real Lattice AI server: tail, feed, presence, login.

Events come from real user actions through the server's own API (a workflow
created and run); what ``tail`` prints is compared with what the server says
happened (its feed), so a replay shown twice, out of order or dropped after a
restart fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.lattice_ai.server import LatticeServer

EMAIL, PASSWORD = "ada@example.org", "correct horse 42"


def cli(*args: str, data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATTICE_RT_")}
    return subprocess.run([sys.executable, "-m", "lattice_rt_core.cli", "--data-dir",
                           str(data_dir), *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env=env)


class Tail:
    """``lattice-rt tail`` in the background; its lines as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self.changed = threading.Condition()
        self.readers = [
            threading.Thread(target=self._read, args=(proc.stdout, self.events, True),
                             daemon=True),
            threading.Thread(target=self._read, args=(proc.stderr, self.stderr, False),
                             daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        for reader in self.readers:
            reader.join(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def _read(self, stream: Any, into: list[Any], parse: bool) -> None:
        for line in stream:
            with self.changed:
                into.append(json.loads(line) if parse else line.rstrip("\n"))
                self.changed.notify_all()

    def wait(self, predicate: Any, timeout: float = 30.0) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), (self.events, self.stderr)


@contextmanager
def tailing(url: str, data_dir: Path, *args: str) -> Iterator[Tail]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATTICE_RT_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lattice_rt_core.cli", "--data-dir", str(data_dir), "--url",
         url, "tail", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**env,
                                                                         "PYTHONUNBUFFERED": "1"})
    tail = Tail(proc)
    try:
        yield tail
    finally:
        tail.close()


def keys(events: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(e["seq"], e["event_type"]) for e in events]


def test_tail_shows_each_event_once_in_order_across_reconnects_and_a_restart(
        lattice: LatticeServer, tmp_path: Path) -> None:
    workflow = lattice.create_workflow("Nightly import")
    lattice.run_workflow(workflow)  # history before the tail starts: replayed newest first
    lattice.wait_for(lambda: any(e["event_type"] == "workflow_run" for e in lattice.feed()))
    with tailing(lattice.url, tmp_path) as tail:
        before = sorted(lattice.feed(), key=lambda e: e["seq"])
        tail.wait(lambda: len(tail.events) >= len(before))
        assert keys(tail.events) == keys(before)  # oldest first, not the server's newest first

        lattice.join("someone-else")  # live
        tail.wait(lambda: tail.events[-1]["event_type"] == "join")
        seen = len(tail.events)

        lattice.restart()  # seq starts at 1 again; the stream drops and comes back
        lattice.run_workflow(workflow)
        lattice.wait_for(lambda: any(e["event_type"] == "workflow_run" for e in lattice.feed()))
        after = sorted(lattice.feed(), key=lambda e: e["seq"])
        tail.wait(lambda: len(tail.events) >= seen + len(after))
        assert keys(tail.events[seen:]) == keys(after)  # new events, not "already seen"
        assert after[0]["seq"] == 1
        tail.wait(lambda: any('"kind":"reset"' in line and '"reason":"restart"' in line
                              for line in tail.stderr))
    assert len(keys(tail.events)) == len(set(map(json.dumps, tail.events)))  # nothing twice


def test_feed_and_presence_read_the_server_and_what_it_lacks_is_said(
        lattice: LatticeServer, tmp_path: Path) -> None:
    lattice.join("grace-laptop")
    feed = cli("--url", lattice.url, "feed", data_dir=tmp_path)
    assert feed.returncode == 0, feed.stderr
    assert [json.loads(line)["event_type"] for line in feed.stdout.splitlines()][-1] == "join"
    presence = cli("--url", lattice.url, "presence", data_dir=tmp_path)
    assert presence.returncode == 0, presence.stderr
    assert [json.loads(line)["client_id"] for line in presence.stdout.splitlines()] == [
        "grace-laptop"]

    publish = cli("--url", lattice.url, "publish", "workflow", "workflow_run", data_dir=tmp_path)
    assert (publish.returncode, publish.stderr.strip()) == (1, (
        "lattice-rt: error: this server takes no events (it has no publish route, like the "
        "Lattice AI server)"))
    status = cli("--url", lattice.url, "status", "grace-laptop", "away", data_dir=tmp_path)
    assert (status.returncode, status.stderr.strip()) == (1, (
        "lattice-rt: error: this server keeps no status (it has no status route, like the "
        "Lattice AI server)"))
    assert_missing_routes_are_said(lattice.url, tmp_path)


#: a command the server has no route for -> what the CLI says (fails without
#: ApiRequests.missing_route on launch and the admin routes, and hello() for "me": a bare
#: "Not Found (HTTP 404)")
MISSING_ROUTES = {
    ("status", "me", "away"): "this server keeps no status (it has no status route, like the "
                              "Lattice AI server)",
    ("open",): "this server has no activity page (it has no launch route, like the Lattice AI "
               "server)",
    ("user", "list"): "this server has no accounts of lattice-rt's (it has no admin routes, like "
                      "the Lattice AI server)",
    ("user", "remove", "ann"): "this server has no accounts of lattice-rt's (it has no admin "
                               "routes, like the Lattice AI server)",
}


def assert_missing_routes_are_said(url: str, data_dir: Path) -> None:
    for command, said in MISSING_ROUTES.items():
        out = cli("--url", url, *command, data_dir=data_dir)
        assert (out.returncode, out.stderr.strip()) == (1, f"lattice-rt: error: {said}"), command


def test_a_server_without_health_or_ids_says_what_it_lacks(tmp_path: Path) -> None:
    from tests.lattice_ai.native_host import NativeHost

    with NativeHost() as host:
        host.publish("join", {"client_id": "grace-laptop", "user": None})
        feed = cli("--url", host.url, "feed", data_dir=tmp_path)
        assert feed.returncode == 0, feed.stderr
        assert [json.loads(line)["event_type"] for line in feed.stdout.splitlines()] == ["join"]
        assert_missing_routes_are_said(host.url, tmp_path)


def test_login_keeps_the_session_for_that_url_and_later_commands_use_it(
        lattice_auth: LatticeServer, tmp_path: Path) -> None:
    server = lattice_auth
    server.register(EMAIL, PASSWORD)
    refused = cli("--url", server.url, "feed", data_dir=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"lattice-rt: error: {server.url} needs a token (HTTP 401)")

    wrong = cli("--url", server.url, "login", "--email", EMAIL, data_dir=tmp_path,
                stdin="not the password\n")
    assert wrong.returncode == 1 and "(HTTP 401)" in wrong.stderr
    login = cli("--url", server.url, "login", "--email", EMAIL, data_dir=tmp_path,
                stdin=PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    assert f"signed in to {server.url} as {EMAIL}" in login.stderr
    kept = json.loads((tmp_path / "logins.json").read_text())
    assert list(kept) == [server.url] and PASSWORD not in json.dumps(kept)
    assert (tmp_path / "logins.json").stat().st_mode & 0o777 == 0o600

    server.join("ada-laptop", token=kept[server.url])
    feed = cli("--url", server.url, "feed", data_dir=tmp_path)
    assert feed.returncode == 0, feed.stderr
    assert any(json.loads(line)["event_type"] == "join" for line in feed.stdout.splitlines())

    logout = cli("--url", server.url, "logout", data_dir=tmp_path)
    assert logout.returncode == 0
    assert json.loads((tmp_path / "logins.json").read_text()) == {}


@pytest.fixture
def no_realtime(tmp_path: Path) -> Iterator[str]:
    """A web server with none of the realtime routes (as ltcai 11.6 and later)."""
    import http.server

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"detail":"Not Found"}')

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_server_without_realtime_is_said_once_and_tail_exits_1(no_realtime: str,
                                                                  tmp_path: Path) -> None:
    tail = cli("--url", no_realtime, "tail", data_dir=tmp_path)
    assert tail.returncode == 1
    assert tail.stderr.strip().splitlines()[-1] == (
        "lattice-rt: error: this server has no realtime API (Lattice AI 11.6 and later moved it)")


def test_a_stream_that_ends_after_its_replay_is_followed_without_duplicates(
        tmp_path: Path) -> None:
    """The native host replays and then ends the stream: each event once, no tight loop."""
    from tests.lattice_ai.native_host import NativeHost

    with NativeHost() as host:
        for name in ("a", "b", "c"):
            host.publish("join", {"client_id": name, "user": None})
        with tailing(host.url, tmp_path) as tail:
            tail.wait(lambda: len(tail.events) == 3)
            assert [e["payload"]["client_id"] for e in tail.events] == ["a", "b", "c"]
            # the stream ended: the client waits before asking again, not at once
            tail.wait(lambda: any("the server closed the stream; retrying in 5.0 s" in line
                                  for line in tail.stderr))
            host.publish("leave", {"client_id": "a"})
            tail.wait(lambda: len(tail.events) == 4 and host.streams >= 2)
            assert tail.events[-1]["event_type"] == "leave"
            opened = host.streams
            tail.wait(lambda: host.streams > opened)  # it keeps following...
        assert len(tail.events) == 4  # ...and the replays it got again were not shown again
