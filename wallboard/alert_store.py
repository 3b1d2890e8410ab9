"""Alerts in SQLite: the writer's record of transitions, acknowledgements, readers.

One truth for every screen: the process that ingests (the single writer)
evaluates the rules (:class:`AlertMonitor`) and records every transition in
the ``alerts`` and ``alert_events`` tables (schema migration 2). Every
viewer reads the same rows (:class:`AlertReader`, at most once a second).

**The exception to "one writer"**: an acknowledgement may come from any
viewer process (a supervisor's SSH session opens the DB read-only for
events). :func:`acknowledge` opens its own short read-write connection and
writes one tiny transaction (an UPDATE and an INSERT); SQLite serialises it
with the ingest writer's batches through ``busy_timeout``. Only the
``acked_*`` columns and ``acknowledged`` events are written that way.

In the writer's own process the alert writes run in a worker thread
(:func:`alert_loop`): the event loop must never wait on a lock while the
store's own transaction waits on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wallboard.alert_eval import ActiveAlert, AlertEvaluator, Transition
from wallboard.alert_rules import AlertsConfig, Rule
from wallboard.engine.snapshot import Snapshot
from wallboard.errors import UserError
from wallboard.source import AlertView, FeedStatus
from wallboard.store import connect_readonly
from wallboard.timeutil import now_us

VALUE_REFRESH_S = 5.0
"""How often the writer stores the current values of alerts in force (transitions: at once)."""
_BUSY_MS = 5000
# AlertView may gain a ``unit`` (for formatting values on screen); fill it when it has.
_VIEW_UNIT = "unit" in getattr(AlertView, "__dataclass_fields__", {})


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert as the history lists it (``wallboard alerts``)."""

    id: int
    rule: str
    scope: str
    severity: str
    """The highest severity it reached."""
    raised_at_us: int
    cleared_at_us: int | None
    acked_at_us: int | None
    acked_by: str | None
    value: float | None
    """The worst value while in force."""
    threshold: float | None
    """The level of ``severity``."""
    message: str
    unit: str
    current_severity: str
    current_value: float | None

    def to_json(self, fmt_ts: Callable[[int], str]) -> dict[str, Any]:
        """The JSON object of ``wallboard alerts --json``."""

        def ts(us: int | None) -> str | None:
            return None if us is None else fmt_ts(us)

        return {
            "id": self.id,
            "rule": self.rule,
            "scope": self.scope,
            "severity": self.severity,
            "raised_at": ts(self.raised_at_us),
            "cleared_at": ts(self.cleared_at_us),
            "acked_at": ts(self.acked_at_us),
            "acked_by": self.acked_by,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
            "unit": self.unit,
        }


def _no_alert_tables(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc)


# ---------------------------------------------------------------- the writer


class AlertWriter:
    """The single writer's connection to the alert tables (one thread at a time)."""

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(db_path)
        try:
            # Opened from the event loop, used from a worker thread (one at a time).
            self._conn = sqlite3.connect(
                self.db_path, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise UserError(f"database {self.db_path}: {exc}") from exc
        if version < 2:
            raise UserError(
                f"{self.db_path} has no alert tables (schema {version}): open it for writing "
                "once (wallboard ingest) to upgrade it"
            )
        self._ids: dict[tuple[str, str], int] = {}

    def close(self) -> None:
        """Release the connection."""
        self._conn.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def load_active(self) -> list[dict[str, Any]]:
        """The alerts in force, oldest first (for the evaluator to take over)."""
        cur = self._conn.execute(
            "SELECT id, rule, scope, severity, peak_severity, raised_at_us, value, threshold,"
            " worst_value, peak_threshold, message FROM alerts WHERE cleared_at_us IS NULL"
            " ORDER BY raised_at_us, id"
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur]
        for r in rows:
            self._ids[(r["rule"], r["scope"])] = r["id"]
        return rows

    def clear_ids(self, ids: Sequence[int], at_us: int, note: str) -> None:
        """Clear alerts the evaluator will not take over (their rule is gone)."""
        if not ids:
            return
        with self._tx() as conn:
            for alert_id in ids:
                conn.execute(
                    "UPDATE alerts SET cleared_at_us = ?, updated_us = ?,"
                    " message = message || ? WHERE id = ? AND cleared_at_us IS NULL",
                    (at_us, at_us, f" ({note})", alert_id),
                )
                conn.execute(
                    "INSERT INTO alert_events (alert_id, at_us, kind) VALUES (?, ?, 'cleared')",
                    (alert_id, at_us),
                )
        gone = set(ids)
        self._ids = {k: v for k, v in self._ids.items() if v not in gone}

    def record(
        self, transitions: Sequence[Transition], updates: Sequence[ActiveAlert], at_us: int
    ) -> None:
        """Store transitions and current values in one transaction."""
        if not transitions and not updates:
            return
        with self._tx() as conn:
            for t in transitions:
                self._transition(conn, t)
            for a in updates:
                alert_id = self._ids.get((a.rule, a.scope))
                if alert_id is not None:
                    conn.execute(
                        "UPDATE alerts SET value = ?, threshold = ?, worst_value = ?,"
                        " message = ?, updated_us = ? WHERE id = ?",
                        (a.value, a.threshold, a.worst_value, a.message, at_us, alert_id),
                    )

    def _transition(self, conn: sqlite3.Connection, t: Transition) -> None:
        key = (t.rule, t.scope)
        if t.kind == "raised":
            cur = conn.execute(
                "INSERT INTO alerts (rule, scope, severity, peak_severity, raised_at_us, value,"
                " threshold, worst_value, peak_threshold, unit, message, updated_us)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    t.rule, t.scope, t.severity, t.severity, t.at_us, t.value, t.threshold,
                    t.worst if t.worst is not None else t.value, t.threshold, t.unit, t.message,
                    t.at_us,
                ),
            )  # fmt: skip
            alert_id = cur.lastrowid
            assert alert_id is not None
            self._ids[key] = alert_id
        else:
            found = self._ids.get(key)
            if found is None:
                return  # not ours (the row was cleared meanwhile): nothing to update
            alert_id = found
            if t.kind == "escalated":
                # A new critical needs attention again: an earlier acknowledgement lapses
                # (it stays in alert_events).
                conn.execute(
                    "UPDATE alerts SET severity = 'critical', peak_severity = 'critical',"
                    " peak_threshold = ?, threshold = ?, value = ?, worst_value = ?,"
                    " message = ?, acked_at_us = NULL, acked_by = NULL, updated_us = ?"
                    " WHERE id = ?",
                    (t.threshold, t.threshold, t.value, t.worst, t.message, t.at_us, alert_id),
                )
            elif t.kind == "deescalated":
                conn.execute(
                    "UPDATE alerts SET severity = ?, threshold = ?, value = ?, worst_value = ?,"
                    " message = ?, updated_us = ? WHERE id = ?",
                    (t.severity, t.threshold, t.value, t.worst, t.message, t.at_us, alert_id),
                )
            else:  # cleared
                conn.execute(
                    "UPDATE alerts SET cleared_at_us = ?, value = coalesce(?, value),"
                    " worst_value = coalesce(?, worst_value), message = ?, updated_us = ?"
                    " WHERE id = ?",
                    (t.at_us, t.value, t.worst, t.message, t.at_us, alert_id),
                )
                del self._ids[key]
        conn.execute(
            "INSERT INTO alert_events (alert_id, at_us, kind, severity, value, threshold)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (alert_id, t.at_us, t.kind, t.severity, t.value, t.threshold),
        )


# ---------------------------------------------------------------- acknowledgement


def acknowledge(
    db_path: Path | str, alert_id: str | int, by: str, at_us: int | None = None
) -> bool:
    """Record that ``by`` acknowledged an alert, from any process.

    Returns False when it was already acknowledged (the first one stays).

    Raises:
        UserError: no such alert, or the database cannot be written by this user.
    """
    path = Path(db_path)
    try:
        number = int(alert_id)
    except (TypeError, ValueError):
        raise UserError(f"no alert {alert_id!r}") from None
    at = now_us() if at_us is None else at_us
    try:
        # mode=rw: never create a database by acknowledging.
        conn = sqlite3.connect(
            f"file:{path}?mode=rw", uri=True, isolation_level=None, timeout=_BUSY_MS / 1000
        )
    except sqlite3.Error as exc:
        raise UserError(f"cannot open {path} to record the acknowledgement: {exc}") from exc
    try:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT acked_by FROM alerts WHERE id = ?", (number,)).fetchone()
        if row is None:
            conn.execute("ROLLBACK")
            raise UserError(f"no alert {alert_id!r}")
        if row[0] is not None:
            conn.execute("ROLLBACK")
            return False
        conn.execute(
            "UPDATE alerts SET acked_by = ?, acked_at_us = ? WHERE id = ?", (by, at, number)
        )
        conn.execute(
            "INSERT INTO alert_events (alert_id, at_us, kind, by) VALUES (?, ?, 'acknowledged', ?)",
            (number, at, by),
        )
        conn.execute("COMMIT")
        return True
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if _no_alert_tables(exc):
            raise UserError(f"{path} has no alert tables: its writer predates alerts") from exc
        if "readonly" in str(exc):
            raise UserError(
                f"cannot record the acknowledgement: {path} is not writable by this user"
            ) from exc
        raise UserError(f"cannot record the acknowledgement in {path}: {exc}") from exc
    finally:
        conn.close()


def ack_identity(env: Mapping[str, str] | None = None) -> str:
    """Who acknowledges: the OS user, noting an SSH session's origin.

    ``alice``, or ``alice (ssh from 10.1.2.3)`` when ``SSH_CONNECTION`` or
    ``SSH_CLIENT`` is set.
    """
    env = os.environ if env is None else env
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = env.get("USER") or env.get("LOGNAME") or "unknown"
    ssh = env.get("SSH_CONNECTION") or env.get("SSH_CLIENT")
    if ssh and ssh.split():
        return f"{user} (ssh from {ssh.split()[0]})"
    return user


# ---------------------------------------------------------------- readers


class AlertReader:
    """What every screen reads: the alerts in force (cached ~1 s) and the history.

    Args:
        db_path: The database.
        max_age_s: How long a read of the alerts in force is reused.
        clock: Monotonic seconds (inject a fake one in tests).
    """

    def __init__(
        self,
        db_path: Path | str,
        *,
        max_age_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db_path = Path(db_path)
        self._conn = connect_readonly(self.db_path)
        self._max_age = max_age_s
        self._clock = clock
        self._cached: tuple[AlertView, ...] = ()
        self._read_at: float | None = None
        self._pending: dict[str, str] = {}
        self.missing_tables = False
        """True when the database predates alerts (nothing to show)."""

    def close(self) -> None:
        """Release the connection."""
        self._conn.close()

    def invalidate(self) -> None:
        """Read again at the next call (after an acknowledgement)."""
        self._read_at = None

    def mark_acked(self, alert_id: str, by: str) -> None:
        """Show an acknowledgement at once, until a read finds it stored (or
        :meth:`forget_ack` says it failed)."""
        self._pending[alert_id] = by
        self._cached = self._overlay(self._cached)

    def forget_ack(self, alert_id: str) -> None:
        """An acknowledgement shown by :meth:`mark_acked` could not be stored."""
        self._pending.pop(alert_id, None)
        self.invalidate()

    def _overlay(self, alerts: tuple[AlertView, ...]) -> tuple[AlertView, ...]:
        pending = self._pending
        if not pending:
            return alerts
        out = []
        for a in alerts:
            if a.id in pending:
                if a.acked_by is None:
                    a = replace(a, acked_by=pending[a.id])
                else:
                    del pending[a.id]  # stored: the overlay is done
            out.append(a)
        return tuple(out)

    def active(self) -> tuple[AlertView, ...]:
        """The alerts in force, newest first."""
        now = self._clock()
        if self._read_at is not None and now - self._read_at < self._max_age:
            return self._cached
        self._read_at = now
        try:
            rows = self._conn.execute(
                "SELECT id, rule, scope, severity, message, raised_at_us, value, threshold,"
                " acked_by, unit FROM alerts WHERE cleared_at_us IS NULL"
                " ORDER BY raised_at_us DESC, id DESC"
            ).fetchall()
        except sqlite3.Error as exc:
            if not _no_alert_tables(exc):
                raise
            self.missing_tables = True
            rows = []
        self._cached = self._overlay(
            tuple(
                AlertView(
                    id=str(r[0]),
                    rule=r[1],
                    scope=r[2],
                    severity="critical" if r[3] == "critical" else "warning",
                    message=r[4],
                    raised_at_us=r[5],
                    value=r[6],
                    threshold=r[7],
                    acked_by=r[8],
                    **({"unit": r[9]} if _VIEW_UNIT else {}),
                )
                for r in rows
            )
        )
        return self._cached

    def history(
        self, since_us: int | None = None, *, active_only: bool = False, limit: int | None = None
    ) -> list[AlertRecord]:
        """Alerts in force at or after ``since_us`` (all: None), oldest first."""
        return history(self._conn, since_us, active_only=active_only, limit=limit)


def history(
    conn: sqlite3.Connection,
    since_us: int | None = None,
    *,
    active_only: bool = False,
    limit: int | None = None,
) -> list[AlertRecord]:
    """The alert history over a connection: alerts raised, in force or cleared since
    ``since_us``, oldest first (the last ``limit`` of them)."""
    where, params = [], []
    if active_only:
        where.append("cleared_at_us IS NULL")
    if since_us is not None:
        where.append("(raised_at_us >= ? OR cleared_at_us IS NULL OR cleared_at_us >= ?)")
        params += [since_us, since_us]
    sql = (
        "SELECT id, rule, scope, peak_severity, raised_at_us, cleared_at_us, acked_at_us,"
        " acked_by, worst_value, peak_threshold, message, unit, severity, value FROM alerts"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY raised_at_us DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    try:
        rows = conn.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        if _no_alert_tables(exc):
            return []
        raise
    return [AlertRecord(*r) for r in reversed(rows)]


def alert_events(conn: sqlite3.Connection, alert_id: int) -> list[tuple[int, str, str | None]]:
    """An alert's transitions and acknowledgements: ``(at_us, kind, severity or by)``."""
    return [
        (r[0], r[1], r[2] if r[1] != "acknowledged" else r[3])
        for r in conn.execute(
            "SELECT at_us, kind, severity, by FROM alert_events WHERE alert_id = ? ORDER BY seq",
            (alert_id,),
        )
    ]


# ---------------------------------------------------------------- the writer's monitor


@dataclass(slots=True)
class Outcome:
    """One evaluation: what changed, and the values due to be stored."""

    at_us: int
    transitions: list[Transition] = field(default_factory=list)
    updates: list[ActiveAlert] = field(default_factory=list)

    @property
    def has_writes(self) -> bool:
        """Whether :meth:`AlertMonitor.write` has anything to store."""
        return bool(self.transitions or self.updates)


class AlertMonitor:
    """The single writer's alerts: evaluates the rules and stores what changed.

    On start it takes over the alerts in force in the database, so a restart
    neither raises them twice nor forgets them; those whose rule is no longer
    configured are cleared.

    Args:
        db_path: The database (migrated to schema 2 or later).
        rules: Resolved rules, an ``[alerts]`` config, or None for the defaults.
        gap_window: The engine's ``gap_window`` (for messages).
        at_us: Now (for clearing alerts of removed rules).
    """

    def __init__(
        self,
        db_path: Path | str,
        rules: Sequence[Rule] | AlertsConfig | None = None,
        *,
        gap_window: str | None = None,
        at_us: int | None = None,
    ) -> None:
        self.evaluator = AlertEvaluator(rules, gap_window=gap_window)
        self.writer = AlertWriter(db_path)
        orphans = []
        for r in self.writer.load_active():
            taken = self.evaluator.adopt(
                r["rule"],
                r["scope"],
                "critical" if r["severity"] == "critical" else "warning",
                r["raised_at_us"],
                value=r["value"],
                threshold=r["threshold"],
                message=r["message"],
                worst=r["worst_value"],
                peak="critical" if r["peak_severity"] == "critical" else "warning",
                peak_threshold=r["peak_threshold"],
            )
            if not taken:
                orphans.append(r["id"])
        self.writer.clear_ids(orphans, now_us() if at_us is None else at_us, "rule removed")
        self._written: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._refreshed_at: float | None = None

    def evaluate(
        self,
        snapshot: Snapshot,
        now_us: int,
        feed: FeedStatus | None = None,
        *,
        services: Mapping[str, tuple[bool, int]] | None = None,
        refresh_now: bool | None = None,
    ) -> Outcome:
        """Evaluate (CPU only); :meth:`write` stores the outcome.

        Current values are stored every :data:`VALUE_REFRESH_S` seconds
        (``refresh_now`` forces or skips that).
        """
        out = Outcome(now_us)
        out.transitions = self.evaluator.evaluate(snapshot, now_us, feed, services=services)
        for t in out.transitions:
            if t.kind == "cleared":
                self._written.pop((t.rule, t.scope), None)
            else:
                self._written[(t.rule, t.scope)] = (t.value, t.threshold, t.message)
        mono = time.monotonic()
        due = (
            refresh_now
            if refresh_now is not None
            else self._refreshed_at is None or mono - self._refreshed_at >= VALUE_REFRESH_S
        )
        if due:
            self._refreshed_at = mono
            for a in self.evaluator.active():
                key = (a.rule, a.scope)
                now_values = (a.value, a.threshold, a.message)
                if self._written.get(key) != now_values:
                    self._written[key] = now_values
                    out.updates.append(a)
        return out

    def write(self, outcome: Outcome) -> None:
        """Store an outcome (blocking I/O: call it in a worker thread from an event loop)."""
        self.writer.record(outcome.transitions, outcome.updates, outcome.at_us)

    def tick(
        self,
        snapshot: Snapshot,
        now_us: int,
        feed: FeedStatus | None = None,
        *,
        services: Mapping[str, tuple[bool, int]] | None = None,
    ) -> list[Transition]:
        """Evaluate and store at once (tests, and callers without an event loop)."""
        outcome = self.evaluate(snapshot, now_us, feed, services=services)
        self.write(outcome)
        return outcome.transitions

    def close(self) -> None:
        """Release the database."""
        self.writer.close()


def service_states(engine: Any) -> dict[str, tuple[bool, int]]:
    """Service -> (up, since), from the engine's public ``services_now()``.

    Kept for callers that pass ``services=``; the evaluator reads the same from
    ``Snapshot.services_now``, so new callers need not pass it.
    """
    now = getattr(engine, "services_now", None)
    if now is None:
        return {}
    return {name: (status == "up", since) for name, (status, since) in now().items()}


class Backlog:
    """Tells when the writer is catching up a backlog: rules are not evaluated then.

    Figures from a half-read backlog raise false alerts (a contact whose answer
    is not read yet looks like a long wait), so while stored batches are big
    (the pipeline's batches grow under load, and stay small for a live feed) and
    for ``settle_s`` after, :func:`alert_loop` skips its rounds.
    """

    def __init__(
        self,
        big: int = 1000,
        settle_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.big = big
        self.settle_s = settle_s
        self._clock = clock
        self._last_big: float | None = None

    def note(self, events: int) -> None:
        """A batch of ``events`` was stored."""
        if events >= self.big:
            self._last_big = self._clock()

    def busy(self) -> bool:
        """Whether a big batch was stored less than ``settle_s`` ago."""
        return self._last_big is not None and self._clock() - self._last_big < self.settle_s


async def alert_loop(
    monitor: AlertMonitor,
    snapshot: Callable[[int], Snapshot],
    status: Callable[[], FeedStatus],
    *,
    services: Callable[[], Mapping[str, tuple[bool, int]]] | None = None,
    on_transitions: Callable[[list[Transition]], object] | None = None,
    on_error: Callable[[str], object] | None = None,
    interval_s: float = 1.0,
    clock: Callable[[], int] = now_us,
    after_write: Callable[[], Awaitable[None] | None] | None = None,
    paused: Callable[[], bool] | None = None,
) -> None:
    """Evaluate about once a second until cancelled; never ends on an error.

    Evaluation runs in the event loop (the engine is not thread-safe); the
    writes go to a worker thread. The next round is scheduled only once this
    one is done, so rounds never pile up. A round is skipped while ``paused()``
    (a backlog being read: :class:`Backlog`).
    """
    last_error: str | None = None
    while True:
        started = time.monotonic()
        try:
            if paused is not None and paused():
                await asyncio.sleep(interval_s)
                continue
            now = clock()
            outcome = monitor.evaluate(
                snapshot(now), now, status(), services=services() if services else None
            )
            if outcome.has_writes:
                write = asyncio.ensure_future(asyncio.to_thread(monitor.write, outcome))
                try:
                    await asyncio.shield(write)
                except asyncio.CancelledError:
                    # Stopping: let the thread finish, so the transitions are stored and
                    # the connection is free before the caller closes it.
                    with contextlib.suppress(Exception):
                        await write
                    raise
                if after_write is not None:
                    result = after_write()
                    if result is not None:
                        await result
            if on_transitions is not None and outcome.transitions:
                on_transitions(outcome.transitions)
            last_error = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a wallboard never stops because one round failed
            text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, UserError) else str(exc)
            if text != last_error and on_error is not None:
                on_error(f"alert evaluation failed: {text}")
            last_error = text
        await asyncio.sleep(max(0.05, interval_s - (time.monotonic() - started)))


def describe_transition(t: Transition) -> str:
    """One log line for a transition (``wallboard ingest`` prints them)."""
    return f"alert {t.kind}: [{t.severity}] {t.rule} {t.scope}: {t.message}"
