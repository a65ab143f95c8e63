"""How an event reads to a person: title, one-line summary, body (pure functions).

Events are the enriched dicts the endpoint sends: ``area``, ``event_type``,
``workspace_id``, ``payload`` (a dict, or anything), ``actor`` and any extra
keys. Nothing here trusts their types: a malformed event still gets a title.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_SUMMARY",
    "actor_name",
    "event_body",
    "event_summary",
    "event_title",
    "humanize",
    "is_presence",
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
    "email",
    "key",
    "id",
)
_STATUS = ("status", "state", "result")


def humanize(identifier: object) -> str:
    """``"workflow_run"`` -> ``"workflow run"``."""
    return str(identifier).replace("_", " ").replace("-", " ").strip()


def workspace_label(event: Mapping[str, Any]) -> str:
    ws = event.get("workspace_id")
    return str(ws) if ws not in (None, "") else "personal"


def is_presence(event: Mapping[str, Any]) -> bool:
    return event.get("area") == "presence"


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


def event_title(event: Mapping[str, Any]) -> str:
    """``Workflow run``, ``Graph: indexing paused``, ``Alice joined``."""
    area = humanize(event.get("area") or "workspace")
    kind = humanize(event.get("event_type") or "event")
    if is_presence(event):
        who = actor_name(event) or "Someone"
        verb = {"join": "joined", "leave": "left"}.get(str(event.get("event_type")), kind)
        return f"{who} {verb}"
    if kind.lower().startswith(area.lower().rstrip("s")):
        return _capital(kind)
    return f"{_capital(area)}: {kind}"


def event_summary(event: Mapping[str, Any]) -> str:
    """One line from the payload's most telling fields (for the activity list)."""
    payload = event.get("payload")
    if is_presence(event):
        reason = _payload(event).get("reason")
        where = workspace_label(event)
        text = f"{event_title(event)} {where}"
        return _clip(f"{text} ({reason})" if reason and reason != "left" else text)
    if not isinstance(payload, Mapping):
        return _clip("" if payload is None else _scalar(payload))
    parts: list[str] = []
    for key in _TELLING:
        value = payload.get(key)
        if _is_scalar(value) and value != "":
            parts.append(_scalar(value) if not parts else f"{humanize(key)} {_scalar(value)}")
        if len(parts) == 2:
            break
    for key in _STATUS:
        value = payload.get(key)
        if _is_scalar(value) and value != "":
            parts.append(_scalar(value))
            break
    if not parts:
        parts = [
            f"{k}={_scalar(v)}" for k, v in list(payload.items())[:3] if _is_scalar(v)
        ]
    return _clip(" · ".join(parts))


def event_body(event: Mapping[str, Any]) -> str:
    """Notification body: the summary, then where and by whom."""
    summary = event_summary(event)
    where = f"in {workspace_label(event)}"
    actor = event.get("actor")
    if isinstance(actor, str) and actor and not is_presence(event):
        where += f" by {actor}"
    if is_presence(event):
        return where
    return f"{summary}\n{where}" if summary else where


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _is_scalar(value: object) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _scalar(value: object) -> str:
    return " ".join(str(value).split())


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"
