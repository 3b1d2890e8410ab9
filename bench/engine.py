"""Benchmark of the metrics engine on a simulated day of a large contact centre.

    .venv/bin/python bench/engine.py [--agents 2000] [--queues 50] [--duration 1d]

Prints one JSON line:
{"events": N, "events_per_s": ..., "snapshot_ms": ..., "peak_rss_mb": ..., "restart_s": ...}

- The day is simulated first (``wallboard.simulate``) into a file, and stored
  into a DB with ``wallboard ingest --once``; neither is timed.
- events_per_s: a fresh process parses the file (not timed) and feeds the
  engine in batches of 1,000 events, as the ingest pipeline delivers them
  when it has work queued (its batches reach ~5,000); the time of
  ``advance`` (to the batch's latest ts: the clock follows the events) +
  ``add_many`` is measured.
- snapshot_ms: median time of a full snapshot (all queues, agents and
  windows) at a board's 1 Hz cadence: for the first simulated minute of every
  quarter hour the feed goes one simulated second at a time, with a snapshot
  after each second (96 x 60 snapshots over the day; the events of those
  minutes count in events_per_s too, in their smaller batches).
- peak_rss_mb: the feeding process's peak resident memory.
- restart_s: another fresh process rebuilds the engine from the DB at the
  end of the day (``Engine.restore``, then a snapshot), as a restart does:
  it loads the checkpoint the feeding process stored as the writer does
  (``Checkpointer``: a forked child pickles the engine), ``SAVE_EVERY_S``
  before the end of the day (a restart just before the next save: the
  longest tail), and replays the events stored after it. The DB is made by
  ``ingest --once`` from the same file in file order, so ``events.seq`` is the
  1-based index of an event in the file (checked).
Details go to stderr (the restart's split: checkpoint read, unpickle, tail).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START_US = 1_717_200_000 * 1_000_000  # 2024-06-01T00:00:00Z: a whole UTC day
US = 1_000_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def simulate(path: Path, agents: int, queues: int, duration: str, seed: int) -> int:
    """Write the simulated day to ``path``; returns the number of lines."""
    from wallboard.simulate import SimOptions, Simulator

    sim = Simulator(
        SimOptions(
            agents=agents,
            queues=queues,
            duration=duration,
            start_us=START_US,
            seed=seed,
            tz="UTC",
        )
    )
    n = 0
    with path.open("wb") as out:
        for line in sim.lines():
            out.write(line + b"\n")
            n += 1
    return n


def checkpoint(engine: Any, db: Path, given: int, last_event: Any) -> None:
    """Store a checkpoint of ``engine`` as the writer does, covering ``events.seq <= given``."""
    import asyncio
    import sqlite3

    from wallboard.engine.checkpoint import Checkpointer

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    row = conn.execute("SELECT id FROM events WHERE seq = ?", (given,)).fetchone()
    conn.close()
    # ingest --once stored the file in file order, one row per event: seq = index.
    assert row is not None and row[0] == last_event.id, (given, row, last_event.id)
    saver = Checkpointer(db, engine, lambda: given)
    t0 = time.perf_counter()
    if not asyncio.run(saver.save()):
        raise SystemExit(f"bench: the checkpoint failed: {saver.last_error}")
    assert saver.last_timing is not None
    dump_s, store_s, size = saver.last_timing
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"checkpoint: {size / 1e6:.0f} MB after {given} events; pickled in a forked child"
        f" in {dump_s:.1f}s (its peak rss {children_mb:.0f} MB), stored in {store_s:.1f}s;"
        f" {time.perf_counter() - t0:.1f}s in all",
        file=sys.stderr,
    )


def phase_feed(path: Path, db: Path, checkpoint_us: int) -> dict[str, float]:
    """Feed the file live; time add/advance and snapshots; checkpoint at ``checkpoint_us``."""
    from wallboard.config import Config
    from wallboard.engine import Engine
    from wallboard.events import Event, parse_event

    engine = Engine(Config(timezone="UTC"))
    feed_s = 0.0
    snaps: list[float] = []
    n = 0
    batch: list[Event] = []
    perf = time.perf_counter

    def flush() -> None:
        nonlocal feed_s, n
        if not batch:
            return
        latest = max(e.ts for e in batch)
        t0 = perf()
        engine.advance(latest)
        engine.add_many(batch)
        feed_s += perf() - t0
        n += len(batch)
        batch.clear()

    second = -1
    saved = False
    last: Event | None = None
    with path.open("rb") as lines:
        for line in lines:
            event = parse_event(line.rstrip(b"\n"))
            if not isinstance(event, Event):
                raise SystemExit(f"bench: a line of {path} is not an event: seq != index")
            if not saved and event.ts >= checkpoint_us:
                flush()  # the engine has every event before this one: seq <= n
                checkpoint(engine, db, n, last)  # n events given; seq n is `last`'s
                saved = True
            last = event
            s = (event.ts - START_US) // US
            if s > second and s % 900 < 60:  # a new second of a 1 Hz minute
                flush()
                for t in range(max(second + 1, s - s % 900), s + 1):
                    t0 = perf()
                    engine.snapshot(START_US + t * US)
                    snaps.append(perf() - t0)
            second = max(second, s)
            batch.append(event)
            if len(batch) >= 1000:
                flush()
    flush()
    if not saved:
        raise SystemExit("bench: the day ended before the checkpoint's instant")
    stored = _count(db)
    assert stored == n, f"the DB holds {stored} events, the file {n}: seq != index"
    end = engine.clock_us or START_US
    t0 = perf()
    engine.snapshot(end)
    print(
        f"feed: {n} events in {feed_s:.1f}s; {len(snaps)} snapshots, median"
        f" {statistics.median(snaps) * 1e3:.1f} ms, max {max(snaps) * 1e3:.1f} ms;"
        f" last {(perf() - t0) * 1e3:.1f} ms; contacts held {engine.contact_count}",
        file=sys.stderr,
    )
    return {
        "events": n,
        "events_per_s": n / feed_s,
        "snapshot_ms": statistics.median(snaps) * 1e3,
        "peak_rss_mb": _rss_mb(),
        "end_us": end,
    }


def _count(db: Path, after_seq: int = 0) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(
            conn.execute("SELECT count(*) FROM events WHERE seq > ?", (after_seq,)).fetchone()[0]
        )
    finally:
        conn.close()


def phase_restart(db: Path, end_us: int) -> dict[str, float]:
    """Restart the engine from the DB at the end of the day: checkpoint + tail."""
    from wallboard.config import Config
    from wallboard.engine import Engine
    from wallboard.engine import checkpoint as ck

    t0 = time.perf_counter()
    engine = Engine.restore(db, end_us, Config(timezone="UTC"))
    restored_s = time.perf_counter() - t0
    engine.snapshot(end_us)
    restart_s = time.perf_counter() - t0
    got = ck.last_load
    if got is None or got.state_id is None:
        raise SystemExit(f"bench: the checkpoint was not used: {got.reason if got else '?'}")
    tail_s = restored_s - got.read_s - got.unpickle_s
    print(
        f"restart: {restart_s:.2f}s = checkpoint read {got.read_s:.2f}s ({got.size / 1e6:.0f} MB)"
        f" + unpickle {got.unpickle_s:.2f}s + tail replay {tail_s:.2f}s"
        f" ({_count(db, got.last_seq)} events stored after it, and the clock moved"
        f" {(end_us - (got.clock_us or end_us)) / US:.0f}s) + snapshot"
        f" {restart_s - restored_s:.2f}s; contacts {engine.contact_count}, rss {_rss_mb():.0f} MB",
        file=sys.stderr,
    )
    return {"restart_s": restart_s, "peak_rss_mb": _rss_mb()}


def _child(*args: str) -> dict[str, float]:
    r = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    sys.stderr.write(r.stderr)
    if r.returncode:
        raise SystemExit(f"bench phase {args[0]} failed")
    return json.loads(r.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--duration", default="1d")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="keep the day's file and DB in DIR")
    parser.add_argument("--phase", choices=("feed", "restart"), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.phase == "feed":
        print(json.dumps(phase_feed(Path(ns.args[0]), Path(ns.args[1]), int(ns.args[2]))))
        return
    if ns.phase == "restart":
        print(json.dumps(phase_restart(Path(ns.args[0]), int(ns.args[1]))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(ns.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        day, db = folder / "day.jsonl", folder / "day.db"
        t0 = time.perf_counter()
        lines = simulate(day, ns.agents, ns.queues, ns.duration, ns.seed)
        print(f"simulated {lines} lines in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        db.unlink(missing_ok=True)
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "wallboard",
                "ingest",
                "--feed",
                str(day),
                "--db",
                str(db),
                "--once",
            ],
            check=True,
            capture_output=True,
        )
        print(f"stored in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        from wallboard.engine.checkpoint import SAVE_EVERY_S
        from wallboard.timeutil import parse_duration

        checkpoint_us = START_US + parse_duration(ns.duration) - int(SAVE_EVERY_S * US)
        feed = _child("--phase", "feed", str(day), str(db), str(checkpoint_us))
        restart = _child("--phase", "restart", str(db), str(int(feed["end_us"])))
    print(
        json.dumps(
            {
                "events": int(feed["events"]),
                "events_per_s": round(feed["events_per_s"]),
                "snapshot_ms": round(feed["snapshot_ms"], 1),
                "peak_rss_mb": round(max(feed["peak_rss_mb"], restart["peak_rss_mb"])),
                "restart_s": round(restart["restart_s"], 2),
            }
        )
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
