"""The enriched event shape: defaults, preserved keys, anything serialisable."""

from __future__ import annotations

import json
from datetime import datetime

from lattice_rt_core.protocol.events import enrich, now_iso, to_json


def test_defaults_are_filled() -> None:
    out = enrich({}, 1, "t")
    assert out == {
        "seq": 1,
        "received_at": "t",
        "area": "workspace",
        "event_type": "event",
        "workspace_id": None,
        "payload": {},
    }


def test_extra_keys_are_preserved_and_seq_is_the_bus_own() -> None:
    src = {"id": "timeline-1", "timestamp": "ts", "area": "graph", "seq": 99,
           "received_at": "fake", "event_type": "answer_trace", "payload": {"k": 1}}
    out = enrich(src, 5, "now")
    assert out["seq"] == 5 and out["received_at"] == "now"
    assert out["id"] == "timeline-1" and out["timestamp"] == "ts"
    assert out["area"] == "graph" and out["payload"] == {"k": 1}


def test_non_mapping_event_becomes_a_payload() -> None:
    out = enrich(["not", "a", "dict"], 1, "t")
    assert out["payload"] == {"value": ["not", "a", "dict"]}


def test_to_json_never_raises() -> None:
    cyclic: dict[str, object] = {}
    cyclic["self"] = cyclic
    weird = {"when": datetime(2026, 1, 1), (1, 2): "tuple key", "nan": float("nan"),
             "set": {1}, "cyclic": cyclic}
    text = to_json(weird)
    parsed = json.loads(text)  # valid JSON, one line
    assert "\n" not in text
    assert parsed["cyclic"]["self"] == "<cycle>"
    assert parsed["nan"] == "nan"


def test_now_iso_is_parseable_utc() -> None:
    stamp = now_iso()
    assert datetime.fromisoformat(stamp).utcoffset() is not None
