"""The enriched event shape and its normalisation (pure functions, no I/O)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["DEFAULT_AREA", "DEFAULT_EVENT_TYPE", "enrich", "now_iso", "to_json"]

DEFAULT_AREA = "workspace"
DEFAULT_EVENT_TYPE = "event"

# json.dumps(ensure_ascii=False) leaves these raw. Some line splitters
# (str.splitlines among them) treat U+2028, U+2029 and U+0085 as line breaks,
# and a lone surrogate cannot be encoded as UTF-8 at all (it would make the
# frame, the journal row and the HTTP answer fail). All of them only ever
# occur inside JSON strings, so each is replaced by its \uXXXX escape: one
# JSON document on exactly one valid UTF-8 SSE line whatever the decoder.
_UNSAFE = re.compile("[\u2028\u2029\x85\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def now_iso() -> str:
    """Wall-clock time as ISO 8601 in UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_json(value: Any) -> str:
    """Serialise ``value`` to a single-line JSON string; never raises.

    Values JSON cannot represent are rendered with ``str()`` (as the reference
    does); circular or otherwise unencodable structures degrade to their
    ``repr`` string rather than breaking the caller.
    """
    try:
        text = json.dumps(
            value, ensure_ascii=False, allow_nan=False, default=_fallback, separators=(",", ":")
        )
    except (ValueError, TypeError, RecursionError):
        text = json.dumps(
            _sanitise(value, _MAX_DEPTH, set()), ensure_ascii=False, separators=(",", ":")
        )
    return _UNSAFE.sub(_escape, text)


_MAX_DEPTH = 64


def _fallback(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return _safe_repr(value)


def _sanitise(value: Any, depth: int, active: set[int]) -> Any:
    """A JSON-safe copy: string keys, no cycles, bounded depth, str() leaves."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        try:
            int.__repr__(value)  # what json uses; fails past sys.get_int_max_str_digits()
        except ValueError:
            return f"<int of {value.bit_length()} bits>"
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth <= 0:
        return "<too deep>"
    if not isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return _safe_repr(value)
    if id(value) in active:
        return "<cycle>"
    active.add(id(value))
    try:
        if isinstance(value, Mapping):
            return {_safe_key(k): _sanitise(v, depth - 1, active) for k, v in value.items()}
        return [_sanitise(v, depth - 1, active) for v in value]
    finally:
        active.discard(id(value))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break publish
        return _safe_repr(value)


def _utf8(text: str) -> str:
    """``text`` with lone surrogates replaced: the workspace id is a journal column."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _safe_key(key: Any) -> str:
    return key if isinstance(key, str) else _safe_repr(key)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break publish
        return f"<unrepresentable {type(value).__name__}>"


def enrich(event: Any, seq: int, received_at: str) -> dict[str, Any]:
    """Normalise ``event`` into the enriched shape.

    ``seq`` and ``received_at`` are set by the bus; ``area``, ``event_type``,
    ``workspace_id`` and ``payload`` are always present (defaults
    ``"workspace"``, ``"event"``, ``None`` and ``{}``); any other keys of the
    source event are preserved. A non-mapping event becomes the payload of a
    default event instead of being rejected.
    """
    source: Mapping[Any, Any]
    if isinstance(event, Mapping):
        source = event
    else:
        source = {"payload": {"value": event}}
    out: dict[str, Any] = {"seq": seq, "received_at": received_at}
    area = source.get("area")
    event_type = source.get("event_type")
    workspace_id = source.get("workspace_id")
    payload = source.get("payload")
    out["area"] = _text(area) if area not in (None, "") else DEFAULT_AREA
    out["event_type"] = _text(event_type) if event_type not in (None, "") else DEFAULT_EVENT_TYPE
    out["workspace_id"] = _utf8(_text(workspace_id)) if workspace_id not in (None, "") else None
    out["payload"] = payload if payload is not None else {}
    for key, value in source.items():
        key = _text(key)
        if key not in out and key not in ("seq", "received_at"):
            out[key] = value
    return out
