"""The default rules fire on the simulator's bad moments (a staffing dip and an outage),
and `wallboard alerts` lists them: the issue's "done when", with an injected clock."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from wallboard.alert_store import AlertMonitor, service_states
from wallboard.config import Config
from wallboard.engine.core import Engine
from wallboard.events import Event, parse_event
from wallboard.simulate import SimOptions, Simulator
from wallboard.source import FeedStatus
from wallboard.store import open_for_writing
from wallboard.timeutil import US, parse_rfc3339

START = parse_rfc3339("2026-01-05T08:00:00Z")


def test_default_rules_fire_on_a_staffing_dip_and_an_outage(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    open_for_writing(db).close()
    sim = Simulator(
        SimOptions(
            agents=40,
            queues=4,
            seed=3,
            start_us=START,
            staffing_dip=True,
            outage=True,
            speed="max",
            duration="3h",
            tz="UTC",
        )
    )
    engine = Engine(Config(timezone="UTC"))
    monitor = AlertMonitor(db, gap_window="1h")
    raised: dict[str, list[int]] = {}
    t, last_event = START, None
    while not sim.done:  # one evaluation a simulated minute
        t += 60 * US
        events = [e for e in map(parse_event, sim.until(t)) if isinstance(e, Event)]
        engine.add_many(events)
        last_event = t if events else last_event
        for tr in monitor.tick(
            engine.snapshot(t), t, FeedStatus(last_event), services=service_states(engine)
        ):
            if tr.kind == "raised":
                raised.setdefault(tr.rule, []).append((t - START) // (60 * US))
    monitor.close()
    # The dip starts 75 min in (60% of the agents away for 30 min): service level,
    # waits and abandonment go bad on the voice and chat queues.
    dip = range(75, 75 + 40)
    for name in ("service_level_below", "longest_wait_above", "abandonment_rate_above"):
        assert any(m in dip for m in raised.get(name, [])), (name, raised)
    # The forced outage (at 30% of a 3 h run: 54 min) and the escalations its customers
    # bring about its category (a product gap).
    assert raised["service_down"] and raised["product_gap"]
    out = run_cli("alerts", "--db", str(db), "--json").stdout.splitlines()
    listed = {json.loads(line)["rule"] for line in out}
    assert {"service_level_below", "service_down", "product_gap"} <= listed
