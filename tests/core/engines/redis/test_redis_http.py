"""The HTTP routes and the stream over a Redis node: the same tests, the other engine.

The routes only know the engine interface, so the tests of ``test_http_api``,
``test_stream_route``, ``test_page`` and ``test_owner_routes`` that use the
``server`` fixture run here again, unchanged, against a node of a cluster in
a real Redis (the admin routes then change the cluster's accounts there).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lattice_rt_core.auth.redis_accounts import RedisAccounts
from lattice_rt_core.engines.redis.store import RedisKeys, connect_async
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.core.http.test_http_api import (  # noqa: F401 - collected again with the fixture below
    test_an_idempotency_key_retried_returns_the_first_answer_and_publishes_once,
    test_bad_join_input,
    test_bad_publish_input_gets_a_clear_4xx,
    test_bad_status_input_gets_a_clear_4xx_and_changes_nothing,
    test_everything_needs_auth,
    test_feed_bad_before_is_400,
    test_feed_bad_limit_is_400,
    test_feed_limit_default_and_clamp,
    test_feed_pages_back_with_before,
    test_health,
    test_presence_gives_people_and_words,
    test_presence_join_and_leave,
    test_publish_feed_and_stats,
    test_unknown_route_and_method_are_json,
    test_users_only_see_and_publish_in_their_workspaces,
)
from tests.core.http.test_metrics import (  # noqa: F401
    test_the_counters_follow_streams_presence_and_publishing,
)
from tests.core.http.test_owner_routes import (  # noqa: F401
    test_add_list_grant_revoke_renew_remove,
    test_an_existing_user_is_a_conflict_that_keeps_its_token,
    test_an_unknown_user_is_404,
    test_bad_fields_are_422_and_change_nothing,
    test_too_many_workspaces_is_413,
)
from tests.core.http.test_page import (  # noqa: F401
    test_anything_else_under_static_is_not_found,
    test_launch_code_is_single_use_and_sets_a_strict_cookie,
)
from tests.core.http.test_stream_route import (  # noqa: F401
    test_stream_bad_last_event_id,
    test_stream_headers_ids_and_tail,
    test_stream_live_event,
    test_stream_resume_by_header_and_query,
)
from tests.redis_server import RedisServer


@pytest.fixture
def server_config(data_dir: Path, redis_server: RedisServer, redis_prefix: str) -> ServerConfig:
    return ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                        redis_url=redis_server.url, redis_prefix=redis_prefix)


@pytest.fixture
def users(server: RealtimeServer, redis_server: RedisServer, redis_prefix: str) -> dict[str, str]:
    """The users of test_http_api, added to the cluster's accounts in Redis."""

    async def add() -> dict[str, str]:
        accounts = RedisAccounts(connect_async(redis_server.url), RedisKeys(redis_prefix))
        try:
            return {name: await accounts.add_user(name, spaces)
                    for name, spaces in (("ann", ["ws_a"]), ("bob", ["ws_b"]), ("eve", []))}
        finally:
            await accounts.client.aclose()

    return asyncio.run(add())
