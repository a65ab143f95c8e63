"""What has been shown of one connection's events, so a restart never shows it again (pure).

A seq only means something within one history of one server, so the marks of
a numbered server are kept per :class:`~lattice_rt_tray.logic.resume.ServerIdentity`
(its ``server_id`` and ``epoch``): the highest seq a notification accounted
for. A server without an identity of ours (the Lattice AI server numbers its
events from 1 again after a restart) is marked by each event's own key
(:func:`~lattice_rt_core.net.unnumbered.event_key`: its seq, time and type,
kept as a 64-bit digest), the newest :data:`MAX_KEYS` of them. Both are
bounded, so the file they are kept in (:mod:`~lattice_rt_tray.system.shown_files`)
stays small (20 KB at most).

The text form is JSON; :meth:`ShownMarks.from_text` refuses anything else
with a ValueError saying what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from lattice_rt_core.net.unnumbered import event_key, seq_of
from lattice_rt_tray.logic.resume import ServerIdentity

__all__ = ["MAX_HISTORIES", "MAX_KEYS", "ShownMarks"]

MAX_HISTORIES = 8  # server identities remembered (the newest marked)
MAX_KEYS = 1024  # event keys remembered for a server without an identity
_VERSION = 1

Event = Mapping[str, Any]


class ShownMarks:
    """The marks of one connection (not thread-safe; the GUI thread's)."""

    def __init__(self) -> None:
        self._highs: OrderedDict[ServerIdentity, int] = OrderedDict()
        self._keys: OrderedDict[str, None] = OrderedDict()

    def shown(self, identity: ServerIdentity | None, event: Event) -> bool:
        """Was ``event`` (of the history ``identity``; None: unnumbered) accounted for?"""
        if identity is not None:
            seq, high = seq_of(event), self._highs.get(identity)
            return seq is not None and high is not None and seq <= high
        key = _key(event)
        return key is not None and key in self._keys

    def mark(self, identity: ServerIdentity | None, events: Iterable[Event]) -> bool:
        """Note ``events`` as shown; True when that changed the marks."""
        changed = False
        for event in events:
            if identity is not None:
                seq = seq_of(event)
                high = self._highs.get(identity)
                if seq is not None and (high is None or seq > high):
                    self._highs[identity] = seq
                    self._highs.move_to_end(identity)
                    changed = True
            else:
                key = _key(event)
                if key is not None and key not in self._keys:
                    self._keys[key] = None
                    changed = True
        while len(self._highs) > MAX_HISTORIES:
            self._highs.popitem(last=False)
        while len(self._keys) > MAX_KEYS:
            self._keys.popitem(last=False)
        return changed

    def high(self, identity: ServerIdentity) -> int | None:
        return self._highs.get(identity)

    # ------------------------------------------------------------- text
    def to_text(self) -> str:
        return json.dumps({
            "version": _VERSION,
            "histories": [{"server_id": i.server_id, "epoch": i.epoch, "seq": seq}
                          for i, seq in self._highs.items()],
            "keys": list(self._keys),
        }, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str) -> ShownMarks:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            raise ValueError(f"not marks of version {_VERSION}")
        histories, keys = data.get("histories"), data.get("keys")
        if not isinstance(histories, list) or not isinstance(keys, list):
            raise ValueError("histories and keys must be lists")
        marks = cls()
        for entry in histories:
            if not (isinstance(entry, dict) and isinstance(entry.get("server_id"), str)
                    and isinstance(entry.get("epoch"), str)
                    and isinstance(entry.get("seq"), int) and entry["seq"] >= 0):
                raise ValueError(f"a history is not server_id, epoch and seq: {entry!r:.80}")
            marks._highs[ServerIdentity(entry["server_id"], entry["epoch"])] = entry["seq"]
        for key in keys:
            if not isinstance(key, str):
                raise ValueError(f"an event key is not text: {key!r:.80}")
            marks._keys[key] = None
        marks.mark(None, ())  # bounds a hand-made file too
        return marks


def _key(event: Event) -> str | None:
    key = event_key(event)
    if key is None:
        return None
    text = json.dumps(key, separators=(",", ":")).encode("utf-8")
    return hashlib.blake2b(text, digest_size=8).hexdigest()
