"""A brute-force reading of SPEC section 3, for checking the engine.

Written straight from the SPEC (and docs/metrics.md for the choices the SPEC
leaves open), sharing no code with ``wallboard.engine``: every figure is
recomputed from the whole list of events for one instant and one window.
It is slow on purpose: obvious beats fast here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from wallboard.events import Event

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SEC = 1_000_000


@dataclass
class QueueRule:
    """Per-queue settings (None: the global one)."""

    sl_threshold_s: float | None = None
    sl_target: float | None = None
    short_abandon_s: float | None = None
    sl_formula: str | None = None


@dataclass
class RefSettings:
    """The settings the reference needs, in plain units."""

    zone: ZoneInfo
    sl_threshold_s: float = 20
    short_abandon_s: float = 5
    sl_formula: str = "default"
    fcr_days: float = 7
    queues: dict[str, QueueRule] = field(default_factory=dict)

    def threshold_us(self, queue: str) -> int:
        r = self.queues.get(queue)
        v = r.sl_threshold_s if r and r.sl_threshold_s is not None else self.sl_threshold_s
        return round(v * SEC)

    def short_us(self, queue: str) -> int:
        r = self.queues.get(queue)
        v = r.short_abandon_s if r and r.short_abandon_s is not None else self.short_abandon_s
        return round(v * SEC)

    def formula(self, queue: str | None) -> str:
        r = self.queues.get(queue) if queue is not None else None
        return r.sl_formula if r and r.sl_formula is not None else self.sl_formula


def local_day_start(now: int, zone: ZoneInfo) -> int:
    """The first microsecond whose local date is now's local date (binary search)."""

    def day(t: int) -> Any:
        return (EPOCH + timedelta(microseconds=t)).astimezone(zone).date()

    today = day(now)
    lo, hi = now - 3 * 86400 * SEC, now  # day(lo) < today <= day(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if day(mid) < today:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass
class _E:
    """An event with its position in the order received."""

    i: int
    e: Event

    @property
    def ts(self) -> int:
        return self.e.ts

    @property
    def key(self) -> tuple[int, int]:
        return (self.e.ts, self.i)


def existing(events: list[Event], now: int, since: int | None = None) -> list[_E]:
    """First received wins per id; then only ts <= now (and >= since) exist; ts order."""
    seen: set[str] = set()
    out = []
    for i, e in enumerate(events):
        if e.id in seen:
            continue
        seen.add(e.id)
        if e.ts <= now and (since is None or e.ts >= since):
            out.append(_E(i, e))
    out.sort(key=lambda x: x.key)
    return out


def compute(
    events: list[Event],
    now: int,
    window: str,
    s: RefSettings,
    since: int | None = None,
) -> dict[str, Any]:
    """Every SPEC key for one window at ``now``: overall, queues, agents, services."""
    evs = existing(events, now, since)
    if window == "today":
        start = local_day_start(now, s.zone)

        def in_w(ts: int) -> bool:
            return start <= ts <= now
    else:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[window[-1]]
        length = int(window[:-1]) * unit * SEC
        start = now - length

        def in_w(ts: int) -> bool:
            return now - length < ts <= now

    # Who appears.
    agent_names: list[str] = []
    queue_names: list[str] = []
    for x in evs:
        for a in (x.e.agent, x.e.to_agent):
            if a is not None and a not in agent_names:
                agent_names.append(a)
        if x.e.type == "contact.queued" and x.e.queue not in queue_names:
            queue_names.append(x.e.queue)

    by_contact: dict[str, list[_E]] = defaultdict(list)
    for x in evs:
        if x.e.contact is not None and x.e.type != "contact.complaint":
            by_contact[x.e.contact].append(x)

    # Facts per known contact.
    facts: dict[str, dict[str, Any]] = {}
    for cid, cev in by_contact.items():
        queued = [x for x in cev if x.e.type == "contact.queued"]
        if not queued:
            continue
        first_q = min(queued, key=lambda x: x.key)
        cust = [x for x in sorted(queued, key=lambda x: x.key) if x.e.customer is not None]
        facts[cid] = {
            "events": cev,
            "qt": first_q.ts,
            "queue": first_q.e.queue,
            "customer": cust[0].e.customer if cust else None,
        }

    def responses(cev: list[_E]) -> list[_E]:
        return [
            x
            for x in cev
            if x.e.type == "contact.answered" or (x.e.type == "message" and x.e.from_ == "agent")
        ]

    def agent_at(cev: list[_E], t: int) -> str | None:
        before = [x for x in responses(cev) if x.ts <= t]
        return max(before, key=lambda x: x.key).e.agent if before else None

    for f in facts.values():
        cev = f["events"]
        resp = [x for x in responses(cev) if x.ts >= f["qt"]]
        f["fr"] = min(resp, key=lambda x: x.key) if resp else None
        closing = [x for x in cev if x.e.type in ("contact.resolved", "contact.reopened")]
        last = max(closing, key=lambda x: x.key) if closing else None
        f["resolved"] = (
            last
            if last is not None and last.e.type == "contact.resolved" and last.e.resolved
            else None
        )

    # Samples: (ts, queue, agent, kind, value)
    samples: list[tuple[int, str | None, str | None, str, Any]] = []

    def add(ts: int, q: str | None, a: str | None, kind: str, v: Any = None) -> None:
        samples.append((ts, q, a, kind, v))

    for f in facts.values():
        cev, q, qt = f["events"], f["queue"], f["qt"]
        add(qt, q, None, "arrival", f["resolved"] is not None)
        fr = f["fr"]
        sold = any(x.e.type == "contact.sale" for x in cev)
        if fr is not None:
            frt = fr.ts - qt
            add(fr.ts, q, fr.e.agent, "answer", (frt, frt <= s.threshold_us(q), sold))
            unreplied: int | None = None
            for x in sorted(cev, key=lambda x: x.key):
                if x.key <= fr.key or x.e.type != "message":
                    continue
                if x.e.from_ == "customer":
                    if unreplied is None:
                        unreplied = x.ts
                elif unreplied is not None:
                    add(x.ts, q, x.e.agent, "reply", x.ts - unreplied)
                    unreplied = None
        abandons = [x for x in cev if x.e.type == "contact.abandoned"]
        if abandons:
            a0 = min(abandons, key=lambda x: x.key)
            if fr is None or fr.key > a0.key:
                wait = a0.ts - qt
                short = s.short_us(q) > 0 and wait <= s.short_us(q)
                add(a0.ts, q, None, "abandon", (short, wait <= s.threshold_us(q)))
        ends = [x for x in cev if x.e.type == "contact.ended"]
        if ends and fr is not None:
            e0 = min(ends, key=lambda x: x.key)
            add(e0.ts, q, e0.e.agent or agent_at(cev, e0.ts), "handle", e0.ts - fr.ts)
        res = f["resolved"]
        if res is not None:
            r = res.ts
            clean = not any(
                x.e.type in ("contact.reopened", "contact.transferred", "contact.escalated")
                for x in cev
            )
            repeat = f["customer"] is not None and any(
                o is not f
                and o["customer"] == f["customer"]
                and r < o["qt"] <= r + round(s.fcr_days * 86400 * SEC)
                for o in facts.values()
            )
            add(r, q, res.e.agent or agent_at(cev, r), "resolve", (r - qt, clean and not repeat))
        for x in cev:
            t = x.e.type
            who = x.e.agent or agent_at(cev, x.ts)
            if t == "contact.escalated":
                add(x.ts, q, who, "escalation")
            elif t == "contact.rated":
                if x.e.csat is not None:
                    add(x.ts, q, who, "csat", x.e.csat)
                if x.e.nps is not None:
                    add(x.ts, q, who, "nps", x.e.nps)
            elif t == "contact.sale":
                add(x.ts, q, x.e.agent, "sale", x.e.amount)

    for x in evs:
        if x.e.type == "contact.complaint":
            f = facts.get(x.e.contact) if x.e.contact is not None else None
            add(x.ts, f["queue"] if f else None, x.e.agent, "complaint")

    # Waiting now.
    waiting: list[tuple[str, int]] = []
    for f in facts.values():
        cev = f["events"]
        queued = [x for x in cev if x.e.type == "contact.queued"]
        latest_q = max(queued, key=lambda x: x.key)
        others = [
            x.ts
            for x in cev
            if x.e.type in ("contact.answered", "contact.abandoned", "contact.resolved")
            or (x.e.type == "message" and x.e.from_ == "agent")
        ]
        if all(latest_q.ts >= t for t in others):
            waiting.append((latest_q.e.queue, latest_q.ts))

    def nearest_rank(values: list[int], p: int) -> float | None:
        if not values:
            return None
        values = sorted(values)
        rank = math.ceil(Fraction(p, 100) * len(values))
        return values[rank - 1] / SEC

    def div(a: float, b: float) -> float | None:
        return a / b if b != 0 else None

    def mean_s(values: list[int]) -> float | None:
        return sum(values) / len(values) / SEC if values else None

    def figures(mine: list[tuple[int, str | None, str | None, str, Any]], formula: str) -> dict:
        inw = [x for x in mine if in_w(x[0])]

        def of(kind: str) -> list[Any]:
            return [x[4] for x in inw if x[3] == kind]

        arrivals = of("arrival")
        answers = of("answer")
        abandons = of("abandon")
        answered = len(answers)
        within = sum(1 for a in answers if a[1])
        abandoned = len(abandons)
        short = sum(1 for a in abandons if a[0])
        ab_within = sum(1 for a in abandons if a[1])
        if formula == "answered":
            sl = div(within, answered)
        elif formula == "abandons_good":
            sl = div(within + ab_within, answered + abandoned)
        elif formula == "abandons_ignored":
            sl = div(within, answered + abandoned - ab_within)
        else:
            sl = div(within, answered + abandoned - short)
        frts = [a[0] for a in answers]
        replies = of("reply")
        resolves = of("resolve")
        csats = of("csat")
        npss = of("nps")
        sales = of("sale")
        escalations = len(of("escalation"))
        return {
            "arrivals": len(arrivals),
            "answered": answered,
            "abandoned": abandoned,
            "short_abandoned": short,
            "answered_within": within,
            "service_level": sl,
            "asa": mean_s(frts),
            "first_response_p50": nearest_rank(frts, 50),
            "first_response_p90": nearest_rank(frts, 90),
            "reply_speed_mean": mean_s(replies),
            "reply_speed_p90": nearest_rank(replies, 90),
            "abandonment_rate": div(abandoned, answered + abandoned),
            "handled": answered,
            "aht": mean_s(of("handle")),
            "art": mean_s([r[0] for r in resolves]),
            "resolution_rate": div(sum(1 for a in arrivals if a), len(arrivals)),
            "fcr": div(sum(1 for r in resolves if r[1]), len(resolves)),
            "escalations": escalations,
            "escalation_rate": div(escalations, answered),
            "complaints": len(of("complaint")),
            "csat": div(sum(1 for c in csats if c >= 4), len(csats)),
            "nps": (
                100 * (sum(1 for n in npss if n >= 9) - sum(1 for n in npss if n <= 6)) / len(npss)
                if npss
                else None
            ),
            "sales": len(sales),
            "sales_amount": math.fsum(sales),
            "sales_conversion": div(sum(1 for a in answers if a[2]), answered),
        }

    # Time integrals for occupancy and uptime, over [start, now].
    def integrate(changes: list[tuple[int, Any]], weight: Any) -> tuple[int, int]:
        num = den = 0
        for k, (t, st) in enumerate(changes):
            end = changes[k + 1][0] if k + 1 < len(changes) else now
            a, b = max(t, start), min(end, now)
            if b > a:
                n, d = weight(st)
                num += (b - a) * n
                den += (b - a) * d
        return num, den

    def occupancy_weight(state: str) -> tuple[int, int]:
        return (int(state in ("busy", "wrap_up")), int(state in ("available", "busy", "wrap_up")))

    agent_changes: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for x in evs:
        if x.e.type == "agent.state":
            agent_changes[x.e.agent].append((x.ts, x.e.state))

    overall = figures(samples, s.sl_formula)
    overall["waiting"] = len(waiting)
    overall["longest_wait"] = max((now - t for _, t in waiting), default=None)
    if overall["longest_wait"] is not None:
        overall["longest_wait"] /= SEC
    occ_num = occ_den = 0
    agents: dict[str, dict] = {}
    agent_keys = [
        "answered",
        "handled",
        "answered_within",
        "asa",
        "first_response_p50",
        "first_response_p90",
        "reply_speed_mean",
        "reply_speed_p90",
        "aht",
        "art",
        "fcr",
        "escalations",
        "escalation_rate",
        "complaints",
        "csat",
        "nps",
        "sales",
        "sales_amount",
        "sales_conversion",
    ]
    for a in agent_names:
        full = figures([x for x in samples if x[2] == a], s.sl_formula)
        fig = {k: full[k] for k in agent_keys}
        changes = agent_changes.get(a, [])
        n, d = integrate(changes, occupancy_weight)
        occ_num += n
        occ_den += d
        fig["occupancy"] = div(n, d) if changes else None
        if changes:
            last = changes[-1][1]
            k = len(changes) - 1
            while k > 0 and changes[k - 1][1] == last:
                k -= 1
            fig["state"], fig["state_since"] = last, changes[k][0]
        else:
            fig["state"], fig["state_since"] = None, None
        agents[a] = fig
    overall["occupancy"] = div(occ_num, occ_den)

    queues: dict[str, dict] = {}
    for q in queue_names:
        fig = figures([x for x in samples if x[1] == q], s.formula(q))
        mine = [t for wq, t in waiting if wq == q]
        fig["waiting"] = len(mine)
        fig["longest_wait"] = max(now - t for t in mine) / SEC if mine else None
        queues[q] = fig

    services: dict[str, dict] = {}
    service_changes: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for x in evs:
        if x.e.type == "service.status":
            service_changes[x.e.service].append((x.ts, bool(x.e.up)))
    for name, changes in service_changes.items():
        up, known = integrate(changes, lambda u: (int(u), 1))
        services[name] = {"uptime": div(up, known)}

    return {"overall": overall, "queues": queues, "agents": agents, "services": services}


def horizon(now: int, windows: list[str], lookback_s: float, zone: ZoneInfo) -> int:
    """The documented look-back rule: earliest window start (inclusive) minus lookback.

    The engine always keeps a 1 h window for staffing and a ``gap_window`` one.
    """
    starts = []
    for w in [*windows, "1h"]:
        if w == "today":
            starts.append(local_day_start(now, zone))
        else:
            unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[w[-1]]
            starts.append(now - int(w[:-1]) * unit * SEC + 1)
    return min(starts) - round(lookback_s * SEC)
