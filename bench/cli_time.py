"""Figure 8: how long a client command takes, measured from outside as a person waits.

Against a real ``lattice-rt serve`` on a free port (a fresh data directory, auth on),
each command runs ``cli_calls`` times as its own process (``lattice-rt`` from this
environment, the local server found through ``server.json`` as a user's shell
finds it); the wall time of each run, from spawn to exit, gives the median and
the spread. ``publish`` sends one event; ``batch`` publishes :data:`BATCH_EVENTS`
events from a JSON-lines file (``publish --batch``); ``--version`` loads only the
command line; ``presence`` reads and words the presence list; ``tail`` opens the
stream, replays from the first event and exits after one.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.plan import Plan
from lattice_rt_core.paths import DATA_DIR_ENV
from lattice_rt_core.process.child import ChildServer
from lattice_rt_core.process.config import ServerConfig

__all__ = ["BATCH_EVENTS", "COMMANDS", "run_cli"]

BATCH_EVENTS = 100
#: stands for the path of the batch file of :data:`BATCH_EVENTS` events
BATCH_FILE = "{batch}"

#: (name, arguments after ``lattice-rt``)
COMMANDS = (
    ("publish", ["publish", "workflow", "workflow_run", "--payload", '{"run_id": "r1"}']),
    ("batch", ["publish", "--batch", BATCH_FILE]),
    ("version", ["--version"]),
    ("presence", ["presence"]),
    ("tail", ["tail", "--last-event-id", "0", "--count", "1"]),
)


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    took = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {out.stderr.strip()[-300:]}")
    return took


def run_cli(plan: Plan, log_dir: Path) -> dict[str, Any]:
    script = Path(sys.executable).with_name("lattice-rt")
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        data = Path(tmp) / "data"
        batch = Path(tmp) / "events.jsonl"
        batch.write_text("".join(
            json.dumps({"area": "workflow", "event_type": "workflow_run",
                        "payload": {"run_id": f"r{n}"}}) + "\n" for n in range(BATCH_EVENTS)))
        server = ChildServer(ServerConfig(port=0, data_dir=data))
        server.start()
        try:
            env = dict(os.environ, **{DATA_DIR_ENV: str(data)})
            rows: dict[str, Any] = {}
            for name, template in COMMANDS:
                args = [str(batch) if a == BATCH_FILE else a for a in template]
                _timed([str(script), *args], env)  # the file cache warm, as after a first use
                times = [_timed([str(script), *args], env) for _ in range(plan.cli_calls)]
                rows[name] = {"median_ms": 1000 * statistics.median(times),
                              "min_ms": 1000 * min(times), "max_ms": 1000 * max(times)}
        finally:
            server.stop()
    return {"calls": plan.cli_calls, **rows,
            "note": f"Each command {plan.cli_calls} times as its own process against a local "
                    "lattice-rt serve; wall time from spawn to exit."}
