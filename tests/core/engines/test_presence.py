"""Presence registry with an injected clock: join, leave, refresh, expiry, status."""

from __future__ import annotations

import pytest

from lattice_rt_core.engines.presence import PresenceRegistry
from tests.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(clock: Clock) -> PresenceRegistry:
    return PresenceRegistry(ttl=45.0, clock=clock, wallclock=lambda: "T")


def test_join_publishes_join_with_reference_shape(reg: PresenceRegistry) -> None:
    entry, events = reg.join(user="ann", client_id="c1", workspace_id="ws")
    assert entry.public() == {"client_id": "c1", "user": "ann", "workspace_id": "ws",
                              "joined_at": "T", "last_seen": "T",
                              "status": "active", "status_since": "T"}
    assert [(e["area"], e["event_type"]) for e in events] == [("presence", "join")]
    assert events[0]["workspace_id"] == "ws"


def test_generated_client_id_when_omitted(reg: PresenceRegistry) -> None:
    a, _ = reg.join(user="ann")
    b, _ = reg.join(user="ann")
    assert a.client_id and b.client_id and a.client_id != b.client_id


def test_rejoin_refreshes_without_a_new_event(reg: PresenceRegistry, clock: Clock) -> None:
    reg.join(user="ann", client_id="c1", workspace_id="ws")
    clock.now += 30
    _, events = reg.join(user="ann", client_id="c1", workspace_id="ws")
    assert events == []
    clock.now += 30
    assert reg.expire() == []  # refreshed 30 s ago, TTL 45


def test_moving_workspace_is_leave_then_join(reg: PresenceRegistry) -> None:
    reg.join(user="ann", client_id="c1", workspace_id="a")
    _, events = reg.join(user="ann", client_id="c1", workspace_id="b")
    assert [(e["event_type"], e["workspace_id"]) for e in events] == [("leave", "a"), ("join", "b")]
    assert events[0]["payload"]["reason"] == "moved"


def test_explicit_leave_says_left(reg: PresenceRegistry) -> None:
    reg.join(user="ann", client_id="c1")
    events = reg.leave("c1")
    assert events[0]["event_type"] == "leave" and events[0]["payload"]["reason"] == "left"
    assert reg.leave("c1") == []
    assert len(reg) == 0


def test_expiry_after_ttl_says_timeout(reg: PresenceRegistry, clock: Clock) -> None:
    reg.join(user="ann", client_id="c1", workspace_id="ws")
    reg.join(user="bob", client_id="c2", workspace_id="ws")
    clock.now += 44.9
    assert reg.expire() == []
    reg.touch(["c2"], user="bob")
    clock.now += 0.2
    events = reg.expire()
    assert [e["payload"]["client_id"] for e in events] == ["c1"]
    assert events[0]["payload"]["reason"] == "timeout"
    assert reg.get("c2") is not None


def test_touch_ignores_other_users_entries(reg: PresenceRegistry, clock: Clock) -> None:
    reg.join(user="ann", client_id="c1")
    clock.now += 40
    reg.touch(["c1"], user="mallory")
    clock.now += 10
    assert [e["payload"]["client_id"] for e in reg.expire()] == ["c1"]


def test_snapshot_is_scope_filtered(reg: PresenceRegistry) -> None:
    reg.join(user="a", client_id="1", workspace_id="x")
    reg.join(user="b", client_id="2", workspace_id="y")
    reg.join(user="c", client_id="3")
    assert {e["client_id"] for e in reg.snapshot({"x"})} == {"1", "3"}
    assert {e["client_id"] for e in reg.snapshot(None)} == {"1", "2", "3"}
    assert {e["client_id"] for e in reg.snapshot(set())} == {"3"}


def test_ttl_must_be_positive(clock: Clock) -> None:
    with pytest.raises(ValueError):
        PresenceRegistry(ttl=0, clock=clock)


# ------------------------------------------------------------------ status
class Wall:
    """A wall clock that says which step it is (status_since shows when)."""

    def __init__(self) -> None:
        self.step = 0

    def __call__(self) -> str:
        return f"W{self.step}"


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def sreg(clock: Clock, wall: Wall) -> PresenceRegistry:
    return PresenceRegistry(ttl=45.0, clock=clock, wallclock=wall, status_interval=1.0)


def _states(events: list[dict[str, object]]) -> list[tuple[object, ...]]:
    out = []
    for e in events:
        payload = e["payload"]
        assert isinstance(payload, dict)
        out.append((e["event_type"], payload["status"], payload.get("status_text")))
    return out


def test_a_join_carries_the_status_and_its_text(sreg: PresenceRegistry) -> None:
    entry, events = sreg.join(user="ann", client_id="c1", status="dnd", status_text="focus")
    assert _states(events) == [("join", "dnd", "focus")]
    assert entry.public()["status_text"] == "focus"
    plain, events = sreg.join(user="bob", client_id="c2")
    assert _states(events) == [("join", "active", None)]
    assert "status_text" not in plain.public()


def test_a_status_change_is_published_at_once_when_the_last_is_a_second_old(
    sreg: PresenceRegistry, clock: Clock, wall: Wall
) -> None:
    sreg.join(user="ann", client_id="c1")
    clock.now += 1.0
    wall.step = 1
    events = sreg.set_status("c1", "away", "lunch")
    assert _states(events) == [("status", "away", "lunch")]
    assert events[0]["payload"]["status_since"] == "W1"
    assert sreg.next_status_due() is None
    clock.now += 5
    wall.step = 2
    events = sreg.set_status("c1", "away", None)  # the text alone: status_since stays
    assert _states(events) == [("status", "away", None)]
    assert events[0]["payload"]["status_since"] == "W1"


def test_flapping_is_coalesced_and_the_last_state_wins(
    sreg: PresenceRegistry, clock: Clock
) -> None:
    # fails without: the status_interval test in PresenceRegistry._publish_due
    sreg.join(user="ann", client_id="c1")
    clock.now += 0.3
    for status in ("idle", "away", "active", "idle", "dnd"):
        assert sreg.set_status("c1", status, None) == []
        entry = sreg.get("c1")
        assert entry is not None and entry.status == status  # the registry shows it at once
    assert sreg.next_status_due() == pytest.approx(1001.0)
    clock.now = 1000.9
    assert sreg.flush_status() == []
    clock.now = 1001.0
    assert _states(sreg.flush_status()) == [("status", "dnd", None)]
    assert sreg.flush_status() == [] and sreg.next_status_due() is None
    # the next change inside the second after that publish waits for it again
    clock.now = 1001.5
    assert sreg.set_status("c1", "active", "back") == []
    clock.now = 1002.0
    assert _states(sreg.flush_status()) == [("status", "active", "back")]


def test_a_change_back_to_what_was_published_publishes_nothing(
    sreg: PresenceRegistry, clock: Clock
) -> None:
    sreg.join(user="ann", client_id="c1")
    sreg.set_status("c1", "idle", None)
    sreg.set_status("c1", "active", None)
    assert sreg.next_status_due() is None
    clock.now += 2
    assert sreg.flush_status() == []


def test_a_pending_change_leaves_with_the_entry(sreg: PresenceRegistry, clock: Clock) -> None:
    sreg.join(user="ann", client_id="c1")
    sreg.set_status("c1", "away", "gone")
    events = sreg.leave("c1")
    assert _states(events) == [("leave", "away", "gone")]  # the final state, in the leave
    assert sreg.next_status_due() is None
    clock.now += 2
    assert sreg.flush_status() == []


def test_clients_are_coalesced_each_on_its_own(sreg: PresenceRegistry, clock: Clock) -> None:
    sreg.join(user="ann", client_id="a")
    clock.now += 0.5
    sreg.join(user="bob", client_id="b")
    clock.now += 0.6  # a's join is 1.1 s old, b's 0.6 s
    assert _states(sreg.set_status("a", "idle", None)) == [("status", "idle", None)]
    assert sreg.set_status("b", "idle", None) == []
    assert sreg.next_status_due() == pytest.approx(1001.5)
    clock.now = 1001.5
    assert [e["payload"]["client_id"] for e in sreg.flush_status()] == ["b"]


def test_a_rejoin_naming_a_status_changes_it_like_a_status_request(
    sreg: PresenceRegistry, clock: Clock
) -> None:
    sreg.join(user="ann", client_id="c1", status="dnd", status_text="focus")
    clock.now += 10
    entry, events = sreg.join(user="ann", client_id="c1")  # no status: kept
    assert events == [] and entry.state() == ("dnd", "focus")
    entry, events = sreg.join(user="ann", client_id="c1", status="active")
    assert _states(events) == [("status", "active", None)]  # the state is status with text


def test_moving_workspace_keeps_the_state_unless_the_join_names_one(
    sreg: PresenceRegistry, wall: Wall
) -> None:
    sreg.join(user="ann", client_id="c1", workspace_id="a", status="away", status_text="x")
    wall.step = 1
    _, events = sreg.join(user="ann", client_id="c1", workspace_id="b")
    assert _states(events) == [("leave", "away", "x"), ("join", "away", "x")]
    assert events[1]["payload"]["status_since"] == "W0"
    _, events = sreg.join(user="ann", client_id="c1", workspace_id="c", status="idle")
    assert _states(events)[1] == ("join", "idle", None)
    assert events[1]["payload"]["status_since"] == "W1"


def test_an_unknown_client_has_no_status_to_change(sreg: PresenceRegistry) -> None:
    assert sreg.set_status("nobody", "away", None) == []
    assert sreg.next_status_due() is None


def test_status_interval_must_be_positive(clock: Clock) -> None:
    with pytest.raises(ValueError):
        PresenceRegistry(clock=clock, status_interval=0)


def test_an_adopted_entry_keeps_its_held_status_change(clock: Clock) -> None:
    """The Redis engine decides on one stored entry at a time with these rules."""
    first = PresenceRegistry(ttl=45.0, clock=clock, wallclock=lambda: "T", status_interval=1.0)
    entry, _ = first.join(user="ann", client_id="c1")
    first.set_status("c1", "away", None)  # inside the join's second: held
    again = PresenceRegistry(ttl=45.0, clock=clock, wallclock=lambda: "T", status_interval=1.0)
    again.adopt(entry)
    assert again.next_status_due() == clock.now + 1.0
    clock.now += 1.0
    assert [e["payload"]["status"] for e in again.flush_status()] == ["away"]
    assert again.next_status_due() is None
    settled = PresenceRegistry(ttl=45.0, clock=clock, wallclock=lambda: "T")
    settled.adopt(entry)  # its state is the one published: nothing held
    assert settled.next_status_due() is None and settled.get("c1") is entry
