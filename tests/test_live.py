"""The live sources: in-process writer, read-only viewer, and the simulator feed."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from tests.conftest import event_line, wait_until
from wallboard.engine.core import Engine
from wallboard.events import Event, parse_event
from wallboard.feeds.simulator import SimulatorFeed
from wallboard.live import LiveSource, ViewerSource, max_seq
from wallboard.pipeline import Pipeline
from wallboard.simulate import SimOptions, Simulator
from wallboard.store import StoreWriter, WriteBatch
from wallboard.timeutil import US


def ts_of(line: bytes) -> int:
    ev = parse_event(line.rstrip(b"\n"))
    assert isinstance(ev, Event)
    return ev.ts


async def store_lines(store: StoreWriter, *lines: bytes) -> None:
    rows = []
    for line in lines:
        ev = parse_event(line.rstrip(b"\n"))
        assert isinstance(ev, Event)
        rows.append((ev.id, ev.ts, ev.type, line.rstrip(b"\n")))
    await store.write(WriteBatch(rows, [], []))


async def test_viewer_follows_what_another_writer_stores(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    store = StoreWriter(db)
    await store.open()
    first = event_line(1, contact="c1", queue="sales")
    await store_lines(store, first)
    now = ts_of(first) + 60 * US
    after = max_seq(db)
    viewer = ViewerSource(Engine.restore(db, now), db, after)
    try:
        snap = viewer.snapshot(now)
        assert snap.windows["15m"].overall["arrivals"] == 1
        assert viewer.status().last_event_received_us is None  # nothing new seen yet
        await store_lines(store, event_line(2, contact="c2", queue="sales"))
        snap = viewer.snapshot(now)
        assert snap.windows["15m"].overall["arrivals"] == 2
        assert snap.windows["15m"].overall["waiting"] == 2
        assert viewer.status().events == 1
    finally:
        viewer.close()
        await store.close()


async def test_simulator_feed_runs_the_real_pipeline_into_the_engine(tmp_path: Path) -> None:
    start = 1_767_258_000 * US  # 2026-01-01T09:00Z: a busy hour
    clock = [start + 3600 * US]
    sim = Simulator(SimOptions(agents=20, queues=3, seed=3, start_us=start, speed=1, tz="UTC"))
    store = StoreWriter(tmp_path / "demo.db")
    await store.open()
    source = LiveSource(Engine(), "simulator")
    pipeline = Pipeline(store)
    source.attach(pipeline)
    feed = SimulatorFeed(sim, clock=lambda: clock[0], interval_s=0.01)
    task = asyncio.create_task(pipeline.run(feed))
    try:
        await wait_until(lambda: pipeline.counters.events > 100, what="an hour of events")
        snap = source.snapshot(clock[0])
        hour = snap.windows["1h"].overall
        assert hour["arrivals"] > 10 and hour["answered"] > 0
        assert source.status().events == pipeline.counters.events
        assert source.status().description == "simulator"
        before = pipeline.counters.events
        clock[0] += 600 * US  # ten more minutes of simulated time
        await wait_until(lambda: pipeline.counters.events > before, what="new events")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()
