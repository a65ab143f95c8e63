"""Reconnect delays: exponential backoff with jitter (pure; randomness injected)."""

from __future__ import annotations

import random as _random
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Delays that grow by ``factor`` from ``initial`` up to ``maximum``.

    Each delay is spread by up to ``jitter`` (a fraction) either way, so many
    clients dropped at once do not come back in lock step; the result never
    exceeds ``maximum`` and never falls below the ``minimum`` the caller asks
    for (the server's ``retry:`` hint). ``random`` returns a float in [0, 1).
    """

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        *,
        random: Callable[[], float] | None = None,
    ) -> None:
        if initial <= 0:
            raise ValueError("initial delay must be positive")
        if maximum < initial:
            raise ValueError("maximum delay must not be below the initial delay")
        if factor < 1:
            raise ValueError("factor must be at least 1")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._random = random if random is not None else _random.random
        self._base = initial
        self.attempts = 0

    def next_delay(self, minimum: float = 0.0) -> float:
        """The delay before the next attempt, in seconds; advances the sequence."""
        base = self._base
        self._base = min(self.maximum, self._base * self.factor)
        self.attempts += 1
        spread = self.jitter * (2.0 * self._random() - 1.0)
        delay = min(self.maximum, base * (1.0 + spread))
        return max(delay, minimum, 0.0)

    def reset(self) -> None:
        """Start again from ``initial`` (after a connection that worked)."""
        self._base = self.initial
        self.attempts = 0
