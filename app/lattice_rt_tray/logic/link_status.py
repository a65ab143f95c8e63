"""How each connection is doing, and what that sums up to (pure).

A :class:`LinkStatus` is one connection's state as people should read it;
an *error* (a refused token, a workspace the token may not join, an endpoint
that cannot start) stays until its cause is gone, whatever the stream does
meanwhile. :func:`overview` sums every connection up for the tray icon, the
menu's status line and the Activity window's status bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lattice_rt_core.net.api import ClientState
from lattice_rt_tray.logic.text import and_list, plural

__all__ = ["ERROR", "FIRST_RUN", "OK", "WARNING", "LinkStatus", "Overview", "intro", "overview"]

OK, WARNING, ERROR = "ok", "warning", "error"  # levels, as ActivityWindow takes them

FIRST_RUN = (
    "Lattice Realtime Tray shows live activity and who is online in your Lattice "
    "workspaces.\n\n"
    "It runs an endpoint on this computer: what tools here publish to it appears in this "
    "list, and as a notification, as it happens. To follow your team's server as well, add "
    "it in Settings (Connections, Add server) with its URL and your token."
)


@dataclass(frozen=True, slots=True)
class LinkStatus:
    key: str
    name: str
    address: str  # the URL followed, or where it will be
    enabled: bool
    state: ClientState | None  # None: no client yet (off, starting, waiting for its token)
    detail: str  # the client's words: "connected to …", "…; retrying in 4.0 s"
    error: str = ""  # a problem that retrying alone does not fix

    @property
    def online(self) -> bool:
        return self.enabled and self.state is ClientState.CONNECTED

    @property
    def level(self) -> str:
        if not self.enabled:
            return OK
        if self.error:
            return ERROR
        return OK if self.online else WARNING

    def describe(self) -> str:
        """``connected``, ``off``, the error, or what the client is doing."""
        if not self.enabled:
            return "off"
        if self.error:
            return self.error
        if self.online:
            return "connected"
        return self.detail or "connecting"

    def line(self) -> str:
        return f"{self.name}: {self.describe()}"


@dataclass(frozen=True, slots=True)
class Overview:
    """All connections in a few words.

    ``icon`` is ``online`` (every connection up), ``warning`` (some up, some
    down or in error) or ``offline`` (none up); ``menu`` is the short line at
    the top of the menu; ``text`` and ``level`` go to the status bar.
    """

    icon: str
    menu: str
    text: str
    level: str


def overview(links: Sequence[LinkStatus]) -> Overview:
    used = [link for link in links if link.enabled]
    if not used:
        return Overview("offline", "No server", "No server is followed: turn one on in Settings",
                        WARNING)
    up = [link for link in used if link.online]
    troubled = [link for link in used if link.error or not link.online]
    if not troubled:
        text = (f"Connected to {up[0].name} ({up[0].address})" if len(up) == 1
                else f"{len(up)} servers connected")
        return Overview("online", "Connected", text, OK)
    icon = "warning" if up else "offline"
    if len(used) == 1:
        menu = "Connected" if up else "Offline"
    else:
        menu = f"{len(up)} of {plural(len(used), 'server')} connected"
    lines = [link.line() for link in troubled]
    fine = [link for link in up if not link.error]
    if len(fine) == 1:
        lines.append(f"{fine[0].name}: connected")
    elif fine:
        lines.append(f"{len(fine)} other servers connected")
    level = ERROR if any(link.error for link in troubled) else WARNING
    return Overview(icon, menu, "; ".join(lines), level)


def intro(links: Sequence[LinkStatus], *, first_run: bool) -> str | None:
    """What the empty Activity list says; None: the window's own "No events yet" text.

    ``first_run``: nothing is configured yet beyond this computer's endpoint.
    """
    used = [link for link in links if link.enabled]
    if not used:
        return ("No server is followed.\n\nTurn on the endpoint on this computer, or add a "
                "team server, in Settings.")
    if not any(link.online for link in used):
        broken = [link.line() for link in used if link.error]
        if broken:
            return ("Not connected.\n\n" + "\n".join(broken)
                    + "\n\nIn Settings, Test connection says more.")
        return f"Connecting to {and_list([link.name for link in used])}…"
    return FIRST_RUN if first_run else None
