"""`wallboard ingest` and `wallboard db` as a user runs them, in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import event_line, run_cli
from wallboard.simulate import SimOptions, Simulator
from wallboard.store import SCHEMA_VERSION, db_info


def simulated_file(path: Path, n: int, ids: str = "seq") -> list[str]:
    sim = Simulator(SimOptions(agents=50, queues=4, events=n, seed=7, ids=ids, start_us=0))
    lines = list(sim.lines())
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return [json.loads(line)["id"] for line in lines]


def stored_ids(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM events ORDER BY seq")]
    finally:
        conn.close()


def test_once_then_info_and_quarantine(tmp_path: Path) -> None:
    log = tmp_path / "ev.jsonl"
    log.write_bytes(event_line(1) + b"{oops\n\n" + event_line(2) + event_line(1))
    db = tmp_path / "w.db"
    r = run_cli("ingest", "--feed", str(log), "--db", str(db), "--once")
    assert r.returncode == 0, r.stderr
    assert b"2 events stored, 1 already stored, 1 quarantined" in r.stderr
    info = json.loads(run_cli("db", "info", "--db", str(db), "--json").stdout)
    assert info["events"] == 2 and info["quarantined"] == 1 and info["schema"] == SCHEMA_VERSION
    assert info["feeds"] == [{"feed": f"file:{log}", "offset": log.stat().st_size}]
    assert info["first_ts"] == "2026-01-01T10:00:00Z"
    q = run_cli("db", "quarantine", "--db", str(db), "--json")
    [row] = [json.loads(x) for x in q.stdout.splitlines()]
    assert row["raw"] == "{oops" and row["reason"].startswith("not JSON")
    assert row["position"] == len(event_line(1))
    table = run_cli("db", "quarantine", "--db", str(db))
    assert b"not JSON" in table.stdout


def test_stdin_feed(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    r = run_cli("ingest", "--feed", "-", "--db", str(db), input=event_line(1) + event_line(2))
    assert r.returncode == 0, r.stderr
    assert db_info(db).events == 2


def test_hostile_quarantined_line_is_shown_inert(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    r = run_cli("ingest", "--feed", "-", "--db", str(db), input=b"[red]x[/red]\x1b[2J\n")
    assert r.returncode == 0
    table = run_cli("db", "quarantine", "--db", str(db)).stdout
    assert b"\x1b[2J" not in table and b"\\x1b[2J" in table and b"[red]x[/red]" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--feed", "{tmp}/ev.jsonl", "--db", "{tmp}/nodir/w.db"], "does not exist"),
        (["--feed", "{tmp}/ev.jsonl", "--db", "{tmp}"], "is a directory"),
        (["--feed", "{tmp}", "--db", "{tmp}/w.db"], "is a directory"),
        (["--feed", "gopher://x", "--db", "{tmp}/w.db"], "unknown scheme"),
        (["--feed", "{tmp}/missing.jsonl", "--db", "{tmp}/w.db", "--once"], "no such file"),
        (["--feed", "tcp://127.0.0.1:1", "--db", "{tmp}/w.db", "--once"], "no end"),
        (["--feed", "{tmp}/ev.jsonl", "--db", "{tmp}/junk.db"], "not a wallboard database"),
    ],
)
def test_mistakes_give_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "ev.jsonl").write_bytes(event_line(1))
    (tmp_path / "junk.db").write_bytes(b"junk" * 1000)
    r = run_cli("ingest", *[a.format(tmp=tmp_path) for a in args])
    assert r.returncode != 0
    err = r.stderr.decode()
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_port_in_use_gives_one_clear_line(tmp_path: Path) -> None:
    import socket

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    try:
        port = blocker.getsockname()[1]
        r = run_cli("ingest", "--feed", f"tcp://127.0.0.1:{port}", "--db", str(tmp_path / "w.db"))
    finally:
        blocker.close()
    assert r.returncode != 0 and b"already in use" in r.stderr and b"Traceback" not in r.stderr


def _start_ingest(log: Path, db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "wallboard", "ingest", "--feed", str(log), "--db", str(db)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )


def _wait_for_rows(db: Path, at_least: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                n = db_info(db).events
            except Exception:  # the writer may be creating the schema right now
                n = 0
            if n >= at_least:
                return n
        time.sleep(0.01)
    raise AssertionError(f"fewer than {at_least} rows after {timeout} s")


def test_sigterm_stores_what_was_read_and_exits_cleanly(tmp_path: Path) -> None:
    log, db = tmp_path / "ev.jsonl", tmp_path / "w.db"
    ids = simulated_file(log, 5000)
    proc = _start_ingest(log, db)
    _wait_for_rows(db, len(ids))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"stopped:" in err and b"Traceback" not in err
    assert sorted(stored_ids(db)) == sorted(ids)


@pytest.mark.parametrize("ids_style", ["seq", "uuid"])
def test_sigkill_mid_stream_then_restart_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, ids_style: str
) -> None:
    log, db = tmp_path / "ev.jsonl", tmp_path / "w.db"
    ids = simulated_file(log, 150_000, ids_style)
    proc = _start_ingest(log, db)
    partial = _wait_for_rows(db, 1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    stored_before = len(stored_ids(db))
    assert partial <= stored_before < len(ids), "the kill should land mid-stream"
    r = run_cli("ingest", "--feed", str(log), "--db", str(db), "--once")
    assert r.returncode == 0, r.stderr
    # The offset was committed with the rows it covers: nothing is read twice.
    assert b", 0 already stored," in r.stderr, r.stderr
    assert stored_ids(db) == ids
