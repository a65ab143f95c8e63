"""Stage one from event to notice: the level an event has for this user (pure).

An event's way to a notification is one pass of three stages, each a plain
function of the one before:

1. **level** (this module): :func:`level_for` gives every event a
   :class:`~.rules.Level`; what the user never wants to hear about (their own
   actions, muted workspaces and areas, people's comings and goings unless
   asked for) is :attr:`~.rules.Level.SILENT`, like what a rule silences;
2. **group** (:class:`~.coalescer.NotificationCoalescer`): the leveled
   events become :class:`~.notices.Group` values: one event, a burst's digest,
   a catch-up after a reconnect, what do-not-disturb held. Only this stage has
   state and time;
3. **render** (:func:`~.notices.render`): a group becomes the
   :class:`~.notices.Notice` shown, its title and body in words.

A failure is critical at stage one and nothing later can fold it away: every
group counts its critical events apart and every text names them first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lattice_rt_tray.logic.rules import Level, level_of
from lattice_rt_tray.logic.settings_values import NotifyPrefs
from lattice_rt_tray.logic.summary import is_presence, is_status_change

__all__ = ["NOT_NEWS", "Audience", "is_own", "level_for"]

Event = Mapping[str, Any]

#: set on a presence event that is one more (or one less) connection of a person who is
#: there anyway: never shown (the roster decides; see presence_news.as_news)
NOT_NEWS = "_not_news"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who hears about events, and what they asked for, at one moment.

    ``muted`` holds the workspaces muted for a while (a notification's Mute)
    that still are, beside the ones ``prefs`` mutes for good.
    """

    instance_id: str
    prefs: NotifyPrefs
    muted: frozenset[str] = frozenset()


def is_own(event: Event, instance_id: str) -> bool:
    """This app's own action, or one of its own presence entries."""
    if instance_id and event.get("origin") == instance_id:
        return True
    if is_presence(event):
        payload = event.get("payload")
        cid = payload.get("client_id") if isinstance(payload, Mapping) else None
        return isinstance(cid, str) and cid.startswith(f"{instance_id}:")
    return False


def level_for(event: Event, audience: Audience, server: str = "",
              server_name: str = "") -> Level:
    """The event's level for ``audience``: silent when they never want to hear of it,
    else the first rule's that matches (theirs, then the built-in ones)."""
    prefs = audience.prefs
    if is_own(event, audience.instance_id) or event.get(NOT_NEWS):
        return Level.SILENT
    if is_presence(event) and not (prefs.status if is_status_change(event) else prefs.presence):
        return Level.SILENT
    ws = event.get("workspace_id")
    if isinstance(ws, str) and (ws in prefs.muted_workspaces or ws in audience.muted):
        return Level.SILENT
    if str(event.get("area")) in prefs.muted_areas:
        return Level.SILENT
    return level_of(event, prefs.rules, server, server_name)
