"""The file tail on real files: partial lines, truncation, rotation, late files, resume."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import event_line, wait_until, within
from wallboard.errors import UserError
from wallboard.events import Event
from wallboard.feeds.file_tail import FileTail
from wallboard.pipeline import Pipeline
from wallboard.store import StoreWriter, db_info, quarantine_rows


class Running:
    """A pipeline following one file in the background."""

    def __init__(self, store: StoreWriter, feed: FileTail) -> None:
        self.ids: list[str] = []
        self.feed = feed
        self.pipeline = Pipeline(store, on_events=self._got)
        self.task = asyncio.create_task(self.pipeline.run(feed))

    def _got(self, events: list[Event]) -> None:
        self.ids.extend(e.id for e in events)

    async def wait_ids(self, n: int) -> None:
        await wait_until(lambda: len(self.ids) >= n, what=f"{n} events (have {self.ids})")

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def following(db: Path, log: Path, **kw: object) -> AsyncIterator[Running]:
    store = StoreWriter(db)
    await store.open()
    resume = (await store.checkpoints()).get(f"file:{log.absolute()}")
    feed = FileTail(log, resume=resume, poll_interval=0.05, **kw)  # type: ignore[arg-type]
    run = Running(store, feed)
    try:
        yield run
    finally:
        await within(run.stop(), what="stopping the tail")
        await within(store.close(), what="closing the store")


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


async def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "ev.jsonl"
    log.write_bytes(event_line(1) + event_line(2)[:20])
    async with following(tmp_path / "w.db", log) as run:
        await run.wait_ids(1)
        await asyncio.sleep(0.2)  # give it the chance to (wrongly) read the fragment
        assert run.ids == ["1"]
        append(log, event_line(2)[20:])
        await run.wait_ids(2)
    assert run.ids == ["1", "2"]
    assert db_info(tmp_path / "w.db").quarantined == 0


async def test_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    log = tmp_path / "later.jsonl"
    async with following(tmp_path / "w.db", log) as run:
        await asyncio.sleep(0.1)
        log.write_bytes(event_line(1))
        await run.wait_ids(1)
        append(log, event_line(2))
        await run.wait_ids(2)


async def test_truncation_starts_over(tmp_path: Path) -> None:
    log = tmp_path / "ev.jsonl"
    log.write_bytes(event_line(1) + event_line(2))
    async with following(tmp_path / "w.db", log) as run:
        await run.wait_ids(2)
        log.write_bytes(event_line(3))  # copytruncate: same file, shorter
        await run.wait_ids(3)
        append(log, event_line(4))
        await run.wait_ids(4)
    assert run.ids == ["1", "2", "3", "4"]


async def test_rotation_finishes_the_old_file_then_follows_the_new(tmp_path: Path) -> None:
    log = tmp_path / "ev.jsonl"
    log.write_bytes(event_line(1))
    async with following(tmp_path / "w.db", log) as run:
        await run.wait_ids(1)
        with open(log, "ab") as old:
            log.rename(tmp_path / "ev.jsonl.1")
            old.write(event_line(2))  # written after the rename, before the new file
            old.flush()
            log.write_bytes(event_line(3))
        append(log, event_line(4))
        await run.wait_ids(4)
    assert run.ids == ["1", "2", "3", "4"]
    info = db_info(tmp_path / "w.db")
    assert info.events == 4
    assert info.feeds[0].offset == len(event_line(3) + event_line(4))


async def test_resume_from_stored_offset_reads_only_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "ev.jsonl"
    db = tmp_path / "w.db"
    log.write_bytes(event_line(1) + event_line(2))
    async with following(db, log) as run:
        await run.wait_ids(2)
    append(log, event_line(3))
    async with following(db, log) as run2:
        await run2.wait_ids(1)
        await asyncio.sleep(0.1)
    assert run2.ids == ["3"]


async def test_resume_on_a_replaced_file_reads_it_from_the_start(tmp_path: Path) -> None:
    log = tmp_path / "ev.jsonl"
    db = tmp_path / "w.db"
    log.write_bytes(event_line(1) + event_line(2))
    async with following(db, log) as run:
        await run.wait_ids(2)
    log.unlink()
    # A new file by the same name (likely with the same inode): read it all.
    log.write_bytes(event_line(7) + event_line(8) + event_line(1) + event_line(9))
    async with following(db, log) as run2:
        await run2.wait_ids(4)
        assert "different file" in " ".join(run2.feed.notes)
    assert db_info(db).events == 5  # 1 read again but stored once


async def test_from_end_skips_what_the_file_holds(tmp_path: Path) -> None:
    log = tmp_path / "ev.jsonl"
    log.write_bytes(event_line(1) + event_line(2)[:10])
    async with following(tmp_path / "w.db", log, from_end=True) as run:
        await wait_until(lambda: run.feed.position is not None, what="the tail to start")
        append(log, event_line(2)[10:] + event_line(3))
        await run.wait_ids(2)
    assert run.ids == ["2", "3"]  # the line being written when it started is kept whole


async def test_once_reads_to_the_end_and_leaves_a_partial_line(tmp_path: Path) -> None:
    log = tmp_path / "ev.jsonl"
    log.write_bytes(event_line(1) + b"garbage\n" + event_line(2)[:15])
    store = StoreWriter(tmp_path / "w.db")
    await store.open()
    feed = FileTail(log, once=True)
    pipeline = Pipeline(store)
    await asyncio.wait_for(pipeline.run(feed), 10)
    await store.close()
    assert feed.partial_at_end == 15
    info = db_info(tmp_path / "w.db")
    assert (info.events, info.quarantined) == (1, 1)
    assert info.feeds[0].offset == len(event_line(1)) + len(b"garbage\n")
    [q] = quarantine_rows(tmp_path / "w.db")
    assert q.position == len(event_line(1)) and q.source == str(log)


async def test_paths_that_cannot_work_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a directory"):
        await FileTail(tmp_path).start()
    with pytest.raises(UserError, match="does not exist"):
        await FileTail(tmp_path / "no" / "x.jsonl").start()
    with pytest.raises(UserError, match="no such file"):
        await FileTail(tmp_path / "x.jsonl", once=True).start()
