"""Routes only the owner token may use: account administration and ``/metrics``.

The account routes (``/realtime/admin/users...``) take and give JSON and
change nothing themselves: every change is a method of
:class:`~lattice_rt_core.auth.accounts.Accounts`, the same ones ``lattice-rt user``
calls on a local database. They take the bearer token only, never a browser
session, and answer 403 to anyone but the owner (including a server running
without authentication).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from lattice_rt_core.auth.access import Refusal, authenticated, check_name, check_owner
from lattice_rt_core.auth.accounts import AccountStore
from lattice_rt_core.auth.callers import Authenticator
from lattice_rt_core.http.body import object_body
from lattice_rt_core.http.metrics import CONTENT_TYPE, Metrics
from lattice_rt_core.http.responses import SECURITY_HEADERS, JsonResponse
from lattice_rt_core.protocol.accounts import NoSuchUser, UserExists
from lattice_rt_core.protocol.defaults import ADMIN_PREFIX
from lattice_rt_core.protocol.limits import ApiLimits

__all__ = ["OwnerRoutes"]


class OwnerRoutes:
    """The account routes and the metrics route of one server."""

    def __init__(
        self,
        auth: Authenticator,
        accounts: AccountStore | None,
        limits: ApiLimits,
        metrics: Metrics,
    ) -> None:
        self.auth = auth
        self.accounts = accounts
        self.limits = limits
        self._metrics = metrics

    def routes(self) -> list[tuple[str, str, Any]]:
        """(path, method, handler) of every owner route."""
        return [
            (f"{ADMIN_PREFIX}/users", "GET", self.users),
            (f"{ADMIN_PREFIX}/users/add", "POST", self.add),
            (f"{ADMIN_PREFIX}/users/grant", "POST", self.grant),
            (f"{ADMIN_PREFIX}/users/revoke", "POST", self.revoke),
            (f"{ADMIN_PREFIX}/users/renew", "POST", self.renew),
            (f"{ADMIN_PREFIX}/users/remove", "POST", self.remove),
            ("/metrics", "GET", self.metrics),
        ]

    # ------------------------------------------------------------- helpers
    async def _owner(self, request: Request) -> None:
        check_owner(await authenticated(self.auth, request.headers, session=False))  # bearer only

    def _accounts(self) -> AccountStore:
        if self.accounts is None:
            raise Refusal(503, "this server has no accounts (a read-only data directory)")
        return self.accounts

    async def _change(self, request: Request) -> tuple[AccountStore, dict[str, Any], str]:
        """The owner's change request: the accounts, its body and the user it names."""
        await self._owner(request)
        accounts = self._accounts()
        body = await object_body(request, self.limits)
        name = check_name(body.get("user"), "user", self.limits)
        if name is None:
            raise Refusal(422, "'user' is required")
        return accounts, body, name

    def _workspaces(self, body: dict[str, Any], *, required: bool) -> list[str]:
        value = body.get("workspaces", None if required else [])
        if not isinstance(value, list) or (required and not value):
            raise Refusal(422, "'workspaces' must be a list of workspace ids"
                          + (", at least one" if required else ""))
        if len(value) > self.limits.max_batch:
            raise Refusal(413, f"at most {self.limits.max_batch} workspaces per request")
        return [str(check_name(ws, "workspaces", self.limits)) for ws in value]

    # -------------------------------------------------------------- routes
    async def users(self, request: Request) -> Response:
        await self._owner(request)
        users = await self._accounts().users()
        listing = [{"user": name, "workspaces": sorted(spaces)}
                   for name, spaces in sorted(users.items())]
        return JsonResponse({"users": listing}, headers=SECURITY_HEADERS)

    async def add(self, request: Request) -> Response:
        accounts, body, name = await self._change(request)
        spaces = self._workspaces(body, required=False)
        token = await _changed(accounts.add_user(name, spaces))
        return JsonResponse({"user": name, "workspaces": sorted(set(spaces)), "token": token},
                            headers=SECURITY_HEADERS)

    async def grant(self, request: Request) -> Response:
        accounts, body, name = await self._change(request)
        spaces = self._workspaces(body, required=True)
        now = await _changed(accounts.grant(name, spaces))
        return JsonResponse({"user": name, "workspaces": sorted(now)}, headers=SECURITY_HEADERS)

    async def revoke(self, request: Request) -> Response:
        accounts, body, name = await self._change(request)
        spaces = self._workspaces(body, required=True)
        now = await _changed(accounts.revoke(name, spaces))
        return JsonResponse({"user": name, "workspaces": sorted(now)}, headers=SECURITY_HEADERS)

    async def renew(self, request: Request) -> Response:
        accounts, _, name = await self._change(request)
        token = await _changed(accounts.renew(name))
        return JsonResponse({"user": name, "token": token}, headers=SECURITY_HEADERS)

    async def remove(self, request: Request) -> Response:
        accounts, _, name = await self._change(request)
        await _changed(accounts.remove_user(name))
        return JsonResponse({"status": "ok"}, headers=SECURITY_HEADERS)

    async def metrics(self, request: Request) -> Response:
        await self._owner(request)
        return Response(self._metrics.render(), media_type=CONTENT_TYPE,
                        headers=SECURITY_HEADERS)


T = TypeVar("T")


async def _changed(change: Awaitable[T]) -> T:
    """Await an account change; its errors as the answers they are.

    A store that cannot change (a read-only database, a full disk, Redis
    away) raises :class:`~lattice_rt_core.engines.base.Unavailable`: a 503.
    """
    try:
        return await change
    except UserExists as exc:
        raise Refusal(409, str(exc)) from None
    except NoSuchUser as exc:
        raise Refusal(404, str(exc)) from None
    except ValueError as exc:
        raise Refusal(422, str(exc)) from None
