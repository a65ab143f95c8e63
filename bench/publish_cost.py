"""Figure 4: the cost of one ``publish()`` call, in process, with N subscribers.

Both buses run on one asyncio loop with N subscribers, each consumed by a task
that iterates the bus's own ``stream()`` (no sockets). Events are published
from the loop thread in batches of ``BATCH`` (below the reference's queue
size, so the baseline drops nothing), each call timed with
``perf_counter_ns``; after each batch the loop runs until every subscriber has
taken every frame. Reported: mean/p50/p99 of a call, and the fan-out cost per
event (wall time from the first publish of a batch until every subscriber had
the batch, divided by the batch size).

The project's bus runs with its SQLite journal on (a temporary directory), so
a batch only counts as delivered once it is durable. Runs in its own process:
``python -m bench.publish_cost --kind project --subscribers 100 --events 2000``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from bench.publisher import make_event
from bench.stats import percentile

__all__ = ["main", "measure"]

BATCH = 50
_DATA = b"data: "


class _Counter:
    def __init__(self) -> None:
        self.frames = 0


async def _consume(frames: AsyncIterator[Any], counter: _Counter) -> None:
    async for chunk in frames:
        if isinstance(chunk, str):
            counter.frames += chunk.count("data: ")
        else:
            counter.frames += chunk.count(_DATA)


async def _run(
    publish: Callable[[dict[str, Any]], Any],
    streams: list[AsyncIterator[Any]],
    events: int,
    flush: Callable[[], object],
) -> dict[str, float]:
    counter = _Counter()
    tasks = [asyncio.ensure_future(_consume(s, counter)) for s in streams]
    await asyncio.sleep(0)  # let every consumer reach its first wait
    calls: list[int] = []
    fanout_ns = 0
    payloads = [make_event(i) for i in range(events)]
    expected = 0
    try:
        for lo in range(0, events, BATCH):
            batch = payloads[lo:lo + BATCH]
            expected += len(batch) * len(streams)
            start = time.perf_counter_ns()
            for event in batch:
                t0 = time.perf_counter_ns()
                publish(event)
                calls.append(time.perf_counter_ns() - t0)
            flush()
            while counter.frames < expected:
                await asyncio.sleep(0)
            fanout_ns += time.perf_counter_ns() - start
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "mean_us": sum(calls) / len(calls) / 1e3,
        "p50_us": percentile(calls, 50) / 1e3,
        "p99_us": percentile(calls, 99) / 1e3,
        "fanout_us_per_event": fanout_ns / events / 1e3,
        "frames": float(counter.frames),
    }


async def _project(subscribers: int, events: int, tmp: Path) -> dict[str, float]:
    from lattice_rt_core.engines.local.bus import RealtimeBus
    from lattice_rt_core.engines.local.journal import Journal

    journal = Journal(tmp / "journal.sqlite")
    bus = RealtimeBus(journal=journal, heartbeat=3600.0)
    bus.attach_loop()
    try:
        subs = [bus.subscribe() for _ in range(subscribers)]
        return await _run(bus.publish, [bus.stream(s) for s in subs], events, bus.flush)
    finally:
        bus.close()
        journal.close()


async def _baseline(subscribers: int, events: int) -> dict[str, float]:
    from bench.baseline_bus import BaselineBus

    bus = BaselineBus()
    subs = [bus.subscribe() for _ in range(subscribers)]
    streams = [bus.stream(s, heartbeat=3600.0) for s in subs]
    return await _run(bus.publish, streams, events, lambda: None)


def measure(kind: str, subscribers: int, events: int) -> dict[str, float]:
    """One measurement in this process (see the module docstring)."""
    if kind == "baseline":
        result = asyncio.run(_baseline(subscribers, events))
    elif kind == "project":
        with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
            result = asyncio.run(_project(subscribers, events, Path(tmp)))
    else:
        raise ValueError(f"unknown kind {kind!r}")
    expected = events * subscribers
    if result["frames"] != expected:
        raise RuntimeError(f"{kind}: {result['frames']:.0f} frames delivered, {expected} expected")
    return {"subscribers": float(subscribers), "events": float(events), **result}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time publish() in process")
    parser.add_argument("--kind", choices=("project", "baseline"), required=True)
    parser.add_argument("--subscribers", type=int, required=True)
    parser.add_argument("--events", type=int, required=True)
    args = parser.parse_args(argv)
    if args.subscribers < 0 or args.events < 1:
        parser.error("--subscribers must be >= 0 and --events >= 1")
    print(json.dumps(measure(args.kind, args.subscribers, args.events)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
