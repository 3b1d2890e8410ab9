"""Per-minute history of a few figures, kept in the store for the drill-down sparklines.

The single writer samples its snapshot once a minute (service level, waiting
and handled for the centre and each queue; handled for each agent; every
window) and keeps the last hours. Every viewer reads the same series, so a
TV or an SSH session that starts now still shows the last hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from wallboard.engine.snapshot import Snapshot
from wallboard.store import connect_readonly
from wallboard.timeutil import US

STEP_US = 60 * US
KEEP_US = 4 * 3600 * US  # the 240 points a sparkline shows
QUEUE_METRICS = ("service_level", "waiting", "handled")
AGENT_METRICS = ("handled",)

Row = tuple[int, str, str, str, str, float | None]


def rows_of(snapshot: Snapshot, minute_us: int) -> list[Row]:
    """The samples one snapshot gives: ``(minute, window, kind, key, metric, value)``."""
    rows: list[Row] = []
    for name, wf in snapshot.windows.items():
        scopes = [("overall", "", wf.overall)]
        scopes += [("queue", q, f) for q, f in wf.queues.items()]
        for kind, key, figures in scopes:
            for metric in QUEUE_METRICS:
                rows.append((minute_us, name, kind, key, metric, _number(figures.get(metric))))
        for agent, figures in wf.agents.items():
            for metric in AGENT_METRICS:
                rows.append((minute_us, name, "agent", agent, metric, _number(figures.get(metric))))
    return rows


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class HistoryRecorder:
    """The writer's side: one sample a minute, written off the event loop."""

    def __init__(self, db_path: Path, *, keep_us: int = KEEP_US) -> None:
        self._conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 5000")
        self._lock = threading.Lock()
        self._keep_us = keep_us
        self._last_minute = -1

    def observe(self, snapshot: Snapshot) -> list[Row] | None:
        """The rows to store if a new minute has begun, else None."""
        minute = snapshot.at_us // STEP_US * STEP_US
        if minute <= self._last_minute:
            return None
        self._last_minute = minute
        return rows_of(snapshot, minute)

    def write(self, rows: list[Row]) -> None:
        """Store one minute's rows and forget what is older than the kept hours."""
        if not rows:
            return
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO history (minute_us, win, kind, key, metric, value)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                conn.execute(
                    "DELETE FROM history WHERE minute_us < ?", (rows[0][0] - self._keep_us,)
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def wrap(self, snapshot: Callable[[int], Snapshot]) -> Callable[[int], Snapshot]:
        """``snapshot`` that also samples the history (for the writer's 1 Hz loop)."""

        def sampled(now_us: int) -> Snapshot:
            snap = snapshot(now_us)
            rows = self.observe(snap)
            if rows:
                asyncio.get_running_loop().run_in_executor(None, self._write_quietly, rows)
            return snap

        return sampled

    def _write_quietly(self, rows: list[Row]) -> None:
        # A sparkline is not worth stopping the board for: a busy DB skips a minute.
        with contextlib.suppress(sqlite3.Error):
            self.write(rows)

    def close(self) -> None:
        """Release the connection."""
        with self._lock:
            self._conn.close()


class HistoryReader:
    """The viewers' side: read-only, one query per sparkline."""

    def __init__(self, db_path: Path) -> None:
        self._db_path = db_path
        self._conn: sqlite3.Connection | None = None

    def series(
        self, kind: str, key: str, metric: str, window: str, points: int, now_us: int
    ) -> Sequence[float | None]:
        """The last ``points`` minutes up to ``now_us`` (None where no sample); empty when
        nothing is stored, so the screen can fall back to its own samples."""
        if self._conn is None:
            self._conn = connect_readonly(self._db_path)
        end = now_us // STEP_US * STEP_US
        start = end - (points - 1) * STEP_US
        try:
            found = dict(
                self._conn.execute(
                    "SELECT minute_us, value FROM history WHERE win = ? AND kind = ? AND key = ?"
                    " AND metric = ? AND minute_us >= ? ORDER BY minute_us",
                    (window, kind, key, metric, start),
                ).fetchall()
            )
        except sqlite3.OperationalError:  # a DB from before the history table
            return ()
        if not found:
            return ()
        first = min(found)
        return [found.get(m) for m in range(first, end + 1, STEP_US)]

    def close(self) -> None:
        """Release the connection."""
        if self._conn is not None:
            self._conn.close()
