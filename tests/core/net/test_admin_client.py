"""RemoteAccounts: the methods of Accounts over the admin routes, with the same errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from lattice_rt_core.client import RealtimeClient
from lattice_rt_core.net.admin import RemoteAccounts
from lattice_rt_core.net.api import ApiError
from lattice_rt_core.protocol.accounts import NoSuchUser, UserExists
from lattice_rt_core.server import RealtimeServer
from tests.core.mock_http import MockHttp


@pytest.fixture
def remote(server: RealtimeServer) -> Iterator[RemoteAccounts]:
    with RealtimeClient(server.url, server.owner_token) as client:
        yield RemoteAccounts(client)


def test_the_same_methods_and_errors_as_the_local_class(remote: RemoteAccounts) -> None:
    token = remote.add_user("ada", ["ws1"])
    assert len(token) == 64
    with pytest.raises(UserExists, match="user 'ada' already exists"):
        remote.add_user("ada")
    assert remote.grant("ada", "ws2") == {"ws1", "ws2"}  # one name, not its letters
    assert remote.revoke("ada", ["ws1"]) == {"ws2"}
    assert remote.renew("ada") != token
    assert remote.users() == {"ada": {"ws2"}}
    remote.remove_user("ada")
    for change in (lambda: remote.renew("ada"), lambda: remote.remove_user("ada"),
                   lambda: remote.grant("ada", ["w"])):
        with pytest.raises(NoSuchUser, match="no user named 'ada'"):
            change()


def test_bad_names_are_refused_before_anything_is_sent() -> None:
    sent: list[httpx.Request] = []
    with MockHttp(httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500))) as mock:
        remote = RemoteAccounts(RealtimeClient(mock.url, "t"))
        with pytest.raises(ValueError, match="^user name must not be only whitespace$"):
            remote.add_user("  ")
        with pytest.raises(ValueError, match="^workspace id must not contain control characters$"):
            remote.grant("ada", ["a\x00"])
        assert sent == []


def test_a_server_without_the_admin_routes_is_not_a_missing_user() -> None:
    def old_server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, content=json.dumps({"error": "not found"}))

    with MockHttp(httpx.MockTransport(old_server)) as mock:
        remote = RemoteAccounts(RealtimeClient(mock.url, "t"))
        # every route is missing, the realtime ones too: said as such (missing_route), never as
        # a missing user
        with pytest.raises(ApiError, match=r"^this server has no realtime API \(Lattice AI 11\.6 "
                                           r"and later moved it\)$"):
            remote.renew("ada")
