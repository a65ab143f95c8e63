"""``lattice-rt publish``: one event from the arguments, or many from JSON lines.

``--batch FILE`` (``-``: standard input) takes one event object per line, each
like publish's arguments: ``area`` and ``event_type`` (names), ``workspace_id``
and ``payload`` (an object) when wanted, any other keys kept. Every line is
checked first, as the server would check it; one bad line is an error naming
it, and nothing is sent. The events then go in as few requests as the
server's limits allow (:class:`~lattice_rt_core.protocol.limits.ApiLimits`:
events and bytes per request), each under its own ``Idempotency-Key``, so the
retry of a request whose answer was lost never publishes it twice.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lattice_rt_core.commands.support import PROG, CliError, Remote, emit, say
from lattice_rt_core.net.api import ApiError
from lattice_rt_core.protocol.events import to_json
from lattice_rt_core.protocol.limits import ApiLimits, name_problem

__all__ = ["add_commands", "chunks", "read_batch"]

#: the name fields of an event (all names), and the ones a batch line must have
_NAMES = ("area", "event_type", "workspace_id")
_REQUIRED = ("area", "event_type")


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    publish = command("publish", _publish,
                      "publish one event (prints it enriched), or every event of a JSON-lines "
                      "file with --batch")
    publish.add_argument("area", nargs="?", help="e.g. workflow, graph, workspace")
    publish.add_argument("event_type", nargs="?", help="e.g. workflow_run")
    publish.add_argument("--workspace", "-w", metavar="WS", help="the event's workspace_id")
    publish.add_argument("--payload", "-p", type=_payload, default=None, metavar="JSON",
                         help="the payload, a JSON object; @FILE reads it from a file, "
                              "- from standard input")
    publish.add_argument("--batch", "-b", metavar="FILE",
                         help="publish the events of FILE (- for standard input), one JSON "
                              "object per line ({\"area\", \"event_type\", \"workspace_id\"?, "
                              "\"payload\"?}); every line is checked before anything is sent; "
                              "prints the events enriched, and the count and seqs on stderr")
    publish.add_argument("--idempotency-key", metavar="KEY",
                         help="publish at most once under KEY: run again with the same KEY "
                              "(within a day) and the server answers the first event, "
                              "publishing nothing (with --batch, request N of the batch goes "
                              "under KEY.N; default: a new key, retried once if the answer "
                              "is lost)")


def _payload(text: str) -> dict[str, Any]:
    """A JSON object given inline, as ``@FILE`` or as ``-`` (standard input)."""
    source = "the payload"
    if text == "-":
        source, text = "standard input", sys.stdin.read()
    elif text.startswith("@"):
        source = text[1:]
        text = _read(source, argparse.ArgumentTypeError)
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{source} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{source} must be a JSON object, like '{{\"key\": 1}}'")
    return value


def _read(name: str, error: Callable[[str], Exception]) -> str:
    try:
        return Path(name).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise error(f"cannot read {name}: {reason}") from None


def _publish(args: argparse.Namespace) -> int:
    if args.batch is not None:
        return _publish_batch(args)
    if args.area is None or args.event_type is None:
        raise CliError("the following arguments are required: area, event_type (or --batch "
                       "FILE)", code=2)
    with Remote(args).session() as client:
        event = client.publish(
            args.area, args.event_type, args.payload or {}, workspace_id=args.workspace,
            idempotency_key=args.idempotency_key,
        )
    emit(to_json(event))
    return 0


# -------------------------------------------------------------------- batch
def read_batch(text: str, source: str, limits: ApiLimits) -> list[tuple[int, dict[str, Any]]]:
    """The events of JSON-lines ``text`` with their line numbers (blank lines skipped);
    :class:`CliError` (a usage error) naming the first bad line."""
    events: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        problem = None
        try:
            event = json.loads(line)
        except ValueError as exc:
            problem = f"not valid JSON ({exc})"
        else:
            problem = _event_problem(event, limits)
        if problem is not None:
            raise CliError(f"{source}, line {number}: {problem}; nothing was published", code=2)
        events.append((number, event))
    if not events:
        raise CliError(f"{source} has no events (one JSON object per line)", code=2)
    return events


def _event_problem(event: Any, limits: ApiLimits) -> str | None:
    """What the server would refuse in ``event`` (its rights aside), or None."""
    if not isinstance(event, dict):
        return "each event must be a JSON object, like {\"area\": \"a\", \"event_type\": \"b\"}"
    for key in _REQUIRED:
        if event.get(key) is None:
            return f"{key!r} is required"
    for key in _NAMES:
        value = event.get(key)
        problem = None if value is None else name_problem(value, limits.max_name)
        if problem is not None:
            return f"{key!r} {problem}"
    if "payload" in event and not isinstance(event["payload"], dict):
        return "'payload' must be a JSON object"
    if len(to_json(event)) > limits.max_event_bytes:
        return f"event larger than {limits.max_event_bytes} bytes"
    return None


def chunks(
    events: list[tuple[int, dict[str, Any]]], limits: ApiLimits
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """``events`` in order, in as few requests as ``limits`` allow (events and body bytes)."""
    chunk: list[tuple[int, dict[str, Any]]] = []
    size = 2  # the body is a JSON array: its brackets, then the events and their commas
    for item in events:
        length = len(to_json(item[1]).encode())
        if chunk and (len(chunk) == limits.max_batch or size + 1 + length > limits.max_body):
            yield chunk
            chunk, size = [], 2
        size += length + (1 if chunk else 0)
        chunk.append(item)
    if chunk:
        yield chunk


def _publish_batch(args: argparse.Namespace) -> int:
    if args.area is not None or args.payload is not None or args.workspace is not None:
        raise CliError("--batch takes every event from its lines: give no AREA, EVENT_TYPE, "
                       "--payload or --workspace with it", code=2)
    if args.batch == "-":
        source, text = "standard input", sys.stdin.read()
    else:
        source = args.batch
        text = _read(source, lambda message: CliError(message, code=2))
    limits = ApiLimits()
    requests = list(chunks(read_batch(text, source, limits), limits))
    published: list[dict[str, Any]] = []
    remote = Remote(args)
    with remote.session() as client:
        for index, chunk in enumerate(requests, start=1):
            key = f"{args.idempotency_key}.{index}" if args.idempotency_key else None
            try:
                events = client.publish_many([e for _, e in chunk], idempotency_key=key)
            except ApiError as exc:
                if not published:
                    raise
                raise CliError(_partly(published, chunk[0][0], source, remote.explain(exc),
                                       args)) from None
            for event in events:
                emit(to_json(event))
            published += events
    say(f"published {_counted(published)} in {len(requests)} "
        f"request{'s' if len(requests) != 1 else ''}")
    return 0


def _counted(events: list[dict[str, Any]]) -> str:
    seqs = [e["seq"] for e in events if isinstance(e.get("seq"), int)]
    count = f"{len(events)} event{'s' if len(events) != 1 else ''}"
    if not seqs:
        return count
    if len(seqs) == 1:
        return f"{count} (seq {seqs[0]})"
    return f"{count} (seq {min(seqs)}-{max(seqs)})"


def _partly(published: list[dict[str, Any]], line: int, source: str, why: str,
            args: argparse.Namespace) -> str:
    """A batch that stopped half-way: what is published, from where it is not, and why."""
    again = ("running it again publishes only the rest" if args.idempotency_key else
             f"give --idempotency-key to run it again without publishing those twice "
             f"(`{PROG} feed` shows them)")
    return (f"published {_counted(published)}, then failed from {source} line {line} on: "
            f"{why}; {again}")
