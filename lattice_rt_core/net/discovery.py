"""Which server a client talks to when none is named: the local one, from ``server.json``.

The owner token in the data directory goes only to that local server, never
to a URL given for another. :func:`find_lattice_ai` looks for a Lattice AI
server on this computer (its port 4825, or ``$LATTICEAI_PORT``), which the tray
app offers to follow.
"""

from __future__ import annotations

import os
from pathlib import Path

from lattice_rt_core.net.api import ApiError
from lattice_rt_core.paths import (
    SERVER_INFO_FILE,
    default_data_dir,
    read_owner_token,
    read_server_info,
)

__all__ = ["LATTICE_AI_PORT", "LATTICE_AI_PORT_ENV", "discover", "find_lattice_ai",
           "lattice_ai_url"]

#: where a Lattice AI server listens unless told otherwise (``LTCAI --port``)
LATTICE_AI_PORT = 4825
LATTICE_AI_PORT_ENV = "LATTICEAI_PORT"


def discover(
    data_dir: Path | str | None = None,
    url: str | None = None,
    token: str | None = None,
) -> tuple[str, str | None]:
    """The URL and token of the server to talk to.

    An explicit ``url`` wins; otherwise the running local server's
    ``server.json`` in the data dir names it. The owner token is read from the
    data dir only for that local server, never sent to another URL.
    Raises :class:`ApiError` (status 0) when no server can be found.
    """
    directory = Path(data_dir) if data_dir is not None else default_data_dir()
    info = read_server_info(directory)
    if url is None:
        if info is None:
            raise ApiError(
                0,
                f"no running lattice-rt server found (no {SERVER_INFO_FILE} in {directory}); "
                "start one with `lattice-rt serve` or pass --url",
            )
        pid = info.get("pid")
        if isinstance(pid, int) and not _pid_alive(pid):
            raise ApiError(
                0,
                f"no running lattice-rt server found ({directory / SERVER_INFO_FILE} is stale: "
                f"process {pid} is not running); start one with `lattice-rt serve`",
            )
        url = str(info["url"])
        local = True
    else:
        local = info is not None and _same_url(str(info["url"]), url)
    if token is None and local:
        token = read_owner_token(directory)
    return url.strip().rstrip("/"), token


def _same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def _pid_alive(pid: int) -> bool:
    if os.name != "posix" or pid <= 0:
        return True  # no cheap check: let the connection attempt tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def lattice_ai_url(environ: dict[str, str] | None = None) -> str:
    """Where a Lattice AI server on this computer would answer."""
    env = os.environ if environ is None else environ
    text = env.get(LATTICE_AI_PORT_ENV, "").strip()
    port = int(text) if text.isdigit() and 0 < int(text) < 65536 else LATTICE_AI_PORT
    return f"http://127.0.0.1:{port}"


def find_lattice_ai(url: str | None = None, timeout: float = 1.0) -> str | None:
    """The URL of a Lattice AI server running on this computer, or None.

    Its feed answers (or asks for sign-in) and it has no ``/realtime/health``:
    nothing else on the port is taken for one. Blocks up to about ``timeout``
    per request; call it off the GUI thread.
    """
    from lattice_rt_core.client import RealtimeClient, ServerKind

    where = url or lattice_ai_url()
    with RealtimeClient(where, request_timeout=timeout) as client:
        try:
            client.hello()
        except ApiError:
            pass
        return where if client.kind is ServerKind.LATTICE_AI else None
