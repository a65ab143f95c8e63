"""Client callbacks from another thread reach the GUI thread in order, batched."""

from __future__ import annotations

import threading

from lattice_rt_core.client import ClientState
from lattice_rt_tray.bridge import ClientBridge
from lattice_rt_tray.presence_keeper import PresenceKeeper


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


def test_containers_reach_every_slot_as_the_same_python_objects(qtbot):
    # regression: Signal(list)/Signal(dict) turned each batch and every event in it into Qt
    # types and back once per connected slot (the largest cost on the GUI thread in a flood)
    bridge = ClientBridge(interval_ms=1)
    event = {"seq": 1, "payload": {"ids": (1, 2), 7: "not a string key"}}
    gap = {"missed": 2, "span": (3, 4)}
    reset = {"server_seq": 3, "reason": "ahead"}
    got: list[object] = []
    bridge.events_received.connect(lambda batch: got.extend(batch))
    bridge.events_received.connect(lambda batch: got.extend(batch))
    bridge.gap_received.connect(got.append)
    bridge.reset_received.connect(got.append)
    with qtbot.waitSignal(bridge.reset_received, timeout=5000):
        bridge.on_event(event)
        bridge.on_gap(gap)
        bridge.on_reset(reset)
    assert [id(x) for x in got] == [id(event), id(event), id(gap), id(reset)]

    keeper = PresenceKeeper("me", None, display_name="Me", workspaces=[])
    entries = [{"client_id": "me:-", "meta": (1, 2)}]
    joined: list[object] = []
    keeper.joined.connect(joined.append)
    keeper.joined.connect(joined.append)
    keeper.joined.emit(entries)
    assert joined[0] is entries and joined[1] is entries
