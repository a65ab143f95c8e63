"""Which events go at which level: the user's rules, then the built-in ones (pure).

A :class:`Rule` is plain data: what it matches (a server, a workspace, an area,
an event type, a text in the payload, only failures) and the :class:`Level` it
gives. Every field left empty matches anything; the patterns are globs
(``deploy*``, ``ws_*``) and, like the text, ignore case. The first rule that
matches decides (:func:`level_of`); the user's rules come first, then
:data:`BUILT_IN`, the app's own judgement: failures are critical, people's
status changes low, everything else normal. So the user's rules can say
"deploys in ws_ops are critical", "graph indexed is silent" or "anything
mentioning prod is normal" before the built-in ones speak.

Rules are read from the settings file as mappings of text
(:func:`parse_rule`); :func:`load_rules` keeps every good rule and says,
in one line each, why a bad one was skipped.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from fnmatch import translate
from functools import lru_cache
from typing import Any

from lattice_rt_tray.logic.summary import acted_workspace, is_failure

__all__ = [
    "BUILT_IN", "FIELDS", "LEVELS", "MAX_PATTERN", "MAX_RULES", "Level", "Rule", "RuleError",
    "level_of", "load_rules", "parse_rule",
]

Event = Mapping[str, Any]

MAX_PATTERN = 200  # characters of one field
MAX_RULES = 200
#: how deep into a payload the text match looks, and how much of it
_TEXT_DEPTH = 4
_TEXT_CHARS = 16_384


class Level(enum.Enum):
    CRITICAL = "critical"  # critical urgency; may cut through do-not-disturb
    NORMAL = "normal"
    LOW = "low"  # low urgency
    SILENT = "silent"  # never notified (still in the Activity window)


LEVELS = tuple(level.value for level in Level)


class RuleError(ValueError):
    """A rule that cannot be used; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class Rule:
    """Match fields (empty: anything) and the level of the events they match."""

    level: Level
    server: str = ""  # a connection's name or key
    workspace: str = ""
    area: str = ""
    type: str = ""  # the event type
    text: str = ""  # a text anywhere in the payload's values
    failure: bool = False  # only events that failed

    def matches(self, event: Event, server: str = "", server_name: str = "") -> bool:
        if self.failure and not is_failure(event):
            return False
        if self.server and not (_glob(server, self.server) or _glob(server_name, self.server)):
            return False
        if self.workspace and not _glob(acted_workspace(event) or "", self.workspace):
            return False
        if self.area and not _glob(_text(event.get("area")), self.area):
            return False
        if self.type and not _glob(_text(event.get("event_type")), self.type):
            return False
        return not self.text or self.text.casefold() in payload_text(event.get("payload"))

    def to_mapping(self) -> dict[str, str]:
        """The rule as the settings file holds it: its level and the fields set."""
        out = {"level": self.level.value}
        for name in _MATCH:
            value = getattr(self, name)
            if name == "failure":
                if value:
                    out[name] = "yes"
            elif value:
                out[name] = value
        return out

    def describe(self) -> str:
        """``failures · type deploy* · in ws_ops → critical`` (``anything → low``)."""
        parts = ["failures"] if self.failure else []
        parts += [f"{label} {getattr(self, name)}" for name, label in _LABELS
                  if getattr(self, name)]
        if self.text:
            parts.append(f"mentioning {self.text!r}")
        return f"{' · '.join(parts) or 'anything'} → {self.level.value}"


_MATCH = tuple(f.name for f in fields(Rule) if f.name != "level")
FIELDS = ("level", *_MATCH)
_LABELS = (("server", "on"), ("workspace", "in"), ("area", "area"), ("type", "type"))

#: the app's own judgement, after the user's rules
BUILT_IN: tuple[Rule, ...] = (
    Rule(Level.CRITICAL, failure=True),
    Rule(Level.LOW, area="presence", type="status"),
    Rule(Level.NORMAL),
)


def level_of(event: Event, rules: Iterable[Rule] = (), server: str = "",
             server_name: str = "") -> Level:
    """The level of the first rule that matches: the user's ``rules``, then :data:`BUILT_IN`."""
    for rule in rules:
        if rule.matches(event, server, server_name):
            return rule.level
    for rule in BUILT_IN:
        if rule.matches(event, server, server_name):
            return rule.level
    return Level.NORMAL  # never reached: the last built-in rule matches anything


def parse_rule(data: Mapping[str, object]) -> Rule:
    """A rule from a mapping of text (as the settings file holds it); :class:`RuleError`."""
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise RuleError(f"unknown field {unknown[0]!r} (a rule has {', '.join(FIELDS)})")
    level = data.get("level")
    if level in (None, ""):
        raise RuleError(f"it has no level (one of {', '.join(LEVELS)})")
    if not isinstance(level, str) or level.strip().lower() not in LEVELS:
        raise RuleError(f"unknown level {level!r} (one of {', '.join(LEVELS)})")
    values: dict[str, Any] = {"level": Level(level.strip().lower())}
    for name in _MATCH:
        value = data.get(name)
        if value is None:
            continue
        if name == "failure":
            values[name] = _yes(value)
            continue
        if not isinstance(value, str):
            raise RuleError(f"{name} must be text, not {type(value).__name__}")
        text = value.strip()
        if len(text) > MAX_PATTERN:
            raise RuleError(f"{name} is longer than {MAX_PATTERN} characters")
        if any(ord(ch) < 32 for ch in text):
            raise RuleError(f"{name} holds a control character")
        values[name] = text
    return Rule(**values)


def load_rules(entries: Iterable[tuple[str, Mapping[str, object]]]) -> tuple[tuple[Rule, ...],
                                                                              list[str]]:
    """Every good rule of ``entries`` (a name and its fields, in order) and one line per bad
    one (``rule 2 skipped: unknown level 'urgent' ...``); past :data:`MAX_RULES` the rest
    are skipped, and said to be."""
    rules: list[Rule] = []
    problems: list[str] = []
    for name, data in entries:
        if len(rules) == MAX_RULES:
            problems.append(f"rule {name} skipped: more than {MAX_RULES} rules")
            continue
        try:
            rules.append(parse_rule(data))
        except RuleError as exc:
            problems.append(f"rule {name} skipped: {exc}")
    return tuple(rules), problems


def payload_text(payload: object) -> str:
    """Every text and number in ``payload`` (nested too), lowercased, for a text match."""
    out: list[str] = []
    _collect(payload, out, _TEXT_DEPTH)
    return " ".join(out).casefold()[:_TEXT_CHARS]


def _collect(value: object, out: list[str], depth: int) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out.append(str(value))
    elif depth > 0 and isinstance(value, Mapping):
        for item in value.values():
            _collect(item, out, depth - 1)
    elif depth > 0 and isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, out, depth - 1)


def _glob(value: str, pattern: str) -> bool:
    return _compiled(pattern)(value.casefold()) is not None


@lru_cache(maxsize=4 * MAX_RULES)
def _compiled(pattern: str) -> Callable[[str], re.Match[str] | None]:
    """A glob, case ignored, compiled once (every event asks every rule)."""
    return re.compile(translate(pattern.casefold()), re.DOTALL).match


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _yes(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "yes", "true", "on"):
        return True
    if text in ("", "0", "no", "false", "off"):
        return False
    raise RuleError(f"failure must be yes or no, not {value!r}")
