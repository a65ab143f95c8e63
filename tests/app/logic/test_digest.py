"""A digest's words (pure)."""

from __future__ import annotations

from lattice_rt_tray.logic.digest import Tally
from lattice_rt_tray.logic.notices import digest_text


def _tally(*types: str) -> Tally:
    tally = Tally()
    tally.add([{"area": "graph", "event_type": t, "workspace_id": "ws_a", "seq": i}
               for i, t in enumerate(types, 1)])
    return tally


def test_the_kinds_beyond_three_are_counted_in_the_right_number() -> None:
    # seen in a screenshot: "1 more kinds"
    _, body = digest_text(_tally("a", "b", "c", "d"))
    assert body.endswith(" · 1 more kind")
    _, body = digest_text(_tally("a", "b", "c", "d", "e"))
    assert body.endswith(" · 2 more kinds")
