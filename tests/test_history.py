"""Per-minute history in the store: sampled by the writer, read by every viewer."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import event_line
from wallboard.config import Config
from wallboard.engine.core import Engine
from wallboard.events import Event, parse_event
from wallboard.history import STEP_US, HistoryReader, HistoryRecorder
from wallboard.live import ViewerSource
from wallboard.store import open_for_writing
from wallboard.timeutil import US, now_us

T0 = 1_767_261_600 * US  # 2026-01-01T10:00:00Z, a whole minute


def engine_with(*lines: bytes) -> Engine:
    engine = Engine(Config(timezone="UTC"))
    for line in lines:
        ev = parse_event(line.rstrip(b"\n"))
        assert isinstance(ev, Event)
        engine.add(ev)
    return engine


def test_one_sample_a_minute_read_back_with_gaps(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    open_for_writing(db).close()
    engine = engine_with(
        event_line(1, "2026-01-01T10:00:00Z", contact="c1", queue="sales"),
        event_line(2, "2026-01-01T10:02:00Z", contact="c2", queue="sales"),
        event_line(3, "2026-01-01T10:02:10Z", type="contact.answered", contact="c2", agent="a1"),
    )
    recorder = HistoryRecorder(db)
    rows = recorder.observe(engine.snapshot(T0 + 5 * US))
    assert rows is not None
    recorder.write(rows)
    assert recorder.observe(engine.snapshot(T0 + 30 * US)) is None  # same minute
    later = recorder.observe(engine.snapshot(T0 + 3 * STEP_US))  # a minute skipped
    assert later is not None
    recorder.write(later)
    recorder.close()

    reader = HistoryReader(db)
    waiting = reader.series("queue", "sales", "waiting", "15m", 10, T0 + 3 * STEP_US + US)
    assert waiting == [1.0, None, None, 1.0]  # c1 still waits; c2 was answered
    handled = reader.series("agent", "a1", "handled", "15m", 10, T0 + 3 * STEP_US)
    assert handled == [1.0]  # the agent appears at 10:02
    assert reader.series("queue", "nope", "waiting", "15m", 10, T0) == ()
    reader.close()


def test_old_minutes_are_forgotten(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    open_for_writing(db).close()
    engine = engine_with(event_line(1, "2026-01-01T10:00:00Z", contact="c1", queue="q"))
    recorder = HistoryRecorder(db, keep_us=2 * STEP_US)
    for minute in range(5):
        rows = recorder.observe(engine.snapshot(T0 + minute * STEP_US))
        assert rows is not None
        recorder.write(rows)
    recorder.close()
    series = HistoryReader(db).series("overall", "", "waiting", "15m", 100, T0 + 4 * STEP_US)
    assert series == [1.0, 1.0, 1.0]  # minutes 2, 3 and 4 are kept


def test_a_viewer_shows_the_writers_history(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    open_for_writing(db).close()
    now = now_us()
    engine = engine_with(event_line(1, now / US - 10, contact="c1", queue="q"))
    recorder = HistoryRecorder(db)
    rows = recorder.observe(engine.snapshot(now))
    assert rows is not None
    recorder.write(rows)
    recorder.close()
    viewer = ViewerSource(Engine(Config(timezone="UTC")), db, 0)
    try:
        for window in ("15m", "1h"):
            series = viewer.history("queue", "q", "waiting", window, 240)
            # [1.0], or [1.0, None] if a minute turned since the sample.
            assert series[0] == 1.0 and all(v is None for v in series[1:2]), series
        assert viewer.history("agent", "a9", "handled", "15m", 240) == ()
    finally:
        viewer.close()
