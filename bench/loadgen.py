"""Load generator: many SSE streams in one process over real loopback sockets.

Runs as its own process (``python -m bench.loadgen``), driven by the runner
through a line protocol (JSON lines out, commands in):

1. it opens ``--connections`` streams (``GET /realtime/stream``) and, once each
   one has its ``200`` response head, prints ``{"event": "ready", ...}``;
2. it counts what arrives, without parsing JSON: data frames, ``event: gap``
   frames, the first/last receive time and, per stream, when the frame
   carrying ``--marker`` (the last event of a run) arrived. In ``--latency``
   mode it also extracts the ``bench_t`` publish timestamp
   (``time.monotonic_ns()`` of the publisher; CLOCK_MONOTONIC is one clock
   for every process of the machine) from every data frame;
3. on ``finish IDLE DEADLINE`` it waits until every stream saw the marker, or
   nothing arrived for IDLE seconds, or DEADLINE seconds passed, then prints
   ``{"event": "result", ...}`` and exits.

Receive times are taken when this process's event loop handles the bytes, so
they include the time the load generator itself needs to get to a socket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

__all__ = ["StreamCounter", "Totals", "main"]

DATA = b"data: "
GAP = b"event: gap"
RESET = b"event: reset"
_BENCH_T = re.compile(rb'"bench_t": ?(\d+)')
_HEAD_END = b"\r\n\r\n"


@dataclass
class Totals:
    """What all streams of this process received (event-loop thread only)."""

    frames: int = 0
    gaps: int = 0
    resets: int = 0
    done: int = 0
    first_rx_ns: int = 0
    last_rx_ns: int = 0
    marker_ns: array[int] = field(default_factory=lambda: array("q"))
    latencies_ns: array[int] = field(default_factory=lambda: array("q"))
    lost_connections: int = 0

    def saw_data(self, now: int, frames: int) -> None:
        self.frames += frames
        if not self.first_rx_ns:
            self.first_rx_ns = now
        self.last_rx_ns = now


class StreamCounter(asyncio.Protocol):
    """One SSE stream, counted with ``bytes.count`` over the raw bytes.

    Frames are never parsed; the counters only need the fixed byte patterns,
    carrying the last few bytes over so a pattern split between two reads is
    counted exactly once.
    """

    def __init__(self, request: bytes, totals: Totals, marker: bytes, latency: bool) -> None:
        self.request = request
        self.totals = totals
        self.marker = marker
        self.latency = latency
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.frames = 0
        self.done = False
        self._head = b""
        self._in_body = False
        self._carry = b""
        self._keep = max(len(DATA), len(GAP), len(RESET), len(marker)) - 1

    # asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but behave as one
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        if not self._in_body:
            self._head += data
            end = self._head.find(_HEAD_END)
            if end < 0:
                return
            status = self._head.split(b"\r\n", 1)[0]
            data = self._head[end + len(_HEAD_END):]
            self._in_body = True
            self._head = b""
            if b" 200 " not in status + b" ":
                self._fail(f"stream refused: {status.decode(errors='replace')}")
                return
            if not self.ready.done():
                self.ready.set_result(None)
            if not data:
                return
        if self.latency:
            self._scan_frames(now, data)
        else:
            self._count(now, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.totals.lost_connections += 1
        self._fail(f"connection closed before the stream started: {exc}")

    # counting ----------------------------------------------------------------
    def _count(self, now: int, data: bytes) -> None:
        carry = len(self._carry)
        buf = self._carry + data if carry else data
        # A named frame's "event:" line and its "data:" line may arrive in
        # different reads: every pattern is counted in every read, so the
        # per-read difference can be negative but the running total is exact.
        data_lines = buf.count(DATA, max(0, carry - len(DATA) + 1))
        gaps = buf.count(GAP, max(0, carry - len(GAP) + 1))
        resets = buf.count(RESET, max(0, carry - len(RESET) + 1))
        if data_lines or gaps or resets:
            self._add(now, data_lines - gaps - resets, gaps, resets)
        if not self.done and buf.find(self.marker, max(0, carry - len(self.marker) + 1)) >= 0:
            self._mark(now)
        self._carry = buf[-self._keep:]

    def _scan_frames(self, now: int, data: bytes) -> None:
        buf = self._carry + data
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._carry = buf
            return
        complete, self._carry = buf[: end + 2], buf[end + 2:]
        data_frames = complete.count(DATA)
        if data_frames:
            gaps = complete.count(GAP)
            resets = complete.count(RESET)
            self._add(now, data_frames - gaps - resets, gaps, resets)
            lat = self.totals.latencies_ns
            for stamp in _BENCH_T.findall(complete):
                lat.append(now - int(stamp))
        if not self.done and self.marker in complete:
            self._mark(now)

    def _add(self, now: int, frames: int, gaps: int, resets: int) -> None:
        self.frames += frames
        self.totals.saw_data(now, frames)
        self.totals.gaps += gaps
        self.totals.resets += resets

    def _mark(self, now: int) -> None:
        self.done = True
        self.totals.done += 1
        self.totals.marker_ns.append(now)

    def _fail(self, message: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(message))
        if self.transport is not None:
            self.transport.close()


@dataclass
class _Options:
    host: str
    port: int
    path: str
    connections: int
    concurrency: int
    marker: bytes
    latency: bool
    connect_timeout: float


def _request(opts: _Options) -> bytes:
    return (
        f"GET {opts.path} HTTP/1.1\r\nHost: {opts.host}:{opts.port}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    ).encode()


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def _open_all(opts: _Options, totals: Totals) -> tuple[list[StreamCounter], list[str]]:
    loop = asyncio.get_running_loop()
    request = _request(opts)
    gate = asyncio.Semaphore(opts.concurrency)
    streams: list[StreamCounter] = []
    errors: list[str] = []

    async def open_one() -> None:
        async with gate:
            try:
                _, proto = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: StreamCounter(request, totals, opts.marker, opts.latency),
                        opts.host, opts.port,
                    ),
                    opts.connect_timeout,
                )
                await asyncio.wait_for(proto.ready, opts.connect_timeout)
            except (OSError, TimeoutError, ConnectionError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            streams.append(proto)

    await asyncio.gather(*(open_one() for _ in range(opts.connections)))
    return streams, errors


async def _wait_finish(
    streams: list[StreamCounter], totals: Totals, idle: float, deadline: float
) -> str:
    start = time.monotonic()
    while True:
        await asyncio.sleep(0.02)
        now = time.monotonic()
        if totals.done >= len(streams):
            return "all streams saw the marker"
        last = totals.last_rx_ns / 1e9 if totals.last_rx_ns else start
        if now - max(last, start) > idle:
            return f"nothing arrived for {idle:g} s"
        if now - start > deadline:
            return f"deadline of {deadline:g} s passed"


async def _run(opts: _Options) -> int:
    loop = asyncio.get_running_loop()
    totals = Totals()
    streams, errors = await _open_all(opts, totals)
    _emit({
        "event": "ready", "pid": os.getpid(), "connected": len(streams),
        "failed": len(errors), "errors": sorted(set(errors))[:5], "cpu_s": _cpu_seconds(),
    })
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        words = line.split()
        if not words or words[0] == "exit":
            break
        if words[0] != "finish" or len(words) != 3:
            _emit({"event": "error", "message": f"unknown command: {line.strip()!r}"})
            continue
        lost_before = totals.lost_connections
        reason = await _wait_finish(streams, totals, float(words[1]), float(words[2]))
        per_stream = [s.frames for s in streams] or [0]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        _emit({
            "event": "result",
            "pid": os.getpid(),
            "connections": len(streams),
            "frames": totals.frames,
            "gaps": totals.gaps,
            "resets": totals.resets,
            "done": totals.done,
            "first_rx_ns": totals.first_rx_ns,
            "last_rx_ns": totals.last_rx_ns,
            "marker_ns": list(totals.marker_ns),
            "latencies_ns": list(totals.latencies_ns),
            "per_stream_min": min(per_stream),
            "per_stream_max": max(per_stream),
            "lost_connections": totals.lost_connections - lost_before,
            "cpu_s": _cpu_seconds(),
            "max_rss_kb": usage.ru_maxrss,
            "finished_because": reason,
        })
        break
    for stream in streams:
        if stream.transport is not None:
            stream.transport.close()
    return 0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raise_fd_limit() -> int:
    """Raise RLIMIT_NOFILE to its hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def _parse(argv: Sequence[str] | None) -> _Options:
    parser = argparse.ArgumentParser(description="Open many SSE streams and count frames")
    parser.add_argument("--url", required=True, help="server base URL, http://127.0.0.1:PORT")
    parser.add_argument("--path", default="/realtime/stream")
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=200, help="connects in flight")
    parser.add_argument("--marker", required=True, help="text carried by the last event")
    parser.add_argument("--latency", action="store_true", help="collect bench_t latencies")
    parser.add_argument("--connect-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    url = urlsplit(args.url)
    if url.scheme != "http" or not url.hostname or not url.port:
        parser.error("--url must look like http://127.0.0.1:PORT")
    if args.connections < 1 or args.concurrency < 1:
        parser.error("--connections and --concurrency must be positive")
    return _Options(
        host=url.hostname, port=url.port, path=args.path, connections=args.connections,
        concurrency=args.concurrency, marker=args.marker.encode(), latency=args.latency,
        connect_timeout=args.connect_timeout,
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts = _parse(argv)
    limit = raise_fd_limit()
    if opts.connections + 64 > limit:
        _emit({"event": "error", "message": f"RLIMIT_NOFILE is {limit}, too low"})
        return 2
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_run(opts))
    return uvloop.run(_run(opts))


if __name__ == "__main__":
    sys.exit(main())
