"""Reconnect delays: exponential backoff with jitter (pure; randomness injected), and how
one is said."""

from __future__ import annotations

import random as _random
from collections.abc import Callable

__all__ = ["REFUSED_INITIAL", "REFUSED_MAXIMUM", "Backoff", "duration"]

#: after a refusal (a token the server does not accept, a forbidden stream)
#: retrying soon cannot help: the first retry waits this long ...
REFUSED_INITIAL = 15.0
#: ... and the delays grow up to ten minutes
REFUSED_MAXIMUM = 600.0


class Backoff:
    """Delays that grow by ``factor`` from ``initial`` up to ``maximum``.

    Each delay is spread by up to ``jitter`` (a fraction) either way, so many
    clients dropped at once do not come back in lock step; the result never
    exceeds its maximum and never falls below the ``minimum`` the caller asks
    for (the server's ``retry:`` hint). ``random`` returns a float in [0, 1).

    A *refused* attempt (``next_delay(refused=True)``: the server answered but
    will not serve this token) follows a slow schedule of its own, from
    ``refused_initial`` up to ``refused_maximum``: it only changes when someone
    changes the token or the account, so hammering the server is useless.
    """

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        *,
        refused_initial: float = REFUSED_INITIAL,
        refused_maximum: float = REFUSED_MAXIMUM,
        random: Callable[[], float] | None = None,
    ) -> None:
        if initial <= 0 or refused_initial <= 0:
            raise ValueError("initial delays must be positive")
        if maximum < initial or refused_maximum < refused_initial:
            raise ValueError("a maximum delay must not be below its initial delay")
        if factor < 1:
            raise ValueError("factor must be at least 1")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.refused_initial = refused_initial
        self.refused_maximum = refused_maximum
        self._random = random if random is not None else _random.random
        self._base = initial
        self._refused_base = refused_initial
        self.attempts = 0

    def next_delay(self, minimum: float = 0.0, *, refused: bool = False) -> float:
        """The delay before the next attempt, in seconds; advances the sequence."""
        if refused:
            base, cap = self._refused_base, self.refused_maximum
            self._refused_base = min(cap, base * self.factor)
        else:
            base, cap = self._base, self.maximum
            self._base = min(cap, base * self.factor)
        self.attempts += 1
        spread = self.jitter * (2.0 * self._random() - 1.0)
        delay = min(cap, base * (1.0 + spread))
        return max(delay, minimum, 0.0)

    def reset(self) -> None:
        """Start again from the initial delays (after a connection that worked)."""
        self._base = self.initial
        self._refused_base = self.refused_initial
        self.attempts = 0


def duration(seconds: float) -> str:
    """``3.9 s`` below a minute, ``4 min`` from there (a refused token waits minutes)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{round(seconds / 60):d} min"
