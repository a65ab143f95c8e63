"""How an event reads to a person: title, one-line summary, body (pure functions).

Events are the enriched dicts the endpoint sends: ``area``, ``event_type``,
``workspace_id``, ``payload`` (a dict, or anything), ``actor`` and any extra
keys. Nothing here trusts their types: a malformed event still gets a title.

A *failure* is an event whose type says it failed (``workflow_failed``,
``run_error``, ``syncFailed``), whose payload's status says so (``"status":
"failed"``) or whose payload carries an ``error``. The activity list marks
failures, and every view shows the payload's ``status``, ``error`` and
``reason``, because those are what a person wants to know first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from lattice_rt_core.protocol.people import NO_WORKSPACE
from lattice_rt_tray.logic.status_display import status_line, status_of

__all__ = [
    "MAX_SUMMARY",
    "acted_workspace",
    "actor_name",
    "event_actor",
    "event_body",
    "event_json",
    "event_summary",
    "event_title",
    "failure_line",
    "humanize",
    "is_failure",
    "is_presence",
    "is_status_change",
    "workspace_label",
]

MAX_SUMMARY = 140

#: Payload fields that best tell what happened, most telling first.
_TELLING = (
    "title",
    "name",
    "message",
    "summary",
    "text",
    "description",
    "query",
    "workflow_id",
    "run_id",
    "agent_id",
    "graph_id",
    "plugin",
    "plugin_id",
    "skill",
    "skill_id",
    "member",
    "user_id",
    "email",
    "snapshot_id",
    "source_id",
    "template_id",
    "key",
    "id",
)
#: never shown as a telling field: where and when (said elsewhere), bookkeeping
_NOT_TELLING = frozenset({
    "workspace_id", "seq", "timestamp", "received_at", "created_at", "updated_at", "ts",
    "time", "timeline_index", "contract", "type", "origin", "actor", "client_id",
})
_MAX_PARTS = 4  # the telling fields and the status, on one line
_MAX_EXTRA = 60  # an unknown field longer than this is not telling, it is content
_STATUS = ("status", "state", "result")
#: Words of an event type or a status that mean something went wrong.
_FAILURE_WORDS = frozenset({"fail", "failed", "failing", "failure", "error", "errored", "errors"})
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z]+")


def humanize(identifier: object) -> str:
    """``"workflow_run"`` -> ``"workflow run"``."""
    return str(identifier).replace("_", " ").replace("-", " ").strip()


#: a workspace that stands for "the caller's own" (the Lattice AI server's local mode)
_PERSONAL = "personal"


def acted_workspace(event: Mapping[str, Any]) -> str | None:
    """The workspace the event is about: its own, or, where it says only "personal" (or
    nothing), the workspace its payload acted on (Lattice AI: ``member_added`` in org X)."""
    ws = event.get("workspace_id")
    if ws in (None, "", _PERSONAL) and not is_presence(event):
        inner = _payload(event).get("workspace_id")
        if isinstance(inner, str) and inner:
            return inner
    return str(ws) if ws not in (None, "") else None


def workspace_label(event: Mapping[str, Any]) -> str:
    """The event's workspace (:func:`acted_workspace`), or
    :data:`~lattice_rt_core.protocol.people.NO_WORKSPACE`."""
    ws = acted_workspace(event)
    return ws if ws is not None else NO_WORKSPACE


def is_presence(event: Mapping[str, Any]) -> bool:
    return event.get("area") == "presence"


def is_status_change(event: Mapping[str, Any]) -> bool:
    """A presence entry's status or status line changed (``presence/status``)."""
    return is_presence(event) and event.get("event_type") == "status"


def _payload(event: Mapping[str, Any]) -> Mapping[str, Any]:
    payload = event.get("payload")
    return payload if isinstance(payload, Mapping) else {}


def actor_name(event: Mapping[str, Any]) -> str:
    """Who did it: a presence entry's display name, else the event's actor."""
    payload = _payload(event)
    for value in (payload.get("display_name"), payload.get("user"), event.get("actor")):
        if isinstance(value, str) and value:
            return value
    return ""


def event_actor(event: Mapping[str, Any]) -> str:
    """The account that did it: the event's ``actor`` (the server sets it), else, for a
    presence event, the user whose entry it is."""
    for value in (event.get("actor"), _payload(event).get("user") if is_presence(event) else None):
        if isinstance(value, str) and value:
            return value
    return ""


def event_title(event: Mapping[str, Any]) -> str:
    """``Workflow run``, ``Graph: indexing paused``, ``Alice joined``."""
    area = humanize(event.get("area") or "workspace")
    kind = humanize(event.get("event_type") or "event")
    if is_presence(event):
        who = actor_name(event) or "Someone"
        if is_status_change(event):
            payload = _payload(event)
            return f"{who}: {status_line(status_of(payload), payload.get('status_text'))}"
        verb = {"join": "joined", "leave": "left"}.get(str(event.get("event_type")), kind)
        return f"{who} {verb}"
    if kind.lower().startswith(area.lower().rstrip("s")):
        return _capital(kind)
    return f"{_capital(area)}: {kind}"


def event_summary(event: Mapping[str, Any]) -> str:
    """One line from the payload's most telling fields (for the activity list).

    Up to two telling fields, then the status, the error and the reason.
    """
    payload = event.get("payload")
    if is_presence(event):
        reason = _payload(event).get("reason")
        ws = event.get("workspace_id")
        text = event_title(event) + (f" {ws}" if ws not in (None, "") else "")
        return _clip(f"{text} ({reason})" if reason and reason != "left" else text)
    if not isinstance(payload, Mapping):
        return _clip("" if payload is None else _scalar(payload))
    parts = _telling(payload)
    parts += [text for text in (_error_text(payload), _reason_text(payload)) if text]
    if not parts:
        parts = [
            f"{k}={_scalar(v)}" for k, v in list(payload.items())[:3] if _is_scalar(v)
        ]
    return _clip(" · ".join(parts))


def event_body(event: Mapping[str, Any]) -> str:
    """Notification body: what happened (with its status), the error, the reason, where, who.

    ``"wf_launch · run id r9 · failed\nError: step 3 timed out\nin ws_m by ada"``.
    Each line is clipped on its own, so a long summary never hides the error.
    """
    ws = acted_workspace(event)
    where = f"in {ws}" if ws is not None else NO_WORKSPACE
    if is_presence(event):
        return where
    actor = event.get("actor")
    if isinstance(actor, str) and actor:
        where += f" by {actor}" if ws not in (None, "") else f", by {actor}"
    payload = event.get("payload")
    if not isinstance(payload, Mapping):
        summary = event_summary(event)
        return f"{summary}\n{where}" if summary else where
    lines = [" · ".join(_telling(payload))]
    error, reason = _error_text(payload), _reason_text(payload)
    if error:
        lines.append(f"Error: {error}")
    if reason:
        lines.append(f"Reason: {reason}")
    lines.append(where)
    return "\n".join(_clip(line) for line in lines if line)


def is_failure(event: Mapping[str, Any]) -> bool:
    """Did it go wrong? Its type, its payload's status or an ``error`` says so."""
    if is_presence(event):
        return False
    if _words(event.get("event_type")) & _FAILURE_WORDS:
        return True
    payload = _payload(event)
    if any(_words(payload.get(key)) & _FAILURE_WORDS for key in _STATUS):
        return True
    error = payload.get("error")
    return bool(error.strip() if isinstance(error, str) else error)


def failure_line(event: Mapping[str, Any]) -> str:
    """``Nightly import — disk full``: what failed (its name, else its title) and why."""
    payload = _payload(event)
    what = next((_scalar(payload[k]) for k in ("name", "title", "workflow_id", "run_id")
                 if _is_scalar(payload.get(k)) and payload.get(k) != ""), event_title(event))
    why = _error_text(payload) or _reason_text(payload)
    return _clip(f"{what} — {why}" if why else what)


def _telling(payload: Mapping[str, Any]) -> list[str]:
    """Up to two well-known telling fields, then the first other short scalar fields of
    the payload (``role admin``, ``version 4.2.1``, ``target prod-eu``), then the status;
    never more than :data:`_MAX_PARTS` in all."""
    parts: list[str] = []
    for key in _TELLING:
        value = payload.get(key)
        if _is_scalar(value) and value != "":
            parts.append(_scalar(value) if not parts else f"{humanize(key)} {_scalar(value)}")
        if len(parts) == 2:
            break
    status = next((_scalar(payload[k]) for k in _STATUS
                   if _is_scalar(payload.get(k)) and payload.get(k) != ""), None)
    enabled = payload.get("enabled")
    if status is None and isinstance(enabled, bool):
        status = "enabled" if enabled else "disabled"
    room = _MAX_PARTS - len(parts) - (status is not None)
    for key, value in payload.items():
        if room <= 0:
            break
        if (key in _TELLING or key in _STATUS or key in _NOT_TELLING or key in _SAID
                or key.endswith("_at") or not _is_scalar(value) or value == ""
                or len(str(value)) > _MAX_EXTRA):
            continue
        parts.append(f"{humanize(key)} {_scalar(value)}")  # an unknown field says its name
        room -= 1
    if status is not None:
        parts.append(status)
    return parts


#: said on lines of their own (the error, the reason) or by the status word
_SAID = frozenset({"error", "reason", "enabled"})


def _error_text(payload: Mapping[str, Any]) -> str:
    """The payload's ``error`` as a line: a string, or an object's message (else its JSON)."""
    error = payload.get("error")
    if isinstance(error, Mapping):
        for key in ("message", "detail", "reason", "error"):
            if _is_scalar(error.get(key)) and error.get(key) != "":
                return _scalar(error[key])
        return _scalar(json.dumps(error, ensure_ascii=False, default=str))
    return _scalar(error) if _is_scalar(error) and error != "" else ""


def _reason_text(payload: Mapping[str, Any]) -> str:
    reason = payload.get("reason")
    return _scalar(reason) if _is_scalar(reason) and reason != "" else ""


def _words(value: object) -> frozenset[str]:
    """``"workflowFailed"``, ``"run_error"`` -> their lowercase words."""
    if not isinstance(value, str):
        return frozenset()
    return _words_of(value)


@lru_cache(maxsize=1024)
def _words_of(text: str) -> frozenset[str]:
    # a flood repeats a few types and statuses: each is split once, not per event
    return frozenset(_WORD.findall(_CAMEL.sub(r"\1 \2", text).lower()))


def event_json(event: Mapping[str, Any]) -> str:
    """Every field of the event, pretty-printed (the detail view, and what Copy copies),
    but the Lattice AI server's ``contract``: its own schema bookkeeping, as long again
    as the event and telling nothing about what happened."""
    shown = {k: v for k, v in event.items() if k != "contract"}
    return json.dumps(shown, ensure_ascii=False, indent=2, default=str)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _is_scalar(value: object) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _scalar(value: object) -> str:
    return " ".join(str(value).split())


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"
