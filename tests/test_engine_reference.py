"""The engine against the brute-force reference, on generated streams.

Strategies: event streams that stress SPEC section 3's ground rules.

Streams come out of order, with repeated ids, transfers, reopens, repeat
customers, waits exactly at the threshold, short abandons, empty windows,
and they cross local midnight and a DST change (Europe/London has its
change at 01:00 local; America/Santiago at midnight itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallboard.config import Config, QueueConfig
from wallboard.engine import Engine, Snapshot
from wallboard.events import Event

try:
    from tests.reference import QueueRule, RefSettings, compute, horizon
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from reference import QueueRule, RefSettings, compute, horizon  # type: ignore[no-redef]

SEC = 1_000_000

# (zone, a local instant a few hours before a DST change's midnight)
BASES = [
    ("Europe/London", datetime(2024, 3, 30, 20, 0)),
    ("Europe/London", datetime(2024, 10, 26, 21, 30)),
    ("America/Santiago", datetime(2024, 9, 7, 21, 0)),
    ("America/Santiago", datetime(2024, 4, 6, 22, 0)),
    ("UTC", datetime(2024, 6, 1, 23, 0)),
]

CONTACTS = [f"c{i}" for i in range(5)]
AGENTS = ["a0", "a1", "a2", "a3"]
QUEUES = ["q0", "q1", "q2"]
CUSTOMERS = ["u0", "u1", "u2", None]
STATES = ["available", "busy", "wrap_up", "away", "offline"]
# Offsets from a contact's centre: waits at, just under and just over 20 s and 5 s.
WAITS_S = [0, 5, 5, 6, 10, 20, 20, 21, 60, 60, 61, 300]
STEPS_S = [0, 5, 10, 20, 30, 120]
OFFSETS_S = [0, 1, 4, 5, 6, 10, 15, 19, 20, 21, 25, 30, 45, 60, 90, 120, 300, 600, 900]


@dataclass
class Case:
    """A generated stream and the settings both engine and reference use."""

    zone: str
    base: int
    events: list[Event]
    config: Config
    ref: RefSettings
    nows: list[int]


@st.composite
def sl_settings(draw: Any, zone: str) -> tuple[Config, RefSettings]:
    """Global and per-queue SL settings, FCR days, lookback."""
    threshold = draw(st.sampled_from([20, 10]))
    short = draw(st.sampled_from([5, 5, 0]))
    formula = draw(st.sampled_from(["default", "answered", "abandons_good", "abandons_ignored"]))
    fcr_days = draw(st.sampled_from([7, 1 / 24]))
    q1_formula = draw(st.sampled_from(["answered", "abandons_ignored", None]))
    config = Config(
        timezone=zone,
        sl_threshold=threshold,
        short_abandon=short,
        sl_formula=formula,
        fcr_days=fcr_days,
        queues={"q1": QueueConfig(sl_threshold="1m", short_abandon=0, sl_formula=q1_formula)},
    )
    ref = RefSettings(
        zone=ZoneInfo(zone),
        sl_threshold_s=threshold,
        short_abandon_s=short,
        sl_formula=formula,
        fcr_days=fcr_days,
        queues={"q1": QueueRule(sl_threshold_s=60, short_abandon_s=0, sl_formula=q1_formula)},
    )
    return config, ref


@st.composite
def streams(
    draw: Any, max_events: int = 25, span_h: int = 30, redeliver_only: bool = False
) -> Case:
    """One stream in the order received, plus a few instants to look at it."""
    zone, local = draw(st.sampled_from(BASES))
    base = int(local.replace(tzinfo=ZoneInfo(zone)).timestamp()) * SEC
    config, ref = draw(sl_settings(zone))
    # Each contact lives around a centre; centres spread over the span.
    centres = {c: base + draw(st.integers(0, span_h * 3600)) * SEC for c in CONTACTS}
    events: list[Event] = []
    ids = iter(range(10**6))
    for contact in draw(st.lists(st.sampled_from(CONTACTS), min_size=1, max_size=8)):
        events += draw(conversation(contact, centres[contact], ids))
    for _ in range(draw(st.integers(0 if events else 1, max_events))):
        contact = draw(st.sampled_from(CONTACTS))
        jitter = draw(st.sampled_from([0, 0, 0, 1, -1]))
        if draw(st.integers(0, 9)) < 8:
            ts = centres[contact] + draw(st.sampled_from(OFFSETS_S)) * SEC + jitter
        else:  # anywhere in the span
            ts = base + draw(st.integers(0, span_h * 3600)) * SEC
        events.append(draw(event(f"e{next(ids)}", ts, contact)))
    # Repeated ids: a later line reuses an earlier id (other content; the first wins).
    for _ in range(draw(st.integers(0, 3))):
        if events:
            victim = draw(st.sampled_from(events))
            if redeliver_only:
                events.append(victim)
                continue
            contact = draw(st.sampled_from(CONTACTS))
            ts = centres[contact] + draw(st.sampled_from(OFFSETS_S)) * SEC
            events.append(draw(event(victim.id, ts, contact)))
    order = draw(st.permutations(range(len(events))))
    received = [events[i] for i in order]
    # Instants: at event times and exactly at window edges from them.
    stamps = sorted({e.ts for e in events})
    nows = []
    for _ in range(draw(st.integers(1, 4))):
        pick = draw(st.sampled_from(stamps))
        shift = draw(st.sampled_from([0, 1, 15 * 60, 15 * 60 - 1e-6, 3600, 7200, 86400]))
        nows.append(pick + round(shift * SEC))
    return Case(zone, base, received, config, ref, sorted(nows))


@st.composite
def conversation(draw: Any, contact: str, t: int, ids: Any) -> list[Event]:
    """A plausible life of a contact: queued, answered or abandoned, messages, closing."""
    out: list[Event] = []
    agent = draw(st.sampled_from(AGENTS))

    def add(kind: str, **kw: Any) -> None:
        out.append(Event(id=f"e{next(ids)}", ts=t, type=kind, contact=contact, **kw))

    def step() -> int:
        return draw(st.sampled_from(STEPS_S)) * SEC + draw(st.sampled_from([0, 0, 1, -1]))

    add(
        "contact.queued",
        queue=draw(st.sampled_from(QUEUES)),
        customer=draw(st.sampled_from(CUSTOMERS)),
        category=draw(st.sampled_from(["billing", None])),
    )
    t += draw(st.sampled_from(WAITS_S)) * SEC + draw(st.sampled_from([0, 0, 1, -1]))
    if draw(st.integers(0, 3)) == 0:
        add("contact.abandoned")
        return out
    if draw(st.booleans()):
        add("contact.answered", agent=agent)
    else:
        add("message", from_="agent", agent=agent)
    for _ in range(draw(st.integers(0, 3))):
        for _ in range(draw(st.integers(0, 2))):
            t += step()
            add("message", from_="customer")
        t += step()
        add("message", from_="agent", agent=draw(st.sampled_from([agent, *AGENTS])))
    if draw(st.integers(0, 4)) == 0:
        t += step()
        add(draw(st.sampled_from(["contact.transferred", "contact.escalated"])))
    t += step()
    add("contact.ended", agent=draw(st.sampled_from([None, agent])))
    if draw(st.booleans()):
        t += step()
        add("contact.resolved", resolved=draw(st.sampled_from([True, True, False])))
        if draw(st.integers(0, 3)) == 0:
            t += step()
            add("contact.reopened")
            t += step()
            add("contact.resolved")
    if draw(st.booleans()):
        t += step()
        add(
            "contact.rated",
            csat=draw(st.sampled_from([1, 4, 5])),
            nps=draw(st.sampled_from([None, 6, 9])),
        )
    if draw(st.integers(0, 3)) == 0:
        t += step()
        add("contact.sale", agent=agent, amount=draw(st.sampled_from([0.1, 0.2, 19.99])))
    return out


@st.composite
def event(draw: Any, eid: str, ts: int, contact: str) -> Event:
    """One event of any type about ``contact`` (or an agent / a service)."""
    kind = draw(
        st.sampled_from(
            [
                "contact.queued",
                "contact.queued",
                "contact.queued",
                "contact.answered",
                "contact.answered",
                "contact.abandoned",
                "message",
                "message",
                "message",
                "message",
                "message",
                "contact.transferred",
                "contact.escalated",
                "contact.ended",
                "contact.resolved",
                "contact.resolved",
                "contact.reopened",
                "contact.rated",
                "contact.sale",
                "contact.complaint",
                "agent.state",
                "agent.state",
                "agent.state",
                "service.status",
            ]
        )
    )
    agent = draw(st.sampled_from(AGENTS))
    maybe_agent = draw(st.sampled_from([*AGENTS, None, None]))
    kw: dict[str, Any] = {"id": eid, "ts": ts, "type": kind}
    if kind == "contact.queued":
        kw |= {
            "contact": contact,
            "queue": draw(st.sampled_from(QUEUES)),
            "customer": draw(st.sampled_from(CUSTOMERS)),
            "category": draw(st.sampled_from(["billing", "outage", None])),
        }
    elif kind == "contact.answered":
        kw |= {"contact": contact, "agent": agent}
    elif kind == "contact.abandoned":
        kw |= {"contact": contact}
    elif kind == "message":
        if draw(st.booleans()):
            kw |= {"contact": contact, "from_": "agent", "agent": agent}
        else:
            kw |= {"contact": contact, "from_": "customer"}
    elif kind == "contact.transferred":
        kw |= {
            "contact": contact,
            "agent": maybe_agent,
            "to_queue": draw(st.sampled_from([*QUEUES, None])),
            "to_agent": draw(st.sampled_from([*AGENTS, None])),
        }
    elif kind == "contact.escalated":
        kw |= {
            "contact": contact,
            "agent": maybe_agent,
            "category": draw(st.sampled_from(["billing", None])),
        }
    elif kind in ("contact.ended", "contact.reopened"):
        kw |= {"contact": contact}
        if kind == "contact.ended":
            kw["agent"] = maybe_agent
    elif kind == "contact.resolved":
        kw |= {"contact": contact, "agent": maybe_agent, "resolved": draw(st.booleans())}
    elif kind == "contact.rated":
        csat = draw(st.sampled_from([None, 1, 3, 4, 5]))
        nps = draw(st.sampled_from([0, 6, 7, 8, 9, 10] if csat is None else [None, 0, 6, 7, 9, 10]))
        kw |= {"contact": contact, "agent": maybe_agent, "csat": csat, "nps": nps}
    elif kind == "contact.sale":
        kw |= {
            "contact": contact,
            "agent": agent,
            "amount": draw(st.sampled_from([0.1, 0.2, 10.0, 19.99, 1e6])),
        }
    elif kind == "contact.complaint":
        kw |= {"agent": agent, "contact": draw(st.sampled_from([contact, None]))}
    elif kind == "agent.state":
        kw |= {
            "agent": agent,
            "state": draw(st.sampled_from(STATES)),
            "team": draw(st.sampled_from([None, "blue"])),
        }
    else:
        kw |= {"service": draw(st.sampled_from(["crm", "phones"])), "up": draw(st.booleans())}
    return Event(**kw)


# ---------------------------------------------------------------- the tests

WINDOWS = ["15m", "1h", "today"]
PROFILE: dict[str, Any] = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same(got: Any, want: Any) -> bool:
    """Equal, floats within a relative 1e-9 (sums in another order)."""
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    return type(got) is type(want) and got == want


def assert_figures(got: Any, want: dict[str, Any], where: str) -> None:
    assert set(got) == set(want), f"{where}: keys differ: {set(got) ^ set(want)}"
    for key, value in want.items():
        assert same(got[key], value), f"{where}.{key}: engine {got[key]!r} != reference {value!r}"


def assert_matches(snap: Snapshot, case: Case, received: list[Event], since: Any = None) -> None:
    now = snap.at_us
    for w in WINDOWS:
        ref = compute(received, now, w, case.ref, since)
        got = snap.windows[w]
        assert_figures(got.overall, ref["overall"], f"{w} overall")
        for scope in ("queues", "agents", "services"):
            mine = getattr(got, scope)
            assert set(mine) == set(ref[scope]), f"{w} {scope}: {set(mine) ^ set(ref[scope])}"
            for name, fig in ref[scope].items():
                assert_figures(mine[name], fig, f"{w} {scope}[{name}]")


@settings(max_examples=250, **PROFILE)
@given(streams())
def test_any_arrival_order_gives_the_reference(case: Case) -> None:
    engine = Engine(case.config)
    engine.add_many(case.events)
    for now in case.nows:
        assert_matches(engine.snapshot(now), case, case.events)


@st.composite
def live(draw: Any, **kw: Any) -> tuple[Case, list[int]]:
    """A stream and where, in the order received, each of its instants is looked at."""
    case = draw(streams(**kw))
    cuts = sorted(
        draw(
            st.lists(
                st.integers(0, len(case.events)), min_size=len(case.nows), max_size=len(case.nows)
            )
        )
    )
    return case, cuts


def feed_live(engine: Engine, case: Case, cuts: list[int], check: Any) -> None:
    done = 0
    for k, (cut, now) in enumerate(zip(cuts, case.nows, strict=True)):
        if k % 2:  # one event at a time (add), or in a batch (add_many): the same numbers
            for e in case.events[done:cut]:
                engine.add(e)
        else:
            engine.add_many(case.events[done:cut])
        done = cut
        check(engine.snapshot(now), case.events[:cut])


@settings(max_examples=200, **PROFILE)
@given(live())
def test_fed_live_matches_the_reference_at_every_moment(arg: tuple[Case, list[int]]) -> None:
    case, cuts = arg
    feed_live(Engine(case.config), case, cuts, lambda snap, got: assert_matches(snap, case, got))


def first_received(events: list[Event]) -> list[Event]:
    seen: set[str] = set()
    out = []
    for e in events:
        if e.id not in seen:
            seen.add(e.id)
            out.append(e)
    return out


def figures_of(snap: Snapshot) -> dict[str, Any]:
    return {
        name: (
            w.start_us,
            dict(w.overall),
            {k: dict(v) for k, v in w.queues.items()},
            {k: dict(v) for k, v in w.agents.items()},
            {k: dict(v) for k, v in w.services.items()},
        )
        for name, w in snap.windows.items()
    }


@settings(max_examples=150, **PROFILE)
@given(live(span_h=60, redeliver_only=True), st.sampled_from(["7d", "1h", "10m"]))
def test_restart_reaches_exactly_the_same_numbers(
    arg: tuple[Case, list[int]], lookback: str
) -> None:
    """A restarted engine loads from the horizon on, as the store would give it.

    Repeated ids are re-deliveries here: an id reused with another ts after the
    first event left the horizon is a documented limit (docs/metrics.md).
    """
    case, cuts = arg
    config = msgspec.structs.replace(case.config, lookback=lookback)
    running = Engine(config)
    done = 0
    for cut, now in zip(cuts, case.nows, strict=True):
        running.add_many(case.events[done:cut])
        done = cut
        live_snap = running.snapshot(now)
        stored = first_received(case.events[:cut])
        restarted = Engine(config)
        restarted.advance(now)
        since = restarted.horizon_us(now)
        assert since == running.horizon_us(now)
        restarted.add_many(e for e in stored if e.ts >= since)
        again = restarted.snapshot(now)
        assert figures_of(again) == figures_of(live_snap)
        assert again.staffing == live_snap.staffing
        assert again.gaps == live_snap.gaps


@settings(max_examples=150, **PROFILE)
@given(live(span_h=60, redeliver_only=True), st.sampled_from(["1h", "10m", "2h"]))
def test_eviction_forgets_only_what_is_before_the_horizon(
    arg: tuple[Case, list[int]], lookback: str
) -> None:
    """With a short look-back, old events leave; figures are the reference's from the horizon."""
    case, cuts = arg
    config = msgspec.structs.replace(case.config, lookback=lookback)
    engine = Engine(config)
    seconds = {"1h": 3600, "10m": 600, "2h": 7200}[lookback]

    def check(snap: Snapshot, received: list[Event]) -> None:
        since = horizon(snap.at_us, WINDOWS, seconds, case.ref.zone)
        assert engine.horizon_us(snap.at_us) == since
        assert_matches(snap, case, received, since)

    feed_live(engine, case, cuts, check)
