"""Snapshot sources over real data: in-process ingest, or a read-only DB viewer.

:class:`LiveSource` is the single writer's view: a feed runs through the
pipeline into the store, and every stored batch goes on to the engine.
:class:`ViewerSource` follows a DB that another process writes, so any
number of TVs and SSH sessions can share one data set.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from wallboard.engine.core import Engine
from wallboard.engine.snapshot import Snapshot
from wallboard.events import Event
from wallboard.pipeline import Pipeline
from wallboard.source import AlertView, FeedStatus
from wallboard.store import EventFollower
from wallboard.timeutil import now_us


class LiveSource:
    """Engine fed by this process's own pipeline (feed -> store -> engine)."""

    def __init__(self, engine: Engine, description: str, quarantined_before: int = 0) -> None:
        self.engine = engine
        self.description = description
        self.pipeline: Pipeline | None = None
        self.error: str | None = None
        """Why the feed stopped, when it did."""
        self._quarantined_before = quarantined_before

    def attach(self, pipeline: Pipeline) -> None:
        """Take stored events from this pipeline from now on."""
        self.pipeline = pipeline
        pipeline.on_events = self.take

    def take(self, events: list[Event]) -> None:
        """Stored events, in storage order, go to the engine."""
        self.engine.add_many(events)

    def snapshot(self, now_us: int) -> Snapshot:
        """The engine's figures at ``now_us``."""
        self.engine.quarantined = self._quarantined_before + self._counters_quarantined()
        return self.engine.snapshot(now_us)

    def _counters_quarantined(self) -> int:
        return self.pipeline.counters.quarantined if self.pipeline else 0

    def alerts(self) -> Sequence[AlertView]:
        """No alert rules are evaluated yet (the alerts work is still open)."""
        return ()

    def acknowledge(self, alert_id: str, by: str) -> None:
        """Nothing to acknowledge while no rules run."""

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
        self._events = 0
        self._last_event_us: int | None = None

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
        """No alert rules are evaluated yet (the alerts work is still open)."""
        return ()

    def acknowledge(self, alert_id: str, by: str) -> None:
        """Nothing to acknowledge while no rules run."""

    def status(self) -> FeedStatus:
        """What this viewer has seen arrive in the DB."""
        return FeedStatus(
            last_event_received_us=self._last_event_us,
            events=self._events,
            quarantined=self.engine.quarantined,
            description=f"db:{self.db_path} (read-only)",
        )

    def close(self) -> None:
        """Release the DB connection."""
        self._follower.close()


def max_seq(db_path: Path) -> int:
    """The newest row's storage sequence number (0 for an empty DB)."""
    from wallboard.store import connect_readonly

    conn = connect_readonly(db_path)
    try:
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
    finally:
        conn.close()
