"""A full disk at the journal and bus level: refused events, seq reservation, idempotency keys.

The disk is made "full" with temporary SQLite triggers on the writer's
connection (every insert fails the way SQLite fails on ENOSPC: the statement,
then the transaction); dropping them is space coming back. The end-to-end run
on a real tmpfs is tests/hardening/test_full_disk.py.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from lattice_rt_core.engines.base import Idempotency, IdempotencyConflict, NotPublished
from lattice_rt_core.engines.local.bus import RealtimeBus
from lattice_rt_core.engines.local.engine import LocalEngine
from lattice_rt_core.engines.local.journal import Journal
from tests.core.sse_frames import parse

T = TypeVar("T")

_FULL = "database or disk is full"


def fill(journal: Journal, *tables: str) -> None:
    """Every insert into ``tables`` (default: all three the writer uses) now fails."""
    for table in tables or ("events", "meta", "skipped"):
        journal._conn.execute(
            f"CREATE TEMP TRIGGER full_{table} BEFORE INSERT ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{_FULL}'); END"
        )


def free(journal: Journal) -> None:
    for (name,) in journal._conn.execute(
        "SELECT name FROM sqlite_temp_master WHERE type = 'trigger'"
    ).fetchall():
        journal._conn.execute(f"DROP TRIGGER {name}")


def rows(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [int(r[0]) for r in conn.execute("SELECT seq FROM events ORDER BY seq")]


def with_engine(path: Path, body: Callable[[LocalEngine, Journal], Awaitable[T]],
                journal: Journal | None = None, *, kill: bool = False) -> T:
    """Run ``body`` against a LocalEngine over the journal at ``path`` on a fresh loop.

    ``kill``: leave without closing the journal (what a kill -9 leaves on disk:
    nothing is written after the last commit).
    """
    j = journal if journal is not None else Journal(path, retention=1000)
    engine = LocalEngine(RealtimeBus(journal=j))

    async def main() -> T:
        await engine.start()
        try:
            return await body(engine, j)
        finally:
            engine.close()

    try:
        return asyncio.run(main())
    finally:
        if kill:
            crash(j)
        else:
            j.close()


def crash(journal: Journal) -> None:
    """What a kill -9 leaves: what is pending is never written, nothing is recorded;
    the writer ends after the batch in its hands (if any), then the file is let go."""
    with journal._cond:
        journal._pending.clear()
        journal._pending_keys.clear()
        journal._closing = True
        journal._cond.notify()
    if journal._thread is not None:
        journal._thread.join()
    journal._conn.close()


async def delivered(engine: LocalEngine, last_event_id: int, until: int) -> list[tuple[str, str]]:
    """(event, id) of every frame a stream resuming from ``last_event_id`` gets up to ``until``."""
    sub = await engine.open_stream(None, user="", client_ids=(), last_event_id=last_event_id)
    out: list[tuple[str, str]] = []
    stream = engine.stream(sub, heartbeat=30)
    try:
        async with asyncio.timeout(15):  # generous: they are all there already
            async for chunk in stream:
                out += [(f.event, f.id or "") for f in parse(chunk) if not f.comment and f.id]
                if out and out[-1][1] == str(until):
                    return out
    except TimeoutError:
        pass
    finally:
        await stream.aclose()
    raise AssertionError(f"frames up to id {until} never came: {out}")


def events(n: int, tag: str = "e") -> list[dict[str, Any]]:
    return [{"area": "test", "payload": {"tag": tag, "i": i}} for i in range(n)]


# ------------------------------------------------------- refused, not delivered
def test_a_refused_publish_is_answered_not_published_and_never_delivered(tmp_path: Path) -> None:
    # fails without: the writer's refusal path (issue 20, item 5: events answered
    # "published but not persisted" were delivered all the same)
    path = tmp_path / "j.sqlite"

    async def body(engine: LocalEngine, j: Journal) -> list[tuple[str, str]]:
        [first] = await engine.publish_events(events(1, "kept"))
        sub = await engine.open_stream(None, user="", client_ids=(), last_event_id=first["seq"])
        fill(j, "events")
        with pytest.raises(NotPublished) as refused:
            await engine.publish_events(events(3, "refused"))
        assert str(refused.value).startswith("not published: the journal cannot write")
        assert _FULL in str(refused.value)
        assert engine.bus.durability() == "degraded"
        free(j)
        [after] = await engine.publish_events(events(1, "after"))  # answered stored: it is
        assert engine.bus.durability() == "ok"
        feed = [e["payload"]["tag"] for e in engine.bus.recent(10)]
        assert feed == ["after", "kept"]
        assert engine.bus.feed_size() == 2
        page, older = engine.bus.page_json(10, None, before=5)  # across the refused seqs
        assert [json.loads(e)["seq"] for e in page] == [1] and older is None
        page, older = engine.bus.page_json(1, None)
        assert [json.loads(e)["seq"] for e in page] == [5] and older == 5
        chunk = engine.bus.collect(sub)
        engine.unsubscribe(sub)
        return [(f.event, f.id or "") for f in parse(chunk) if f.id]

    got = with_engine(path, body)
    assert got == [("message", "5")]  # 2..4 were refused: no frame, no gap
    assert rows(path) == [1, 5]


def test_the_first_publish_after_space_came_back_is_answered_stored(tmp_path: Path) -> None:
    # fails without: durable() waiting for the seq's own batch (it failed every
    # seq at once while the journal was degraded, though the write then succeeded)
    path = tmp_path / "j.sqlite"

    async def body(engine: LocalEngine, j: Journal) -> int:
        fill(j, "events")
        with pytest.raises(NotPublished):
            await engine.publish_events(events(1))
        free(j)
        [stored] = await engine.publish_events(events(1))
        return int(stored["seq"])

    assert with_engine(path, body) == 2
    assert rows(path) == [2]


def test_stored_although_the_commit_reported_a_failure_is_answered_stored(
    tmp_path: Path,
) -> None:
    # the write reached the file but SQLite (or the OS) reported an error after
    # it: the journal reads back what it has and answers what is true
    # fails without: Journal._settled (the answer would say "not published")
    class LateFailure(Journal):
        def _commit(self, *args: Any) -> None:
            super()._commit(*args)
            raise sqlite3.OperationalError("disk I/O error")

    path = tmp_path / "j.sqlite"

    async def body(engine: LocalEngine, j: Journal) -> list[tuple[str, str]]:
        published = await engine.publish_events(events(2))
        assert [e["seq"] for e in published] == [1, 2]
        return await delivered(engine, 0, 2)

    got = with_engine(path, body, LateFailure(path, retention=1000))
    assert got == [("message", "1"), ("message", "2")]
    assert rows(path) == [1, 2]


# --------------------------------------------------------------- never reused
@pytest.mark.parametrize("kill", [True, False], ids=["kill", "clean"])
def test_refused_seqs_are_never_handed_out_again_after_a_restart(
    tmp_path: Path, kill: bool
) -> None:
    # fails without: the reservation in meta (seqs 2..4 were refused, so the journal's
    # last row is 1; the next run handed out 2 again)
    path = tmp_path / "j.sqlite"

    async def refuse(engine: LocalEngine, j: Journal) -> int:
        await engine.publish_events(events(1))
        fill(j, "events")
        with pytest.raises(NotPublished):
            await engine.publish_events(events(3))
        return engine.bus.last_seq

    handed_out = with_engine(path, refuse, kill=kill)
    assert handed_out == 4

    async def after(engine: LocalEngine, j: Journal) -> tuple[int, list[tuple[str, str]]]:
        [event] = await engine.publish_events(events(1))
        return int(event["seq"]), await delivered(engine, 0, int(event["seq"]))

    seq, frames = with_engine(path, after)
    assert seq > handed_out
    assert frames == [("message", "1"), ("message", str(seq))]  # nothing "lost" in between


def test_refused_seqs_between_stored_ones_stay_skipped_after_a_kill(tmp_path: Path) -> None:
    # fails without: the skipped table (a resume after the restart would name 2..4 "lost")
    path = tmp_path / "j.sqlite"

    async def body(engine: LocalEngine, j: Journal) -> None:
        await engine.publish_events(events(1))
        fill(j, "events")
        with pytest.raises(NotPublished):
            await engine.publish_events(events(3))
        free(j)
        await engine.publish_events(events(1))

    with_engine(path, body, kill=True)

    async def resume(engine: LocalEngine, j: Journal) -> list[tuple[str, str]]:
        return await delivered(engine, 0, 5)

    assert with_engine(path, resume) == [("message", "1"), ("message", "5")]


def test_no_seq_is_handed_out_beyond_the_durable_reservation(tmp_path: Path) -> None:
    # a long outage: once the reserved block is used up, publishes are refused
    # before they get a seq, so nothing past what the file promises exists
    # fails without: the reservation check in RealtimeBus.publish_batch
    path = tmp_path / "j.sqlite"

    async def body(engine: LocalEngine, j: Journal) -> int:
        fill(j)
        for _ in range(5):
            with pytest.raises(NotPublished):
                await engine.publish_events(events(3))
        # 1..6 went out and were refused; an in-process publish gets 7 and 8, then none
        got = [engine.bus.publish({"area": "in-process"}) for _ in range(3)]
        assert [e["seq"] for e in got] == [7, 8, None]
        assert got[2]["error"].startswith("not published: the journal cannot write (")
        assert engine.bus.last_seq == j.reserved
        return j.reserved

    reserved = with_engine(path, body, Journal(path, retention=1000, reserve=8), kill=True)
    assert reserved == 8

    async def after(engine: LocalEngine, j: Journal) -> int:
        [event] = await engine.publish_events(events(1))
        return int(event["seq"])

    assert with_engine(path, after) == 9


def test_publishing_resumes_once_space_is_back_after_the_reservation_ran_out(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite"

    async def body(engine: LocalEngine, j: Journal) -> list[int]:
        fill(j)
        for _ in range(4):
            with pytest.raises(NotPublished):
                await engine.publish_events(events(3))
        free(j)
        return [e["seq"] for e in await engine.publish_events(events(2))]

    # 1..6 were handed out and refused; 9.. were refused before they got a seq
    assert with_engine(path, body, Journal(path, retention=1000, reserve=8)) == [7, 8]
    assert rows(path) == [7, 8]


# ------------------------------------------------------------------ idempotency
def test_an_idempotency_key_retried_returns_the_original_answer_and_one_copy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite"
    key = Idempotency("k1", "fp1")

    async def body(engine: LocalEngine, j: Journal) -> None:
        first = await engine.publish_events(events(2), key)
        again = await engine.publish_events(events(2), key)
        assert again == first
        with pytest.raises(IdempotencyConflict):
            await engine.publish_events(events(1), Idempotency("k1", "other"))
        both = await asyncio.gather(*(engine.publish_events(events(1), Idempotency("k2", "f"))
                                      for _ in range(3)))
        assert both[0] == both[1] == both[2]

    with_engine(path, body, kill=True)
    assert rows(path) == [1, 2, 3]

    async def after_restart(engine: LocalEngine, j: Journal) -> list[dict[str, Any]]:
        return await engine.publish_events(events(2), key)

    assert [e["seq"] for e in with_engine(path, after_restart)] == [1, 2]
    assert rows(path) == [1, 2, 3]


def test_a_key_whose_publish_was_refused_publishes_on_the_retry(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    key = Idempotency("k", "fp")

    async def body(engine: LocalEngine, j: Journal) -> list[int]:
        fill(j, "events")
        with pytest.raises(NotPublished):
            await engine.publish_events(events(1), key)
        free(j)
        return [e["seq"] for e in await engine.publish_events(events(1), key)]

    assert with_engine(path, body) == [2]
    assert rows(path) == [2]
