"""What a connection needs of a server and a client, as protocols, and their factories.

The composition root passes the real classes
(:class:`~lattice_rt_core.server.RealtimeServer`,
:class:`~lattice_rt_core.client.RealtimeClient`); tests pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from lattice_rt_core.net.api import ApiError, ServerKind

__all__ = ["ClientFactory", "ClientLike", "Discover", "ServerFactory", "ServerLike"]


class ServerLike(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def owner_token(self) -> str | None: ...

    def start(self, timeout: float = ...) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...


class ClientLike(Protocol):
    @property
    def last_event_id(self) -> int | None: ...
    @property
    def last_error(self) -> ApiError | None: ...
    @property
    def kind(self) -> ServerKind | None: ...

    def start(self) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...
    def close(self) -> None: ...
    def join(
        self,
        workspace_id: str | None = ...,
        client_id: str | None = ...,
        display_name: str | None = ...,
        status: str | None = ...,
        status_text: str | None = ...,
    ) -> dict[str, Any]: ...
    def set_status(
        self, client_id: str, status: str, status_text: str | None = ...
    ) -> dict[str, Any]: ...
    def leave(self, client_id: str, timeout: float = ...) -> None: ...
    def presence(self) -> dict[str, Any]: ...
    def health(self) -> dict[str, Any]: ...
    def hello(self) -> dict[str, Any]: ...
    def server_stats(self, timeout: float = ...) -> dict[str, Any]: ...
    def launch_url(self) -> str: ...


#: (port, data dir) -> the embedded server, not started
ServerFactory = Callable[[int, Path], ServerLike]
#: RealtimeClient's signature: (url, token, **keywords) -> a client, not started
ClientFactory = Callable[..., ClientLike]
#: data dir -> (url, owner token) of a server already running on it, or None
Discover = Callable[[Path], tuple[str, str | None] | None]
