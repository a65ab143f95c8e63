"""History of the real Lattice AI server: its feed is the one page it has.

Its feed takes no ``before`` and answers no ``next_before``; ``history()``
gives the feed (what the server says happened, newest first) and asks for
nothing older, so the tray's Activity window holds that server's last events
and stops there.
"""

from __future__ import annotations

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.api import ServerKind
from tests.lattice_ai.server import LatticeServer


def test_the_feed_is_the_only_page(lattice: LatticeServer) -> None:
    for n in range(3):
        lattice.run_workflow(lattice.create_workflow(f"history-{n}"))
    lattice.wait_for(lambda: len(lattice.feed()) >= 3)
    with RealtimeClient(lattice.url) as client:
        client.hello()
        assert client.kind is ServerKind.LATTICE_AI
        events, older = client.history()
        assert older is None
        assert events == lattice.feed(limit=200)  # the server's own newest first
        newest = max(e["seq"] for e in events)
        assert client.history(newest) == ([], None)  # nothing older to ask for
