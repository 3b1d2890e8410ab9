"""The engine on hand-made cases: the SPEC's edges, the clock, staffing, restart."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from wallboard.config import Config, QueueConfig, TeamConfig
from wallboard.engine import Engine
from wallboard.events import Event

S = 1_000_000
T0 = int(datetime(2024, 6, 3, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()) * S
UTC = Config(timezone="UTC")


def ev(eid: str, t: float, kind: str, **kw: Any) -> Event:
    return Event(id=eid, ts=T0 + round(t * S), type=kind, **kw)


def at(t: float) -> int:
    return T0 + round(t * S)


def test_wait_exactly_at_threshold_is_within() -> None:
    e = Engine(UTC)
    e.add(ev("1", 0, "contact.queued", contact="c", queue="q"))
    e.add(ev("2", 20, "contact.answered", contact="c", agent="a"))
    e.add(ev("3", 1, "contact.queued", contact="d", queue="q"))
    e.add(Event(id="4", ts=at(21) + 1, type="contact.answered", contact="d", agent="a"))
    o = e.snapshot(at(60)).windows["15m"].overall
    assert (o["answered"], o["answered_within"]) == (2, 1)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("default", 1 / (2 + 2 - 1)),  # short abandon (5 s) left out
        ("answered", 1 / 2),
        ("abandons_good", (1 + 2) / (2 + 2)),  # both abandons within 20 s
        ("abandons_ignored", 1 / (2 + 2 - 2)),
    ],
)
def test_sl_formulas(formula: str, expected: float) -> None:
    e = Engine(Config(timezone="UTC", sl_formula=formula))  # type: ignore[arg-type]
    e.add_many(
        [
            ev("1", 0, "contact.queued", contact="a", queue="q"),
            ev("2", 10, "contact.answered", contact="a", agent="x"),
            ev("3", 0, "contact.queued", contact="b", queue="q"),
            ev("4", 30, "contact.answered", contact="b", agent="x"),
            ev("5", 0, "contact.queued", contact="c", queue="q"),
            ev("6", 5, "contact.abandoned", contact="c"),  # exactly short_abandon: short
            ev("7", 0, "contact.queued", contact="d", queue="q"),
            ev("8", 20, "contact.abandoned", contact="d"),  # exactly the threshold: within
        ]
    )
    snap = e.snapshot(at(60))
    assert snap.sl_formula == formula
    assert snap.windows["1h"].overall["service_level"] == pytest.approx(expected)
    assert snap.windows["1h"].queues["q"]["service_level"] == pytest.approx(expected)


def test_per_queue_threshold_and_formula() -> None:
    config = Config(
        timezone="UTC", queues={"chat": QueueConfig(sl_threshold="2m", sl_formula="answered")}
    )
    e = Engine(config)
    e.add_many(
        [
            ev("1", 0, "contact.queued", contact="a", queue="chat"),
            ev("2", 100, "contact.answered", contact="a", agent="x"),
            ev("3", 0, "contact.queued", contact="b", queue="voice"),
            ev("4", 100, "contact.answered", contact="b", agent="x"),
        ]
    )
    snap = e.snapshot(at(200))
    w = snap.windows["15m"]
    assert w.queues["chat"]["service_level"] == 1.0
    assert w.queues["voice"]["service_level"] == 0.0
    assert w.overall["answered_within"] == 1
    assert snap.queue_sl["chat"].sl_formula == "answered"
    assert snap.queue_sl["chat"].sl_threshold_s == 120


@pytest.mark.parametrize(("gap_s", "fcr"), [(3600, 0.0), (3600 + 1e-6, 1.0)])
def test_fcr_repeat_customer_boundary(gap_s: float, fcr: float) -> None:
    e = Engine(Config(timezone="UTC", fcr_days=1 / 24))
    e.add_many(
        [
            ev("1", 0, "contact.queued", contact="a", queue="q", customer="u"),
            ev("2", 5, "contact.answered", contact="a", agent="x"),
            ev("3", 60, "contact.resolved", contact="a"),
        ]
    )
    # The repeat arrives late, after a snapshot: FCR changes from 1 to the expected value.
    assert e.snapshot(at(120)).windows["today"].overall["fcr"] == 1.0
    e.add(ev("4", 60 + gap_s, "contact.queued", contact="b", queue="q", customer="u"))
    assert e.snapshot(at(7200)).windows["today"].overall["fcr"] == fcr


def test_late_event_moves_first_response_and_order_does_not_matter() -> None:
    stream = [
        ev("1", 0, "contact.queued", contact="c", queue="q"),
        ev("2", 40, "message", contact="c", from_="agent", agent="b"),
        ev("3", 50, "message", contact="c", from_="customer"),
        ev("4", 55, "message", contact="c", from_="customer"),
        ev("5", 70, "message", contact="c", from_="agent", agent="b"),
        ev("6", 10, "contact.answered", contact="c", agent="a"),  # late: the real first response
        ev("7", 80, "contact.ended", contact="c"),
    ]
    results = []
    for order in (stream, stream[::-1], stream[3:] + stream[:3]):
        e = Engine(UTC)
        e.add_many(order)
        results.append(e.snapshot(at(100)).windows["15m"])
    for w in results:
        assert w.overall["asa"] == 10.0
        # 40 s replies to no customer message; 70 s answers the two from 50 s.
        assert w.overall["reply_speed_mean"] == 20.0
        assert w.agents["a"]["handled"] == 1 and w.agents["b"]["handled"] == 0
        assert w.agents["b"]["aht"] == 70.0  # ended names no agent: the agent at 80 s is b
    assert results[0] == results[1] == results[2]


def test_duplicates_first_received_wins() -> None:
    e = Engine(UTC)
    e.add(ev("1", 0, "contact.queued", contact="c", queue="q"))
    e.add(ev("x", 5, "contact.answered", contact="c", agent="a"))
    e.add(ev("x", 50, "contact.answered", contact="c", agent="b"))
    w = e.snapshot(at(60)).windows["15m"]
    assert w.overall["asa"] == 5.0 and "b" not in w.agents
    assert e.duplicates == 1


def test_future_events_wait_for_the_clock() -> None:
    e = Engine(UTC)
    e.add(ev("1", 0, "contact.queued", contact="c", queue="q"))
    e.add(ev("2", 100, "contact.answered", contact="c", agent="a"))
    snap = e.snapshot(at(50))
    assert snap.windows["15m"].overall["answered"] == 0
    assert snap.windows["15m"].overall["waiting"] == 1
    assert snap.windows["15m"].overall["longest_wait"] == 50.0
    assert "a" not in snap.windows["15m"].agents  # not named by any event that exists yet
    assert e.pending_count == 1
    snap = e.snapshot(at(100))
    assert snap.windows["15m"].overall["answered"] == 1 and e.pending_count == 0
    # The clock never goes back: an earlier instant is answered at the clock.
    assert e.snapshot(at(10)).at_us == at(100)


def test_final_clock_drops_future_events_but_remembers_their_ids() -> None:
    e = Engine(UTC)
    e.advance(at(50), final=True)
    e.add(ev("1", 0, "contact.queued", contact="c", queue="q"))
    e.add(ev("2", 100, "contact.answered", contact="c", agent="a"))
    e.add(ev("2", 10, "contact.answered", contact="c", agent="a"))  # same id: ignored
    assert e.pending_count == 0
    assert e.snapshot(at(50)).windows["15m"].overall["answered"] == 0
    with pytest.raises(ValueError):
        e.advance(at(60))


def test_windows_slide_and_today_resets_at_local_midnight() -> None:
    zone = "America/Santiago"  # 2024-09-08: midnight does not exist (00:00 -> 01:00)
    tz = ZoneInfo(zone)
    before = int(datetime(2024, 9, 7, 23, 50, tzinfo=tz).timestamp()) * S
    e = Engine(Config(timezone=zone))
    e.add(Event(id="1", ts=before, type="contact.queued", contact="c", queue="q"))
    snap = e.snapshot(before + 5 * 60 * S)
    assert snap.windows["today"].overall["arrivals"] == 1
    assert e.snapshot(before + 15 * 60 * S - 1).windows["15m"].overall["arrivals"] == 1
    # 23:50 + 15 min = 01:05 local on the 8th (the hour 00:00-01:00 is skipped).
    later = before + 15 * 60 * S
    snap = e.snapshot(later)
    assert datetime.fromtimestamp(later / S, tz).hour == 1
    today = snap.windows["today"]
    assert today.start_us == before + 10 * 60 * S  # the day starts at the transition
    assert today.overall["arrivals"] == 0
    assert snap.windows["15m"].overall["arrivals"] == 0  # exactly 15 min ago: out of (now-W, now]
    assert snap.windows["1h"].overall["arrivals"] == 1


def test_staffing_hint_and_product_gap() -> None:
    config = Config(
        timezone="UTC",
        gap_threshold=3,
        teams={"blue": TeamConfig(agents=["t1"], queues=["q"])},
    )
    e = Engine(config)
    events = [ev("s1", -10, "agent.state", agent="t1", state="available")]
    # 100 calls in the last hour, each handled for 180 s: 5 Erlangs.
    for i in range(100):
        start = -3500 + i * 30
        events += [
            ev(f"q{i}", start, "contact.queued", contact=f"c{i}", queue="q"),
            ev(f"a{i}", start + 1, "contact.answered", contact=f"c{i}", agent=f"x{i % 4}"),
            ev(f"e{i}", start + 181, "contact.ended", contact=f"c{i}"),
        ]
    for i in range(3):
        events.append(ev(f"g{i}", -60, "contact.escalated", contact=f"c{i}", category="refunds"))
    events += [ev(f"st{i}", -5, "agent.state", agent=f"x{i}", state="busy") for i in range(3)]
    e.add_many(events)
    snap = e.snapshot(at(0))
    st = snap.staffing["q"]
    assert st.arrival_rate_per_h == 100 and st.aht_s == 180.0
    assert st.traffic_erlangs == pytest.approx(5.0)
    assert st.agents_needed == 8  # Erlang C: 7 agents give SL < 0.8 at 20 s
    assert st.service_level is not None and st.service_level >= 0.8
    assert st.p_wait is not None and 0 < st.p_wait < 1
    assert st.agents_logged_in == 4  # x0..x2 busy and t1 (team); x3 never logged in
    assert snap.gaps == {"refunds": 3}


def test_agent_queues_teams_and_the_hours_first_responses() -> None:
    config = Config(timezone="UTC", teams={"blue": TeamConfig(agents=["t1"], queues=["q"])})
    e = Engine(config)
    e.add_many(
        [
            ev("1", -4000, "contact.queued", contact="old", queue="p"),
            ev("2", -3700, "contact.answered", contact="old", agent="x"),  # over an hour ago
            ev("3", -100, "contact.queued", contact="c", queue="r"),
            ev("4", -90, "contact.answered", contact="c", agent="x"),
            ev("5", -80, "message", contact="c", agent="t1", **{"from_": "agent"}),  # not first
            ev("6", -60, "contact.queued", contact="d", queue="q"),
            ev("7", -50, "contact.answered", contact="d", agent="t1"),
        ]
    )
    snap = e.snapshot(at(0))
    assert snap.agent_queues == {"t1": frozenset({"q"}), "x": frozenset({"r"})}
    later = e.snapshot(at(3560))  # x's answer at -90 s left the hour
    assert later.agent_queues == {"t1": frozenset({"q"})}
    assert snap.agent_queues["x"] == frozenset({"r"})  # a value


def test_services_now_status_and_since() -> None:
    e = Engine(UTC)
    e.add_many(
        [
            ev("1", -100, "service.status", service="crm", up=True),
            ev("2", -50, "service.status", service="crm", up=False),
            ev("3", -20, "service.status", service="crm", up=False),  # a repeat: since stays
        ]
    )
    snap = e.snapshot(at(0))
    assert dict(snap.services_now["crm"]) == {"status": "down", "status_since": at(-50)}
    assert e.services_now() == {"crm": ("down", at(-50))}
    assert snap.windows["15m"].services["crm"]["uptime"] == pytest.approx(0.5)


def test_snapshot_is_a_value() -> None:
    e = Engine(UTC)
    e.add(ev("1", 0, "contact.queued", contact="c", queue="q"))
    first = e.snapshot(at(10))
    e.add(ev("2", 20, "contact.answered", contact="c", agent="a"))
    e.snapshot(at(30))
    assert first.windows["15m"].overall["answered"] == 0  # not changed by later events
    with pytest.raises(TypeError):
        first.windows["15m"].queues["x"] = {}  # type: ignore[index]


def test_eviction_forgets_contacts_before_the_horizon() -> None:
    e = Engine(Config(timezone="UTC", lookback="1h"))
    for i in range(50):
        e.add(ev(f"q{i}", i, "contact.queued", contact=f"c{i}", queue="q"))
    e.snapshot(at(100))
    assert e.contact_count == 50
    three_days = 3 * 86400
    snap = e.snapshot(at(three_days))
    assert e.contact_count == 0
    assert snap.windows["today"].overall["waiting"] == 0 and not snap.windows["today"].queues
    assert e.horizon_us(at(three_days)) > at(100)
    e.add(ev("old", 10, "contact.queued", contact="z", queue="q"))
    assert e.too_old == 1 and e.contact_count == 0


def test_restore_from_a_database(tmp_path: Path) -> None:
    if not (Path(__file__).parents[1] / "wallboard" / "store.py").exists():
        pytest.skip("wallboard/store.py is not there yet")
    lines = [
        '{"id":"1","ts":"2024-06-03T11:00:00Z","type":"contact.queued","contact":"c",'
        '"queue":"q","customer":"u"}',
        '{"id":"2","ts":"2024-06-03T11:00:30Z","type":"contact.answered","contact":"c",'
        '"agent":"a"}',
        '{"id":"3","ts":"2024-06-03T11:05:00Z","type":"contact.resolved","contact":"c"}',
        '{"id":"4","ts":"2024-06-01T11:05:00Z","type":"contact.queued","contact":"old",'
        '"queue":"q"}',
        '{"id":"5","ts":"2024-06-03T11:30:00Z","type":"agent.state","agent":"a","state":"busy"}',
    ]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    db = tmp_path / "w.db"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "wallboard",
            "ingest",
            "--feed",
            str(feed),
            "--db",
            str(db),
            "--once",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    from wallboard.events import parse_event

    config = Config(timezone="UTC", lookback="1d")
    live = Engine(config)
    for line in lines:
        event = parse_event(line.encode())
        assert isinstance(event, Event)
        live.add(event)
    now = at(0)
    expected = live.snapshot(now)
    restored = Engine.restore(db, now, config)
    got = restored.snapshot(now)
    assert got.windows == expected.windows
    assert restored.contact_count == 1  # "old" is before the horizon: not loaded
