"""SSE encoding is byte exact and no field can inject a frame."""

from __future__ import annotations

import pytest

from lattice_rt_core.protocol.sse import (
    encode_comment,
    encode_data,
    encode_event,
    encode_named,
    encode_retry,
)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"seq": 1, "area": "a"}, b'id: 1\ndata: {"seq":1,"area":"a"}\n\n'),
        ({"seq": 7, "p": "x\ny"}, b'id: 7\ndata: {"seq":7,"p":"x\\ny"}\n\n'),
        ({"seq": 2, "p": "\r\n"}, b'id: 2\ndata: {"seq":2,"p":"\\r\\n"}\n\n'),
        (
            {"seq": 3, "p": "\u2028\u2029\x85"},
            b'id: 3\ndata: {"seq":3,"p":"\\u2028\\u2029\\u0085"}\n\n',
        ),
        ({"seq": 4, "p": "\x00"}, b'id: 4\ndata: {"seq":4,"p":"\\u0000"}\n\n'),
        ({"seq": 5, "p": "\u00e9\u6f22"}, 'id: 5\ndata: {"seq":5,"p":"\u00e9\u6f22"}\n\n'.encode()),
    ],
)
def test_encode_event_is_byte_exact(event: dict[str, object], expected: bytes) -> None:
    assert encode_event(event) == expected


def test_event_without_seq_has_no_id_line() -> None:
    assert encode_event({"a": 1}) == b'data: {"a":1}\n\n'


def test_named_event() -> None:
    frame = encode_named("gap", {"from_seq": 3, "to_seq": 5}, event_id=5)
    assert frame == b'id: 5\nevent: gap\ndata: {"from_seq":3,"to_seq":5}\n\n'


def test_comment_and_retry() -> None:
    assert encode_comment() == b": heartbeat\n\n"
    assert encode_retry(3000) == b"retry: 3000\n\n"


@pytest.mark.parametrize("bad", ["a\nb", "a\rb"])
def test_multiline_data_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        encode_data(bad)


@pytest.mark.parametrize("bad", ["x\ndata: injected", "x\r", "x\x00"])
def test_field_values_cannot_inject_lines(bad: str) -> None:
    with pytest.raises(ValueError):
        encode_named(bad, {})
    with pytest.raises(ValueError):
        encode_comment(bad)
    with pytest.raises(ValueError):
        encode_data("{}", event_id=bad)
