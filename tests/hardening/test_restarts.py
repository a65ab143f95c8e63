"""Restarts and crashes: kill -9 mid-burst, retention, a replaced data dir, bad environments.

Servers run as ``lattice-rt serve`` child processes where the process boundary
matters (kill -9, what a person sees on the terminal), in-process otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.auth.callers import Authenticator
from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.engines.local.bus import RealtimeBus
from lattice_rt_core.engines.local.engine import LocalEngine
from lattice_rt_core.engines.local.journal import RESERVE_BLOCK, Journal
from lattice_rt_core.http.app import create_app
from lattice_rt_core.net.api import ClientState
from lattice_rt_core.net.backoff import Backoff
from lattice_rt_core.paths import database_path, read_owner_token
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.hardening.helpers import WAIT, ServeProcess, add_users, bearer, sse_reader, wait_for


class Recorder:
    """What a RealtimeClient delivered, and when it was connected."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.gaps: list[dict[str, object]] = []
        self.resets: list[dict[str, object]] = []
        self.connected = threading.Event()

    def client(self, url: str, token: str | None, last_event_id: int | None = None
               ) -> RealtimeClient:
        return RealtimeClient(
            url, token, last_event_id=last_event_id,
            on_event=lambda e: self.seqs.append(int(e["seq"])),
            on_gap=self.gaps.append,
            on_reset=self.resets.append,
            on_state=self._state,
            backoff=Backoff(initial=0.05, maximum=0.5),  # the server's retry: 3 s still applies
        )

    def _state(self, state: ClientState, detail: str) -> None:
        if state is ClientState.CONNECTED:
            self.connected.set()
        else:
            self.connected.clear()


def _journal_seqs(data_dir: Path) -> list[int]:
    conn = sqlite3.connect(database_path(data_dir))
    try:
        return [int(r[0]) for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    finally:
        conn.close()


# ------------------------------------------------------------------ kill -9
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_kill_9_during_a_publish_burst_loses_nothing_acknowledged(tmp_path: Path) -> None:
    # end to end; whether a mutation is caught here depends on where the kill
    # lands (killing right after an answer makes "answered before durable"
    # likely to show), so the two orderings are also pinned deterministically
    # below with a journal whose commits the test holds back
    data = tmp_path / "data"
    args = ("--data-dir", str(data), "--retention", "100000", "--heartbeat", "1")
    serve = ServeProcess("--port", "0", *args)
    again: ServeProcess | None = None
    rec = Recorder()
    try:
        url = serve.url()
        token = read_owner_token(data)
        client = rec.client(url, token)
        client.start()
        assert rec.connected.wait(WAIT)

        acked: list[int] = []
        lock = threading.Lock()
        enough = threading.Event()

        def publisher(k: int) -> None:
            killer = k == 0
            with httpx.Client(base_url=url, headers=bearer(token), timeout=WAIT) as http:
                for n in range(10**6):
                    batch = [{"area": "burst", "payload": {"k": k, "n": n, "i": i}}
                             for i in range(20)]
                    try:
                        r = http.post("/realtime/events", json=batch)
                    except httpx.HTTPError:
                        return  # the server died under us: this batch was never acknowledged
                    assert r.status_code == 200, r.text
                    with lock:
                        acked.extend(e["seq"] for e in r.json()["events"])
                        if killer and len(acked) >= 2000:
                            # the moment an answer arrives: the other publishers are mid-burst
                            serve.popen.send_signal(signal.SIGKILL)
                            enough.set()

        publishers = [threading.Thread(target=publisher, args=(k,)) for k in range(3)]
        for t in publishers:
            t.start()
        assert enough.wait(WAIT)
        assert serve.finish() == -signal.SIGKILL
        for t in publishers:
            t.join(WAIT)
        assert not any(t.is_alive() for t in publishers)
        seen_before = list(rec.seqs)

        port = url.rsplit(":", 1)[1]
        again = ServeProcess("--port", port, *args)
        assert again.url() == url  # same place: the client reconnects by itself
        durable = _journal_seqs(data)
        assert set(acked) <= set(durable)  # nothing acknowledged is missing
        assert durable == list(range(1, len(durable) + 1))
        r = httpx.post(url + "/realtime/events", headers=bearer(token), json={"payload": "after"})
        after = r.json()["events"][0]["seq"]
        # seq goes on above the reservation: whatever was handed out and never stored
        # (the batches in flight at the kill) is never handed out again
        assert durable[-1] < after <= durable[-1] + RESERVE_BLOCK + 1

        wait_for(lambda: rec.seqs and rec.seqs[-1] == after, "the client to resume and catch up")
        # no duplicate, no hole, in order; the unused seqs pass without a gap
        assert rec.seqs == [*range(1, durable[-1] + 1), after]
        assert rec.gaps == [] and rec.resets == []
        assert len(seen_before) < len(rec.seqs)  # some came only through the resume
        client.stop()
        client.close()
    finally:
        serve.close()
        if again is not None:
            again.popen.send_signal(signal.SIGTERM)
            assert again.finish() == 0
            again.close()
            assert not any("Traceback" in line for line in again.err), again.err


class HeldJournal(Journal):
    """A journal whose writer waits for the test before each commit."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()
        self.holding = threading.Event()

    def _write_pending(self) -> None:
        with self._cond:
            pending = [seq for seq, _, _ in self._pending]
        if pending:
            self.holding.set()
            assert self.release.wait(WAIT)
        super()._write_pending()


def test_an_event_is_visible_only_once_durable(tmp_path: Path) -> None:
    # fails without: "durable before visible" (publish making the seq visible
    # before journal.on_durable reports the commit)
    journal = HeldJournal(tmp_path / "j.sqlite")
    bus = RealtimeBus(journal=journal)

    async def scenario() -> None:
        sub = bus.subscribe(None)
        seq = bus.publish({"payload": "held"})["seq"]
        assert await asyncio.to_thread(journal.holding.wait, WAIT)
        assert bus.visible_seq == 0 and bus.collect(sub) == b"" and bus.recent() == []
        journal.release.set()
        await asyncio.to_thread(bus.flush)
        assert bus.visible_seq == seq and b"held" in bus.collect(sub)
        bus.unsubscribe(sub)

    try:
        asyncio.run(scenario())
    finally:
        journal.release.set()
        journal.close()


def test_a_publish_is_answered_only_once_durable(tmp_path: Path) -> None:
    # fails without: the `await waiter` in the local engine's publish_events (the answer would be
    # sent while the commit is still held back)
    journal = HeldJournal(tmp_path / "j.sqlite")
    bus = RealtimeBus(journal=journal)
    app = create_app(LocalEngine(bus),
                     Authenticator(owner_token="t", owner_user="o", accounts=None),
                     version="test")

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765",
                                     headers=bearer("t")) as client:
            post = asyncio.ensure_future(client.post("/realtime/events", json={"payload": 1}))
            assert await asyncio.to_thread(journal.holding.wait, WAIT)
            for _ in range(200):  # loop turns, not time: an unwaited answer needs a handful
                await asyncio.sleep(0)
            assert not post.done(), "answered before the commit"
            journal.release.set()
            response = await post
            # read when the answer arrives: the writer resolves the waiters only after it
            # has recorded the commit (its own "committed" log line may come later)
            durable_when_answered = journal.durable_seq
        assert response.status_code == 200
        assert durable_when_answered == 1

    try:
        asyncio.run(scenario())
    finally:
        journal.release.set()
        journal.close()


# ---------------------------------------------------------------- retention
def test_a_resume_past_retention_gets_one_gap_and_then_everything_retained(
    data_dir: Path,
) -> None:
    # fails without: the gap branch of Fanout.collect (the missing range
    # would be skipped silently)
    cfg = ServerConfig(port=0, data_dir=data_dir, journal_retention=50)
    srv = RealtimeServer(cfg)
    srv.start()
    for _ in range(4):
        r = httpx.post(srv.url + "/realtime/events", headers=bearer(srv.owner_token),
                       json=[{"payload": {}}] * 50)
        assert r.status_code == 200
    srv.stop()  # the journal keeps the last 50: 151..200
    srv = RealtimeServer(cfg)
    srv.start()
    try:
        h = bearer(srv.owner_token)
        for last, gap in ((10, (11, 150)), (149, (150, 150)), (150, None), (190, None)):
            with sse_reader(srv, h, {"last_event_id": last}) as frames:
                got = []
                for event, ident, data in frames:
                    got.append((event, int(ident), json.loads(data)))
                    if int(ident) == 200:
                        break
            if gap is None:
                assert [g[0] for g in got] == ["message"] * (200 - last)
            else:
                first, *rest = got
                assert first == ("gap", gap[1], {"from_seq": gap[0], "to_seq": gap[1],
                                                 "missed": gap[1] - gap[0] + 1,
                                                 "reason": "retention"})
                got = rest
            assert [g[1] for g in got] == list(range(max(last, 150) + 1, 201))
    finally:
        srv.stop()


def test_a_client_ahead_of_a_replaced_data_dir_gets_a_reset_then_the_new_events(
    tmp_path: Path,
) -> None:
    # fails without: the `last_event_id > self._seq` branch of RealtimeBus.subscribe
    first = RealtimeServer(ServerConfig(port=0, data_dir=tmp_path / "old"))
    first.start()
    port, token = first.port, first.owner_token
    r = httpx.post(first.url + "/realtime/events", headers=bearer(token),
                   json=[{"payload": {}}] * 30)
    assert r.status_code == 200
    rec = Recorder()
    client = rec.client(first.url, token, last_event_id=20)
    client.start()
    wait_for(lambda: rec.seqs[-1:] == [30], "the client to catch up")
    first.stop()
    # the data dir is replaced (restored from elsewhere, or deleted): seq starts again
    (tmp_path / "new").mkdir(mode=0o700)
    shutil.copy(tmp_path / "old" / "owner.token", tmp_path / "new" / "owner.token")
    second = RealtimeServer(ServerConfig(port=port, data_dir=tmp_path / "new"))
    second.start()
    try:
        wait_for(lambda: rec.resets, "the reset")
        assert rec.resets == [{"last_event_id": 30, "server_seq": 0, "reason": "ahead"}]
        assert rec.connected.wait(WAIT)
        r = httpx.post(second.url + "/realtime/events", headers=bearer(token), json={})
        assert r.json()["events"][0]["seq"] == 1
        wait_for(lambda: rec.seqs[-1:] == [1], "the new server's first event")
        assert rec.seqs == [*range(21, 31), 1] and client.last_event_id == 1
        assert rec.gaps == []
    finally:
        client.close()
        second.stop()


# ------------------------------------------------------- bad environments
def _one_error_line(proc: ServeProcess, *fragments: str) -> None:
    assert proc.finish() == 1
    assert proc.stdout_lines() == []
    assert len(proc.err) == 1, proc.err
    assert proc.err[0].startswith("lattice-rt: error: ")
    for fragment in fragments:
        assert fragment in proc.err[0], proc.err


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = ServeProcess("--port", str(port), "--data-dir", str(tmp_path / "d"))
        try:
            _one_error_line(proc, f"port {port}", "already in use", "--port")
        finally:
            proc.close()


def test_serve_on_an_unusable_data_dir_says_so_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    proc = ServeProcess("--port", "0", "--data-dir", str(blocker))
    try:
        _one_error_line(proc, "cannot use data directory", str(blocker))
    finally:
        proc.close()


def test_serve_moves_a_corrupt_database_aside_and_starts_fresh(tmp_path: Path) -> None:
    # fails without: the JournalError branch of local_storage.open_journal
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    database_path(data).write_bytes(b"this is not SQLite " * 500)
    proc = ServeProcess("--port", "0", "--data-dir", str(data))
    try:
        url = proc.url()
        token = read_owner_token(data)
        r = httpx.post(url + "/realtime/events", headers=bearer(token), json={})
        assert r.status_code == 200 and r.json()["events"][0]["seq"] == 1
        aside = list(data.glob("lattice-rt.sqlite.corrupt-*"))
        assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not SQLite")
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.finish() == 0
        logged = [line for line in proc.err if "ERROR" in line]
        assert len(logged) == 1 and "moving it aside" in logged[0], proc.err
        assert not any("Traceback" in line for line in proc.err), proc.err
    finally:
        proc.close()


def _can_mount_read_only() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_read_only(), reason="needs `unshare --mount` (root)")
def test_serve_on_a_read_only_data_dir_warns_and_serves(tmp_path: Path) -> None:
    # fails without: the `self.read_only` branch in RealtimeServer.start (the
    # journal cannot be opened and the server refuses to start)
    data = tmp_path / "data"
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data))
    srv.start()
    r = httpx.post(srv.url + "/realtime/events", headers=bearer(srv.owner_token), json={})
    assert r.status_code == 200
    srv.stop()
    ann = add_users(data, {"ann": ["w"]})["ann"]
    token = read_owner_token(data)
    script = (f'mount --bind "{data}" "{data}" && mount -o remount,bind,ro "{data}" && '
              f'exec "{sys.executable}" -m lattice_rt_core.cli serve --port 0 '
              f'--data-dir "{data}"')
    proc = ServeProcess(command=["unshare", "--mount", "sh", "-c", script])
    try:
        url = proc.url()
        health = httpx.get(url + "/realtime/health", headers=bearer(token)).json()
        assert health["stats"]["journal"] == "off"
        r = httpx.post(url + "/realtime/events", headers=bearer(ann), json={"workspace_id": "w"})
        assert r.status_code == 200 and r.json()["events"][0]["actor"] == "ann"
        # the accounts can be read, not changed: one line, not a 500
        admin = url + "/realtime/admin/users"
        assert httpx.get(admin, headers=bearer(token)).json() == {
            "users": [{"user": "ann", "workspaces": ["w"]}]}
        r = httpx.post(admin + "/add", headers=bearer(token), json={"user": "bob"})
        assert r.status_code == 503
        assert r.json()["error"].startswith("the accounts cannot be changed: ")
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.finish() == 0
        warnings = [line for line in proc.err if "read-only" in line]
        assert len(warnings) == 1 and "WARNING" in warnings[0], proc.err
        assert not any("Traceback" in line for line in proc.err), proc.err
    finally:
        proc.close()
    assert _journal_seqs(data) == [1]  # nothing was written while it was read-only


def test_a_damaged_database_is_moved_aside_and_a_new_one_started(tmp_path: Path) -> None:
    # a valid header but broken pages: only SQLite's own check sees it
    # fails without: `journal.check()` in local_storage._checked_journal (the
    # damage surfaces later, as a failed start or a degraded journal)
    data = tmp_path / "data"
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data, journal_retention=10_000))
    srv.start()
    for _ in range(6):
        r = httpx.post(srv.url + "/realtime/events", headers=bearer(srv.owner_token),
                       json=[{"payload": "y" * 100}] * 500)
        assert r.status_code == 200
    srv.stop()
    with open(database_path(data), "r+b") as db:
        db.seek(4096 * 3)
        db.write(b"\xff" * 4096 * 2)
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data, journal_retention=10_000))
    srv.start()
    try:
        assert list(data.glob("lattice-rt.sqlite.corrupt-*"))
        r = httpx.post(srv.url + "/realtime/events", headers=bearer(srv.owner_token), json={})
        assert r.json()["events"][0]["seq"] == 1
        health = httpx.get(srv.url + "/realtime/health", headers=bearer(srv.owner_token)).json()
        assert health["stats"]["journal"] == "ok"
    finally:
        srv.stop()


@pytest.mark.skipif(not _can_mount_read_only(), reason="needs `unshare --mount` (root)")
def test_a_database_that_cannot_be_written_is_left_alone_with_a_one_line_reason(
    tmp_path: Path,
) -> None:
    # the file is read-only, its directory is not: nothing is moved aside or
    # rewritten, and the person gets one line instead of "unexpected JournalError"
    # fails without: the `except JournalError` around RealtimeBus(...) in
    # RealtimeServer.start (and, were SQLite to refuse at open, the
    # `if not exc.corrupt` in open_journal keeps a healthy file from being renamed)
    data = tmp_path / "data"
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data))
    srv.start()
    srv.stop()
    db = database_path(data)
    before = db.read_bytes()
    script = (f'mount --bind "{db}" "{db}" && mount -o remount,bind,ro "{db}" && '
              f'exec "{sys.executable}" -m lattice_rt_core.cli serve --port 0 '
              f'--data-dir "{data}"')
    proc = ServeProcess(command=["unshare", "--mount", "sh", "-c", script])
    try:
        _one_error_line(proc, "cannot open the journal", "readonly")
    finally:
        proc.close()
    assert db.read_bytes() == before and not list(data.glob("*.corrupt-*"))


def test_a_resume_across_rows_the_journal_lost_gets_a_gap_then_everything_live_included(
    data_dir: Path,
) -> None:
    # fails without: Fanout._missing and its branch in Fanout.collect (issue 20, item 4:
    # with 8..12 missing, a stream resuming from 5 got 6 and 7, then nothing, ever)
    cfg = ServerConfig(port=0, data_dir=data_dir)
    srv = RealtimeServer(cfg)
    srv.start()
    r = httpx.post(srv.url + "/realtime/events", headers=bearer(srv.owner_token),
                   json=[{"payload": {"i": i}} for i in range(20)])
    assert r.status_code == 200
    srv.stop()
    # writes lost on a full disk: rows 8..12 never reached the journal, and the last
    # seq the server handed out (meta) is beyond its last row
    with sqlite3.connect(database_path(data_dir)) as conn:
        conn.execute("DELETE FROM events WHERE seq BETWEEN 8 AND 12 OR seq >= 19")
        conn.execute("UPDATE meta SET value = '20' WHERE key = 'last_seq'")
    srv = RealtimeServer(cfg)
    srv.start()
    try:
        assert srv.bus is not None and srv.bus.last_seq == 20
        with sse_reader(srv, bearer(srv.owner_token), {"last_event_id": 5}) as frames:
            got: list[tuple[str, int, dict[str, object]]] = []
            for event, ident, data in frames:
                got.append((event, int(ident), json.loads(data)))
                if int(ident) == 18:
                    srv.bus.publish({"area": "live"})  # seq 21: live, after the holes
                if int(ident) == 21:
                    break
        assert got[:2] == [("message", 6, got[0][2]), ("message", 7, got[1][2])]
        assert got[2] == ("gap", 12, {"from_seq": 8, "to_seq": 12, "missed": 5,
                                      "reason": "lost"})
        assert [g[1] for g in got[3:9]] == list(range(13, 19))
        assert got[9] == ("gap", 20, {"from_seq": 19, "to_seq": 20, "missed": 2,
                                      "reason": "lost"})
        assert got[10][:2] == ("message", 21) and got[10][2]["area"] == "live"
        assert len(got) == 11
    finally:
        srv.stop()
