"""SseDecoder: the HTML standard's reading of an event stream, fed in any pieces.

tests/hardening/test_properties.py checks it against httpx-sse on generated
streams cut anywhere; these are the cases where the standard and httpx-sse part
ways, and the limit.
"""

from __future__ import annotations

import pytest

from lattice_rt_core.net.sse import Frame, FrameTooLarge, SseDecoder


def decode(*pieces: bytes, max_frame: int | None = None) -> list[Frame]:
    decoder = SseDecoder() if max_frame is None else SseDecoder(max_frame)
    return [frame for piece in pieces for frame in decoder.feed(piece)]


def test_one_leading_byte_order_mark_is_dropped_even_when_cut() -> None:
    assert decode(b"\xef\xbb", b"\xbfdata: x\n\n") == [Frame("message", "x", "", None)]
    # only the first: a second one is part of the field name, an unknown field
    assert decode("\ufeff\ufeffdata: x\n\n".encode()) == []


def test_retry_is_read_only_when_it_is_all_ascii_digits() -> None:
    frames = decode(b"retry: 1500\n\nretry: +5\n\nretry: -5\n\nretry: \xd9\xa3\n\nretry: 1.5\n\n")
    assert [f.retry for f in frames] == [1500]


def test_an_id_holding_nul_is_ignored_and_an_id_lasts_until_the_next() -> None:
    frames = decode(b"id: 4\ndata: a\n\ndata: b\n\nid: 5\x006\ndata: c\n\nid\ndata: d\n\n")
    assert [(f.id, f.data) for f in frames] == [("4", "a"), ("4", "b"), ("4", "c"), ("", "d")]


def test_data_lines_join_with_lf_and_a_field_without_colon_is_empty() -> None:
    frames = decode(b"data: one\ndata\ndata:two\ndata:  three\n\n")
    assert frames == [Frame("message", "one\n\ntwo\n three", "", None)]


def test_comments_blank_lines_and_unknown_fields_make_no_frame() -> None:
    assert decode(b": heartbeat\n\n\n\nfoo: bar\n\n:\n\n") == []


def test_named_frames_and_the_event_name_does_not_carry_over() -> None:
    frames = decode(b"event: gap\ndata: {}\n\ndata: {}\n\n")
    assert [f.event for f in frames] == ["gap", "message"]
    assert frames[0].json() == {}


def test_a_crlf_cut_between_its_bytes_is_one_line_end() -> None:
    assert decode(b"data: a\r", b"\n\r", b"\n") == [Frame("message", "a", "", None)]
    # a CR alone ends a line too: the frame is there before any LF comes
    assert decode(b"data: a\r\r") == [Frame("message", "a", "", None)]


def test_a_character_cut_between_pieces_is_read_whole_and_bad_bytes_are_replaced() -> None:
    snow = "☃".encode()
    assert decode(b"data: " + snow[:1], snow[1:], b"\xff\n\n") == [
        Frame("message", "☃\ufffd", "", None)]


def test_a_line_or_frame_past_the_limit_is_refused() -> None:
    decoder = SseDecoder(max_frame=16)
    decoder.feed(b"data: 0123456789")
    with pytest.raises(FrameTooLarge, match="a line of more than 16 characters"):
        decoder.feed(b"abcdefgh")
    with pytest.raises(FrameTooLarge, match="a frame of more than 16 characters"):
        decode(b"data: 01234567\ndata: 89abcdef\n", max_frame=16)
    assert decode(b"data: 0123456789\n\n", max_frame=16) == [
        Frame("message", "0123456789", "", None)]
