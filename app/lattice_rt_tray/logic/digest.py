"""What a notification that sums up several events says (pure).

:class:`Tally` counts the events of a burst, a catch-up or a do-not-disturb
period as they arrive; the ``*_text`` functions turn one into a title and a
body. The rules of when to sum up are the coalescer's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from lattice_rt_tray.logic.summary import event_title, failure_line, is_failure, workspace_label
from lattice_rt_tray.logic.text import plural

__all__ = ["Tally", "catch_up_text", "digest_text", "failures_first", "held_text", "newest_seq"]

Event = Mapping[str, Any]


class Tally:
    """What a digest tells about its events, counted as they arrive.

    A flood keeps a burst (or a catch-up) going for as long as it lasts; a
    digest that recounted every event of it would cost more each time it is
    updated. Counting each event once when it arrives keeps the cost per event.
    The *critical* events (failures, unless a rule says otherwise) are named on
    a line of their own, never counted among the kinds.
    """

    __slots__ = ("all_failures", "count", "critical", "first", "kinds", "named", "newest",
                 "servers", "spaces")

    def __init__(self) -> None:
        self.count = 0
        self.first: Event | None = None
        self.spaces: Counter[str] = Counter()  # workspace label -> events
        self.kinds: Counter[str] = Counter()  # event title -> events (but critical ones)
        self.servers: Counter[str] = Counter()  # connection key -> events
        self.newest: int | None = None  # the newest seq (what a click opens)
        self.critical = 0  # how many of the events are critical
        self.named: list[str] = []  # the first few, as "Nightly import — disk full"
        self.all_failures = True  # every critical event is a failure ("failed", not "critical")

    def add(self, events: Sequence[Event], server: str = "",
            critical: Sequence[bool] | None = None) -> None:
        """Count ``events``; ``critical`` says which are (default: the failures)."""
        if not events:
            return
        if self.first is None:
            self.first = events[0]
        self.count += len(events)
        self.servers[server] += len(events)
        self.spaces.update(map(workspace_label, events))
        flags = critical if critical is not None else [is_failure(e) for e in events]
        for event, urgent in zip(events, flags, strict=True):
            if urgent:  # named on a line of its own, never one of the kinds
                self.critical += 1
                self.all_failures = self.all_failures and is_failure(event)
                if len(self.named) < _FAILURES_NAMED:
                    self.named.append(failure_line(event))
            else:
                self.kinds[event_title(event)] += 1
        newest = newest_seq(events)
        if newest is not None and (self.newest is None or newest > self.newest):
            self.newest = newest


#: critical events a digest names; the rest are counted
_FAILURES_NAMED = 2


def failures_first(tally: Tally) -> str:
    """``1 failed: Nightly import — disk full`` (``2 critical: ...`` when a rule made a
    non-failure critical; empty without any): a digest's head."""
    if not tally.critical:
        return ""
    word = "failed" if tally.all_failures else "critical"
    named = " · ".join(tally.named)
    more = tally.critical - len(tally.named)
    return f"{tally.critical} {word}: {named}" + (f" · {more} more {word}" if more else "")


def _headed(tally: Tally, body: str) -> str:
    head = failures_first(tally)
    others = tally.count - tally.critical
    if not head:
        return body
    return head + (f"\nand {plural(others, 'other event')}: {body}" if others else "")


def newest_seq(events: Sequence[Event]) -> int | None:
    seqs = [e.get("seq") for e in events]
    ints = [s for s in seqs if isinstance(s, int)]
    return max(ints) if ints else None


def _where(spaces: Counter[str]) -> str:
    if len(spaces) == 1:
        return f"in {next(iter(spaces))}"
    return f"in {len(spaces)} workspaces"


def digest_text(tally: Tally) -> tuple[str, str]:
    """``12 new events in ws_marketing`` and the most frequent kinds (and workspaces)."""
    kinds = tally.kinds
    shown = [f"{title} ×{n}" if n > 1 else title for title, n in kinds.most_common(3)]
    if len(kinds) > 3:
        shown.append(plural(len(kinds) - 3, "more kind"))
    lines = [" · ".join(shown)]
    if len(tally.spaces) > 1:
        lines.append(" · ".join(f"{ws}: {n}" for ws, n in tally.spaces.most_common(3)))
    head = failures_first(tally)
    if head:  # the failures first; the kinds after them, never a failure as "more kinds"
        lines = [head, *lines[:1]]
    return f"{tally.count} new events {_where(tally.spaces)}", "\n".join(lines)


def catch_up_text(tally: Tally, missed: int) -> tuple[str, str]:
    """``While you were away`` / ``37 events in 3 workspaces[; 5 more could not be replayed]``."""
    if tally.first is None:
        return "While you were away", f"{plural(missed, 'event')} could not be replayed"
    body = f"{plural(tally.count, 'event')} {_where(tally.spaces)}"
    if missed:
        body += f"; {missed} more could not be replayed"
    return "While you were away", _headed(tally, body)


def held_text(tally: Tally, names: Mapping[str, str],
              title: str = "While do-not-disturb was on") -> tuple[str, str]:
    """The one summary of what do-not-disturb (or quiet hours) held, per server when there
    are several."""
    body = f"{plural(tally.count, 'event')} {_where(tally.spaces)}"
    if len(tally.servers) > 1:
        body += "\n" + " · ".join(
            f"{names.get(key, key)}: {n}" for key, n in tally.servers.most_common()
        )
    return title, _headed(tally, body)
