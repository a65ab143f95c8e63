"""The in-process producer: timeline writes reach the bus; a failing sink never breaks them."""

from __future__ import annotations

from typing import Any

from lattice_rt_core.engines.local.bus import RealtimeBus
from lattice_rt_core.store import WorkspaceOSStore


def test_timeline_events_flow_into_the_bus() -> None:
    bus = RealtimeBus()
    store = WorkspaceOSStore(event_sink=bus, default_workspace="ws_default")
    written = store.record_timeline_event("workflow", "workflow_run", {"run_id": "r1"})
    store.record_timeline_event("plugins", "plugin_enabled", None, workspace_id="ws_x")
    feed = bus.recent(5)
    assert [(e["area"], e["workspace_id"]) for e in feed] == [
        ("plugins", "ws_x"),
        ("workflow", "ws_default"),
    ]
    assert feed[1]["id"] == written["id"] and feed[1]["id"].startswith("timeline-")
    assert feed[1]["timestamp"] == written["timestamp"]
    assert feed[0]["payload"] == {}


def test_a_failing_sink_never_breaks_the_write() -> None:
    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("sink down")

    store = WorkspaceOSStore(event_sink=broken)
    event = store.record_timeline_event("memory", "memory_upserted", {"k": 1})
    assert store.timeline(1) == [event]
