"""A full disk under a real ``lattice-rt serve``: a 2 MiB tmpfs, a filler file, restarts.

What must hold (issue 20, item 5): a publish the disk refuses is answered
"not published" and never reaches a stream; the first one after space came
back is answered as what it is (stored); no seq a client saw or was answered
is handed out again, after a clean restart or a kill -9; a publish retried
under its ``Idempotency-Key`` is stored once. The journal-level faults are
tests/core/engines/local/test_full_disk.py.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.api import ClientState
from lattice_rt_core.net.backoff import Backoff
from lattice_rt_core.paths import read_owner_token
from tests.hardening.helpers import WAIT, ServeProcess, bearer, wait_for

_CHUNK = b"\0" * 16384


def _mount_problem(where: Path) -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    probe = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot mount a tmpfs here: {probe.stderr.strip() or probe.returncode}"
    return None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of its own (skipped, with the reason, where it cannot be mounted)."""
    where = tmp_path / "disk"
    where.mkdir()
    problem = _mount_problem(where)
    if problem is not None:
        pytest.skip(problem)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(path: Path) -> None:
    """Write ``path`` until the file system has no byte left."""
    with open(path, "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(_CHUNK)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    with open(path, "ab", buffering=0) as filler:  # the last partial block, too
        try:
            while True:
                filler.write(b"\0")
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


class Seen:
    """Everything a RealtimeClient got across the whole run (it reconnects and resumes)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.gaps: list[dict[str, object]] = []
        self.connected = threading.Event()

    def client(self, url: str, token: str) -> RealtimeClient:
        return RealtimeClient(
            url, token, on_event=self.events.append, on_gap=self.gaps.append,
            on_state=self._state, backoff=Backoff(initial=0.05, maximum=0.5),
        )

    def _state(self, state: ClientState, detail: str) -> None:
        if state is ClientState.CONNECTED:
            self.connected.set()

    def seqs(self) -> list[int]:
        return [int(e["seq"]) for e in list(self.events)]

    def tags(self) -> set[object]:
        return {e["payload"].get("n") for e in list(self.events) if isinstance(e["payload"], dict)}


@pytest.mark.parametrize("restart", ["clean", "kill"])
def test_a_full_disk_refuses_unseen_answers_truly_and_never_reuses_a_seq(
    small_disk: Path, restart: str
) -> None:
    # fails without: the refusal path of the journal writer (refused events were
    # delivered), durable() per batch (the first publish after space came back was
    # a 503 although stored) and the reservation (a seq seen before the restart was
    # handed out again to another event)
    data = small_disk / "data"
    args = ("--data-dir", str(data), "--heartbeat", "1", "--retention", "100000")
    serve = ServeProcess("--port", "0", *args)
    again: ServeProcess | None = None
    seen = Seen()
    client: RealtimeClient | None = None
    try:
        url = serve.url()
        token = read_owner_token(data)
        client = seen.client(url, token)
        client.start()
        assert seen.connected.wait(WAIT)
        http = httpx.Client(base_url=url, headers=bearer(token), timeout=WAIT)

        def publish(n: int, key: str | None = None) -> httpx.Response:
            headers = {"Idempotency-Key": key} if key else {}
            return http.post("/realtime/events", headers=headers,
                             json=[{"area": "fill", "payload": {"n": n, "pad": "x" * 3000}}])

        answered: dict[int, int] = {}  # n -> seq, for every publish answered 200
        refused: list[int] = []
        for n in range(3):
            r = publish(n)
            assert r.status_code == 200, r.text[:300]
            answered[n] = r.json()["events"][0]["seq"]

        fill(small_disk / "filler")
        n = 3
        while len(refused) < 5:  # the WAL may take a few more before the disk says no
            assert n < 2000, "the full disk never refused a publish"
            r = publish(n)
            if r.status_code == 200:
                answered[n] = r.json()["events"][0]["seq"]
            else:
                assert r.status_code == 503, r.text[:300]
                error = r.json()["error"]
                assert error.startswith("not published: the journal cannot write ("), error
                assert "full" in error, error
                refused.append(n)
            n += 1
        health = http.get("/realtime/health").json()
        assert health["status"] == "degraded" and health["stats"]["journal"] == "degraded"

        (small_disk / "filler").unlink()  # space is back
        first_after = publish(n)
        assert first_after.status_code == 200, first_after.text  # stored, and answered so
        answered[n] = first_after.json()["events"][0]["seq"]
        keyed = publish(n + 1, key="deploy-1")
        assert keyed.status_code == 200
        answered[n + 1] = keyed.json()["events"][0]["seq"]
        assert http.get("/realtime/health").json()["status"] == "ok"

        last = max(answered.values())
        wait_for(lambda: seen.seqs() and seen.seqs()[-1] == last, "the stream to show the last")
        assert not seen.tags() & set(refused)  # nothing refused was delivered
        assert {n: s for n, s in answered.items()} == {
            e["payload"]["n"]: e["seq"] for e in seen.events}
        before = seen.seqs()

        if restart == "clean":
            serve.popen.send_signal(signal.SIGTERM)
            assert serve.finish() == 0
        else:
            serve.popen.send_signal(signal.SIGKILL)
            assert serve.finish() == -signal.SIGKILL
        port = url.rsplit(":", 1)[1]
        again = ServeProcess("--port", port, *args)
        assert again.url() == url

        retried = publish(n + 1, key="deploy-1")  # the answer was lost: the client retries
        assert retried.status_code == 200 and retried.json() == keyed.json()
        after = publish(n + 2)
        assert after.status_code == 200, after.text
        new_seq = after.json()["events"][0]["seq"]
        assert new_seq > last  # never a seq the stream or an answer showed before
        wait_for(lambda: seen.seqs()[-1] == new_seq, "the stream to resume and show it")
        assert seen.seqs() == [*before, new_seq]  # one copy of each, in order
        assert seen.gaps == [] and not seen.tags() & set(refused)
        feed = http.get("/realtime/feed", params={"limit": 200}).json()["events"]
        assert [e["payload"]["n"] for e in feed].count(n + 1) == 1
        http.close()
    finally:
        if client is not None:
            client.stop()
            client.close()
        serve.close()
        if again is not None:
            again.popen.send_signal(signal.SIGTERM)
            assert again.finish() == 0
            again.close()
            assert not any("Traceback" in line for line in again.err), again.err
    assert not any("Traceback" in line for line in serve.err), serve.err
