"""The account methods of :class:`~lattice_rt_core.auth.accounts.Accounts`, over HTTP.

:class:`RemoteAccounts` has the same methods and raises the same errors as
the local class, by calling a server's admin routes (``/realtime/admin/...``,
owner token only). ``lattice-rt user ...`` uses it whenever a server URL is
given, so an admin manages a team server from anywhere exactly as on its own
machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lattice_rt_core.net.api import NO_ACCOUNTS_MESSAGE, ApiError
from lattice_rt_core.net.requests import ApiRequests
from lattice_rt_core.protocol.accounts import NoSuchUser, UserExists, check_name
from lattice_rt_core.protocol.defaults import ADMIN_PREFIX

__all__ = ["RemoteAccounts"]


class RemoteAccounts:
    """A server's accounts through its admin routes (needs the owner token)."""

    def __init__(self, client: ApiRequests) -> None:
        self._client = client

    def add_user(self, name: str, workspaces: Iterable[str] = ()) -> str:
        answer = self._call("users/add", user=name, workspaces=_names(workspaces))
        return _text(answer, "token")

    def grant(self, name: str, workspaces: Iterable[str]) -> set[str]:
        answer = self._call("users/grant", user=name, workspaces=_names(workspaces))
        return _workspaces(answer)

    def revoke(self, name: str, workspaces: Iterable[str]) -> set[str]:
        answer = self._call("users/revoke", user=name, workspaces=_names(workspaces))
        return _workspaces(answer)

    def renew(self, name: str) -> str:
        return _text(self._call("users/renew", user=name), "token")

    def remove_user(self, name: str) -> None:
        self._call("users/remove", user=name)

    def users(self) -> dict[str, set[str]]:
        try:
            answer = self._client.request("GET", f"{ADMIN_PREFIX}/users")
        except ApiError as exc:
            raise self._client.missing_route(exc, NO_ACCOUNTS_MESSAGE) from None
        users = answer.get("users")
        if not isinstance(users, list):
            raise ApiError(200, "admin/users answered without 'users'")
        return {_text(u, "user"): _workspaces(u) for u in users if isinstance(u, dict)}

    def _call(self, action: str, *, user: str, **fields: Any) -> dict[str, Any]:
        check_name("user name", user)  # the same rule the server applies
        try:
            return self._client.request("POST", f"{ADMIN_PREFIX}/{action}",
                                        body={"user": user, **fields})
        except ApiError as exc:
            exc = self._client.missing_route(exc, NO_ACCOUNTS_MESSAGE)
            if exc.unsupported:
                raise exc from None
            if exc.status == 409:
                raise UserExists(exc.message) from None
            if exc.status == 404 and exc.message != "not found":  # not a missing route
                raise NoSuchUser(exc.message) from None
            if exc.status == 422:
                raise ValueError(exc.message) from None
            raise


def _names(workspaces: Iterable[str]) -> list[str]:
    spaces = [workspaces] if isinstance(workspaces, str) else list(workspaces)
    return [check_name("workspace id", ws) for ws in spaces]


def _text(answer: dict[str, Any], key: str) -> str:
    value = answer.get(key)
    if not isinstance(value, str):
        raise ApiError(200, f"the admin answer has no {key!r}")
    return value


def _workspaces(answer: dict[str, Any]) -> set[str]:
    value = answer.get("workspaces")
    if not isinstance(value, list) or not all(isinstance(ws, str) for ws in value):
        raise ApiError(200, "the admin answer has no 'workspaces' list")
    return set(value)
