"""Engine checkpoints: a restart from one plus the tail equals a full rebuild; what is
refused (config change, corrupt or malicious body) falls back to the rebuild quietly."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.conftest import event_line, wait_until, within
from wallboard.config import Config, TeamConfig, check_text, load_config
from wallboard.engine import Engine, Snapshot
from wallboard.engine import checkpoint as ck
from wallboard.engine.timeline import Timeline, agent_weights
from wallboard.events import Event, parse_event
from wallboard.pipeline import Pipeline
from wallboard.simulate import SimOptions, Simulator
from wallboard.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    EngineState,
    StoreWriter,
    connect_readonly,
    db_info,
    engine_states,
    open_for_writing,
    put_engine_state,
)

S = 1_000_000
START = 1_767_258_000 * S  # 2026-01-01T09:00Z
CONFIG = Config(
    timezone="UTC",
    lookback="1d",
    teams={"north": TeamConfig(name="North", agents=["a0001", "a0002"], queues=["q1"])},
)


def simulated(hours: float = 2.0, seed: int = 3) -> list[Event]:
    sim = Simulator(
        SimOptions(
            agents=40,
            queues=4,
            duration=f"{int(hours * 3600)}s",
            start_us=START,
            seed=seed,
            late=0.05,
            outage=True,
        )
    )
    out = []
    for line in sim.lines():
        ev = parse_event(line)
        if isinstance(ev, Event):
            out.append(ev)
    return out


def new_db(path: Path) -> Path:
    open_for_writing(path).close()
    return path


def store(db: Path, events: list[Event]) -> int:
    """Store like the writer does (a repeated (ts, id) is ignored); the highest seq."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR IGNORE INTO events (id, ts_us, type, body) VALUES (?, ?, ?, ?)",
            [(e.id, e.ts, e.type, msgspec.json.encode(e)) for e in events],
        )
        conn.execute("COMMIT")
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
    finally:
        conn.close()


def feed(engine: Engine, events: list[Event], lag_s: int = 30) -> None:
    """As the writer: batches in, a snapshot at the wall clock (which trails the
    newest events, so some are held as pending)."""
    for i in range(0, len(events), 200):
        batch = events[i : i + 200]
        engine.add_many(batch)
        engine.snapshot(max(e.ts for e in batch) - lag_s * S)


def rebuilt(db: Path, now: int, config: Config = CONFIG) -> Snapshot:
    """A full rebuild: the same DB without its checkpoints."""
    copy = db.with_name(db.stem + "-nockpt.db")
    src = sqlite3.connect(db)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.execute("DELETE FROM engine_state")
    dst.commit()
    dst.close()
    engine = Engine.restore(copy, now, config)
    assert ck.last_load is not None and ck.last_load.state_id is None
    return engine.snapshot(now)


def same(a: Snapshot, b: Snapshot) -> None:
    assert a.at_us == b.at_us
    assert a.windows == b.windows
    assert a.staffing == b.staffing
    assert a.gaps == b.gaps
    assert a.agent_names == b.agent_names and a.agent_teams == b.agent_teams
    assert a.services_now == b.services_now
    assert a.agent_queues == b.agent_queues
    assert a.queue_sl == b.queue_sl
    assert a == b


def ev(eid: str, t_s: float, kind: str, **kw: Any) -> Event:
    return Event(id=eid, ts=START + round(t_s * S), type=kind, **kw)


@pytest.fixture(scope="module")
def day() -> list[Event]:
    return simulated()


def test_restore_from_checkpoint_plus_tail_equals_full_rebuild(
    tmp_path: Path, day: list[Event]
) -> None:
    db = new_db(tmp_path / "w.db")
    k = len(day) * 2 // 3
    head, tail = day[:k], day[k:]
    seq = store(db, head)
    assert seq == k  # one row per event: seq is the event's index
    writer = Engine(CONFIG)
    feed(writer, head)
    assert writer.pending_count > 0  # events ahead of the writer's clock are in the body
    saved_clock = writer.clock_us
    assert saved_clock is not None
    ck.save_state(db, writer, seq)

    t_ck = (saved_clock - START) / S
    late = [  # stored after the checkpoint, with ts before it
        ev("late-q", t_ck - 600, "contact.queued", contact="late", queue="q1", customer="u1"),
        ev("late-a", t_ck - 590, "contact.answered", contact="late", agent="a0001"),
        ev("late-s", t_ck - 300, "agent.state", agent="a0001", state="away", name="Ann"),
        ev("late-r", t_ck - 100, "contact.resolved", contact="late", agent="a0001"),
    ]
    dups = [head[5], head[len(head) // 2], head[-1]]  # re-deliveries: ignored by id
    again = Event(id=head[10].id, ts=head[10].ts + 5 * S, type=head[10].type)  # new ts: 2nd row
    future = [ev("fut", (t_ck + 7200), "contact.queued", contact="fut", queue="q1")]
    store(db, tail + late + dups + [again] + future)

    now = day[-1].ts + 60 * S
    restored = Engine.restore(db, now, CONFIG)
    assert ck.last_load is not None and ck.last_load.state_id is not None
    assert ck.last_load.last_seq == seq and ck.last_load.clock_us == saved_clock
    got = restored.snapshot(now)
    want = rebuilt(db, now)
    same(got, want)
    assert got.windows["15m"].overall["arrivals"] > 0

    # Both go on alike: more events (an agent line new to both), later instants.
    more = [
        ev("m1", (now - START) / S + 10, "agent.state", agent="zed", state="busy", name="Zed"),
        ev("m2", (now - START) / S + 20, "contact.queued", contact="m", queue="q2"),
        ev("m3", (now - START) / S + 30, "contact.answered", contact="m", agent="zed"),
    ]
    full = Engine.restore(db.with_name("w-nockpt.db"), now, CONFIG)
    for engine in (restored, full):
        engine.add_many(more)
    for later in (now + 40 * S, now + 3600 * S, now + 8 * 3600 * S):
        same(restored.snapshot(later), full.snapshot(later))


@pytest.mark.parametrize("share", [0.05, 0.5, 0.95])
def test_any_checkpoint_instant_gives_the_same_numbers(
    tmp_path: Path, day: list[Event], share: float
) -> None:
    db = new_db(tmp_path / "w.db")
    k = int(len(day) * share)
    seq = store(db, day[:k])
    writer = Engine(CONFIG)
    feed(writer, day[:k], lag_s=0)
    ck.save_state(db, writer, seq)
    store(db, day[k:] + day[: k // 3])  # the rest, and a re-delivered stretch
    for now in (day[-1].ts, day[-1].ts + 20 * 3600 * S):  # the end; the next day
        restored = Engine.restore(db, now, CONFIG)
        assert ck.last_load is not None and ck.last_load.state_id is not None
        same(restored.snapshot(now), rebuilt(db, now))


def test_a_checkpoint_before_midnight_restored_after_it(tmp_path: Path) -> None:
    day = [
        Event(id=e.id, ts=e.ts + 14 * 3600 * S, type=e.type, **_fields(e))
        for e in simulated(hours=2, seed=4)
    ]  # 23:00 to 01:00 UTC: 'today' starts again in between
    db = new_db(tmp_path / "w.db")
    k = next(i for i, e in enumerate(day) if e.ts >= START + 14 * 3600 * S + 58 * 60 * S)
    seq = store(db, day[:k])
    writer = Engine(CONFIG)
    feed(writer, day[:k])
    ck.save_state(db, writer, seq)
    store(db, day[k:])
    now = day[-1].ts
    restored = Engine.restore(db, now, CONFIG)
    assert ck.last_load is not None and ck.last_load.state_id is not None
    got = restored.snapshot(now)
    same(got, rebuilt(db, now))
    assert got.windows["today"].start_us == START + 15 * 3600 * S  # 2026-01-02T00:00Z


def _fields(e: Event) -> dict[str, Any]:
    return {f: getattr(e, f) for f in e.__struct_fields__ if f not in ("id", "ts", "type")}


def test_an_underestimated_last_seq_is_harmless(tmp_path: Path, day: list[Event]) -> None:
    db = new_db(tmp_path / "w.db")
    k = len(day) // 2
    seq = store(db, day[:k])
    writer = Engine(CONFIG)
    feed(writer, day[:k])
    ck.save_state(db, writer, seq - 500)  # 500 events replayed again: duplicates
    store(db, day[k:])
    now = day[-1].ts
    restored = Engine.restore(db, now, CONFIG)
    assert ck.last_load is not None and ck.last_load.state_id is not None
    same(restored.snapshot(now), rebuilt(db, now))


def test_config_change_or_later_checkpoint_means_full_rebuild(
    tmp_path: Path, day: list[Event], caplog: pytest.LogCaptureFixture
) -> None:
    db = new_db(tmp_path / "w.db")
    seq = store(db, day)
    writer = Engine(CONFIG)
    feed(writer, day)
    ck.save_state(db, writer, seq)
    now = day[-1].ts
    changed = msgspec.structs.replace(CONFIG, sl_target=0.9)
    caplog.set_level(logging.INFO, logger="wallboard.engine.checkpoint")
    got = Engine.restore(db, now, changed).snapshot(now)
    assert ck.last_load is not None and ck.last_load.state_id is None
    assert "another config" in (ck.last_load.reason or "")
    same(got, rebuilt(db, now, changed))
    # A checkpoint whose clock is after the instant asked is not used either.
    early = writer.clock_us - 3600 * S  # type: ignore[operator]
    Engine.restore(db, early, CONFIG)
    assert ck.last_load.state_id is None and "later than" in (ck.last_load.reason or "")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def _checkpointed(tmp_path: Path, day: list[Event]) -> tuple[Path, int]:
    db = new_db(tmp_path / "w.db")
    seq = store(db, day)
    writer = Engine(CONFIG)
    feed(writer, day)
    ck.save_state(db, writer, seq)
    return db, day[-1].ts


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE engine_state SET body = substr(body, 1, length(body) / 2)",  # truncated
        "UPDATE engine_state SET body = randomblob(length(body))",
        "UPDATE engine_state SET body = x''",
        "UPDATE engine_state SET body = substr(body, 1, 100) || zeroblob(1000)"
        " || substr(body, 1101)",
        # One byte changed inside the agents' names: still a valid pickle, but not this one.
        "UPDATE engine_state SET body = substr(body, 1, instr(body, CAST('a0001' AS BLOB)))"
        " || CAST('9' AS BLOB) || substr(body, instr(body, CAST('a0001' AS BLOB)) + 2)",
    ],
)
def test_a_corrupt_body_means_full_rebuild_without_traceback(
    tmp_path: Path, day: list[Event], damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    db, now = _checkpointed(tmp_path, day)
    conn = sqlite3.connect(db)
    conn.execute(damage)
    conn.commit()
    conn.close()
    got = Engine.restore(db, now, CONFIG).snapshot(now)
    assert ck.last_load is not None and ck.last_load.state_id is None
    same(got, rebuilt(db, now))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "rebuilding from the stored events" in warnings[0].getMessage()
    assert warnings[0].exc_info is None and "Traceback" not in caplog.text


def test_the_older_checkpoint_is_used_when_the_newest_is_corrupt(
    tmp_path: Path, day: list[Event]
) -> None:
    db = new_db(tmp_path / "w.db")
    k = len(day) // 2
    seq = store(db, day[:k])
    writer = Engine(CONFIG)
    feed(writer, day[:k])
    first = ck.save_state(db, writer, seq)
    seq = store(db, day[k:])
    feed(writer, day[k:])
    second = ck.save_state(db, writer, seq)
    third = ck.save_state(db, writer, seq)
    conn = connect_readonly(db)
    assert [s.id for s in engine_states(conn)] == [third, second]  # only 2 kept
    conn.close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE engine_state SET body = x'00' WHERE id = ?", (third,))
    conn.commit()
    conn.close()
    now = day[-1].ts + 10 * S
    got = Engine.restore(db, now, CONFIG).snapshot(now)
    assert ck.last_load is not None and ck.last_load.state_id == second != first
    same(got, rebuilt(db, now))


def sealed(data: bytes) -> bytes:
    """A pickle with the trailer a body ends with: checks get as far as unpickling."""
    return data + b"WBES" + zlib.crc32(data).to_bytes(4, "big")


def call(module: str, name: str, *args: str) -> bytes:
    """A hand-made pickle calling module.name(*args) (GLOBAL, MARK, BINUNICODE, TUPLE, REDUCE)."""
    out = b"\x80\x05c" + f"{module}\n{name}\n".encode() + b"("
    for a in args:
        raw = a.encode()
        out += b"X" + len(raw).to_bytes(4, "little") + raw
    return out + b"tR."


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


class _Getattr:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (getattr, (Path(self.marker), "touch"))


@pytest.mark.parametrize(
    "make",
    [
        lambda m: sealed(pickle.dumps(_Evil(m), protocol=5)),
        lambda m: sealed(pickle.dumps(_Evil(m), protocol=0)),
        lambda m: sealed(pickle.dumps(_Getattr(m), protocol=5)),
        lambda m: sealed(call("builtins", "eval", f"open({str(m)!r}, 'w')")),
        # A function of an allowed module, and a class it merely imports, are refused too.
        lambda m: sealed(call("wallboard.engine.core", "_settle_gc")),
        lambda m: sealed(call("wallboard.engine.core", "Path", str(m))),
        lambda m: sealed(pickle.dumps([1, 2, 3], protocol=5)),  # harmless but not an engine
        # What could be made to spend hours: a Fraction from text, or through our door.
        lambda m: sealed(call("fractions", "Fraction", "1e999999999")),
        lambda m: sealed(call("wallboard.engine.checkpoint", "_fraction", "1e999999999", "1")),
        lambda m: pickle.dumps(_Evil(m), protocol=5),  # no trailer: not even unpickled
    ],
)
def test_a_malicious_pickle_is_refused(
    tmp_path: Path, day: list[Event], make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    db = new_db(tmp_path / "w.db")
    store(db, day[:500])
    marker = tmp_path / "pwned"
    put_engine_state(
        db,
        clock_us=day[100].ts,
        last_seq=1,
        fingerprint=ck.fingerprint(CONFIG),
        format=ck.FORMAT,
        body=make(marker),
    )
    now = day[499].ts
    got = Engine.restore(db, now, CONFIG).snapshot(now)
    assert not marker.exists()
    assert ck.last_load is not None and ck.last_load.state_id is None
    assert "unusable" in (ck.last_load.reason or "")
    same(got, rebuilt(db, now))
    assert "Traceback" not in caplog.text


def test_refusal_names_the_global() -> None:
    with pytest.raises(ck.Refused, match=r"posix\.system|os\.system"):
        ck.loads(sealed(pickle.dumps(_Evil(Path("x")), protocol=5)), CONFIG)
    with pytest.raises(ck.Refused, match=r"builtins\.getattr"):
        ck.loads(sealed(pickle.dumps(_Getattr(Path("x")), protocol=5)), CONFIG)
    with pytest.raises(ck.Refused, match=r"wallboard\.engine\.core\._settle_gc"):
        ck.loads(sealed(call("wallboard.engine.core", "_settle_gc")), CONFIG)


def test_restored_timelines_never_share_a_version_with_new_ones() -> None:
    line = Timeline()
    line.insert(1, "busy", agent_weights("busy"))
    line.version = 10**9  # as another process's counter may have left it
    back = pickle.loads(pickle.dumps(line, protocol=5))
    assert back.version > 10**9
    assert Timeline().version > back.version
    assert list(back.ts) == [1] and back.states == ["busy"] and back.integrals(11) == (10, 10)


def test_the_body_holds_no_cache_and_no_config(day: list[Event]) -> None:
    engine = Engine(CONFIG)
    feed(engine, day[:2000])
    engine.snapshot(engine.clock_us or 0)  # fills the caches
    body = ck.dumps(engine)
    assert b"wallboard.config" not in body and b"alert_rules" not in body
    other = msgspec.structs.replace(CONFIG, display=CONFIG.display)
    back = ck.loads(body, other)
    assert back.config is other
    assert back.__dict__.keys() == engine.__dict__.keys()
    now = engine.clock_us or 0
    same(back.snapshot(now), engine.snapshot(now))


def test_a_schema_3_database_upgrades_and_a_viewer_of_one_rebuilds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript("".join(MIGRATIONS[:3]) + "; PRAGMA user_version = 3;")
    e = ev("1", 0, "contact.queued", contact="c", queue="q")
    conn.execute(
        "INSERT INTO events (id, ts_us, type, body) VALUES (?, ?, ?, ?)",
        (e.id, e.ts, e.type, msgspec.json.encode(e)),
    )
    conn.close()
    # A viewer of a DB its writer has not upgraded yet: no checkpoint, no complaint.
    got = Engine.restore(db, START + 60 * S, CONFIG).snapshot(START + 60 * S)
    assert got.windows["15m"].overall["arrivals"] == 1
    assert ck.last_load is not None and ck.last_load.reason == "none stored"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    open_for_writing(db).close()
    info = db_info(db)
    assert (info.schema, info.events) == (SCHEMA_VERSION, 1) and SCHEMA_VERSION >= 4
    conn = connect_readonly(db)
    assert engine_states(conn) == []
    conn.close()


def test_put_engine_state_copies_a_file(tmp_path: Path) -> None:
    db = new_db(tmp_path / "w.db")
    body = tmp_path / "body"
    body.write_bytes(os.urandom(3 << 20) + b"end")
    row = put_engine_state(
        db, clock_us=5, last_seq=7, fingerprint="f", format=1, body=body, saved_at_us=9
    )
    conn = connect_readonly(db)
    assert engine_states(conn) == [EngineState(row, 9, 5, 7, "f", 1, (3 << 20) + 3)]
    assert conn.execute("SELECT body FROM engine_state").fetchone()[0] == body.read_bytes()
    conn.close()


# ------------------------------------------------------------ the writer's side


@pytest.mark.parametrize("use_fork", [True, False])
async def test_checkpointer_saves_what_restore_uses(
    tmp_path: Path, day: list[Event], use_fork: bool
) -> None:
    if use_fork and not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    db = new_db(tmp_path / "w.db")
    k = len(day) // 2
    seq = store(db, day[:k])
    engine = Engine(CONFIG)
    feed(engine, day[:k])
    saver = ck.Checkpointer(db, engine, lambda: seq, use_fork=use_fork)
    assert await saver.save()
    assert not await saver.save()  # nothing changed since
    engine.advance((engine.clock_us or 0) + 60 * S)
    assert not await saver.save()  # no event since: the clock alone is not worth a save
    store(db, day[k:])
    now = day[-1].ts
    restored = Engine.restore(db, now, CONFIG)
    assert ck.last_load is not None and ck.last_load.last_seq == seq
    same(restored.snapshot(now), rebuilt(db, now))
    assert not list(tmp_path.glob("*.tmp"))


async def test_a_failing_checkpoint_is_reported_once_and_never_raises(
    tmp_path: Path, day: list[Event]
) -> None:
    db = new_db(tmp_path / "w.db")
    engine = Engine(CONFIG)
    feed(engine, day[:300])
    engine.__dict__["_unpicklable"] = lambda: None  # as a cache someone forgot to leave out
    errors: list[str] = []
    seq = [1]
    saver = ck.Checkpointer(db, engine, lambda: seq[0], on_error=errors.append)
    assert not await saver.save()
    seq[0] = 2
    assert not await saver.save()
    assert len(errors) == 1 and "not stored" in errors[0] and "pickle" in errors[0].lower()
    assert saver.saved == 0 and not list(tmp_path.glob("*.tmp"))
    del engine.__dict__["_unpicklable"]
    seq[0] = 3
    assert await saver.save() and saver.last_error is None


async def test_checkpointer_waits_for_a_backlog(tmp_path: Path, day: list[Event]) -> None:
    db = new_db(tmp_path / "w.db")
    engine = Engine(CONFIG)
    feed(engine, day[:300])
    asked = []

    def busy() -> bool:
        asked.append(1)
        return len(asked) < 3

    saved_after: list[int] = []

    def covered() -> int:  # read by each save
        saved_after.append(len(asked))
        return 1

    saver = ck.Checkpointer(db, engine, covered, every_s=0, busy=busy, use_fork=False)
    task = asyncio.create_task(saver.run())
    try:
        await wait_until(lambda: saver.saved > 0, what="a checkpoint")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert saver.saved == 1 and saved_after[0] == 3  # not before busy() said no


async def test_pipeline_reports_the_seq_handed_on(tmp_path: Path) -> None:
    from wallboard.feeds.url import open_feed

    db = tmp_path / "w.db"
    log = tmp_path / "ev.jsonl"
    log.write_bytes(b"".join(event_line(i) for i in range(1, 2001)) + event_line(5))
    writer = StoreWriter(db)
    await writer.open()
    assert writer.last_seq == 0
    seen: list[int] = []
    pipeline = Pipeline(writer, on_events=lambda evs: seen.append(len(evs)), max_batch_lines=300)
    await within(pipeline.run(open_feed(str(log), once=True)))
    assert pipeline.handed_seq == writer.last_seq == 2000 == db_info(db).events
    await writer.close()
    again = StoreWriter(db)
    await again.open()
    assert again.last_seq == 2000
    await again.close()


def test_ingest_checkpoints_at_a_clean_stop(tmp_path: Path) -> None:
    """The real writer: `wallboard ingest` (with its engine) saves at SIGTERM, and the
    next start restores from it."""
    log, db, cfg = tmp_path / "ev.jsonl", tmp_path / "w.db", tmp_path / "config.toml"
    cfg.write_text('timezone = "UTC"\n')
    now_s = time.time()
    sim = Simulator(
        SimOptions(agents=20, queues=3, events=3000, seed=5, start_us=int((now_s - 3600) * S))
    )
    log.write_bytes(b"".join(line + b"\n" for line in sim.lines()))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wallboard",
            "ingest",
            "--feed",
            str(log),
            "--db",
            str(db),
            "--config",
            str(cfg),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if db.exists() and db_info(db).events >= 3000:
                    break
            except Exception:  # the writer may be creating the schema right now
                pass
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"checkpoint" not in err, err
    conn = connect_readonly(db)
    states = engine_states(conn)
    conn.close()
    assert len(states) == 1 and states[0].last_seq == db_info(db).events
    assert not list(tmp_path.glob("*.tmp"))
    restored = Engine.restore(db, int(time.time() * S), load_config(cfg))
    assert ck.last_load is not None and ck.last_load.state_id == states[0].id
    assert restored.contact_count > 0


def test_the_fingerprint_is_the_same_in_every_process_and_follows_the_config() -> None:
    code = "from wallboard.engine import checkpoint as ck; print(ck._code_digest().hex())"
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env=dict(os.environ, PYTHONHASHSEED=str(seed)),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2)
    }
    assert digests == {ck._code_digest().hex() + "\n"}  # not the order of sets or dicts
    text = 'timezone = "UTC"\n[teams.north]\nagents = ["a1"]\n[[alerts.rules]]\nname = "x"\n'
    text += 'metric = "waiting"\nop = ">"\nwarning = 3\n'
    first, second = check_text(text)[0], check_text(text)[0]  # the writer's, a viewer's
    assert first is not None and second is not None and first is not second
    assert ck.fingerprint(first) == ck.fingerprint(second)
    assert ck.fingerprint(msgspec.structs.replace(CONFIG, windows=["1h"])) != ck.fingerprint(CONFIG)
    assert ck.fingerprint(msgspec.structs.replace(CONFIG, timezone="Europe/Paris")) != (
        ck.fingerprint(CONFIG)
    )
