"""The SQLite store: schema and migrations, the single writer, read-only readers.

One process writes (ingest, or the demo / ``run`` in-process); any number of
viewers read the same file in WAL mode. Events are stored once: a line that
is re-delivered is a no-op. Each batch is one transaction holding its
events, its quarantined lines and the feed offsets that cover them, so a
crash at any moment resumes with nothing lost and nothing stored twice.

Deduplication is keyed on ``(ts_us, id)``: a re-delivered event repeats its
``ts`` too, and because events arrive in near time order that index grows at
its end, where a unique index on random UUID ids alone made inserts about 5x
slower at 1M rows (random B-tree pages written to the WAL on every commit).
An id reused with a *different* ts is kept as a second row; the engine
ignores it ("the first received wins"), reading rows in storage order.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from wallboard.errors import UserError
from wallboard.events import Event, decode_stored
from wallboard.timeutil import now_us

SCHEMA_VERSION = 4

# Migration N brings a database from user_version N-1 to N. Append only.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE events (
        seq   INTEGER PRIMARY KEY,  -- storage order, which is receipt order
        id    TEXT    NOT NULL,
        ts_us INTEGER NOT NULL,     -- event time, microseconds UTC
        type  TEXT    NOT NULL,
        body  BLOB    NOT NULL      -- the event as received: unknown fields kept
    );
    CREATE UNIQUE INDEX events_ts_id ON events (ts_us, id);
    CREATE TABLE quarantine (
        seq         INTEGER PRIMARY KEY,
        received_us INTEGER NOT NULL,
        source      TEXT    NOT NULL,
        position    INTEGER,          -- byte offset of the line in its source
        reason      TEXT    NOT NULL,
        raw         BLOB    NOT NULL
    );
    CREATE TABLE feeds (
        feed       TEXT PRIMARY KEY,
        "offset"   INTEGER NOT NULL,  -- bytes consumed: every line before it is stored
        file_id    TEXT,              -- device:inode of the file the offset belongs to
        updated_us INTEGER NOT NULL
    );
    """,
    # 2: alerts (wallboard/alert_store.py). The single writer inserts and updates
    # them; any viewer may set acked_* and add an 'acknowledged' event.
    """
    CREATE TABLE alerts (
        id             INTEGER PRIMARY KEY,
        rule           TEXT    NOT NULL,
        scope          TEXT    NOT NULL,  -- overall, queue:Q, agent:A, service:S, category:C
        severity       TEXT    NOT NULL,  -- in force now (when cleared: the last one)
        peak_severity  TEXT    NOT NULL,  -- the highest it reached
        raised_at_us   INTEGER NOT NULL,
        cleared_at_us  INTEGER,           -- NULL while in force
        acked_at_us    INTEGER,
        acked_by       TEXT,
        value          REAL,              -- the latest value
        threshold      REAL,              -- the level of `severity`
        worst_value    REAL,              -- the worst value while in force
        peak_threshold REAL,              -- the level of `peak_severity`
        unit           TEXT    NOT NULL,  -- share, seconds, count, number
        message        TEXT    NOT NULL,
        updated_us     INTEGER NOT NULL
    );
    CREATE INDEX alerts_in_force ON alerts (raised_at_us) WHERE cleared_at_us IS NULL;
    CREATE INDEX alerts_raised ON alerts (raised_at_us);
    CREATE TABLE alert_events (
        seq       INTEGER PRIMARY KEY,
        alert_id  INTEGER NOT NULL REFERENCES alerts (id),
        at_us     INTEGER NOT NULL,
        kind      TEXT    NOT NULL,  -- raised, escalated, deescalated, cleared, acknowledged
        severity  TEXT,
        value     REAL,
        threshold REAL,
        by        TEXT               -- who acknowledged
    );
    CREATE INDEX alert_events_alert ON alert_events (alert_id, seq);
    """,
    # 3: per-minute figures for the drill-down sparklines (wallboard/history.py).
    """
    CREATE TABLE history (
        win       TEXT    NOT NULL,  -- the window: 15m, 1h, today...
        kind      TEXT    NOT NULL,  -- overall, queue, agent
        key       TEXT    NOT NULL,  -- queue or agent id ('' overall)
        metric    TEXT    NOT NULL,
        minute_us INTEGER NOT NULL,
        value     REAL,
        PRIMARY KEY (win, kind, key, metric, minute_us)
    ) WITHOUT ROWID;
    CREATE INDEX history_minute ON history (minute_us);
    """,
    # 4: checkpoints of the engine's state, for a fast restart (wallboard/engine/checkpoint.py).
    # Written by the single writer only; the newest few rows are kept.
    """
    CREATE TABLE engine_state (
        id          INTEGER PRIMARY KEY,
        saved_at_us INTEGER NOT NULL,  -- wall clock when it was stored
        clock_us    INTEGER NOT NULL,  -- the engine's clock in the body
        last_seq    INTEGER NOT NULL,  -- every events.seq <= this had reached the engine
        fingerprint TEXT    NOT NULL,  -- config + engine code: a mismatch means rebuild
        format      INTEGER NOT NULL,  -- how the body is encoded
        body        BLOB    NOT NULL
    );
    """,
]

_INSERT_EVENT = "INSERT OR IGNORE INTO events (id, ts_us, type, body) VALUES (?, ?, ?, ?)"
_INSERT_QUARANTINE = (
    "INSERT INTO quarantine (received_us, source, position, reason, raw) VALUES (?, ?, ?, ?, ?)"
)
_UPSERT_FEED = (
    'INSERT INTO feeds (feed, "offset", file_id, updated_us) VALUES (?, ?, ?, ?) '
    'ON CONFLICT (feed) DO UPDATE SET "offset" = excluded."offset", '
    "file_id = excluded.file_id, updated_us = excluded.updated_us"
)

# Bigger than SQLite's 2 MB default so the (ts, id) index's hot end stays cached.
_CACHE_KIB = 16 * 1024


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a feed has been stored: every line before ``offset`` is in the DB."""

    feed: str
    offset: int
    file_id: str | None = None


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    """A refused line, with why and where it came from."""

    source: str
    position: int | None
    reason: str
    raw: bytes
    received_us: int = 0


@dataclass(slots=True)
class WriteBatch:
    """What one transaction stores."""

    events: list[tuple[str, int, str, bytes]]
    """Rows ``(id, ts_us, type, body)``."""
    quarantine: list[QuarantineRow]
    checkpoints: list[Checkpoint]


def check_db_path(path: Path) -> None:
    """Refuse, with a clear message, a DB path that cannot work."""
    if path.is_dir():
        raise UserError(f"{path} is a directory: give the path of a database file inside it")
    parent = path.parent
    if not parent.exists():
        raise UserError(
            f"the directory {parent} does not exist: create it (mkdir -p {parent}) "
            "or choose another --db path"
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise UserError(f"{path} is not writable by this user: check its permissions")
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"cannot create a database in {parent}: the directory is not writable")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UserError(
            f"{path} has schema version {version}, newer than this wallboard knows "
            f"({SCHEMA_VERSION}): upgrade wallboard"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.executescript(
            "BEGIN;" + MIGRATIONS[target - 1] + f"; PRAGMA user_version = {target}; COMMIT;"
        )


def _sqlite_error(path: Path, exc: sqlite3.Error) -> UserError:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return UserError(f"{path} is not a wallboard database (SQLite says: {text})")
    if "readonly" in text or "unable to open" in text:
        return UserError(f"cannot write {path}: {text}; check the path and its permissions")
    return UserError(f"database {path}: {text}")


def open_for_writing(path: Path) -> sqlite3.Connection:
    """Open (creating and migrating) the DB for the single writer, synchronously.

    Used to check and prepare the file before the async writer takes over,
    so that every mistake is reported before anything starts.
    """
    check_db_path(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        _migrate(conn, path)
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc) from exc
    return conn


class StoreWriter:
    """The single writer, over aiosqlite so the event loop never blocks on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self.last_seq = 0
        """The highest ``events.seq`` stored: at open, then after each write (the
        engine's checkpoints say up to which row the engine has seen)."""

    async def open(self) -> None:
        """Create or migrate the DB and prepare the connection."""
        open_for_writing(self.path).close()
        try:
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            for pragma in (
                "PRAGMA journal_mode = WAL",
                # WAL + NORMAL: a process crash loses nothing committed; only a
                # power cut can lose the last transactions, and then their
                # offsets with them, so they are read again.
                "PRAGMA synchronous = NORMAL",
                f"PRAGMA cache_size = -{_CACHE_KIB}",
                "PRAGMA busy_timeout = 5000",
            ):
                await self._db.execute(pragma)
            self.last_seq = await self._max_seq()
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, exc) from exc

    async def _max_seq(self) -> int:
        assert self._db is not None
        async with self._db.execute("SELECT coalesce(max(seq), 0) FROM events") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        """Close the connection (a checkpoint of the WAL happens here)."""
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def checkpoints(self) -> dict[str, Checkpoint]:
        """The stored offset of every feed."""
        assert self._db is not None
        async with self._db.execute('SELECT feed, "offset", file_id FROM feeds') as cur:
            return {r[0]: Checkpoint(r[0], r[1], r[2]) async for r in cur}

    async def write(self, batch: WriteBatch) -> int:
        """Store one batch in one transaction; returns how many events were new."""
        assert self._db is not None
        db = self._db
        before = db.total_changes
        await db.execute("BEGIN IMMEDIATE")
        try:
            if batch.events:
                await db.executemany(_INSERT_EVENT, batch.events)
            new_events = db.total_changes - before
            if batch.quarantine:
                now = now_us()
                await db.executemany(
                    _INSERT_QUARANTINE,
                    [
                        (q.received_us or now, q.source, q.position, q.reason, q.raw)
                        for q in batch.quarantine
                    ],
                )
            if batch.checkpoints:
                now = now_us()
                await db.executemany(
                    _UPSERT_FEED,
                    [(c.feed, c.offset, c.file_id, now) for c in batch.checkpoints],
                )
            last_seq = await self._max_seq() if new_events else self.last_seq
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        self.last_seq = last_seq
        return new_events


# ---------------------------------------------------------------- readers


def connect_readonly(path: Path | str) -> sqlite3.Connection:
    """A read-only connection for a viewer; many may be open at once."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"no database at {path}: check the --db path")
    if path.is_dir():
        raise UserError(f"{path} is a directory, not a database file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc) from exc
    if version == 0:
        raise UserError(f"{path} is not a wallboard database (no schema)")
    if version > SCHEMA_VERSION:
        raise UserError(f"{path} has schema version {version}, newer than this wallboard knows")
    return conn


def iter_events(
    db_path: Path | str, since_us: int | None = None, *, after_seq: int | None = None
) -> Iterator[Event]:
    """Stored events with ``ts >= since_us``, or stored after row ``after_seq``
    (any ts), in storage (receipt) order."""
    conn = connect_readonly(db_path)
    try:
        if after_seq is not None:
            cur = conn.execute(
                "SELECT ts_us, body FROM events WHERE seq > ? ORDER BY seq", (after_seq,)
            )
        elif since_us is None:
            cur = conn.execute("SELECT ts_us, body FROM events ORDER BY seq")
        else:
            cur = conn.execute(
                "SELECT ts_us, body FROM events WHERE ts_us >= ? ORDER BY seq", (since_us,)
            )
        for ts_us, body in cur:
            yield decode_stored(body, ts_us)
    finally:
        conn.close()


def quarantined_count(db_path: Path | str) -> int:
    """How many lines the quarantine holds."""
    conn = connect_readonly(db_path)
    try:
        return int(conn.execute("SELECT count(*) FROM quarantine").fetchone()[0])
    finally:
        conn.close()


# ------------------------------------------------------- engine checkpoints

ENGINE_STATES_KEPT = 2
"""Checkpoints kept: the newest, and one to fall back on if it cannot be used."""

_BLOB_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class EngineState:
    """A stored checkpoint of the engine (a row of ``engine_state`` but its body).

    Not :class:`Checkpoint`, which is a feed's offset.
    """

    id: int
    saved_at_us: int
    clock_us: int
    last_seq: int
    fingerprint: str
    format: int
    size: int
    """The body's length in bytes."""


def _connect_rw(db: Path | str | sqlite3.Connection) -> tuple[sqlite3.Connection, bool]:
    if isinstance(db, sqlite3.Connection):
        return db, False
    conn = sqlite3.connect(db, isolation_level=None)
    # The writer's own batches may hold the lock for a moment: wait for them.
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn, True


def put_engine_state(
    db: Path | str | sqlite3.Connection,
    *,
    clock_us: int,
    last_seq: int,
    fingerprint: str,
    format: int,
    body: bytes | Path,
    saved_at_us: int | None = None,
    keep: int = ENGINE_STATES_KEPT,
) -> int:
    """Store a checkpoint in one transaction and drop all but the newest ``keep``.

    ``body`` is the encoded state, or a file holding it (copied a chunk at a
    time, so a big state is never held twice in memory). Returns the row id.
    Only the single writer calls this, on a short connection of its own.
    """
    conn, own = _connect_rw(db)
    try:
        size = body.stat().st_size if isinstance(body, Path) else len(body)
        conn.execute("BEGIN IMMEDIATE")
        try:
            from_file = isinstance(body, Path)
            cur = conn.execute(
                "INSERT INTO engine_state"
                " (saved_at_us, clock_us, last_seq, fingerprint, format, body)"
                f" VALUES (?, ?, ?, ?, ?, {'zeroblob(?)' if from_file else '?'})",
                (
                    saved_at_us if saved_at_us is not None else now_us(),
                    clock_us,
                    last_seq,
                    fingerprint,
                    format,
                    size if from_file else body,
                ),
            )
            row_id = int(cur.lastrowid or 0)
            if isinstance(body, Path) and size:
                with body.open("rb") as src, conn.blobopen("engine_state", "body", row_id) as dst:
                    while chunk := src.read(_BLOB_CHUNK):
                        dst.write(chunk)
            conn.execute(
                "DELETE FROM engine_state WHERE id NOT IN"
                " (SELECT id FROM engine_state ORDER BY id DESC LIMIT ?)",
                (keep,),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return row_id
    finally:
        if own:
            conn.close()


def engine_states(conn: sqlite3.Connection) -> list[EngineState]:
    """The stored checkpoints, newest first (none when the DB predates the table)."""
    try:
        rows = conn.execute(
            "SELECT id, saved_at_us, clock_us, last_seq, fingerprint, format, length(body)"
            " FROM engine_state ORDER BY id DESC"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # a viewer of a DB its writer has not upgraded yet
            return []
        raise
    return [EngineState(*r) for r in rows]


def engine_state_body(conn: sqlite3.Connection, state_id: int) -> sqlite3.Blob:
    """A checkpoint's body, to read a piece at a time (a body is big: selecting it
    would hold it twice in memory, SQLite's copy and Python's).

    Raises:
        sqlite3.OperationalError: no such row (dropped meanwhile).
    """
    return conn.blobopen("engine_state", "body", state_id, readonly=True)


class EventFollower:
    """Follows a DB another process writes: new events in storage order.

    Viewers (TVs, SSH sessions, a browser view) poll it; reads never block
    the writer in WAL mode.
    """

    def __init__(self, db_path: Path | str, after_seq: int = 0) -> None:
        self._conn = connect_readonly(db_path)
        self.last_seq = after_seq

    def poll(self, limit: int = 50_000) -> list[Event]:
        """Events stored since the last poll (at most ``limit``)."""
        rows = self._conn.execute(
            "SELECT seq, ts_us, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (self.last_seq, limit),
        ).fetchall()
        if rows:
            self.last_seq = rows[-1][0]
        return [decode_stored(body, ts_us) for _, ts_us, body in rows]

    def quarantined(self) -> int:
        """The quarantine's current size."""
        return int(self._conn.execute("SELECT count(*) FROM quarantine").fetchone()[0])

    def close(self) -> None:
        """Release the connection."""
        self._conn.close()


@dataclass(frozen=True, slots=True)
class DbInfo:
    """What `wallboard db info` reports."""

    events: int
    quarantined: int
    first_ts: int | None
    last_ts: int | None
    feeds: list[Checkpoint]
    schema: int


def db_info(db_path: Path | str) -> DbInfo:
    """Counts, time span, feed offsets and schema version of a DB."""
    conn = connect_readonly(db_path)
    try:
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        quarantined = conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        first, last = conn.execute("SELECT min(ts_us), max(ts_us) FROM events").fetchone()
        feeds = [
            Checkpoint(r[0], r[1], r[2])
            for r in conn.execute('SELECT feed, "offset", file_id FROM feeds ORDER BY feed')
        ]
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    return DbInfo(events, quarantined, first, last, feeds, schema)


def quarantine_rows(db_path: Path | str, limit: int | None = None) -> list[QuarantineRow]:
    """The refused lines, oldest first."""
    conn = connect_readonly(db_path)
    try:
        sql = "SELECT source, position, reason, raw, received_us FROM quarantine ORDER BY seq"
        params: Sequence[int] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return [
            QuarantineRow(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in conn.execute(sql, params)
        ]
    finally:
        conn.close()
