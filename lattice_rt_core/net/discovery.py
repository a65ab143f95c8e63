"""Which server a client talks to when none is named: the local one, from ``server.json``.

The owner token in the data directory goes only to that local server, never
to a URL given for another.
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

__all__ = ["discover"]


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
