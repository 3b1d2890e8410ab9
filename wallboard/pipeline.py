"""feed -> store: decode lines, write them in batches, hand stored events on.

The feed awaits :meth:`Pipeline.sink`, which puts chunks on a bounded
queue: when the store falls behind, the feed blocks (back-pressure) rather
than buffering without bound. The writer takes whatever has queued up (so
batches grow under load and stay small when idle: a few ms of latency),
decodes it while the previous batch is being written in SQLite's thread,
and commits each batch with the feed offset that covers it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from wallboard.events import Event, Rejection, parse_event
from wallboard.feeds.lines import Chunk, Feed
from wallboard.store import Checkpoint, QuarantineRow, StoreWriter, WriteBatch
from wallboard.timeutil import now_us

Adapter = Callable[[bytes], "list[bytes] | str"]
"""A format adapter: one raw line -> canonical JSON lines, or a reason to refuse it."""

EventsCallback = Callable[[list[Event]], None]


@dataclass(slots=True)
class Counters:
    """What the pipeline has done so far, for live displays."""

    lines: int = 0
    events: int = 0
    """Events stored (new)."""
    duplicates: int = 0
    """Events already stored (re-delivered), ignored."""
    quarantined: int = 0
    last_event_us: int | None = None
    """Wall clock when an event last arrived."""
    started_us: int = field(default_factory=now_us)


class Pipeline:
    """Moves one feed's lines into the store and on to a consumer."""

    def __init__(
        self,
        store: StoreWriter,
        *,
        adapter: Adapter | None = None,
        on_events: EventsCallback | None = None,
        max_batch_lines: int = 5000,
        queue_chunks: int = 8,
    ) -> None:
        self.store = store
        self.adapter = adapter
        self.on_events = on_events
        self.max_batch_lines = max_batch_lines
        self.counters = Counters()
        self.handed_seq = 0
        """The highest ``events.seq`` of the batches already handed to ``on_events``
        (0 before the first): an engine checkpoint covers the rows up to it."""
        self._queue: asyncio.Queue[Chunk | None] = asyncio.Queue(queue_chunks)

    async def sink(self, chunk: Chunk) -> None:
        """Where feeds deliver; blocks while the queue is full."""
        await self._queue.put(chunk)

    async def run(self, feed: Feed) -> None:
        """Run the feed and the writer until the feed ends or this is cancelled.

        On cancellation (Ctrl-C, SIGTERM) what was already read is written
        before returning, so nothing read is lost.
        """
        await feed.start()
        writer = asyncio.create_task(self._write_loop())
        feed_task = asyncio.create_task(feed.run(self.sink))
        try:
            done, _ = await asyncio.wait({writer, feed_task}, return_when=asyncio.FIRST_COMPLETED)
            if writer in done:  # the writer failed: stop reading, report its error
                feed_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed_task
                writer.result()
            feed_task.result()  # re-raise a feed's error
        finally:
            if not feed_task.done():
                feed_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed_task
            if not writer.done():
                await self._queue.put(None)  # the writer stores what is queued, then ends
                await writer

    async def _write_loop(self) -> None:
        # Decoding batch k+1 overlaps writing batch k (SQLite runs in
        # aiosqlite's thread and releases the GIL while it steps).
        inflight: asyncio.Task[tuple[int, int]] | None = None
        inflight_events: list[Event] = []
        stopping = False
        while not stopping:
            if inflight is not None and self._queue.empty():
                # Idle: report the last batch now rather than when the next one comes.
                self._stored(await inflight, inflight_events)
                inflight = None
            chunks, stopping = await self._take()
            batch, events = self._decode(chunks)
            if inflight is not None:
                self._stored(await inflight, inflight_events)
            inflight, inflight_events = asyncio.create_task(self._write(batch)), events
        if inflight is not None:
            self._stored(await inflight, inflight_events)

    async def _write(self, batch: WriteBatch) -> tuple[int, int]:
        """Store a batch: how many events were new, and the highest seq stored with it."""
        new = await self.store.write(batch)
        return new, self.store.last_seq

    async def _take(self) -> tuple[list[Chunk], bool]:
        """Wait for one chunk, then take what else is queued, up to the batch size."""
        first = await self._queue.get()
        if first is None:
            return [], True
        chunks, n = [first], len(first.lines)
        while n < self.max_batch_lines and not self._queue.empty():
            chunk = self._queue.get_nowait()
            if chunk is None:
                return chunks, True
            chunks.append(chunk)
            n += len(chunk.lines)
        return chunks, False

    def _decode(self, chunks: list[Chunk]) -> tuple[WriteBatch, list[Event]]:
        rows: list[tuple[str, int, str, bytes]] = []
        events: list[Event] = []
        quarantine: list[QuarantineRow] = []
        checkpoints: dict[str, Checkpoint] = {}
        adapter = self.adapter
        received = now_us()
        for chunk in chunks:
            source = chunk.source
            for reject in chunk.rejects:
                quarantine.append(
                    QuarantineRow(source, reject.position, reject.reason, reject.raw, received)
                )
            for pos, line in chunk.lines:
                if adapter is None:  # the hot path: one canonical event per line
                    ev = parse_event(line)
                    if type(ev) is Rejection:
                        if line.strip():  # blank lines are skipped, not refused
                            quarantine.append(QuarantineRow(source, pos, ev.reason, line, received))
                        continue
                    rows.append((ev.id, ev.ts, ev.type, line))  # type: ignore[union-attr]
                    events.append(ev)  # type: ignore[arg-type]
                    continue
                canon = adapter(line)
                if isinstance(canon, str):
                    quarantine.append(QuarantineRow(source, pos, canon, line, received))
                    continue
                for body in canon:
                    ev = parse_event(body)
                    if isinstance(ev, Rejection):
                        quarantine.append(QuarantineRow(source, pos, ev.reason, line, received))
                        continue
                    rows.append((ev.id, ev.ts, ev.type, body))
                    events.append(ev)
            self.counters.lines += len(chunk.lines)
            if chunk.feed_key is not None and chunk.offset is not None:
                checkpoints[chunk.feed_key] = Checkpoint(
                    chunk.feed_key, chunk.offset, chunk.file_id
                )
        self.counters.quarantined += len(quarantine)
        if events:
            self.counters.last_event_us = received
        return WriteBatch(rows, quarantine, list(checkpoints.values())), events

    def _stored(self, written: tuple[int, int], events: list[Event]) -> None:
        new, seq = written
        self.counters.events += new
        self.counters.duplicates += len(events) - new
        if self.on_events is not None and events:
            self.on_events(events)
        self.handed_seq = max(self.handed_seq, seq)
