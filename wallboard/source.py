"""Where the screens get their data: the `SnapshotSource` protocol, and a static one.

The App never reaches into the store, the feeds or the engine: it asks a
:class:`SnapshotSource` for an immutable :class:`~wallboard.engine.snapshot.Snapshot`
at a steady cadence, for the alerts in force and for the feed's health.

:class:`StaticSource` builds realistic snapshots by hand (queues, agents in
every state, three windows, null figures, alerts), deterministically from a
seed and the instant asked for. The tests, ``bench/render.py`` and
``python -m wallboard.app`` use it; it needs no engine. This module does not
import Textual.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, runtime_checkable

from wallboard.engine.snapshot import Figures, SlSettings, Snapshot, WindowFigures
from wallboard.timeutil import US

Severity = Literal["warning", "critical"]


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as the screens show it."""

    id: str
    """Stable id, used to acknowledge it."""
    rule: str
    """The rule that raised it, e.g. ``service_level_below``, ``product_gap``."""
    scope: str
    """What it is about: ``overall``, ``queue:Sales``, ``agent:a17``, ``category:refunds``."""
    severity: Severity
    """``warning`` or ``critical``."""
    message: str
    """One line for people (may carry event-derived names: the screens sanitise it)."""
    raised_at_us: int
    """When it was raised, microseconds UTC."""
    value: float | None = None
    """The figure that broke the threshold, when there is one."""
    threshold: float | None = None
    """The threshold it broke."""
    acked_by: str | None = None
    """Who acknowledged it, or None while unacknowledged."""
    unit: str = ""
    """What ``value`` and ``threshold`` measure: ``share`` (0.62 is 62%), ``seconds``
    (shown as m:ss), ``count``, ``number``; empty when unknown (shown as given)."""


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """The health of the feed behind the board."""

    last_event_received_us: int | None
    """Wall clock when the feed last delivered anything (None: nothing yet)."""
    events: int = 0
    """Events received (stored) so far."""
    quarantined: int = 0
    """Lines refused into the quarantine so far."""
    description: str = ""
    """The feed, for people: ``file:/var/log/acd.jsonl``, ``simulator``..."""


@runtime_checkable
class SnapshotSource(Protocol):
    """What the App needs from the pipeline; the lead's live source implements it.

    ``snapshot`` is called on the UI thread at the refresh cadence (1-4 Hz) and
    must return quickly (well under 100 ms); ``alerts`` and ``status`` too.
    """

    def snapshot(self, now_us: int) -> Snapshot:
        """The figures at ``now_us`` (microseconds UTC) for every configured window."""
        ...

    def alerts(self) -> Sequence[AlertView]:
        """The alerts in force, newest first (may be empty)."""
        ...

    def acknowledge(self, alert_id: str, by: str) -> None:
        """Record that ``by`` acknowledged the alert ``alert_id``."""
        ...

    def status(self) -> FeedStatus:
        """The feed's health."""
        ...


# ---------------------------------------------------------------------------
# A hand-made source

QUEUE_NAMES = ("Sales", "Support", "Billing", "Email", "Tech", "Chat", "Retention", "VIP")
_FIRST = (
    "Alice", "Bilal", "Chen", "Dana", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Jo",
    "Kwame", "Lena", "Mateo", "Nia", "Olga", "Priya", "Quinn", "Rafael", "Sofia", "Tomás",
)  # fmt: skip
_LAST = (
    "Smith", "Okafor", "Wang", "Novak", "Haddad", "Kowalski", "Silva", "Tanaka", "Müller",
    "Dubois", "Jensen", "Rossi", "Kaur", "Moreau", "Ivanova", "García",
)  # fmt: skip
STATES = ("available", "busy", "wrap_up", "away", "offline")
_WINDOW_SCALE = {"15m": 1.0, "1h": 4.0, "today": 24.0}


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts (stable across runs)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def _queue_figures(name: str, scale: float, rng: random.Random, at_us: int) -> dict[str, Any]:
    if name == "Email":  # a quiet queue: every rate and mean is null
        return {
            "arrivals": 0, "answered": 0, "abandoned": 0, "short_abandoned": 0,
            "answered_within": 0, "service_level": None, "asa": None,
            "first_response_p50": None, "first_response_p90": None,
            "reply_speed_mean": None, "reply_speed_p90": None, "waiting": 0,
            "longest_wait": None, "abandonment_rate": None, "handled": 0, "aht": None,
            "art": None, "resolution_rate": None, "fcr": None, "escalations": 0,
            "escalation_rate": None, "complaints": 0, "csat": None, "nps": None,
            "sales": 0, "sales_amount": 0.0, "sales_conversion": None,
        }  # fmt: skip
    base = 10 + rng.randint(0, 60)
    arrivals = round(base * scale)
    abandoned = round(arrivals * rng.uniform(0.0, 0.15))
    short = round(abandoned * rng.uniform(0.0, 0.4))
    answered = max(arrivals - abandoned - rng.randint(0, 3), 0)
    within = round(answered * rng.uniform(0.55, 0.98))
    waiting = rng.choice((0, 0, 1, 2, 3, 5, 8, 13))
    wobble = _unit(name, at_us // (5 * US))
    longest = None if waiting == 0 else round(5 + wobble * 240, 1)
    escalations = rng.randint(0, max(answered // 10, 1))
    sales = rng.randint(0, max(answered // 5, 1)) if name in ("Sales", "Retention") else 0
    return {
        "arrivals": arrivals,
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "answered_within": within,
        "service_level": _ratio(within, answered + abandoned - short),
        "asa": round(rng.uniform(4, 45), 1) if answered else None,
        "first_response_p50": round(rng.uniform(3, 20), 1) if answered else None,
        "first_response_p90": round(rng.uniform(20, 90), 1) if answered else None,
        "reply_speed_mean": round(rng.uniform(10, 60), 1) if name == "Chat" else None,
        "reply_speed_p90": round(rng.uniform(60, 180), 1) if name == "Chat" else None,
        "waiting": waiting,
        "longest_wait": longest,
        "abandonment_rate": _ratio(abandoned, answered + abandoned),
        "handled": answered,
        "aht": round(rng.uniform(120, 600), 1) if answered else None,
        "art": round(rng.uniform(300, 3600), 1) if answered else None,
        "resolution_rate": round(rng.uniform(0.5, 0.95), 3) if arrivals else None,
        "fcr": round(rng.uniform(0.6, 0.9), 3) if answered else None,
        "escalations": escalations,
        "escalation_rate": _ratio(escalations, answered),
        "complaints": rng.randint(0, 2),
        "csat": round(rng.uniform(0.6, 0.97), 3),
        "nps": round(rng.uniform(-20, 70), 1),
        "sales": sales,
        "sales_amount": round(sales * rng.uniform(20, 200), 2),
        "sales_conversion": _ratio(sales, answered),
    }


def _sum_overall(queues: Mapping[str, Figures]) -> dict[str, Any]:
    tot: dict[str, float] = {}
    for figures in queues.values():
        for key in ("arrivals", "answered", "abandoned", "short_abandoned", "answered_within",
                    "waiting", "escalations", "complaints", "sales", "handled"):  # fmt: skip
            tot[key] = tot.get(key, 0) + (figures.get(key) or 0)
    ans, ab, short = tot["answered"], tot["abandoned"], tot["short_abandoned"]
    longest = [f["longest_wait"] for f in queues.values() if f.get("longest_wait") is not None]
    means = {}
    for key in ("asa", "aht", "art", "fcr", "csat", "nps", "first_response_p50",
                "first_response_p90", "resolution_rate"):  # fmt: skip
        vals = [f[key] for f in queues.values() if f.get(key) is not None]
        means[key] = round(sum(vals) / len(vals), 3) if vals else None
    return {
        **{k: int(v) for k, v in tot.items()},
        **means,
        "service_level": _ratio(tot["answered_within"], ans + ab - short),
        "longest_wait": max(longest) if longest else None,
        "abandonment_rate": _ratio(ab, ans + ab),
        "reply_speed_mean": None,
        "reply_speed_p90": None,
        "escalation_rate": _ratio(tot["escalations"], ans),
        "sales_amount": round(sum(f.get("sales_amount") or 0 for f in queues.values()), 2),
        "sales_conversion": _ratio(tot["sales"], ans),
    }


def _agent_state(seed: int, i: int, at_us: int, churn_s: float) -> tuple[str, int]:
    """A state and its start for agent ``i`` at ``at_us``; it changes every ~churn_s."""
    period = max(int(churn_s * US), US)
    phase = int(_unit(seed, i, "phase") * period)
    epoch = (at_us + phase) // period
    u = _unit(seed, i, epoch)
    state = STATES[0 if u < 0.3 else 1 if u < 0.65 else 2 if u < 0.78 else 3 if u < 0.9 else 4]
    since = epoch * period - phase
    # Some long spells, so that warning and critical tiles show up.
    extra = _unit(seed, i, "long")
    if state in ("wrap_up", "away") and extra < 0.5:
        since -= int((150 if state == "wrap_up" else 700) * US * (1 + 2 * extra))
    return state, since


def build_snapshot(
    at_us: int,
    *,
    agents: int = 40,
    queues: int = 6,
    seed: int = 7,
    windows: Sequence[str] = ("15m", "1h", "today"),
    sl_formula: str = "default",
    churn_s: float = 90.0,
    names: Mapping[str, str] | None = None,
    quarantined: int = 0,
) -> Snapshot:
    """A realistic snapshot made by hand, the same for the same arguments.

    Args:
        at_us: The instant of the snapshot; agent states move with it.
        agents: How many agents (ids ``a0001``...).
        queues: How many queues (up to 8 names, then ``Q9``...).
        seed: Changes every figure.
        windows: Window names, in order.
        sl_formula: The service-level formula named on screen.
        churn_s: Mean seconds between an agent's state changes.
        names: Agent id -> display name overrides (e.g. hostile names for tests).
        quarantined: The quarantine count to report.
    """
    queue_names = [QUEUE_NAMES[i] if i < len(QUEUE_NAMES) else f"Q{i + 1}" for i in range(queues)]
    teams = ("North", "South", "East", "West")
    agent_states = [_agent_state(seed, i, at_us, churn_s) for i in range(agents)]
    wins: dict[str, WindowFigures] = {}
    agent_names: dict[str, str] = {}
    agent_teams: dict[str, str] = {}
    for w_index, window in enumerate(windows):
        scale = _WINDOW_SCALE.get(window, 1.0 + w_index)
        rng = random.Random(f"{seed}:{window}")
        qfig = {q: _queue_figures(q, scale, rng, at_us) for q in queue_names}
        agent_figs: dict[str, Figures] = {}
        for i in range(agents):
            aid = f"a{i + 1:04d}"
            arng = random.Random(f"{seed}:{window}:{aid}")
            state, since = agent_states[i]
            handled = 0 if arng.random() < 0.08 else round(arng.randint(1, 14) * scale)
            name = (names or {}).get(aid) or (
                f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST) + i) % len(_LAST)]}"
            )
            agent_names[aid] = name
            agent_teams[aid] = teams[i % len(teams)]
            agent_figs[aid] = {
                "state": state,
                "state_since": since,
                "reason": "lunch" if state == "away" and i % 3 == 0 else None,
                "queues": [queue_names[i % queues], queue_names[(i + 1) % queues]]
                if queues
                else [],
                "handled": handled,
                "answered": handled,
                "asa": round(arng.uniform(3, 40), 1) if handled else None,
                "aht": round(arng.uniform(90, 720), 1) if handled else None,
                "csat": round(arng.uniform(0.55, 1.0), 3) if handled > 2 else None,
                "nps": round(arng.uniform(-30, 80), 1) if handled > 2 else None,
                "occupancy": round(arng.uniform(0.3, 0.98), 3) if state != "offline" else None,
                "fcr": round(arng.uniform(0.5, 0.95), 3) if handled else None,
                "escalations": arng.randint(0, 2),
                "complaints": 1 if arng.random() < 0.05 else 0,
                "sales": arng.randint(0, 3),
                "sales_amount": round(arng.uniform(0, 400), 2),
            }
        wins[window] = WindowFigures(
            window=window,
            start_us=at_us - int(900 * scale * US),
            overall=_sum_overall(qfig),
            queues=qfig,
            agents=agent_figs,
            services={"ACD": {"uptime": 1.0}, "CRM": {"uptime": round(0.9 + 0.1 * scale / 24, 4)}},
        )
    queue_sl = {
        q: SlSettings(
            sl_threshold_s=3600.0 if q == "Email" else 60.0 if q == "Chat" else 20.0,
            sl_target=0.9 if q == "Email" else 0.8,
            short_abandon_s=5.0,
            sl_formula=sl_formula,
        )
        for q in queue_names
    }
    return Snapshot(
        at_us=at_us,
        sl_formula=sl_formula,
        windows=wins,
        quarantined=quarantined,
        queue_sl=queue_sl,
        agent_names=agent_names,
        agent_teams=agent_teams,
        queue_names={"VIP": "VIP line"} if "VIP" in queue_names else {},
    )


def demo_alerts(at_us: int) -> list[AlertView]:
    """A few alerts of both severities, for the static source."""
    return [
        AlertView(
            id="al-2",
            rule="service_level_below",
            scope="queue:Support",
            severity="critical",
            message="Support: service level 62% below target 80%",
            raised_at_us=at_us - 95 * US,
            value=0.62,
            threshold=0.80,
            unit="share",
        ),
        AlertView(
            id="al-1",
            rule="longest_wait_above",
            scope="queue:Sales",
            severity="warning",
            message="Sales: longest wait 2:10 above 1:00",
            raised_at_us=at_us - 400 * US,
            value=130.0,
            threshold=60.0,
            unit="seconds",
        ),
        AlertView(
            id="al-0",
            rule="product_gap",
            scope="category:refunds",
            severity="warning",
            message="Product gap: 6 escalations about 'refunds' in 1h",
            raised_at_us=at_us - 1800 * US,
            value=6.0,
            threshold=5.0,
            acked_by="sam",
            unit="count",
        ),
    ]


class StaticSource:
    """A :class:`SnapshotSource` made by hand, for tests, benchmarks and development.

    Either it always returns ``snapshot``, or it builds one per call with
    :func:`build_snapshot` (``build`` keyword arguments).
    """

    def __init__(
        self,
        snapshot: Snapshot | None = None,
        *,
        alerts: Sequence[AlertView] | None = None,
        last_event_us: int | Literal["now"] | None = "now",
        events: int = 12_345,
        description: str = "static demo source",
        history: bool = True,
        **build: Any,
    ) -> None:
        self._snapshot = snapshot
        self._build = build
        self._alerts: list[AlertView] | None = list(alerts) if alerts is not None else None
        self._last_event_us = last_event_us
        self._events = events
        self._description = description
        self._history = history
        self._last_at = snapshot.at_us if snapshot is not None else 0
        self.calls = 0
        """How many snapshots were asked for (tests check the cadence)."""
        self.acks: list[tuple[str, str]] = []
        """(alert id, by) in the order acknowledged."""

    def snapshot(self, now_us: int) -> Snapshot:
        """A snapshot at ``now_us`` (the fixed one, if given)."""
        self.calls += 1
        self._last_at = now_us
        if self._snapshot is not None:
            return self._snapshot
        return build_snapshot(now_us, **self._build)

    def alerts(self) -> Sequence[AlertView]:
        """The alerts given, or a demo set built around the last instant asked for."""
        if self._alerts is None:
            self._alerts = demo_alerts(self._last_at)
        return tuple(self._alerts)

    def acknowledge(self, alert_id: str, by: str) -> None:
        """Mark the alert acknowledged by ``by``."""
        self.acks.append((alert_id, by))
        self._alerts = [replace(a, acked_by=by) if a.id == alert_id else a for a in self.alerts()]

    def status(self) -> FeedStatus:
        """The feed's health: last event at ``last_event_us`` ("now": the last instant asked)."""
        last = self._last_at if self._last_event_us == "now" else self._last_event_us
        return FeedStatus(
            last_event_received_us=last,
            events=self._events,
            quarantined=self._snapshot.quarantined if self._snapshot else 0,
            description=self._description,
        )

    def history(
        self, kind: str, key: str, metric: str, window: str, points: int
    ) -> Sequence[float | None]:
        """Made-up samples, one a minute up to the last instant (the optional
        ``history`` hook the drill-down uses when a source has it)."""
        if not self._history:
            return ()
        out: list[float | None] = []
        level = _unit(kind, key, metric)
        for i in range(min(points, 120)):
            step = _unit(kind, key, metric, window, i) - 0.5
            level = min(max(level + step * 0.2, 0.0), 1.0)
            if metric == "service_level":
                out.append(None if i in (40, 41) else round(0.55 + 0.45 * level, 3))
            elif metric == "waiting":
                out.append(float(round(level * 15)))
            else:
                out.append(float(round(level * 40)))
        return out

    def set_alerts(self, alerts: Sequence[AlertView]) -> None:
        """Replace the alerts in force (tests of the bell and the lists)."""
        self._alerts = list(alerts)

    def set_last_event(self, last_event_us: int | Literal["now"] | None) -> None:
        """Move the feed's last delivery (tests of the stale banner)."""
        self._last_event_us = last_event_us
