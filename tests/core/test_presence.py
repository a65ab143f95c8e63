"""Presence registry with an injected clock: join, leave, refresh, expiry."""

from __future__ import annotations

import pytest

from lattice_rt_core.presence import PresenceRegistry


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(clock: Clock) -> PresenceRegistry:
    return PresenceRegistry(ttl=45.0, clock=clock, wallclock=lambda: "T")


def test_join_publishes_join_with_reference_shape(reg: PresenceRegistry) -> None:
    entry, events = reg.join(user="ann", client_id="c1", workspace_id="ws")
    assert entry.public() == {"client_id": "c1", "user": "ann", "workspace_id": "ws",
                              "joined_at": "T", "last_seen": "T"}
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
