"""What every feed hands the pipeline: chunks of complete lines, and rejects.

A feed reads bytes, cuts them into lines with :class:`LineSplitter`, and
awaits ``sink(chunk)``. Awaiting the sink is the back-pressure: when the
store falls behind, the sink blocks and the feed stops reading.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

DEFAULT_MAX_LINE = 1 << 20
"""Longest accepted line, in bytes (1 MiB); longer lines are quarantined."""

_KEEP_OF_LONG_LINE = 4096  # bytes of an over-long line kept in the quarantine


@dataclass(slots=True)
class Reject:
    """A piece of input refused before decoding (too long, cut off)."""

    position: int
    raw: bytes
    reason: str


@dataclass(slots=True)
class Chunk:
    """Complete lines from one source, with where they start.

    ``checkpoint`` (for resumable sources) is the feed's offset once every
    line of this chunk is stored.
    """

    source: str
    lines: list[tuple[int, bytes]]
    rejects: list[Reject] = field(default_factory=list)
    feed_key: str | None = None
    offset: int | None = None
    file_id: str | None = None


Sink = Callable[[Chunk], Awaitable[None]]


class Feed(Protocol):
    """A source of lines: a file tail, a socket server, stdin, a simulator."""

    description: str
    key: str | None
    """Name under which the store keeps the offset; None if not resumable."""

    async def start(self) -> None:
        """Check and bind what the feed needs, raising UserError on a mistake."""

    async def run(self, sink: Sink) -> None:
        """Deliver chunks until the feed ends (``--once``) or is cancelled."""


class LineSplitter:
    """Cuts a byte stream into lines, keeping an unterminated tail for later.

    Positions are absolute byte offsets from ``start``. ``\\r\\n`` endings
    are accepted. A line over ``max_line`` bytes becomes a :class:`Reject`
    (its first 4 KiB kept) and the stream carries on at the next newline.
    """

    def __init__(self, start: int = 0, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self._tail = b""
        self._tail_pos = start
        self._skipping = 0  # bytes of an over-long line discarded so far

    @property
    def consumed(self) -> int:
        """Offset just past the last complete line (where a resume starts)."""
        return self._tail_pos

    @property
    def pending(self) -> int:
        """Bytes of an unterminated line held back."""
        return len(self._tail) + self._skipping

    def feed(self, data: bytes) -> tuple[list[tuple[int, bytes]], list[Reject]]:
        """Add bytes; return the lines they complete and any rejects."""
        lines: list[tuple[int, bytes]] = []
        rejects: list[Reject] = []
        if self._skipping:
            nl = data.find(b"\n")
            if nl < 0:
                self._skipping += len(data)
                return lines, rejects
            total = self._skipping + nl
            rejects.append(self._too_long(self._tail_pos, self._tail, total))
            self._tail, self._skipping = b"", 0
            self._tail_pos += total + 1
            data = data[nl + 1 :]
        if self._tail:
            data = self._tail + data
            self._tail = b""
        parts = data.split(b"\n")
        last = parts.pop()
        pos = self._tail_pos
        max_line = self.max_line
        for part in parts:
            n = len(part)
            if n > max_line:
                rejects.append(self._too_long(pos, part, n))
            elif part:
                lines.append((pos, part[:-1] if part[-1] == 13 else part))
            pos += n + 1
        self._tail_pos = pos
        if len(last) > max_line:
            self._tail = last[:_KEEP_OF_LONG_LINE]
            self._skipping = len(last)
        else:
            self._tail = last
        return lines, rejects

    def _too_long(self, pos: int, head: bytes, total: int) -> Reject:
        return Reject(
            pos,
            head[:_KEEP_OF_LONG_LINE],
            f"line longer than {self.max_line} bytes ({total} bytes)",
        )

    def take_fragment(self, why: str) -> Reject | None:
        """The unterminated tail as a reject (the source ended mid-line), then reset."""
        if not self._tail and not self._skipping:
            return None
        size = self._skipping or len(self._tail)
        reject = Reject(
            self._tail_pos,
            self._tail[:_KEEP_OF_LONG_LINE],
            f"unterminated line of {size} bytes: {why}",
        )
        self._tail_pos += size
        self._tail, self._skipping = b"", 0
        return reject

    def reset(self, start: int = 0) -> None:
        """Forget any held tail and count from ``start`` (truncation, new file)."""
        self._tail, self._skipping, self._tail_pos = b"", 0, start
