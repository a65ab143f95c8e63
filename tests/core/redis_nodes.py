"""Redis engines (cluster nodes) in one asyncio loop, for the engine tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from lattice_rt_core.engines.fanout import Subscriber
from lattice_rt_core.engines.redis.engine import RedisEngine, bootstrap
from lattice_rt_core.engines.redis.store import RedisKeys
from tests.core.sse_frames import Frame, parse

T = TypeVar("T")
WAIT = 15.0


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await asyncio.wait_for(coro, 60)

    return asyncio.run(main())


def make_engine(url: str, prefix: str, **kw: Any) -> RedisEngine:
    keys = RedisKeys(prefix)
    kw.setdefault("check_interval", 0.2)
    return RedisEngine(url, bootstrap(url, keys, "owner"), keys=keys, **kw)


@asynccontextmanager
async def nodes(url: str, prefix: str, count: int = 2, **kw: Any) -> AsyncIterator[
    list[RedisEngine]
]:
    engines = [make_engine(url, prefix, **kw) for _ in range(count)]
    for engine in engines:
        await engine.start()
    try:
        yield engines
    finally:
        for engine in engines:
            await engine.stop()


async def frames(engine: RedisEngine, sub: Subscriber, want: int,
                 kinds: tuple[str, ...] = ("message",)) -> list[Frame]:
    """Collect from ``sub`` until ``want`` frames of ``kinds`` arrived (and any others)."""
    got: list[Frame] = []

    def count() -> int:
        return sum(1 for f in got if f.event in kinds and not f.comment)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while count() < want:
        chunk = engine.collect(sub)
        if chunk:
            got += parse(chunk)
            continue
        if loop.time() > deadline:
            raise AssertionError(f"timed out: {count()} of {want} frames, got {got}")
        await sub.wait(0.05)
    return got


def seqs(got: list[Frame]) -> list[int]:
    return [f.json()["seq"] for f in got if f.event == "message" and not f.comment]
