"""Backoff: growth, cap, jitter bounds, the server's minimum, reset. No sleeping."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lattice_rt_core.client import Backoff


def fixed(value: float):
    return lambda: value


def test_without_jitter_delays_double_up_to_the_maximum() -> None:
    backoff = Backoff(initial=0.5, maximum=4.0, factor=2.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.attempts == 6


def test_reset_starts_again_from_initial() -> None:
    backoff = Backoff(initial=1.0, maximum=30.0, jitter=0.0)
    for _ in range(4):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 1.0


@pytest.mark.parametrize(
    ("r", "expected"),
    [(0.0, 0.8), (0.5, 1.0), (0.999999, 1.2)],
)
def test_jitter_spreads_by_the_fraction_either_way(r: float, expected: float) -> None:
    backoff = Backoff(initial=1.0, maximum=30.0, jitter=0.2, random=fixed(r))
    assert backoff.next_delay() == pytest.approx(expected, abs=1e-5)


def test_jitter_never_exceeds_the_maximum() -> None:
    backoff = Backoff(initial=10.0, maximum=10.0, jitter=0.5, random=fixed(0.999))
    assert backoff.next_delay() == 10.0


def test_the_random_source_is_consulted_each_time() -> None:
    values = itertools.cycle([0.0, 1.0 - 1e-9])
    backoff = Backoff(initial=2.0, maximum=2.0, jitter=0.25, random=lambda: next(values))
    first, second = backoff.next_delay(), backoff.next_delay()
    assert first == pytest.approx(1.5)
    assert second == pytest.approx(2.0)


def test_server_retry_is_a_floor_even_above_the_maximum() -> None:
    backoff = Backoff(initial=0.5, maximum=2.0, jitter=0.0)
    assert backoff.next_delay(minimum=3.0) == 3.0
    assert backoff.next_delay(minimum=0.1) == 1.0


def test_growth_does_not_overflow_after_many_attempts() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, factor=10.0, jitter=0.0)
    for _ in range(5000):
        delay = backoff.next_delay()
    assert delay == 30.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": 0.0},
        {"initial": -1.0},
        {"initial": 5.0, "maximum": 1.0},
        {"factor": 0.5},
        {"jitter": 1.0},
        {"jitter": -0.1},
        {"refused_initial": 0.0},
        {"refused_initial": 10.0, "refused_maximum": 5.0},
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


@given(
    initial=st.floats(0.01, 10.0),
    extra=st.floats(0.0, 100.0),
    factor=st.floats(1.0, 5.0),
    jitter=st.floats(0.0, 0.99),
    randoms=st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=1, max_size=30),
    minimum=st.floats(0.0, 50.0),
)
def test_every_delay_stays_within_its_bounds(
    initial: float,
    extra: float,
    factor: float,
    jitter: float,
    randoms: list[float],
    minimum: float,
) -> None:
    maximum = initial + extra
    source = iter(randoms)
    backoff = Backoff(initial, maximum, factor, jitter, random=lambda: next(source))
    base = initial
    for _ in randoms:
        delay = backoff.next_delay(minimum=minimum)
        low = max(minimum, base * (1 - jitter))
        high = max(minimum, min(maximum, base * (1 + jitter)))
        assert low - 1e-9 <= delay <= high + 1e-9
        base = min(maximum, base * factor)


def test_refusals_back_off_slowly_to_minutes_on_their_own_schedule() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, jitter=0.0)
    refused = [backoff.next_delay(refused=True) for _ in range(8)]
    assert refused == [15.0, 30.0, 60.0, 120.0, 240.0, 480.0, 600.0, 600.0]
    # an ordinary failure in between keeps its own quick schedule, and the other way round
    assert backoff.next_delay() == 0.5
    assert backoff.next_delay(refused=True) == 600.0
    backoff.reset()
    assert backoff.next_delay(refused=True) == 15.0
    assert backoff.next_delay() == 0.5


def test_refusals_are_spread_and_keep_the_servers_floor() -> None:
    backoff = Backoff(jitter=0.2, refused_initial=100.0, refused_maximum=100.0,
                      random=fixed(0.0))
    assert backoff.next_delay(refused=True) == pytest.approx(80.0)
    assert backoff.next_delay(minimum=200.0, refused=True) == 200.0

