"""Client callbacks from another thread reach the GUI thread in order, batched."""

from __future__ import annotations

import threading

from lattice_rt_core.client import ClientState
from lattice_rt_tray.bridge import ClientBridge


def test_callbacks_from_a_thread_arrive_in_order(qtbot):
    bridge = ClientBridge(interval_ms=5)
    seen: list[tuple[str, object]] = []
    bridge.events_received.connect(lambda batch: seen.append(("events", [e["seq"] for e in batch])))
    bridge.gap_received.connect(lambda body: seen.append(("gap", body["missed"])))
    bridge.reset_received.connect(lambda body: seen.append(("reset", body["server_seq"])))
    bridge.state_changed.connect(lambda state, detail: seen.append(("state", state)))

    def client_thread() -> None:
        bridge.on_state(ClientState.CONNECTED, "connected")
        bridge.on_event({"seq": 1})
        bridge.on_event({"seq": 2})
        bridge.on_gap({"missed": 5})
        bridge.on_event({"seq": 8})
        bridge.on_reset({"server_seq": 3})
        bridge.on_state(ClientState.RECONNECTING, "lost")

    with qtbot.waitSignal(bridge.state_changed, timeout=5000,
                          check_params_cb=lambda state, detail: state == "reconnecting"):
        thread = threading.Thread(target=client_thread)
        thread.start()
        thread.join()
    assert seen == [
        ("state", "connected"),
        ("events", [1, 2]),
        ("gap", 5),
        ("events", [8]),
        ("reset", 3),
        ("state", "reconnecting"),
    ]


def test_a_flood_is_delivered_whole_in_a_few_slices(qtbot):
    bridge = ClientBridge(interval_ms=5, slice_size=4000)
    batches: list[int] = []
    got: list[int] = []
    bridge.events_received.connect(lambda b: (batches.append(len(b)),
                                              got.extend(e["seq"] for e in b)))

    def flood() -> None:
        for i in range(1, 10_001):
            bridge.on_event({"seq": i})

    thread = threading.Thread(target=flood)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(got) == 10_000, timeout=10_000)
    assert got == list(range(1, 10_001))
    assert max(batches) <= 4000
    assert len(batches) <= 10  # batched, not one signal per event
    assert bridge.pending() == 0
