"""Who may do what, decided without a server: the name rule, the caller and
every access decision with its status and message."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lattice_rt_core.auth.access import (
    Refusal,
    authenticated,
    caller,
    check_batch,
    check_event,
    check_join,
    check_leave,
    check_name,
    check_state,
    check_status,
    check_stream,
)
from lattice_rt_core.auth.accounts import Accounts
from lattice_rt_core.auth.callers import SESSION_COOKIE, Authenticator, Principal
from lattice_rt_core.protocol.limits import MAX_NAME, NAME_PATTERN, ApiLimits, name_problem

LIMITS = ApiLimits()
OWNER = Principal("root", None, owner=True)
ANN = Principal("ann", frozenset({"ws_a"}))
LOCAL = Principal("", None)  # auth off: sees everything, not the owner


def refused(call: object, status: int, message: str) -> None:
    """``call()`` raises a Refusal with exactly this status and message."""
    assert callable(call)
    with pytest.raises(Refusal) as info:
        call()
    assert (info.value.status, info.value.message) == (status, message)


# --------------------------------------------------------------- the name rule
@pytest.mark.parametrize(
    "name", ["a", "ws_marketing", " ada", "Ada Lovelace", "é😀", "x" * MAX_NAME]
)
def test_good_names_pass(name: str) -> None:
    assert name_problem(name) is None
    assert check_name(name, "client_id", LIMITS) == name


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (7, "must be a string"),
        (["a"], "must be a string"),
        ("", f"must be 1 to {MAX_NAME} characters"),
        ("x" * (MAX_NAME + 1), f"must be 1 to {MAX_NAME} characters"),
        ("a\x00b", "must not contain control characters"),
        ("a\nb", "must not contain control characters"),
        ("\x1f", "must not contain control characters"),
        ("w\x7f", "must not contain control characters"),
        ("\u0085\r", "must not contain control characters"),  # control first, then blank
        ("c\udfff", "must be valid Unicode text (no lone surrogates)"),
        (" ", "must not be only whitespace"),
        ("\u3000\xa0 ", "must not be only whitespace"),
        ("\u0085", "must not contain control characters"),  # C1 (NEL)
        ("x\u009b31m", "must not contain control characters"),  # C1 (CSI)
        ("\u202enimda", "must not contain bidirectional controls (U+202E)"),
        ("ann\u2066", "must not contain bidirectional controls (U+2066)"),
        ("a\u200eb", "must not contain bidirectional controls (U+200E)"),
        ("\u061cx", "must not contain bidirectional controls (U+061C)"),
        ("\u200b", "must not be only invisible characters"),
        ("\ufeff\u200b\u2060", "must not be only invisible characters"),
        ("\u3164", "must not be only invisible characters"),
        ("\u115f\u1160", "must not be only invisible characters"),
        ("\U000e0041\U000e0042", "must not be only invisible characters"),  # tag characters
        ("\u00a0\u200b", "must not be only invisible characters"),
        ("x" + "\u0301" * 5, "must not stack more than 4 combining marks"),
        ("x" + "\u0336" * 100, "must not stack more than 4 combining marks"),
    ],
)
def test_bad_names_say_what_is_wrong(value: object, problem: str) -> None:
    assert name_problem(value) == problem
    refused(lambda: check_name(value, "area", LIMITS), 422, f"'area' {problem}")


def test_an_absent_name_is_none_and_the_limit_is_the_servers() -> None:
    assert check_name(None, "workspace_id", LIMITS) is None
    refused(lambda: check_name("abcd", "area", ApiLimits(max_name=3)), 422,
            "'area' must be 1 to 3 characters")


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=MAX_NAME))
def test_the_openapi_pattern_is_the_name_rule(text: str) -> None:
    # the document fuzzed by schemathesis must say what the server accepts (in
    # ECMA-262, which OpenAPI patterns use, $ is the end; in Python's re it also
    # matches before a final newline, so compare whole-string matches). The
    # pattern cannot count combining marks nor name characters beyond the basic
    # plane (no u flag): there it may accept what the server refuses, never the
    # other way round.
    accepted = name_problem(text) is None
    matches = re.fullmatch(NAME_PATTERN, text) is not None
    if accepted:
        assert matches
    elif all(ord(c) <= 0xFFFF for c in text) and "stack" not in str(name_problem(text)):
        assert not matches


@pytest.mark.parametrize("name", [
    "e\u0301", "Nguy\u1ec5n", "\u0915\u094d\u0937", "\U0001f469\u200d\U0001f4bb",
    "\u0645\u0631\u062d\u0628\u0627", "ann\u200dbob", "\u00e9\u0302\u0323",
    "\u05e9\u05dc\u05d5\u05dd",
])
def test_real_names_stay_good(name: str) -> None:
    assert name_problem(name) is None


def test_accounts_use_the_same_rule(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "accounts.sqlite")
    try:
        for name, problem in [
            ("  ", "must not be only whitespace"),
            ("a\x7f", "must not contain control characters"),
            ("x" * (MAX_NAME + 1), f"must be 1 to {MAX_NAME} characters"),
            ("b\ud800", "must be valid Unicode text (no lone surrogates)"),
        ]:
            with pytest.raises(ValueError) as info:
                accounts.add_user(name)
            assert str(info.value) == f"user name {problem}"
            with pytest.raises(ValueError) as info:
                accounts.add_user("ann", [name])
            assert str(info.value) == f"workspace id {problem}"
        assert accounts.users() == {}
        accounts.add_user(" ann", ["ws a"])
        assert accounts.users() == {" ann": {"ws a"}}
    finally:
        accounts.close()


# ------------------------------------------------------------------ the caller
def test_the_caller_comes_from_a_bearer_token_or_a_session_header_never_a_cookie() -> None:
    auth = Authenticator(owner_token="secret", owner_user="root", accounts=None)

    def sync_authenticated(headers: dict[str, str], *, session: bool = True) -> Principal:
        return asyncio.run(authenticated(auth, headers, session=session))

    assert asyncio.run(caller(auth, {"authorization": "Bearer secret"})) == asyncio.run(
        auth.from_bearer("secret"))
    assert sync_authenticated({"authorization": "Bearer secret"}).owner
    assert sync_authenticated({"authorization": "Bearer secret"}, session=False).owner
    code = asyncio.run(auth.issue_launch_code(OWNER))
    assert asyncio.run(auth.code_holder(code)) == OWNER  # a look does not use it up
    session = asyncio.run(auth.redeem(code))
    assert session is not None and asyncio.run(auth.code_holder(code)) is None
    assert sync_authenticated({"authorization": f"Session {session}"}).owner
    assert sync_authenticated({"authorization": f"session  {session} "}).owner
    refused(lambda: sync_authenticated({"authorization": f"Session {session}"}, session=False),
            401, "authentication required")  # where only a bearer token may do
    refused(lambda: sync_authenticated({"authorization": f"Bearer {session}"}), 401,
            "authentication required")  # a session is not a token
    refused(lambda: sync_authenticated({"cookie": f"{SESSION_COOKIE}={session}"}), 401,
            "authentication required")  # a cookie is never a credential
    assert asyncio.run(caller(auth, {})) is None
    refused(lambda: sync_authenticated({}), 401, "authentication required")
    refused(lambda: sync_authenticated({"authorization": "Session "}), 401,
            "authentication required")
    refused(lambda: sync_authenticated({"authorization": "Basic x"}), 401,
            "authentication required")


def test_without_auth_everyone_is_the_local_user() -> None:
    auth = Authenticator(owner_token=None, owner_user="root", accounts=None, enabled=False)
    assert asyncio.run(authenticated(auth, {})) == LOCAL


# -------------------------------------------------------------------- presence
def join(principal: Principal, workspace_id: str | None, holder: str | None = None,
         entries: int = 0, limits: ApiLimits = LIMITS) -> None:
    check_join(principal, workspace_id, holder=holder, entries=entries, limits=limits)


def test_a_member_joins_its_workspace_and_the_owner_anywhere() -> None:
    join(ANN, "ws_a")
    join(ANN, "ws_a", holder="ann", entries=64)  # a re-join is not a new entry
    join(OWNER, None)
    join(OWNER, "anything")
    join(LOCAL, None)


def test_join_refusals() -> None:
    refused(lambda: join(ANN, "ws_b"), 403, "not a member of workspace 'ws_b'")
    refused(lambda: join(ANN, None), 403, "'workspace_id' is required for this user")
    refused(lambda: join(ANN, "ws_a", holder="bob"), 409, "client_id is in use by another user")
    refused(lambda: join(OWNER, None, holder="bob"), 409, "client_id is in use by another user")
    refused(lambda: join(ANN, "ws_b", holder="bob"), 409,
            "client_id is in use by another user")  # 409 is decided before 403
    refused(lambda: join(ANN, "ws_a", entries=3, limits=ApiLimits(max_presence_per_user=3)),
            429, "at most 3 presence entries per user")
    join(ANN, "ws_a", entries=2, limits=ApiLimits(max_presence_per_user=3))


def test_only_the_holder_or_the_owner_may_end_an_entry() -> None:
    check_leave(ANN, "ann")
    check_leave(OWNER, "ann")
    refused(lambda: check_leave(ANN, "bob"), 403, "client_id belongs to another user")
    refused(lambda: check_leave(LOCAL, "ann"), 403, "client_id belongs to another user")


# ---------------------------------------------------------------------- status
@pytest.mark.parametrize("status", ["active", "idle", "away", "dnd"])
def test_the_four_statuses_with_or_without_a_line(status: str) -> None:
    assert check_state(status, None, LIMITS, required=True) == (status, None)
    assert check_state(status, "Back at 2", LIMITS, required=False) == (status, "Back at 2")
    assert check_state(status, "x" * 100, LIMITS, required=True) == (status, "x" * 100)


def test_a_join_may_name_no_status_a_status_request_must() -> None:
    assert check_state(None, None, LIMITS, required=False) is None
    refused(lambda: check_state(None, None, LIMITS, required=True), 422, "'status' is required")
    refused(lambda: check_state(None, "hi", LIMITS, required=False), 422,
            "'status_text' needs 'status'")


@pytest.mark.parametrize(
    ("status", "text", "message"),
    [
        ("busy", None, "'status' must be one of active, idle, away, dnd"),
        ("Away", None, "'status' must be one of active, idle, away, dnd"),
        (1, None, "'status' must be one of active, idle, away, dnd"),
        (["away"], None, "'status' must be one of active, idle, away, dnd"),
        ("away", "x" * 101, "'status_text' must be 1 to 100 characters"),
        ("away", "", "'status_text' must be 1 to 100 characters"),
        ("away", " \t", "'status_text' must not contain control characters"),
        ("away", "  ", "'status_text' must not be only whitespace"),
        ("away", 7, "'status_text' must be a string"),
    ],
)
def test_bad_status_fields_say_what_is_wrong(status: object, text: object, message: str) -> None:
    refused(lambda: check_state(status, text, LIMITS, required=True), 422, message)


def test_the_status_line_limit_is_the_servers() -> None:
    small = ApiLimits(max_status_text=5)
    assert check_state("away", "12345", small, required=True) == ("away", "12345")
    refused(lambda: check_state("away", "123456", small, required=True), 422,
            "'status_text' must be 1 to 5 characters")


def test_who_may_change_a_status() -> None:
    check_status(ANN, "ann", "ws_a")
    check_status(OWNER, "ann", "ws_a")  # the owner may change any, as it may end any
    check_status(LOCAL, "", None)
    refused(lambda: check_status(ANN, None, None), 404, "no presence entry with that client_id")
    refused(lambda: check_status(ANN, "bob", "ws_a"), 403, "client_id belongs to another user")
    refused(lambda: check_status(ANN, "ann", "ws_b"), 403, "not a member of workspace 'ws_b'")


# --------------------------------------------------------------------- publish
def test_a_batch_is_one_event_or_a_bounded_list() -> None:
    assert check_batch({"a": 1}, LIMITS) == [{"a": 1}]
    assert check_batch(None, LIMITS) == [None]  # an empty body: refused as an event below
    assert check_batch([{}, {}], LIMITS) == [{}, {}]
    refused(lambda: check_batch([], LIMITS), 422, "no events given")
    refused(lambda: check_batch([{}] * 4, ApiLimits(max_batch=3)), 413,
            "at most 3 events per request")


def test_an_event_is_published_as_the_caller_without_server_fields() -> None:
    item = {"area": "graph", "workspace_id": "ws_a", "seq": 9, "received_at": "x", "actor": "eve"}
    event = check_event(item, ANN, 0, LIMITS, auth_enabled=True)
    assert event == {"area": "graph", "workspace_id": "ws_a", "actor": "ann"}
    assert item["seq"] == 9  # the input is not changed
    assert check_event({}, OWNER, 0, LIMITS, auth_enabled=True) == {"actor": "root"}


def test_event_refusals_name_the_event_of_a_batch() -> None:
    def event(item: object, principal: Principal = ANN, index: int = 0,
              limits: ApiLimits = LIMITS, auth_enabled: bool = True) -> None:
        check_event(item, principal, index, limits, auth_enabled=auth_enabled)

    refused(lambda: event([1]), 422, "each event must be a JSON object")
    refused(lambda: event(None, index=2), 422, "event 2: each event must be a JSON object")
    refused(lambda: event({"area": 5}, index=1), 422, "event 1: 'area' must be a string")
    refused(lambda: event({"event_type": "a\nb"}), 422,
            "'event_type' must not contain control characters")
    refused(lambda: event({"workspace_id": ""}), 422,
            f"'workspace_id' must be 1 to {MAX_NAME} characters")
    refused(lambda: event({"workspace_id": "ws_a", "payload": "x" * 100},
                          limits=ApiLimits(max_event_bytes=64)), 413,
            "event larger than 64 bytes")
    refused(lambda: event({"workspace_id": "ws_b"}, index=3), 403,
            "event 3: not a member of workspace 'ws_b'")
    refused(lambda: event({}), 403, "'workspace_id' is required for this user")
    refused(lambda: event({"workspace_id": "ws_a", "area": "presence"}), 403,
            "the presence area is reserved for the server")


def test_the_presence_area_is_the_owners_or_anyones_without_auth() -> None:
    assert check_event({"area": "presence"}, OWNER, 0, LIMITS, auth_enabled=True)["area"]
    assert check_event({"area": "presence"}, LOCAL, 0, LIMITS, auth_enabled=False)["area"]
    refused(lambda: check_event({"area": "presence"}, LOCAL, 0, LIMITS, auth_enabled=True),
            403, "the presence area is reserved for the server")


# ---------------------------------------------------------------------- stream
def test_stream_refusals() -> None:
    limits = ApiLimits(max_client_ids=2, max_streams_per_user=2)
    check_stream(ANN, ["a", "b"], open_streams=1, limits=limits)
    refused(lambda: check_stream(ANN, ["a", "b", "c"], open_streams=0, limits=limits), 400,
            "at most 2 client_id values")
    refused(lambda: check_stream(ANN, ["a", " "], open_streams=0, limits=limits), 422,
            "'client_id' must not be only whitespace")
    refused(lambda: check_stream(ANN, [], open_streams=2, limits=limits), 429,
            "at most 2 open streams")
    # callers who see everything (the owner, local mode) are not capped
    check_stream(OWNER, [], open_streams=1000, limits=limits)
    check_stream(LOCAL, [], open_streams=1000, limits=limits)
