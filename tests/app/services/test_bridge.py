"""Client callbacks from other threads reach the GUI thread in order, batched, per connection."""

from __future__ import annotations

import threading

from lattice_rt_core.net.api import ClientState
from lattice_rt_tray.logic.resume import Identified
from lattice_rt_tray.services.bridge import ClientBridge


def test_callbacks_from_a_thread_arrive_in_order(qtbot):
    bridge = ClientBridge(interval_ms=5)
    sink = bridge.attach("local")
    seen: list[tuple[str, str, object]] = []
    bridge.events_received.connect(
        lambda key, batch: seen.append((key, "events", [e["seq"] for e in batch])))
    bridge.gap_received.connect(lambda key, body: seen.append((key, "gap", body["missed"])))
    bridge.reset_received.connect(
        lambda key, body: seen.append((key, "reset", body["server_seq"])))
    bridge.state_changed.connect(lambda key, state, detail: seen.append((key, "state", state)))
    bridge.identified.connect(lambda key, what: seen.append((key, "identified", what.resume)))
    identified = Identified(None, False, 7, {})

    def client_thread() -> None:
        sink.on_identified(identified)
        sink.on_state(ClientState.CONNECTED, "connected")
        sink.on_event({"seq": 1})
        sink.on_event({"seq": 2})
        sink.on_gap({"missed": 5})
        sink.on_event({"seq": 8})
        sink.on_reset({"server_seq": 3})
        sink.on_state(ClientState.RECONNECTING, "lost")

    with qtbot.waitSignal(bridge.state_changed, timeout=5000,
                          check_params_cb=lambda k, state, d: state is ClientState.RECONNECTING):
        thread = threading.Thread(target=client_thread)
        thread.start()
        thread.join()
    assert seen == [
        ("local", "identified", 7),
        ("local", "state", ClientState.CONNECTED),
        ("local", "events", [1, 2]),
        ("local", "gap", 5),
        ("local", "events", [8]),
        ("local", "reset", 3),
        ("local", "state", ClientState.RECONNECTING),
    ]


def test_batches_never_mix_connections(qtbot):
    bridge = ClientBridge(interval_ms=5)
    local, team = bridge.attach("local"), bridge.attach("team")
    batches: list[tuple[str, list[int]]] = []
    bridge.events_received.connect(
        lambda key, batch: batches.append((key, [e["seq"] for e in batch])))

    def both() -> None:
        local.on_event({"seq": 1})
        local.on_event({"seq": 2})
        team.on_event({"seq": 1})
        local.on_event({"seq": 3})

    with qtbot.waitSignal(bridge.events_received, timeout=5000,
                          check_params_cb=lambda key, batch: batch[-1]["seq"] == 3):
        thread = threading.Thread(target=both)
        thread.start()
        thread.join()
    assert batches == [("local", [1, 2]), ("team", [1]), ("local", [3])]


def test_a_flood_is_delivered_whole_in_a_few_slices(qtbot):
    bridge = ClientBridge(interval_ms=5, slice_size=4000)
    sink = bridge.attach("local")
    batches: list[int] = []
    got: list[int] = []
    bridge.events_received.connect(lambda key, b: (batches.append(len(b)),
                                                   got.extend(e["seq"] for e in b)))

    def flood() -> None:
        for i in range(1, 10_001):
            sink.on_event({"seq": i})

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
    sink = bridge.attach("local")
    event = {"seq": 1, "payload": {"ids": (1, 2), 7: "not a string key"}}
    gap = {"missed": 2, "span": (3, 4)}
    reset = {"server_seq": 3, "reason": "ahead"}
    got: list[object] = []
    bridge.events_received.connect(lambda key, batch: got.extend(batch))
    bridge.events_received.connect(lambda key, batch: got.extend(batch))
    bridge.gap_received.connect(lambda key, body: got.append(body))
    bridge.reset_received.connect(lambda key, body: got.append(body))
    with qtbot.waitSignal(bridge.reset_received, timeout=5000):
        sink.on_event(event)
        sink.on_gap(gap)
        sink.on_reset(reset)
    assert [id(x) for x in got] == [id(event), id(event), id(gap), id(reset)]


def test_an_earlier_client_goes_quiet_and_a_closed_bridge_drops_everything(qtbot):
    bridge = ClientBridge(interval_ms=1)
    old = bridge.attach("local")
    old.on_event({"seq": 1})  # queued, but its client is replaced before the flush
    team = bridge.attach("team")  # another connection's client leaves it alone
    new = bridge.attach("local")
    got: list[tuple[str, int]] = []
    states: list[object] = []
    bridge.events_received.connect(lambda key, batch: got.extend((key, e["seq"]) for e in batch))
    bridge.state_changed.connect(lambda key, state, detail: states.append(state))
    with qtbot.waitSignal(bridge.events_received, timeout=5000,
                          check_params_cb=lambda key, batch: key == "local"):
        old.on_state(ClientState.STOPPED, "late word from the old client")
        old.on_event({"seq": 2})
        team.on_event({"seq": 9})
        new.on_event({"seq": 3})
    assert got == [("team", 9), ("local", 3)] and states == []
    bridge.detach("team")  # removed: nothing more from it
    team.on_event({"seq": 10})
    assert bridge.pending() == 0
    bridge.close()
    new.on_event({"seq": 4})
    new.on_state(ClientState.STOPPED, "stopped")
    assert bridge.pending() == 0  # dropped on the client thread's side, Qt untouched


def test_a_state_change_is_handed_over_at_once_with_what_is_queued_before_it(qtbot):
    # events wait for the batching interval (a minute here); "connected" must not
    bridge = ClientBridge(interval_ms=60_000)
    sink = bridge.attach("local")
    seen: list[object] = []
    bridge.events_received.connect(lambda key, batch: seen.extend(e["seq"] for e in batch))
    bridge.state_changed.connect(lambda key, state, detail: seen.append(state))
    with qtbot.waitSignal(bridge.state_changed, timeout=5000):
        thread = threading.Thread(target=lambda: (sink.on_event({"seq": 1}),
                                                  sink.on_state(ClientState.CONNECTED, "")))
        thread.start()
        thread.join()
    assert seen == [1, ClientState.CONNECTED]
