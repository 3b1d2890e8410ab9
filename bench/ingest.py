"""Ingest throughput against the sqlite3 shell's `.import` ceiling, in one run.

For sequential ids and for random UUIDs: simulate a file of N events, ingest
it with `wallboard ingest --once` (a subprocess, as a user runs it), then
import exactly the rows it stored into a fresh DB of the same schema with
the sqlite3 shell's `.import` (the fastest this machine loads that table).
Prints one JSON line; ratios are taken within the run, so a noisy shared
machine affects both sides alike.

    python bench/ingest.py [--events 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wallboard.simulate import SimOptions, Simulator
from wallboard.store import open_for_writing


def make_file(path: Path, n: int, ids: str) -> None:
    sim = Simulator(
        SimOptions(
            agents=2000, queues=50, events=n, seed=11, ids=ids, start_us=1_767_225_600_000_000
        )
    )
    with open(path, "wb") as f:
        batch: list[bytes] = []
        for line in sim.lines():
            batch.append(line)
            if len(batch) >= 10_000:
                f.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            f.write(b"\n".join(batch) + b"\n")


def ingest(events: Path, db: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of `wallboard ingest --once`."""
    cmd = [sys.executable, "-m", "wallboard", "ingest", "--feed", str(events), "--db", str(db)]
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cmd, "--once", "--quiet"], stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed: {err.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss / 1024


def ceiling(db: Path, work: Path) -> tuple[int, float]:
    """Rows and seconds for `.import` of the stored rows into a fresh table."""
    csv_path = work / "rows.csv"
    conn = sqlite3.connect(db)
    n = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    conn.close()
    subprocess.run(
        ["sqlite3", "-csv", str(db), "SELECT seq, id, ts_us, type, body FROM events ORDER BY seq"],
        stdout=open(csv_path, "wb"),  # noqa: SIM115 - closed with the process
        check=True,
    )
    fresh = work / "ceiling.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    open_for_writing(fresh).close()  # the store's own schema: same table, same index
    t0 = time.perf_counter()
    subprocess.run(
        [
            "sqlite3",
            str(fresh),
            "-cmd",
            "PRAGMA synchronous = NORMAL",
            f".import --csv {csv_path} events",
        ],
        check=True,
    )
    elapsed = time.perf_counter() - t0
    csv_path.unlink()
    return n, elapsed


def measure(n: int, ids: str, work: Path) -> dict[str, float]:
    events = work / f"events-{ids}.jsonl"
    db = work / f"ingest-{ids}.db"
    make_file(events, n, ids)
    seconds, rss = ingest(events, db)
    rows, ceiling_s = ceiling(db, work)
    events.unlink()
    return {
        "stored": rows,
        "events_per_s": n / seconds,
        "ceiling_rows_per_s": rows / ceiling_s,
        "ratio": (n / seconds) / (rows / ceiling_s),
        "peak_rss_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="work in (and keep) this folder")
    args = parser.parse_args()
    if shutil.which("sqlite3") is None:
        raise SystemExit("the sqlite3 shell is needed for the ceiling: apt-get install sqlite3")
    work = args.keep or Path(tempfile.mkdtemp(prefix="wallboard-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        seq = measure(args.events, "seq", work)
        uuid = measure(args.events, "uuid", work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "events": args.events,
                "events_per_s": round(seq["events_per_s"]),
                "ceiling_rows_per_s": round(seq["ceiling_rows_per_s"]),
                "ratio": round(seq["ratio"], 3),
                "uuid_events_per_s": round(uuid["events_per_s"]),
                "uuid_ceiling_rows_per_s": round(uuid["ceiling_rows_per_s"]),
                "uuid_ratio": round(uuid["ratio"], 3),
                "peak_rss_mb": round(max(seq["peak_rss_mb"], uuid["peak_rss_mb"]), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
