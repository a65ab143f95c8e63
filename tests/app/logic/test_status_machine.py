"""The status machine with a fake clock: idle, away, lock, sleep, do-not-disturb, manual."""

from __future__ import annotations

import pytest

from lattice_rt_tray.logic.status_machine import (
    ACTIVE,
    AWAY,
    DEFAULT_AWAY_AFTER,
    DEFAULT_IDLE_AFTER,
    DND,
    IDLE,
    StatusMachine,
    StatusState,
)
from tests.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(5000.0)


@pytest.fixture
def machine(clock: Clock) -> StatusMachine:
    return StatusMachine(clock=clock)


def test_the_defaults_are_five_and_fifteen_minutes(machine: StatusMachine) -> None:
    assert (DEFAULT_IDLE_AFTER, DEFAULT_AWAY_AFTER) == (300.0, 900.0)
    assert (machine.idle_after, machine.away_after) == (300.0, 900.0)
    assert machine.state == StatusState(ACTIVE, None)
    assert machine.next_check() is None  # nothing known: no sample to wait for


def test_idle_after_five_minutes_and_away_after_fifteen(
    machine: StatusMachine, clock: Clock
) -> None:
    assert machine.idle(0) is False
    assert machine.next_check() == 5300.0  # when the last input is five minutes old
    clock.now = 5300.0
    assert machine.idle(299.5) is False  # typed half a second after the first sample
    assert machine.state.status == ACTIVE
    assert machine.next_check() == 5300.5
    clock.now = 5300.5
    assert machine.idle(300) is True and machine.state.status == IDLE
    assert machine.next_check() == 5305.5  # while idle: soon, to see the user come back
    clock.now = 5900.0
    assert machine.idle(899.9) is False
    assert machine.next_check() == pytest.approx(5900.1)  # the away deadline comes first
    clock.now = 5900.1
    assert machine.idle(900) is True and machine.state.status == AWAY
    assert machine.next_check() == pytest.approx(5905.1)
    clock.now = 5910.0
    assert machine.idle(0.2) is True and machine.state.status == ACTIVE  # input: back


def test_time_alone_never_changes_the_status(machine: StatusMachine, clock: Clock) -> None:
    machine.idle(0)
    clock.now += 10_000
    assert machine.state.status == ACTIVE  # only a sample can say there was no input


@pytest.mark.parametrize("source", ["locked", "sleeping"])
def test_a_locked_screen_or_sleep_is_away_until_it_ends(
    machine: StatusMachine, clock: Clock, source: str
) -> None:
    machine.idle(0)
    assert getattr(machine, source)(True) is True and machine.state.status == AWAY
    assert machine.next_check() is None  # the unlock or the wake-up is reported
    clock.now += 3600
    assert getattr(machine, source)(False) is True and machine.state.status == ACTIVE


def test_after_a_wake_up_a_sample_is_needed_at_once(machine: StatusMachine, clock: Clock) -> None:
    machine.idle(0)
    machine.sleeping(True)
    clock.now += 7200
    machine.sleeping(False)
    assert machine.next_check() == clock.now
    assert machine.idle(7200) is True and machine.state.status == AWAY  # nobody touched it
    assert machine.next_check() == clock.now + 5.0


def test_woken_up_to_a_locked_screen_stays_away_then_samples_on_unlock(
    machine: StatusMachine, clock: Clock
) -> None:
    machine.idle(0)
    machine.sleeping(True)
    machine.locked(True)
    clock.now += 100
    assert machine.sleeping(False) is False and machine.state.status == AWAY
    assert machine.next_check() is None
    assert machine.locked(False) is True
    assert machine.next_check() == clock.now


def test_do_not_disturb_wins_over_idle_and_lock(machine: StatusMachine, clock: Clock) -> None:
    machine.idle(400)
    assert machine.state.status == IDLE
    assert machine.dnd(True) is True and machine.state.status == DND
    assert machine.locked(True) is False and machine.state.status == DND
    assert machine.dnd(False) is True and machine.state.status == AWAY


def test_a_manual_status_wins_until_cleared(machine: StatusMachine, clock: Clock) -> None:
    machine.dnd(True)
    assert machine.set_manual(ACTIVE) is True and machine.state.status == ACTIVE
    machine.locked(True)
    machine.idle(5000)
    assert machine.state.status == ACTIVE and machine.manual == ACTIVE
    assert machine.set_manual(None) is True and machine.state.status == DND
    with pytest.raises(ValueError):
        machine.set_manual("busy")


def test_the_status_line_goes_with_any_status(machine: StatusMachine) -> None:
    assert machine.set_text("  In a meeting  ") is True
    assert machine.state == StatusState(ACTIVE, "In a meeting")
    machine.idle(1000)
    assert machine.state == StatusState(AWAY, "In a meeting")
    assert machine.set_text("In a meeting") is False
    assert machine.set_text("   ") is True and machine.state.text is None
    machine.set_text("x")
    assert machine.set_text(None) is True and machine.state.text is None


def test_thresholds_are_configurable_and_checked(clock: Clock) -> None:
    quick = StatusMachine(clock=clock, idle_after=60, away_after=120, poll_while_idle=1)
    quick.idle(61)
    assert quick.state.status == IDLE and quick.next_check() == clock.now + 1
    for idle_after, away_after in ((0, 10), (10, 10), (20, 10)):
        with pytest.raises(ValueError):
            StatusMachine(clock=clock, idle_after=idle_after, away_after=away_after)
    with pytest.raises(ValueError):
        StatusMachine(clock=clock, poll_while_idle=0)


def test_new_times_judge_the_last_sample_again(machine: StatusMachine, clock: Clock) -> None:
    machine.idle(200)  # active under the defaults
    assert machine.state.status == ACTIVE and machine.next_check() == clock.now + 100
    assert machine.set_times(120, 600) is True  # fails without the re-judging in set_times
    assert machine.state.status == IDLE
    assert machine.set_times(120, 180) is True and machine.state.status == AWAY
    assert machine.set_times(300, 900) is True and machine.state.status == ACTIVE
    assert machine.next_check() == clock.now + 100
    with pytest.raises(ValueError):
        machine.set_times(900, 300)
    assert (machine.idle_after, machine.away_after) == (300, 900)  # a refusal changes nothing
