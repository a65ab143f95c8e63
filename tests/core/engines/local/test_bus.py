"""RealtimeBus: the reference's publish/scope/feed/stream contract and our additions."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from lattice_rt_core.engines.local import bus as bus_module
from lattice_rt_core.engines.local.bus import RealtimeBus, Subscriber
from tests.core.sse_frames import Frame, parse

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def data_frames(raw: bytes) -> list[Frame]:
    return [f for f in parse(raw) if f.event == "message" and not f.comment]


def seqs(raw: bytes) -> list[int]:
    return [f.json()["seq"] for f in data_frames(raw)]


# ----------------------------------------------------------------- publish
def test_publish_assigns_increasing_seq_and_enriches() -> None:
    bus = RealtimeBus()
    a = bus.publish(
        {
            "area": "workflow",
            "event_type": "workflow_run",
            "workspace_id": "w",
            "payload": {"run_id": "r1"},
            "id": "timeline-1",
        }
    )
    b = bus({"area": "graph"})  # __call__ is publish
    assert (a["seq"], b["seq"]) == (1, 2)
    assert a["received_at"] and a["id"] == "timeline-1"
    assert b["event_type"] == "event" and b["workspace_id"] is None and b["payload"] == {}


class Exploding:
    def __str__(self) -> str:
        raise RuntimeError("boom")

    def __repr__(self) -> str:
        raise RuntimeError("boom")


def test_publish_never_raises_on_hostile_events() -> None:
    bus = RealtimeBus()
    for event in (
        None,
        42,
        "text",
        {"payload": Exploding()},
        {"area": Exploding()},
        {"payload": {"deep": [[[[[[[[[[{}]]]]]]]]]]}},
    ):
        out = bus.publish(event)
        assert isinstance(out, dict)
    assert bus.last_seq == 6
    assert len(bus.recent(10)) == 6


def test_publish_encodes_once_whatever_the_subscriber_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0
    real = bus_module.to_json

    def counting(value: Any) -> str:
        nonlocal calls
        calls += 1
        return real(value)

    monkeypatch.setattr(bus_module, "to_json", counting)

    async def scenario() -> list[bytes]:
        bus = RealtimeBus()
        subs = [bus.subscribe() for _ in range(100)]
        bus.publish({"area": "graph"})
        return [bus.collect(s) for s in subs]

    chunks = run(scenario())
    assert calls == 1
    assert len(set(chunks)) == 1 and seqs(chunks[0]) == [1]


# -------------------------------------------------------------------- feed
def test_feed_is_a_ring_of_200_newest_first() -> None:
    bus = RealtimeBus()
    for i in range(250):
        bus.publish({"payload": {"i": i}})
    assert len(bus.recent(1000)) == 200
    assert [e["seq"] for e in bus.recent(3)] == [250, 249, 248]
    assert len(bus.recent()) == 50
    assert bus.stats()["feed_size"] == 200


def _page(bus: RealtimeBus, limit: int, scope=None, before=None):  # type: ignore[no-untyped-def]
    data, older = bus.page_json(limit, scope, before)
    return [json.loads(d)["seq"] for d in data], older


def test_older_pages_reach_back_through_everything_the_ring_holds() -> None:
    bus = RealtimeBus(backlog=600)  # the ring holds more than the feed's 200
    for i in range(500):
        bus.publish({"workspace_id": "a" if i % 2 else "b", "payload": {"i": i}})
    seqs, older = _page(bus, 200)
    assert seqs == list(range(500, 300, -1)) and older == 301
    everything: list[int] = seqs
    while older is not None:
        seqs, older = _page(bus, 200, before=older)
        everything += seqs
    assert everything == list(range(500, 0, -1))  # each once, newest first, to seq 1
    assert _page(bus, 3, before=10) == ([9, 8, 7], 7)
    assert _page(bus, 5000, before=3) == ([2, 1], None)  # clamped to the feed's 200
    assert _page(bus, 5, before=1) == ([], None)
    # a scope: only its events, and the next page's start where the reading stopped
    seqs, older = _page(bus, 3, {"a"}, before=100)
    assert seqs == [98, 96, 94] and older == 94


def test_older_pages_end_where_the_ring_stops_holding() -> None:
    bus = RealtimeBus(backlog=300)
    for i in range(1000):
        bus.publish({"payload": {"i": i}})
    seqs, older = _page(bus, 200, before=800)
    assert seqs == list(range(799, 700, -1)) and older is None  # 701..1000 are held


def test_stats_shape() -> None:
    bus = RealtimeBus(server_version="9.9")
    stats = bus.stats()
    assert {
        k: stats[k] for k in ("version", "subscribers", "presence", "feed_size", "transport")
    } == {"version": "2.0.0", "subscribers": 0, "presence": 0, "feed_size": 0, "transport": "sse"}
    assert stats["server_version"] == "9.9" and stats["journal"] == "off"


# ------------------------------------------------------------------- scope
@pytest.mark.parametrize(
    ("scope", "expected"),
    [(None, ["a", "b", None]), ({"a"}, ["a", None]), (set(), [None])],
)
def test_scope_rules(scope: set[str] | None, expected: list[str | None]) -> None:
    async def scenario() -> list[str | None]:
        bus = RealtimeBus()
        sub = bus.subscribe(scope)
        for ws in ("a", "b", None):
            bus.publish({"workspace_id": ws})
        return [f.json()["workspace_id"] for f in data_frames(bus.collect(sub))]

    assert run(scenario()) == expected
    bus = RealtimeBus()
    for ws in ("a", "b", None):
        bus.publish({"workspace_id": ws})
    assert [e["workspace_id"] for e in bus.recent(10, scope)] == expected[::-1]


# ------------------------------------------------------------------ stream
def test_stream_starts_with_retry_and_replays_ten_in_scope() -> None:
    async def scenario() -> bytes:
        bus = RealtimeBus()
        for i in range(30):
            bus.publish({"workspace_id": "a" if i % 3 else "b", "payload": {"i": i}})
        gen = bus.stream(bus.subscribe({"a"}))
        first = await gen.__anext__()
        await gen.aclose()
        return first

    first = run(scenario())
    assert first.startswith(b"retry: 3000\n\n")
    got = data_frames(first)
    assert len(got) == 10
    assert all(f.json()["workspace_id"] == "a" for f in got)
    assert [int(f.id or 0) for f in got] == [f.json()["seq"] for f in got]
    assert got[-1].json()["seq"] == 30


def test_heartbeat_when_idle_and_subscriber_removed_on_close() -> None:
    async def scenario() -> tuple[bytes, int, int]:
        bus = RealtimeBus(heartbeat=0.01)
        gen = bus.stream(bus.subscribe())
        await gen.__anext__()
        beat = await gen.__anext__()
        during = bus.stats()["subscribers"]
        await gen.aclose()
        return beat, during, bus.stats()["subscribers"]

    beat, during, after = run(scenario())
    assert beat == b": heartbeat\n\n"
    assert (during, after) == (1, 0)


def test_live_frames_after_publish_from_another_thread() -> None:
    async def scenario() -> list[int]:
        bus = RealtimeBus()
        bus.attach_loop()
        gen = bus.stream(bus.subscribe())
        await gen.__anext__()
        t = threading.Thread(target=lambda: [bus.publish({"i": i}) for i in range(5)])
        t.start()
        got: list[int] = []
        while len(got) < 5:
            got += seqs(await gen.__anext__())
        t.join()
        await gen.aclose()
        return got

    assert run(scenario()) == [1, 2, 3, 4, 5]


def test_close_ends_streams() -> None:
    async def scenario() -> list[bytes]:
        bus = RealtimeBus()
        bus.attach_loop()
        gen = bus.stream(bus.subscribe())
        chunks = [await gen.__anext__()]
        bus.close()
        chunks += [c async for c in gen]
        with pytest.raises(RuntimeError):
            bus.subscribe()
        return chunks

    assert len(run(scenario())) == 1


# ------------------------------------------------------------ gaps, resume
def test_slow_subscriber_gets_a_gap_then_continues() -> None:
    async def scenario() -> list[Frame]:
        bus = RealtimeBus(backlog=16, feed_limit=10)
        sub = bus.subscribe()
        bus.collect(sub)
        for i in range(50):
            bus.publish({"payload": {"i": i}})
        return parse(bus.collect(sub))

    frames = run(scenario())
    gap = frames[0]
    assert gap.event == "gap"
    assert gap.json() == {"from_seq": 1, "to_seq": 34, "missed": 34, "reason": "overflow"}
    assert gap.id == "34"
    assert [f.json()["seq"] for f in frames[1:]] == list(range(35, 51))


def test_resume_past_retention_gets_a_retention_gap() -> None:
    async def scenario() -> list[Frame]:
        bus = RealtimeBus(backlog=16, feed_limit=10)
        for _ in range(40):
            bus.publish({})
        return parse(bus.collect(bus.subscribe(last_event_id=3)))

    frames = run(scenario())
    assert frames[0].event == "gap"
    assert frames[0].json() == {"from_seq": 4, "to_seq": 24, "missed": 21, "reason": "retention"}
    assert [f.json()["seq"] for f in frames[1:]] == list(range(25, 41))


def test_a_burst_is_not_lost() -> None:
    """2,000 events published in one go reach 100 subscribers complete and in order."""

    async def scenario() -> list[list[int]]:
        bus = RealtimeBus()
        subs = [bus.subscribe() for _ in range(100)]
        for i in range(2000):
            bus.publish({"payload": {"i": i}})
        out: list[list[int]] = []
        for sub in subs:
            got: list[int] = []
            while chunk := bus.collect(sub):
                got += seqs(chunk)
            out.append(got)
        return out

    for got in run(scenario()):
        assert got == list(range(1, 2001))


@pytest.mark.parametrize("last", [0, 5, 19])
def test_resume_replays_everything_after_last_event_id(last: int) -> None:
    async def scenario() -> list[int]:
        bus = RealtimeBus()
        for _ in range(20):
            bus.publish({})
        return seqs(bus.collect(bus.subscribe(last_event_id=last)))

    assert run(scenario()) == list(range(last + 1, 21))


def test_resume_ahead_of_server_gets_a_reset() -> None:
    async def scenario() -> list[Frame]:
        bus = RealtimeBus()
        for _ in range(3):
            bus.publish({})
        return parse(bus.collect(bus.subscribe(last_event_id=500)))

    frames = run(scenario())
    assert frames[0].event == "reset"
    assert frames[0].json() == {"last_event_id": 500, "server_seq": 3, "reason": "ahead"}
    assert [f.json()["seq"] for f in frames[1:]] == [1, 2, 3]


# ------------------------------------------------------------- threads
def test_concurrent_publishers_no_loss_no_dup_no_reorder() -> None:
    threads, per_thread = 4, 2000
    total = threads * per_thread

    async def scenario() -> list[list[int]]:
        bus = RealtimeBus(backlog=total)
        bus.attach_loop()
        subs = [bus.subscribe(), bus.subscribe({"w1"}), bus.subscribe()]
        start = threading.Barrier(threads)

        def work(n: int) -> None:
            start.wait()
            for i in range(per_thread):
                bus.publish({"workspace_id": f"w{n}", "payload": {"i": i}})

        async def consume(sub: Subscriber, want: int) -> list[int]:
            gen = bus.stream(sub, heartbeat=60)
            got: list[int] = []
            ws: list[str] = []
            while len(got) < want:
                for f in data_frames(await gen.__anext__()):
                    got.append(f.json()["seq"])
                    ws.append(f.json()["workspace_id"])
            await gen.aclose()
            return got

        pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for t in pool:
            t.start()
        results = await asyncio.gather(
            consume(subs[0], total), consume(subs[1], per_thread), consume(subs[2], total)
        )
        for t in pool:
            t.join()
        return list(results)

    everyone, scoped, again = run(scenario())
    assert everyone == list(range(1, total + 1))
    assert again == everyone
    assert scoped == sorted(set(scoped)) and len(scoped) == per_thread


# ----------------------------------------------------------------- presence
def test_presence_events_and_expiry_through_the_bus() -> None:
    now = [0.0]
    bus = RealtimeBus(presence_ttl=45, clock=lambda: now[0])
    entry = bus.join(user="ann", client_id="c1", workspace_id="ws")
    assert entry["client_id"] == "c1"
    assert bus.recent(1)[0]["event_type"] == "join"
    assert [p["client_id"] for p in bus.presence({"ws"})] == ["c1"]
    assert bus.presence({"other"}) == []
    now[0] = 46
    assert bus.sweep() == 1
    leave = bus.recent(1)[0]
    assert (leave["area"], leave["event_type"]) == ("presence", "leave")
    assert leave["payload"]["reason"] == "timeout"
    assert bus.presence() == []


def test_open_stream_naming_client_id_keeps_presence_fresh() -> None:
    now = [0.0]

    async def scenario() -> tuple[int, int]:
        bus = RealtimeBus(presence_ttl=45, clock=lambda: now[0])
        bus.join(user="ann", client_id="held")
        bus.join(user="ann", client_id="idle")
        sub = bus.subscribe(user="ann", client_ids=["held"])
        now[0] = 40
        bus.sweep()
        now[0] = 80
        expired = bus.sweep()
        bus.unsubscribe(sub)
        now[0] = 130
        return expired, bus.sweep()

    assert run(scenario()) == (1, 1)  # "idle" at 80, "held" only after its stream closed


def test_explicit_leave_reason() -> None:
    bus = RealtimeBus()
    bus.join(user="", client_id="c")
    assert bus.leave("c") is True
    assert bus.recent(1)[0]["payload"]["reason"] == "left"
    assert bus.leave("c") is False


def test_the_loop_publishes_the_last_status_once_its_interval_is_over() -> None:
    # fails without: the call_later in RealtimeBus._arm_status_timer (nothing would
    # publish the coalesced state)
    now = [0.0]

    async def scenario() -> list[tuple[str, str]]:
        bus = RealtimeBus(clock=lambda: now[0], status_interval=0.01)
        bus.attach_loop()
        bus.join(user="ann", client_id="c1")
        gen = bus.stream(bus.subscribe(last_event_id=bus.last_seq))
        await gen.__anext__()  # the retry hint
        # within the join's interval (the clock stands still): shown, not yet published
        changes = threading.Thread(
            target=lambda: [bus.set_status("c1", s, "t") for s in ("idle", "away", "dnd")]
        )
        changes.start()
        changes.join()
        assert [p["status"] for p in bus.presence()] == ["dnd"]
        bus.publish({"area": "marker"})
        got = [(f.json()["area"], f.json()["event_type"]) for f in data_frames(
            await gen.__anext__())]
        now[0] = 0.01  # the interval is over: the loop's timer publishes the last state
        frames = data_frames(await gen.__anext__())
        got += [(f.json()["event_type"], f.json()["payload"]["status"]) for f in frames]
        bus.close()
        await gen.aclose()
        return got

    assert run(scenario()) == [("marker", "event"), ("status", "dnd")]


def test_a_status_for_an_unknown_client_is_none() -> None:
    bus = RealtimeBus()
    assert bus.set_status("nobody", "away") is None
    assert bus.last_seq == 0
