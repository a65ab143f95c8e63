"""Publishing over HTTP (``POST /realtime/events``), the same way for both servers.

* :func:`burst`: ``count`` events as lists of ``batch`` events, POSTed back to
  back by ``senders`` concurrent keep-alive connections (each sends its share
  of the batches one after the other, each POST waiting for its answer);
* :func:`steady`: one event per POST at a fixed rate, each carrying
  ``bench_t`` = ``time.monotonic_ns()`` taken just before its POST is sent.

The last event of a run carries the marker text the load generator waits for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["PublishTiming", "burst", "make_event", "paced", "post", "steady"]

_HEADERS = {"Content-Type": "application/json"}


@dataclass
class PublishTiming:
    start_ns: int  # just before the first POST was sent
    end_ns: int  # when the last POST was answered
    events: int
    requests: int
    last_seq: int | None = None  # the seq the server gave the last event, when known


def make_event(index: int, *, marker: str | None = None, stamp: bool = False) -> dict[str, Any]:
    """An event shaped like the reference's example (a workflow run)."""
    payload: dict[str, Any] = {
        "run_id": f"wf-run-{index}",
        "workflow_id": "wf_3",
        "status": "ok",
        "bench_i": index,
    }
    if marker is not None:
        payload["bench_end"] = marker
    if stamp:
        payload["bench_t"] = time.monotonic_ns()
    return {
        "area": "workflow",
        "event_type": "workflow_run",
        "workspace_id": "ws_bench",
        "payload": payload,
    }


def post(url: str, events: list[dict[str, Any]] | dict[str, Any], timeout: float = 60.0) -> Any:
    response = httpx.post(url + "/realtime/events", json=events, timeout=timeout)
    response.raise_for_status()
    return response.json()


def burst(
    url: str | Sequence[str], count: int, *, batch: int, senders: int, marker: str
) -> PublishTiming:
    """Publish ``count`` events as fast as the server answers; see the module doc.

    Several URLs (the nodes of a cluster): the senders take them in turn.
    """
    batches = [
        [make_event(i, marker=marker if i == count - 1 else None)
         for i in range(lo, min(lo + batch, count))]
        for lo in range(0, count, batch)
    ]
    urls = [url] if isinstance(url, str) else list(url)
    return asyncio.run(_burst(urls, batches, senders))


async def _burst(
    urls: list[str], batches: list[list[dict[str, Any]]], senders: int
) -> PublishTiming:
    lanes: list[list[list[dict[str, Any]]]] = [batches[i::senders] for i in range(senders)]
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    clients = [httpx.AsyncClient(base_url=u, timeout=120.0, limits=limits) for u in urls]
    try:
        # open the keep-alive connections first so connecting is not measured
        await asyncio.gather(*(clients[i % len(clients)].get("/realtime/feed?limit=0")
                               for i in range(senders)))

        async def send(client: httpx.AsyncClient, lane: list[list[dict[str, Any]]]) -> None:
            for body in lane:
                response = await client.post("/realtime/events", json=body, headers=_HEADERS)
                response.raise_for_status()

        # the marker event is in the last batch, which must be sent last:
        last = lanes[(len(batches) - 1) % senders].pop()
        start = time.monotonic_ns()
        await asyncio.gather(*(send(clients[i % len(clients)], lane)
                               for i, lane in enumerate(lanes)))
        await send(clients[0], [last])
        end = time.monotonic_ns()
    finally:
        for client in clients:
            await client.aclose()
    return PublishTiming(start, end, sum(len(b) for b in batches), len(batches))


def steady(url: str, count: int, *, rate: float, marker: str) -> PublishTiming:
    """``count`` single-event POSTs, one every ``1/rate`` seconds (no drift)."""
    period_ns = int(1e9 / rate)
    with httpx.Client(base_url=url, timeout=30.0) as client:
        client.get("/realtime/feed?limit=0")
        start = time.monotonic_ns()
        for i in range(count):
            due = start + i * period_ns
            delay = (due - time.monotonic_ns()) / 1e9
            if delay > 0:
                time.sleep(delay)
            event = make_event(i, marker=marker if i == count - 1 else None, stamp=True)
            client.post("/realtime/events", json=event, headers=_HEADERS).raise_for_status()
        end = time.monotonic_ns()
    return PublishTiming(start, end, count, count)


def paced(
    url: str, count: int, *, seconds: float, batch: int, token: str | None = None
) -> PublishTiming:
    """``count`` events as lists of ``batch``, spread evenly over ``seconds``."""
    lists = [[make_event(i) for i in range(lo, min(lo + batch, count))]
             for lo in range(0, count, batch)]
    period_ns = int(seconds * 1e9 / max(1, len(lists)))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=60.0, headers=headers) as client:
        client.get("/realtime/feed?limit=0").raise_for_status()
        start = time.monotonic_ns()
        last_seq: int | None = None
        for i, body in enumerate(lists):
            delay = (start + i * period_ns - time.monotonic_ns()) / 1e9
            if delay > 0:
                time.sleep(delay)
            response = client.post("/realtime/events", json=body, headers=_HEADERS)
            response.raise_for_status()
            last_seq = int(response.json()["events"][-1]["seq"])
        end = time.monotonic_ns()
    return PublishTiming(start, end, count, len(lists), last_seq)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.publisher --url U --events N --seconds S``: a paced flood.

    The token comes from ``$LATTICE_RT_TOKEN`` (as for ``lattice-rt``), not the
    command line, where every user of the machine could read it.
    """
    import argparse
    import json
    import os

    from lattice_rt_core.commands.support import TOKEN_ENV

    parser = argparse.ArgumentParser(description="Publish a paced flood of events")
    parser.add_argument("--url", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args(argv)
    if args.events < 1 or args.seconds <= 0 or args.batch < 1:
        parser.error("--events, --seconds and --batch must be positive")
    timing = paced(args.url, args.events, seconds=args.seconds, batch=args.batch,
                   token=os.environ.get(TOKEN_ENV) or None)
    print(json.dumps({"publish_s": (timing.end_ns - timing.start_ns) / 1e9,
                      "requests": timing.requests, "last_seq": timing.last_seq}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
