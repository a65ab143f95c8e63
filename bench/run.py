"""Run every figure against both servers and write the report.

``python -m bench.run`` (what ``make bench`` calls) runs the full plan and
writes ``BENCHMARKS.md``, ``docs/bench.png`` and ``bench/out/results.json``;
``--smoke`` runs a tiny version of everything (the tests use it).
A figure that fails is recorded with its error and the run goes on; the exit
status is 1 when any figure failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench.burst import run_burst
from bench.cluster import SETUPS, run_cluster
from bench.latency import run_latency
from bench.loadgen import raise_fd_limit
from bench.machine import describe, load_average
from bench.plan import FULL, SMOKE, Plan
from bench.scale import run_scale
from bench.servers import KINDS, REPO

__all__ = ["FIGURES", "main", "run_all"]

FIGURES = ("burst", "latency", "scale", "publish", "tray", "flood", "cluster", "cli")
Row = dict[str, Any]


def _guarded(kind: str, case: dict[str, Any], fn: Callable[[], Row]) -> Row:
    started = time.monotonic()
    try:
        row = {"kind": kind, **case, **fn()}
    except Exception as exc:  # noqa: BLE001 - one failing figure must not end the run
        traceback.print_exc(file=sys.stderr)
        row = {"kind": kind, **case, "error": f"{type(exc).__name__}: {exc}"}
    row["run_s"] = round(time.monotonic() - started, 2)
    state = "error: " + row["error"] if "error" in row else "ok"
    print(f"  {kind:8s} {case} ... {state} ({row['run_s']} s)", file=sys.stderr, flush=True)
    return row


def _publish_cost(kind: str, subscribers: int, plan: Plan) -> Row:
    events = min(plan.publish_max_events,
                 max(100, plan.publish_frame_budget // max(1, subscribers)))
    out = subprocess.run(
        [sys.executable, "-m", "bench.publish_cost", "--kind", kind,
         "--subscribers", str(subscribers), "--events", str(events)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    row: Row = json.loads(out.stdout)
    return row


def run_all(plan: Plan, figures: Sequence[str], kinds: Sequence[str], out: Path) -> dict[str, Any]:
    log_dir = out / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": describe(REPO),
        "plan": asdict(plan),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "figures": {},
    }
    figs: dict[str, list[Row]] = results["figures"]
    for figure in figures:
        print(f"figure {figure}", file=sys.stderr, flush=True)
        rows: list[Row] = []
        if figure == "burst":
            for n in plan.burst_subscribers:
                for kind in kinds:
                    rows.append(_guarded(kind, {"subscribers": n},
                                         partial(run_burst, kind, n, plan, log_dir)))
        elif figure == "latency":
            for n in plan.latency_subscribers:
                for kind in kinds:
                    rows.append(_guarded(kind, {"subscribers": n},
                                         partial(run_latency, kind, n, plan, log_dir)))
        elif figure == "scale":
            for kind in kinds:
                rows.append(_guarded(kind, {}, partial(run_scale, kind, plan, log_dir)))
        elif figure == "publish":
            for n in plan.publish_subscribers:
                for kind in kinds:
                    rows.append(_guarded(kind, {"subscribers": n},
                                         partial(_publish_cost, kind, n, plan)))
        elif figure == "cluster":
            for engine, count in SETUPS:
                rows.append(_guarded(f"{engine}-{count}", {},
                                     partial(run_cluster, engine, count, plan, log_dir)))
        elif figure == "cli":
            from bench.cli_time import run_cli

            rows.append(_guarded("project", {}, partial(run_cli, plan, log_dir)))
        elif figure in ("tray", "flood"):
            from bench import tray

            fn = tray.run_tray if figure == "tray" else tray.run_flood
            rows.append(_guarded("project", {}, partial(fn, plan, log_dir)))
        figs[figure] = rows
    results["machine"]["load_after"] = load_average()
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for tests")
    parser.add_argument("--only", default=",".join(FIGURES),
                        help=f"comma-separated figures out of {','.join(FIGURES)}")
    parser.add_argument("--kinds", default=",".join(KINDS), help="project,baseline")
    parser.add_argument("--client-processes", type=int, default=None,
                        help="load generator processes per figure (default 1)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out",
                        help="where results.json and the logs go")
    parser.add_argument("--report", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "bench.png")
    parser.add_argument("--no-report", action="store_true", help="only write results.json")
    args = parser.parse_args(argv)
    args.figures = [f for f in args.only.split(",") if f]
    args.kind_list = [k for k in args.kinds.split(",") if k]
    unknown = set(args.figures) - set(FIGURES) | set(args.kind_list) - set(KINDS)
    if unknown:
        parser.error(f"unknown figure or kind: {', '.join(sorted(unknown))}")
    if args.client_processes is not None and args.client_processes < 1:
        parser.error("--client-processes must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    plan = SMOKE if args.smoke else FULL
    if args.client_processes is not None:
        plan = replace(plan, client_processes=args.client_processes)
    raise_fd_limit()  # inherited by the servers and load generators started from here
    args.out.mkdir(parents=True, exist_ok=True)
    results = run_all(plan, args.figures, args.kind_list, args.out)
    results["command"] = "python -m bench.run" + (
        " " + " ".join(argv if argv is not None else sys.argv[1:])
    ).rstrip()
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    # a full run of every figure joins the history
    if not args.smoke and set(args.figures) == set(FIGURES) and not args.no_report:
        from bench.report import remember

        remember(results, REPO / "bench" / "history.json")
    if not args.no_report:
        from bench.report import write_report

        write_report(results, args.report, args.plot)
        print(f"wrote {args.report} and {args.plot}", file=sys.stderr)
    failed = [r for rows in results["figures"].values() for r in rows if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
