"""Stage three from event to notice: a group of events in words (pure).

:func:`render` turns a :class:`Group` (what the coalescer decided: one event,
a burst's digest, a catch-up, what do-not-disturb held) into the
:class:`Notice` a notifier shows. Nothing here decides *whether* to notify or
*what* belongs together; it only words it (see :mod:`.levels` for the pass as
a whole). Critical events are named first in every text, never counted among
the kinds.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lattice_rt_tray.logic.digest import Tally
from lattice_rt_tray.logic.rules import Level
from lattice_rt_tray.logic.summary import acted_workspace, event_body, event_title
from lattice_rt_tray.logic.text import plural

__all__ = ["HELD_TITLES", "Group", "Notice", "NoticeKind", "catch_up_text", "digest_text",
           "failures_first", "held_text", "render"]

Event = Mapping[str, Any]

#: what held the popups back -> the title of the summary when it ends
HELD_TITLES = {"dnd": "While do-not-disturb was on", "hours": "While quiet hours were on"}


class NoticeKind(enum.Enum):
    EVENT = "event"
    DIGEST = "digest"
    CATCH_UP = "catch_up"
    HELD = "held"  # what do-not-disturb held, once it ended


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification to show; a later notice with the same ``key`` replaces it.

    A click opens event ``seq`` of connection ``server`` (``""``/None: only the
    Activity window, as for a summary of several servers).
    """

    kind: NoticeKind
    key: str
    title: str
    body: str
    seq: int | None  # the event a click opens (the newest one of a digest)
    count: int
    server: str = ""
    quiet: bool = False  # low urgency: a person's status changed
    critical: bool = False  # critical urgency: it is, or it sums up, a failure
    workspace: str | None = None  # one event's workspace (what "Mute" would mute)


@dataclass(frozen=True, slots=True)
class Group:
    """Events that become one notice, as grouping left them (no words yet).

    ``tally`` counts them (and their levels); ``missed``: events a catch-up's
    server could not replay; ``held_by``: ``"dnd"`` or ``"hours"`` for a HELD
    group; ``server``: the one server of the events, ``""`` for several.
    """

    kind: NoticeKind
    key: str
    server: str
    tally: Tally
    missed: int = 0
    held_by: str = ""


def render(group: Group, names: Mapping[str, str]) -> Notice:
    """``group`` in words; with more than one server in ``names``, titles name theirs."""
    tally, kind = group.tally, group.kind
    if tally.first is not None and tally.count == 1 and not group.missed and kind in (
            NoticeKind.EVENT, NoticeKind.CATCH_UP):
        return _one(group, tally.first, names)
    if kind is NoticeKind.DIGEST:
        title, body = digest_text(tally)
    elif kind is NoticeKind.CATCH_UP:
        title, body = catch_up_text(tally, group.missed)
    else:
        title, body = held_text(tally, names, HELD_TITLES[group.held_by])
    if kind is not NoticeKind.HELD:
        title = _titled(title, group.server, names)
    return Notice(kind, group.key, title, body, tally.newest if group.server else None,
                  tally.count, group.server,
                  critical=tally.critical > 0)


def _one(group: Group, event: Event, names: Mapping[str, str]) -> Notice:
    seq = event.get("seq")
    level = group.tally.first_level
    return Notice(group.kind, group.key, _titled(event_title(event), group.server, names),
                  event_body(event), seq if isinstance(seq, int) else None, 1, group.server,
                  quiet=level is Level.LOW, critical=level is Level.CRITICAL,
                  workspace=acted_workspace(event))


def _titled(title: str, server: str, names: Mapping[str, str]) -> str:
    if len(names) > 1 and server in names:
        return f"{title} · {names[server]}"
    return title


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
              title: str = HELD_TITLES["dnd"]) -> tuple[str, str]:
    """The one summary of what do-not-disturb (or quiet hours) held, per server when there
    are several."""
    body = f"{plural(tally.count, 'event')} {_where(tally.spaces)}"
    if len(tally.servers) > 1:
        body += "\n" + " · ".join(
            f"{names.get(key, key)}: {n}" for key, n in tally.servers.most_common()
        )
    return title, _headed(tally, body)
