"""The store: schema, idempotent writes, offsets, quarantine, readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import event_line
from wallboard.errors import UserError
from wallboard.events import Event, parse_event
from wallboard.store import (
    SCHEMA_VERSION,
    Checkpoint,
    EventFollower,
    QuarantineRow,
    StoreWriter,
    WriteBatch,
    db_info,
    iter_events,
    quarantine_rows,
)


def row(i: int, ts: str = "2026-01-01T10:00:00Z") -> tuple[str, int, str, bytes]:
    body = event_line(i, ts).rstrip(b"\n")
    ev = parse_event(body)
    assert isinstance(ev, Event)
    return (ev.id, ev.ts, ev.type, body)


async def test_writes_are_idempotent_and_offsets_ride_along(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = StoreWriter(db)
    await store.open()
    batch = WriteBatch(
        [row(1), row(2), row(1)],
        [QuarantineRow("f", 7, "not JSON", b"junk")],
        [Checkpoint("file:x", 123, "1:2")],
    )
    assert await store.write(batch) == 2
    assert await store.write(WriteBatch([row(2), row(3)], [], [])) == 1
    assert (await store.checkpoints())["file:x"] == Checkpoint("file:x", 123, "1:2")
    await store.close()

    info = db_info(db)
    assert (info.events, info.quarantined, info.schema) == (3, 1, SCHEMA_VERSION)
    assert [e.id for e in iter_events(db)] == ["1", "2", "3"]
    q = quarantine_rows(db)
    assert q[0].reason == "not JSON" and q[0].position == 7 and q[0].raw == b"junk"


async def test_unknown_fields_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = StoreWriter(db)
    await store.open()
    body = event_line(1, extra={"nested": [1, 2]}, vip=True).rstrip(b"\n")
    ev = parse_event(body)
    assert isinstance(ev, Event)
    await store.write(WriteBatch([(ev.id, ev.ts, ev.type, body)], [], []))
    await store.close()
    stored = sqlite3.connect(db).execute("SELECT body FROM events").fetchone()[0]
    assert b'"vip": true' in stored and b'"nested": [1, 2]' in stored


async def test_reader_filters_by_time_and_follower_sees_new_rows(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = StoreWriter(db)
    await store.open()
    await store.write(WriteBatch([row(1, "2026-01-01T09:00:00Z"), row(2)], [], []))
    follower = EventFollower(db)
    assert [e.id for e in follower.poll()] == ["1", "2"]
    await store.write(WriteBatch([row(3)], [QuarantineRow("s", 1, "r", b"x")], []))
    assert [e.id for e in follower.poll()] == ["3"]
    assert follower.poll() == [] and follower.quarantined() == 1
    follower.close()
    await store.close()
    since = parse_event(event_line(0, "2026-01-01T10:00:00Z").rstrip())
    assert isinstance(since, Event)
    assert [e.id for e in iter_events(db, since.ts)] == ["2", "3"]


async def test_clear_errors_for_unusable_paths(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        await StoreWriter(tmp_path / "missing" / "w.db").open()
    with pytest.raises(UserError, match="is a directory"):
        await StoreWriter(tmp_path).open()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="not a wallboard database"):
        await StoreWriter(junk).open()
    with pytest.raises(UserError, match="no database"):
        db_info(tmp_path / "nope.db")


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = StoreWriter(db)
    await store.open()
    await store.close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(UserError, match="newer"):
        await StoreWriter(db).open()
