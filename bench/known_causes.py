"""What profiling found for each target a run misses (BENCHMARKS.md shows it while missed)."""

from __future__ import annotations

__all__ = ["KNOWN_CAUSES"]

KNOWN_CAUSES = {
    "5": """\
**Memory (figure 5).** The app and its endpoint are two Python processes (the endpoint a child,
so that it never shares the GUI's interpreter: figure 6), and each pays for its own interpreter
and libraries. The app's process is about 71 MB RSS: importing PySide6's QtCore, QtGui,
QtWidgets and its support modules is 26 MB over the interpreter's 11 (most of it Qt's libraries
and the bindings' types, and the standard library PySide6 itself imports: `inspect`, `zipfile`,
`typing`); the rest are the controller, the models, the tray menu, the D-Bus notifier, QtNetwork
for the single-instance check (2.5 MB) and the standard library's `http.client` (which loads
`ssl` and `email` itself, about 5 MB). The endpoint's is about 36 MB: asyncio with `ssl` 9 MB,
starlette 5, uvicorn 4 (1.3 of it click, which `uvicorn/__init__` imports), SQLite and the
server.
Taken out, each measured with `python -m bench.run --only tray --no-report` or the same start
read from `/proc/PID/smaps_rollup`: the source of every module imported after PySide6, which its
`__feature__` import hook read through `linecache` and kept (`system/qt_import_hook.py`: 78 ->
71 MB for the app), uvicorn's WebSocket implementation and reloader (not installed or loaded
any more: 38 -> 36 MB for the endpoint), httpx and httpx-sse (94 -> 88 MB for the app), the
windows built at their first showing (-9 MB; opening the Activity window adds about 12 MB,
measured offscreen), `importlib.metadata` (-1 MB), the keyring's Secret Service backend and
`cryptography` (looked for only when there is a token: 103 -> 94 MB), and `filelock` and the
Prometheus library from the endpoint (40 -> 38 MB). PSS, which counts the pages the two share
once, is under 90 MB (the row above). RSS counts those pages twice; what is left of it is two
interpreters, Qt and an ASGI server: under 90 MB needs one of them gone (the endpoint on a
thread again, which figure 6 rules out, or a server without asyncio and uvicorn): without `ssl`
and its crypto library in the app (5 MB, measured with both kept from loading) and without click
in the endpoint (1.3 MB) the sum would still be about 100 MB.
""",
    "6": """\
**GUI stall (figure 6).** Since the embedded endpoint runs in a process of its own
(ARCHITECTURE.md, "Two processes"), the GUI thread shares its interpreter only with the stream
thread, and following a server is the same case as the embedded endpoint. A batch of 300 events
costs the GUI thread about 1 ms in the coalescer (2.8 us an event) and 0.6 ms in the model, and
painting the visible rows about 3 ms offscreen (more under X). What varies is the machine: the
publisher, the endpoint and the app share 2 cores, and a run where the app gets fewer of its
heartbeats in (1,665 of 2,000) is the run with the long stall: the five runs above range over
10-37 ms. Two standalone runs of this figure on a quiet machine
(`python -m bench.run --only flood --kinds project --no-report`) gave medians of 11.8 and 14.3
ms, worsts of 14.4 and 20.6 ms; a third with the endpoint at nice 5 gave 12.5 and 17.9 ms,
within that spread, so it was not kept. Tried without a measurable change either, offscreen: a
1 ms GIL switch interval, slices of 250 events instead of 500.
""",
    "7": """\
**Scale out (figure 7).** Two nodes can only go faster than one where they get more CPU. On
this 2-core machine the load generator (reading 2,000,000 frames) needs about as much CPU as the
node that writes them ("client CPU s" against "nodes' CPU s" above), so one node already has a
core to itself and the load generator the other; a second node has no core of its own and the
pair shares the same two. The run-queue line above shows it: with two nodes, the nodes and the
load generator each wait for a CPU for milliseconds per event, against tenths of a millisecond
with one. The work per frame does not grow with Redis: a py-spy profile of both nodes during
the burst (`py-spy record -r 200 -f raw -p PID`) puts 60-73 % of their samples in the SSE writes
that every engine shares (`Fanout.collect`, the route's `send`) and 3-4 % in the Redis engine
(`RedisLog._on_message`, parsing, the redis client). Where the cores exist (nodes on their own
machines or cores, the load generator elsewhere) the delivery work divides by the nodes.

What Redis adds to a publish is one round trip to Redis before the event is stored and the
pub/sub message to every node: 0.07 ms back to back on this machine, about 0.5 ms when both
processes were asleep (they are, at 20 events/s): the difference in the last column. At 1,000
subscribers on a quiet machine the p50 is within a millisecond on either engine. With two busy
loops beside the benchmark (`(while :; do :; done) &` twice, then `python -m bench.run --only
cluster --no-report`) the Redis node's p50 came out 33 ms above the local one's (63 against 30
ms). The scheduling line says where it is not: Redis waited under 1 ms per event for a CPU, and
the node waited about as long per event on either engine (37 against 33 ms, ~120 runs each). What
differs is the event's way through the node's one event loop: the local engine's journal thread
wakes the subscribers with one callback, while a pub/sub message is read by the Redis client's
stream reader and handed on by its task before they wake, one or two loop turns more; when a turn
carries a thousand stream writes on a starved core, each of those turns costs milliseconds. That
explanation fits every number here but was not isolated by a profile of the loop.
""",
    "8": """\
**Command line (figure 8).** A call is a fresh Python process: about 20 ms for the interpreter,
then the command line's imports, then its requests. A client command loads neither the server's
stack nor httpx (`tests/core/test_cli_imports.py` runs each one): `publish`, `feed`, `presence`
and the rest go over the standard library's `http.client` (`net/plain.py`, the same headers, TLS
and one-line failures), which took `publish` from about 155-180 ms to about 100 ms on this
machine. `publish --batch` sends its events in as few requests as the limits allow (one for 100).
""",
}
