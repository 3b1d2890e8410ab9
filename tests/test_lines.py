"""Cutting byte streams into lines: partial tails, CRLF, over-long lines, fragments."""

from __future__ import annotations

from wallboard.feeds.lines import LineSplitter


def test_partial_line_waits_for_its_newline() -> None:
    s = LineSplitter()
    lines, rejects = s.feed(b'{"a":1}\n{"b"')
    assert lines == [(0, b'{"a":1}')] and not rejects
    assert s.consumed == 8 and s.pending == 4
    lines, _ = s.feed(b":2}\r\n\n")
    assert lines == [(8, b'{"b":2}')]
    assert s.consumed == 8 + 9 + 1


def test_over_long_line_is_rejected_and_the_stream_goes_on() -> None:
    s = LineSplitter(max_line=10)
    lines, rejects = s.feed(b"ok\n" + b"x" * 25)
    assert lines == [(0, b"ok")] and not rejects
    lines, rejects = s.feed(b"y" * 5)
    assert not lines and not rejects
    lines, rejects = s.feed(b"zz\nnext\n")
    assert lines == [(3 + 32 + 1, b"next")]
    assert len(rejects) == 1
    assert rejects[0].position == 3 and "32 bytes" in rejects[0].reason
    assert s.consumed == 3 + 33 + 5


def test_over_long_complete_line_in_one_read() -> None:
    s = LineSplitter(max_line=4)
    lines, rejects = s.feed(b"123456\nab\n")
    assert lines == [(7, b"ab")]
    assert rejects[0].position == 0 and rejects[0].raw == b"123456"


def test_fragment_is_reported_once() -> None:
    s = LineSplitter(start=100)
    s.feed(b'{"id":')
    frag = s.take_fragment("gone")
    assert frag is not None and frag.position == 100 and frag.raw == b'{"id":'
    assert "6 bytes" in frag.reason and "gone" in frag.reason
    assert s.take_fragment("gone") is None
