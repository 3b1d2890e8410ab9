"""Reads events from standard input (``--feed -``) until it closes."""

from __future__ import annotations

import asyncio
import sys
from typing import BinaryIO

from wallboard.feeds.lines import DEFAULT_MAX_LINE, Chunk, LineSplitter, Sink

READ_SIZE = 1 << 16


class StdinFeed:
    """Standard input: not resumable; an unterminated last line is quarantined."""

    key = None
    description = "stdin"

    def __init__(self, stream: BinaryIO | None = None, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._stream = stream
        self.max_line = max_line

    async def start(self) -> None:
        """Nothing to check: stdin is always there."""

    async def run(self, sink: Sink) -> None:
        """Deliver lines until end of input."""
        stream = self._stream or sys.stdin.buffer
        read = getattr(stream, "read1", stream.read)
        splitter = LineSplitter(0, self.max_line)
        # A thread, because a pipe, a terminal and a redirected file all work
        # with a blocking read, where the event loop's pipe reader does not.
        while data := await asyncio.to_thread(read, READ_SIZE):
            lines, rejects = splitter.feed(data)
            if lines or rejects:
                await sink(Chunk(self.description, lines, rejects))
        fragment = splitter.take_fragment("standard input ended before its newline")
        if fragment is not None:
            await sink(Chunk(self.description, [], [fragment]))
