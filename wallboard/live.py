"""Snapshot sources over real data: in-process ingest, or a read-only DB viewer.

:class:`LiveSource` is the single writer's view: a feed runs through the
pipeline into the store, and every stored batch goes on to the engine.
:class:`ViewerSource` follows a DB that another process writes, so any
number of TVs and SSH sessions can share one data set.

Both read the alerts from the database (:class:`~wallboard.alert_store.AlertReader`):
the writer evaluates the rules and stores every transition, so every screen
shows the same alerts and the same acknowledgements.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

from wallboard.alert_store import AlertReader, AlertRecord, Backlog, acknowledge
from wallboard.engine.core import Engine
from wallboard.engine.snapshot import Snapshot
from wallboard.events import Event
from wallboard.history import HistoryReader
from wallboard.pipeline import Pipeline
from wallboard.source import AlertView, FeedStatus
from wallboard.store import EventFollower
from wallboard.timeutil import now_us

log = logging.getLogger(__name__)


class LiveSource:
    """Engine fed by this process's own pipeline (feed -> store -> engine)."""

    def __init__(
        self,
        engine: Engine,
        description: str,
        quarantined_before: int = 0,
        *,
        alerts: AlertReader | None = None,
        history: HistoryReader | None = None,
    ) -> None:
        self.engine = engine
        self._history = history
        self.description = description
        self.pipeline: Pipeline | None = None
        self.error: str | None = None
        """Why the feed stopped, when it did."""
        self.ack_error: str | None = None
        """Why the last acknowledgement could not be stored, if it could not."""
        self._quarantined_before = quarantined_before
        self._alerts = alerts
        self.backlog = Backlog()
        """Whether a backlog is being read (alert rounds wait for it)."""

    def attach(self, pipeline: Pipeline) -> None:
        """Take stored events from this pipeline from now on."""
        self.pipeline = pipeline
        pipeline.on_events = self.take

    def take(self, events: list[Event]) -> None:
        """Stored events, in storage order, go to the engine."""
        self.backlog.note(len(events))
        self.engine.add_many(events)

    def snapshot(self, now_us: int) -> Snapshot:
        """The engine's figures at ``now_us``."""
        self.engine.quarantined = self._quarantined_before + self._counters_quarantined()
        return self.engine.snapshot(now_us)

    def history(
        self, kind: str, key: str, metric: str, window: str, points: int
    ) -> Sequence[float | None]:
        """Per-minute samples stored by this process (empty: the screen keeps its own)."""
        if self._history is None:
            return ()
        return self._history.series(kind, key, metric, window, points, now_us())

    def _counters_quarantined(self) -> int:
        return self.pipeline.counters.quarantined if self.pipeline else 0

    def alerts(self) -> Sequence[AlertView]:
        """The alerts in force as stored (read at most once a second), newest first."""
        return self._alerts.active() if self._alerts is not None else ()

    def acknowledge(self, alert_id: str, by: str) -> None:
        """Record an acknowledgement; shown at once, stored in a worker thread.

        This process also runs the store's writer in the same event loop: waiting
        here for SQLite's write lock could wait on that writer's transaction,
        which needs the loop to finish. So the write goes to a thread.
        """
        reader = self._alerts
        if reader is None:
            return
        reader.mark_acked(alert_id, by)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (tests, scripts): nothing to wait on
            try:
                acknowledge(reader.db_path, alert_id, by)
            except Exception:
                reader.forget_ack(alert_id)
                raise
            reader.invalidate()
            return
        future = loop.run_in_executor(None, acknowledge, reader.db_path, alert_id, by)
        future.add_done_callback(lambda f: self._acked(f, alert_id))

    def alert_history(self, since_us: int | None = None, limit: int = 200) -> list[AlertRecord]:
        """The last ``limit`` alerts in force at or after ``since_us``, oldest first
        (the optional hook for a history view)."""
        return self._alerts.history(since_us, limit=limit) if self._alerts is not None else []

    def _acked(self, future: Future[bool] | asyncio.Future[bool], alert_id: str) -> None:
        reader = self._alerts
        if reader is None:
            return
        reader.invalidate()
        with contextlib.suppress(asyncio.CancelledError):
            exc = future.exception()
            if exc is not None:
                self.ack_error = str(exc)
                reader.forget_ack(alert_id)
                log.warning("acknowledgement not stored: %s", exc)

    def status(self) -> FeedStatus:
        """The feed's health, from the pipeline's counters."""
        c = self.pipeline.counters if self.pipeline else None
        description = self.description
        if self.error:
            description = f"{description} (stopped: {self.error})"
        return FeedStatus(
            last_event_received_us=c.last_event_us if c else None,
            events=c.events if c else 0,
            quarantined=self._quarantined_before + (c.quarantined if c else 0),
            description=description,
        )


class ViewerSource:
    """Read-only: follows a DB written by another process (``wallboard ingest``)."""

    def __init__(self, engine: Engine, db_path: Path, after_seq: int) -> None:
        """Follow rows after ``after_seq``: take it (:func:`max_seq`) before restoring
        the engine, so no row is missed (one seen twice is ignored by id)."""
        self.engine = engine
        self.db_path = db_path
        self._follower = EventFollower(db_path, after_seq=after_seq)
        self._alerts = AlertReader(db_path)
        self._history = HistoryReader(db_path)
        self._events = 0
        self._last_event_us: int | None = None

    def history(
        self, kind: str, key: str, metric: str, window: str, points: int
    ) -> Sequence[float | None]:
        """The writer's per-minute samples for the drill-down sparklines."""
        return self._history.series(kind, key, metric, window, points, now_us())

    def _poll(self) -> None:
        while events := self._follower.poll():
            self.engine.add_many(events)
            self._events += len(events)
            self._last_event_us = now_us()

    def snapshot(self, now_us: int) -> Snapshot:
        """Reads what the writer stored since the last call, then computes."""
        self._poll()
        self.engine.quarantined = self._follower.quarantined()
        return self.engine.snapshot(now_us)

    def alerts(self) -> Sequence[AlertView]:
        """The alerts the writer stored (read at most once a second), newest first."""
        return self._alerts.active()

    def acknowledge(self, alert_id: str, by: str) -> None:
        """Record an acknowledgement in the DB: every other screen shows it.

        A viewer opens the DB read-only; this is its one write, on a short
        read-write connection of its own (docs/alerts.md).

        Raises:
            UserError: no such alert, or the DB is not writable by this user.
        """
        acknowledge(self.db_path, alert_id, by)
        self._alerts.invalidate()

    def alert_history(self, since_us: int | None = None, limit: int = 200) -> list[AlertRecord]:
        """The last ``limit`` alerts in force at or after ``since_us``, oldest first
        (the optional hook for a history view)."""
        return self._alerts.history(since_us, limit=limit)

    def status(self) -> FeedStatus:
        """What this viewer has seen arrive in the DB."""
        return FeedStatus(
            last_event_received_us=self._last_event_us,
            events=self._events,
            quarantined=self.engine.quarantined,
            description=f"db:{self.db_path} (read-only)",
        )

    def close(self) -> None:
        """Release the DB connections."""
        self._follower.close()
        self._alerts.close()
        self._history.close()


def max_seq(db_path: Path) -> int:
    """The newest row's storage sequence number (0 for an empty DB)."""
    from wallboard.store import connect_readonly

    conn = connect_readonly(db_path)
    try:
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
    finally:
        conn.close()
