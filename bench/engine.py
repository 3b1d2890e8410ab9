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
  end of the day (``Engine.restore``), as a restart does.
Details go to stderr.
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


def phase_feed(path: Path) -> dict[str, float]:
    """Feed the file live; time add/advance and snapshots."""
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
    with path.open("rb") as lines:
        for line in lines:
            event = parse_event(line.rstrip(b"\n"))
            if not isinstance(event, Event):
                continue
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


def phase_restart(db: Path, end_us: int) -> dict[str, float]:
    """Rebuild the engine from the DB at the end of the day."""
    from wallboard.config import Config
    from wallboard.engine import Engine

    t0 = time.perf_counter()
    engine = Engine.restore(db, end_us, Config(timezone="UTC"))
    engine.snapshot(end_us)
    restart_s = time.perf_counter() - t0
    print(
        f"restart: {restart_s:.1f}s, contacts {engine.contact_count}, rss {_rss_mb():.0f} MB",
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
        print(json.dumps(phase_feed(Path(ns.args[0]))))
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
        feed = _child("--phase", "feed", str(day))
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
