"""Who gets in: Host and Origin, content types, private files, workspace scope.

Extends tests/core/http/test_guard.py and test_http_api.py (the basic guards) with the
subtle cases and with every route of the OpenAPI document, so a new route is
covered without touching this file. Each test names the line whose removal
makes it fail.
"""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lattice_rt_core.http.openapi import openapi_document
from lattice_rt_core.server import RealtimeServer, ServerConfig
from tests.hardening.helpers import add_users, bearer, sse_reader

ROUTES = [
    (method.upper(), path.replace("{name}", "activity.js"))
    for path, ops in openapi_document("test")["paths"].items()
    for method in ops
]


def _request(server: RealtimeServer, method: str, path: str, **headers: str) -> httpx.Response:
    """One request that never hangs on the endless stream: only the head is read."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        kwargs: dict[str, object] = {"headers": headers}
        if method == "POST":
            kwargs["json"] = {}
        with client.stream(method, path, **kwargs) as response:  # type: ignore[arg-type]
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                response.read()
            return response


# ------------------------------------------------------------------- Host
@pytest.mark.parametrize(
    "host",
    [
        "",  # no Host value at all
        "127.0.0.2:{port}",  # loopback, but not a name the server answers to
        "0.0.0.0:{port}",
        "127.1:{port}",  # the same address spelled differently
        "2130706433:{port}",
        "[::ffff:127.0.0.1]:{port}",
        "localhost.:{port}",  # trailing dot: a different name to a browser
        "localhost:0{port}",  # the same number spelled differently
        "localhost:{port}.evil.example",
        "evil.example:{port}",
        "localhost",  # no port: a rebinding page on :80 sends exactly this
    ],
)
def test_every_route_refuses_a_host_that_is_not_exactly_allowed(
    server: RealtimeServer, host: str
) -> None:
    # fails without: `if host not in allowed:` in guard.HostOriginGuard.__call__
    for method, path in ROUTES:
        r = _request(server, method, path, Host=host.format(port=server.port),
                     **bearer(server.owner_token))
        assert r.status_code == 403, (method, path, r.status_code)
        assert r.json() == {"error": "forbidden host"}


@pytest.fixture
def named_server(data_dir: Path) -> Iterator[RealtimeServer]:
    srv = RealtimeServer(ServerConfig(
        port=0, data_dir=data_dir, owner_user="owner",
        allowed_hosts=("lattice.lan", "Team.Example:9000"),
    ))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_allow_host_names_are_exact_too(named_server: RealtimeServer) -> None:
    # fails without: the extra_hosts loop in guard._named
    port = named_server.port
    h = bearer(named_server.owner_token)

    def status(host: str, origin: str | None = None) -> int:
        extra = {"Origin": origin} if origin else {}
        return _request(named_server, "GET", "/realtime/feed", Host=host, **h, **extra).status_code

    assert status(f"lattice.lan:{port}") == 200  # a name without a port gets the server's
    assert status("lattice.lan") == 200  # ... and none: a proxy on its default port
    assert status(f"LATTICE.LAN:{port}") == 200  # host names are case-insensitive
    assert status("team.example:9000") == 200  # a name with a port (a proxy in front) as is
    assert status(f"127.0.0.1:{port}") == 200  # loopback stays allowed
    for refused in ("lattice.lan:1", "lattice.lan:443", "team.example", f"team.example:{port}",
                    f"sub.lattice.lan:{port}", f"lattice.lan.evil.example:{port}",
                    "lattice.lan.", "lattice.lan:"):
        assert status(refused) == 403, refused
    # an allowed name's origin, over http or https (a TLS proxy in front)
    for origin in (f"http://lattice.lan:{port}", f"https://lattice.lan:{port}",
                   "https://lattice.lan", "http://lattice.lan", "https://team.example:9000"):
        assert status(f"lattice.lan:{port}", origin=origin) == 200, origin
    for origin in ("http://team.example", "https://lattice.lan:1", "https://evil.example",
                   "https://lattice.lan.evil.example", "null"):
        assert status(f"lattice.lan:{port}", origin=origin) == 403, origin


# ----------------------------------------------------------------- Origin
FOREIGN_ORIGINS = [
    "http://evil.example",
    "null",  # sandboxed iframes, file:// pages
    "https://127.0.0.1:{port}",  # another scheme is another origin
    "http://127.0.0.1:{port}.evil.example",
    "http://127.0.0.1:{port}@evil.example",
    "http://127.0.0.2:{port}",
    "http://localhost:1",
    "http://localhost",
    "http://127.0.0.1:{port}/",  # not an origin serialisation at all
]


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_every_route_refuses_a_foreign_origin_and_never_grants_cors(
    server: RealtimeServer, origin: str
) -> None:
    # fails without: the `origin is not None and not (...)` check in the guard's __call__
    origin = origin.format(port=server.port)
    for method, path in [*ROUTES, ("OPTIONS", "/realtime/events"), ("OPTIONS", "/realtime/feed")]:
        r = _request(server, method, path, Origin=origin, **bearer(server.owner_token))
        assert r.status_code == 403, (method, path, origin, r.status_code)
        assert r.json() == {"error": "forbidden origin"}
        assert not any(k.lower().startswith("access-control-") for k in r.headers), r.headers


def test_own_origin_gets_an_answer_but_no_cors_headers(server: RealtimeServer) -> None:
    # a same-origin page needs no CORS; the server must never add it (neither
    # "*" nor a reflected Origin), even for a preflight
    for origin in (server.url, f"http://localhost:{server.port}"):
        for method, path in [*ROUTES, ("OPTIONS", "/realtime/events")]:
            r = _request(server, method, path, Origin=origin, **bearer(server.owner_token),
                         **{"Access-Control-Request-Method": "POST"})
            assert r.status_code != 403, (method, path)
            assert not any(k.lower().startswith("access-control-") for k in r.headers), (
                method, path, r.headers)


# ---------------------------------------------------------- content types
@pytest.mark.parametrize("path", ["/realtime/events", "/realtime/presence/join",
                                  "/realtime/presence/leave", "/realtime/presence/status"])
@pytest.mark.parametrize(
    "ctype",
    [
        None,
        "text/plain",  # the three types a page may send cross-site without a preflight
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain; charset=application/json",
        "application/json-seq",
        "application/jsonx",
    ],
)
def test_posts_need_application_json(owner: httpx.Client, path: str, ctype: str | None) -> None:
    # fails without: the Content-Type check at the top of http/body.py's json_body
    headers = {"Content-Type": ctype} if ctype else {}
    before = []
    if path.endswith("/status"):  # changes an entry that exists
        assert owner.post("/realtime/presence/join", json={"client_id": "c1"}).is_success
        before = ["active"]
    body = b'{"client_id": "c1", "workspace_id": "w", "status": "away"}'
    r = owner.post(path, content=body, headers=headers)
    assert r.status_code == 415, (path, ctype, r.status_code)
    assert "application/json" in r.json()["error"]
    assert [p["status"] for p in owner.get("/realtime/presence").json()["presence"]] == before
    ok = owner.post(path, content=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 200, ok.text


# ------------------------------------------------------------------ files
def test_everything_the_server_writes_is_private(tmp_path: Path) -> None:
    # fails without both `_create_private(path)` and the chmod loop in
    # journal.open_db (the -wal and -shm files then get the umask's 0644; the
    # first makes them private from their first byte, the second repairs
    # leftovers, see below), or without the mode in paths.ensure_data_dir
    data_dir = tmp_path / "fresh" / "lattice-rt"  # not created by the test
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir))
    srv.start()
    try:
        add_users(data_dir, {"ann": ["w"]})
        r = httpx.post(srv.url + "/realtime/events", json={"payload": {}},
                       headers=bearer(srv.owner_token))
        assert r.status_code == 200
        names = sorted(p.name for p in data_dir.iterdir())
        assert {"owner.token", "server.json", "lattice-rt.sqlite", "lattice-rt.sqlite-wal",
                "lattice-rt.sqlite-shm"} <= set(names), names
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        for name in names:
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    finally:
        srv.stop()


def test_loose_files_left_by_a_crash_are_made_private(data_dir: Path) -> None:
    # an older version, a crash: the database and its -wal/-shm are 0644
    # fails without: the chmod loop at the end of journal.open_db
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir))
    srv.start()
    srv.stop()
    db = data_dir / "lattice-rt.sqlite"
    for name in (db, data_dir / "lattice-rt.sqlite-wal", data_dir / "lattice-rt.sqlite-shm"):
        name.touch()
        name.chmod(0o644)
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir))
    srv.start()
    try:
        for name in ("lattice-rt.sqlite", "lattice-rt.sqlite-wal", "lattice-rt.sqlite-shm"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    finally:
        srv.stop()


# ------------------------------------------------------------------ scope
@pytest.fixture
def users(server: RealtimeServer) -> dict[str, str]:
    return add_users(server.data_dir, {"ann": ["ws_a"], "bob": ["ws_b"], "eve": []})


def _collect_until_marker(
    server: RealtimeServer, token: str, params: object, ready: threading.Barrier,
    out: dict[str, list[dict[str, object]]], name: str,
) -> None:
    got: list[dict[str, object]] = []
    with sse_reader(server, bearer(token), params) as frames:
        ready.wait()
        for event, _, data in frames:
            body = json.loads(data)
            got.append({"event": event, **body})
            if event == "message" and body.get("payload") == {"marker": True}:
                break
    out[name] = got


def test_streams_feed_and_presence_are_scoped_live_and_on_replay(
    server: RealtimeServer, owner: httpx.Client, users: dict[str, str]
) -> None:
    # fails without: the scope test in Fanout.collect (streams), the
    # accepts() in Fanout._feed_entries (feed) or in PresenceRegistry.snapshot (presence)
    ready = threading.Barrier(4)
    live: dict[str, list[dict[str, object]]] = {}
    readers = [
        threading.Thread(target=_collect_until_marker,
                         args=(server, users[name], None, ready, live, name))
        for name in ("ann", "bob", "eve")
    ]
    for t in readers:
        t.start()
    ready.wait()
    for ws in ("ws_a", "ws_b", None, "ws_other"):
        assert owner.post("/realtime/events", json={"workspace_id": ws, "payload": {}}).is_success
    a = httpx.post(server.url + "/realtime/presence/join", headers=bearer(users["ann"]),
                   json={"client_id": "pa", "workspace_id": "ws_a", "display_name": "Ann"})
    b = httpx.post(server.url + "/realtime/presence/join", headers=bearer(users["bob"]),
                   json={"client_id": "pb", "workspace_id": "ws_b"})
    assert a.status_code == b.status_code == 200
    assert owner.post("/realtime/events", json={"payload": {"marker": True}}).is_success
    for t in readers:
        t.join(15)
    spaces = {name: {e["workspace_id"] for e in frames} for name, frames in live.items()}
    assert spaces == {"ann": {"ws_a", None}, "bob": {"ws_b", None}, "eve": {None}}
    assert {e["event"] for frames in live.values() for e in frames} == {"message"}

    for name, visible in (("ann", {"ws_a", None}), ("bob", {"ws_b", None}), ("eve", {None})):
        h = bearer(users[name])
        with sse_reader(server, h, {"last_event_id": 0}) as frames:
            replay = []
            for _, _, data in frames:
                replay.append(json.loads(data))
                if replay[-1]["payload"] == {"marker": True}:
                    break
        assert {e["workspace_id"] for e in replay} == visible, name
        assert [e["seq"] for e in replay] == sorted(e["seq"] for e in replay)
        feed = httpx.get(server.url + "/realtime/feed", headers=h).json()["events"]
        assert {e["workspace_id"] for e in feed} == visible, name
        pres = httpx.get(server.url + "/realtime/presence", headers=h).json()["presence"]
        assert {p["client_id"] for p in pres} == {"ann": {"pa"}, "bob": {"pb"}, "eve": set()}[name]


def test_a_user_without_that_workspace_cannot_publish_or_join_there(
    server: RealtimeServer, users: dict[str, str]
) -> None:
    # fails without: the _membership call in access.check_join or access.check_event
    def post(user: str, path: str, body: object) -> httpx.Response:
        return httpx.post(server.url + path, headers=bearer(users[user]), json=body)

    for body in ({"workspace_id": "ws_a"}, {"workspace_id": None}, {}, [{"workspace_id": "ws_b"}]):
        r = post("eve", "/realtime/events", body)
        assert r.status_code == 403, body
    # a presence entry without a workspace would be shown to every user
    for user in ("eve", "ann"):
        r = post(user, "/realtime/presence/join", {"client_id": f"{user}-global"})
        assert r.status_code == 403 and "workspace_id" in r.json()["error"]
    assert post("ann", "/realtime/presence/join", {"workspace_id": "ws_b"}).status_code == 403
    # a batch is all or nothing
    mixed = [{"workspace_id": "ws_a"}, {"workspace_id": "ws_b"}]
    r = post("ann", "/realtime/events", mixed)
    assert r.status_code == 403 and r.json()["error"].startswith("event 1:")
    assert httpx.get(server.url + "/realtime/feed", headers=bearer(server.owner_token)).json()[
        "stats"]["seq"] == 0


def test_only_the_holder_or_the_owner_changes_a_status_and_only_in_its_workspace(
    server: RealtimeServer, owner: httpx.Client, users: dict[str, str]
) -> None:
    # fails without: the _own_entry call in access.check_status (bob changes ann's
    # status) or its _membership call (ann, no longer in ws_a, still publishes there)
    def post(token: str | None, path: str, body: object) -> httpx.Response:
        return httpx.post(server.url + path, headers=bearer(token), json=body)

    assert post(users["ann"], "/realtime/presence/join",
                {"client_id": "pa", "workspace_id": "ws_a"}).status_code == 200
    seq = owner.get("/realtime/feed").json()["stats"]["seq"]
    for token in (users["bob"], users["eve"]):
        r = post(token, "/realtime/presence/status", {"client_id": "pa", "status": "dnd"})
        assert r.status_code == 403 and r.json() == {"error": "client_id belongs to another user"}
    r = post(users["bob"], "/realtime/presence/status", {"client_id": "nope", "status": "dnd"})
    assert r.status_code == 404
    assert owner.get("/realtime/feed").json()["stats"]["seq"] == seq
    assert [p["status"] for p in owner.get("/realtime/presence").json()["presence"]] == [
        "active"]
    # the owner may change any entry (as it may end any)
    assert post(server.owner_token, "/realtime/presence/status",
                {"client_id": "pa", "status": "away"}).status_code == 200
    # ann loses ws_a: her entry stays until it expires, but she cannot publish there
    from lattice_rt_core.auth.accounts import Accounts
    from lattice_rt_core.paths import database_path

    accounts = Accounts(database_path(server.data_dir))
    try:
        accounts.remove_user("ann")
        token = accounts.add_user("ann", ["ws_other"])
    finally:
        accounts.close()
    r = post(token, "/realtime/presence/status", {"client_id": "pa", "status": "active"})
    assert r.status_code == 403 and r.json()["error"] == "not a member of workspace 'ws_a'"
    assert [p["status"] for p in owner.get("/realtime/presence").json()["presence"]] == ["away"]


# ----------------------------------------------------------------- limits
@pytest.fixture
def limited(data_dir: Path) -> Iterator[RealtimeServer]:
    from lattice_rt_core.protocol.limits import ApiLimits

    srv = RealtimeServer(ServerConfig(
        port=0, data_dir=data_dir, owner_user="owner",
        limits=ApiLimits(max_streams_per_user=2, max_presence_per_user=3, max_client_ids=4),
    ))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_concurrent_streams_per_user_are_capped_and_freed(limited: RealtimeServer) -> None:
    # fails without: the max_streams_per_user check in access.check_stream (or, for
    # the "freed" half, the `self.streams[principal.user] -= 1` in StreamRoute's finally)
    token = add_users(limited.data_dir, {"ann": ["w"]})["ann"]
    h = bearer(token)
    with sse_reader(limited, h), sse_reader(limited, h):
        r = _request(limited, "GET", "/realtime/stream", **h)
        assert r.status_code == 429 and r.json()["error"] == "at most 2 open streams"
    # both closed: a slot is free again as soon as the server saw the disconnects
    def opens() -> bool:
        with httpx.Client(base_url=limited.url, headers=h, timeout=10) as c:
            with c.stream("GET", "/realtime/stream") as resp:
                return resp.status_code == 200

    from tests.hardening.helpers import wait_for

    wait_for(opens, "a stream slot to be freed")
    with sse_reader(limited, h), sse_reader(limited, h):
        pass


def test_presence_entries_per_user_are_capped(limited: RealtimeServer) -> None:
    # fails without: the max_presence_per_user check in access.check_join
    token = add_users(limited.data_dir, {"ann": ["w"]})["ann"]

    def join(cid: str) -> httpx.Response:
        return httpx.post(limited.url + "/realtime/presence/join", headers=bearer(token),
                          json={"client_id": cid, "workspace_id": "w"})

    assert [join(f"c{i}").status_code for i in range(3)] == [200] * 3
    r = join("c3")
    assert r.status_code == 429 and r.json()["error"] == "at most 3 presence entries per user"
    assert join("c1").status_code == 200  # refreshing an entry is not a new one
    httpx.post(limited.url + "/realtime/presence/leave", headers=bearer(token),
               json={"client_id": "c0"})
    assert join("c3").status_code == 200


def test_client_ids_per_stream_are_capped(limited: RealtimeServer) -> None:
    # fails without: the max_client_ids check in access.check_stream
    query = "&".join(f"client_id=c{i}" for i in range(5))
    r = _request(limited, "GET", f"/realtime/stream?{query}", **bearer(limited.owner_token))
    assert r.status_code == 400 and r.json()["error"] == "at most 4 client_id values"


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/realtime/presence/join", {"client_id": "x" * 129}, "1 to 128 characters"),
        ("/realtime/presence/join", {"display_name": "x" * 129}, "1 to 128 characters"),
        ("/realtime/presence/join", {"display_name": "a\u0000b"}, "control characters"),
        ("/realtime/presence/join", {"workspace_id": "w\x7f"},
         "control characters"),
        ("/realtime/presence/leave", {"client_id": "x" * 129}, "1 to 128 characters"),
        ("/realtime/presence/join", {"status": "away", "status_text": "x" * 101},
         "1 to 100 characters"),
        ("/realtime/presence/join", {"status": "away", "status_text": "a\u2028\u0007"},
         "control characters"),
        ("/realtime/presence/status", {"client_id": "x" * 129, "status": "away"},
         "1 to 128 characters"),
        ("/realtime/events", {"area": "a" * 129}, "1 to 128 characters"),
        ("/realtime/events", {"event_type": "\u0085\r"}, "control characters"),
    ],
)
def test_string_lengths_and_characters_are_checked(
    owner: httpx.Client, path: str, body: dict[str, str], needle: str
) -> None:
    # fails without: the length / control-character checks in limits.name_problem, or
    # status_text's own limit in access.check_state
    r = owner.post(path, json=body)
    assert r.status_code == 422 and needle in r.json()["error"], r.text


@pytest.mark.parametrize("path", ["/realtime/events", "/realtime/presence/join"])
def test_lone_surrogates_are_a_4xx_or_stored_escaped_never_a_500(
    owner: httpx.Client, path: str
) -> None:
    # fails (500) without: responses.JsonResponse.render (Starlette cannot encode "\ud800") or
    # the surrogate escape in events.to_json
    raw = b'{"workspace_id": "w", "payload": {"text": "a\\ud800b"}}'
    r = owner.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    key = b"area" if path == "/realtime/events" else b"client_id"
    named = b'{"' + key + b'": "c\\udfff", "workspace_id": "w"}'
    r = owner.post(path, content=named, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "valid Unicode" in r.json()["error"], r.text


@pytest.mark.parametrize("path", ["/realtime/events", "/realtime/presence/join",
                                  "/realtime/presence/leave", "/realtime/presence/status"])
def test_a_body_over_the_limit_is_413_even_without_a_length(
    owner: httpx.Client, path: str
) -> None:
    # fails without: the running size check in the `async for chunk` loop of the JSON body
    def chunks() -> Iterator[bytes]:  # chunked transfer: no Content-Length to trust
        yield b'{"payload": "'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"}'

    r = owner.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "1048576 bytes" in r.json()["error"]
    assert owner.get("/realtime/feed").json()["stats"]["seq"] == 0


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flapping_client_cannot_flood_the_bus_with_status_events(data_dir: Path) -> None:
    # fails without: the interval test in presence.PresenceRegistry._publish_due
    clock = _Clock()
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, owner_user="owner",
                                      clock=clock))
    srv.start()
    try:
        h = bearer(srv.owner_token)
        with httpx.Client(base_url=srv.url, headers=h, timeout=10) as c:
            clients = ["a", "b", "c"]
            for cid in clients:
                assert c.post("/realtime/presence/join", json={"client_id": cid}).is_success
            start = c.get("/realtime/feed").json()["stats"]["seq"]
            statuses = ["idle", "away", "dnd", "active"]
            last: dict[str, tuple[str, str]] = {}
            for i in range(300):  # three seconds of the server's clock, 100 requests each
                cid, state = clients[i % 3], (statuses[i % 4], f"line {i}")
                r = c.post("/realtime/presence/status",
                           json={"client_id": cid, "status": state[0], "status_text": state[1]})
                assert r.status_code == 200, r.text
                last[cid] = state
                clock.now += 0.01
            clock.now += 1.0  # every interval is over: each client's last state goes out
            listed = {p["client_id"]: (p["status"], p["status_text"])
                      for p in c.get("/realtime/presence").json()["presence"]}
            assert listed == last  # shown at once, whatever was published

            published: dict[str, list[tuple[str, str]]] = {cid: [] for cid in clients}

            def final_states_seen() -> bool:
                return all(states and states[-1] == last[cid]
                           for cid, states in published.items())

            with sse_reader(srv, h, {"last_event_id": start}) as frames:
                for _, _, data in frames:
                    event = json.loads(data)
                    assert event["event_type"] == "status", event
                    payload = event["payload"]
                    published[payload["client_id"]].append(
                        (payload["status"], payload["status_text"]))
                    if final_states_seen():
                        break
        # 100 changes per client over four seconds of server time: at most one event
        # per client per second (plus the trailing one)
        assert all(len(states) <= 5 for states in published.values()), published
    finally:
        srv.stop()


def test_bad_token_guesses_meet_a_429(data_dir: Path) -> None:
    # fails without: GuessThrottle in create_app (issue 20, item 8: 186 bad-token
    # guesses a second never met a 429)
    from lattice_rt_core.protocol.defaults import AUTH_FAILURE_LIMIT, AUTH_FAILURE_WINDOW
    from tests.clock import Clock

    clock = Clock()
    srv = RealtimeServer(ServerConfig(port=0, data_dir=data_dir, clock=clock))
    srv.start()
    try:
        with httpx.Client(base_url=srv.url, timeout=10.0) as client:
            def guess(i: int) -> httpx.Response:
                path = "/realtime/stream" if i % 5 == 0 else "/realtime/feed"
                return client.get(path, headers=bearer(f"{i:064x}"))

            for i in range(AUTH_FAILURE_LIMIT):
                assert guess(i).status_code == 401
            clock.now += AUTH_FAILURE_WINDOW / 2
            refused = guess(AUTH_FAILURE_LIMIT)
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"] == (
                "too many failed sign-ins from this address; try again in 5 s")
            assert refused.headers["retry-after"] == "5"
            # not checked while throttled: the right token waits too (one address)
            assert client.get("/realtime/feed",
                              headers=bearer(srv.owner_token)).status_code == 429
            # so does a launch code, wherever it is carried (issue 20, item 1: in a body)
            code = client.post("/realtime/session", json={"code": "x" * 43})
            assert code.status_code == 429, code.text
            form = client.post("/activity", content=f"code={'x' * 43}", headers={
                "Content-Type": "application/x-www-form-urlencoded", "Origin": srv.url})
            assert form.status_code == 429, form.text
            assert client.get("/realtime/feed", headers={
                "Authorization": f"Session {'x' * 43}"}).status_code == 429
            # the anonymous health check and the page's files still answer
            assert client.get("/realtime/health").status_code == 200
            assert client.get("/activity/static/activity.js").status_code == 200
            clock.now += AUTH_FAILURE_WINDOW / 2  # the failures have aged out
            metrics = client.get("/metrics", headers=bearer(srv.owner_token))
            assert metrics.status_code == 200
            assert "\nlattice_rt_auth_throttled_total 5.0\n" in metrics.text
            assert 'lattice_rt_requests_refused_total{reason="auth_throttled"} 5.0' in metrics.text
    finally:
        srv.stop()
