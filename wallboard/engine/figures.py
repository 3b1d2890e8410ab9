"""From a window's sums to the SPEC section 3 figures, and which keys each scope shows.

A rate or mean with an empty denominator is None; durations are seconds;
percentiles are nearest-rank (value at rank ceil(p/100 * n)).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from wallboard.engine.windows import (
    ABANDONED,
    ABANDONED_WITHIN,
    ANSWERED,
    ANSWERED_WITHIN,
    ARRIVALS,
    ART_N,
    ART_SUM,
    COMPLAINTS,
    CSAT_GOOD,
    CSAT_N,
    ESCALATIONS,
    FCR_N,
    FR_SUM,
    FR_VALUES,
    HANDLE_N,
    HANDLE_SUM,
    NPS_DET,
    NPS_N,
    NPS_PRO,
    REPLY_N,
    REPLY_SUM,
    REPLY_VALUES,
    RESOLVED_ARRIVALS,
    SALES,
    SALES_AMOUNT,
    SHORT_ABANDONED,
    SOLD,
    Stats,
)
from wallboard.timeutil import US

QUEUE_KEYS: Final = (
    "arrivals",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_within",
    "service_level",
    "asa",
    "first_response_p50",
    "first_response_p90",
    "reply_speed_mean",
    "reply_speed_p90",
    "waiting",
    "longest_wait",
    "abandonment_rate",
    "handled",
    "aht",
    "art",
    "resolution_rate",
    "fcr",
    "escalations",
    "escalation_rate",
    "complaints",
    "csat",
    "nps",
    "sales",
    "sales_amount",
    "sales_conversion",
)
"""Keys of every queue's figures."""

OVERALL_KEYS: Final = (*QUEUE_KEYS, "occupancy")
"""Keys of the overall figures: the queue keys and the centre's occupancy."""

AGENT_KEYS: Final = (
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
    "occupancy",
    "state",
    "state_since",
)
"""Keys of every agent's figures: those whose events name an agent (docs/metrics.md)."""

SERVICE_KEYS: Final = ("uptime",)

NOW_QUEUE_KEYS: Final = ("waiting", "longest_wait")
NOW_AGENT_KEYS: Final = ("occupancy", "state", "state_since")
AGENT_WINDOW_KEYS: Final = tuple(k for k in AGENT_KEYS if k not in NOW_AGENT_KEYS)
_AGENT_INDEX: Final = {k: i for i, k in enumerate(AGENT_WINDOW_KEYS)}


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _seconds(total_us: int, n: int) -> float | None:
    return total_us / n / US if n else None


def percentile(values: Any, p: int) -> float | None:
    """Nearest rank over a sorted sequence of microseconds, in seconds."""
    n = len(values)
    if not n:
        return None
    return values[-(-p * n // 100) - 1] / US


def service_level(st: Stats, formula: str) -> float | None:
    """The SL under one of the formulas of ``wallboard.config.SL_FORMULAS``."""
    within, answered, abandoned = st[ANSWERED_WITHIN], st[ANSWERED], st[ABANDONED]
    if formula == "answered":
        return _ratio(within, answered)
    if formula == "abandons_good":
        return _ratio(within + st[ABANDONED_WITHIN], answered + abandoned)
    if formula == "abandons_ignored":
        return _ratio(within, answered + abandoned - st[ABANDONED_WITHIN])
    return _ratio(within, answered + abandoned - st[SHORT_ABANDONED])


def queue_figures(st: Stats, formula: str) -> dict[str, Any]:
    """The windowed keys of an overall or queue scope (``waiting``... are added later)."""
    answered = st[ANSWERED]
    abandoned = st[ABANDONED]
    fr = st[FR_VALUES]
    reply = st[REPLY_VALUES]
    nps_n = st[NPS_N]
    return {
        "arrivals": st[ARRIVALS],
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": st[SHORT_ABANDONED],
        "answered_within": st[ANSWERED_WITHIN],
        "service_level": service_level(st, formula),
        "asa": _seconds(st[FR_SUM], answered),
        "first_response_p50": percentile(fr, 50),
        "first_response_p90": percentile(fr, 90),
        "reply_speed_mean": _seconds(st[REPLY_SUM], st[REPLY_N]),
        "reply_speed_p90": percentile(reply, 90),
        "waiting": 0,
        "longest_wait": None,
        "abandonment_rate": _ratio(abandoned, answered + abandoned),
        "handled": answered,
        "aht": _seconds(st[HANDLE_SUM], st[HANDLE_N]),
        "art": _seconds(st[ART_SUM], st[ART_N]),
        "resolution_rate": _ratio(st[RESOLVED_ARRIVALS], st[ARRIVALS]),
        "fcr": _ratio(st[FCR_N], st[ART_N]),
        "escalations": st[ESCALATIONS],
        "escalation_rate": _ratio(st[ESCALATIONS], answered),
        "complaints": st[COMPLAINTS],
        "csat": _ratio(st[CSAT_GOOD], st[CSAT_N]),
        "nps": 100 * (st[NPS_PRO] - st[NPS_DET]) / nps_n if nps_n else None,
        "sales": st[SALES],
        "sales_amount": float(st[SALES_AMOUNT]),
        "sales_conversion": _ratio(st[SOLD], answered),
    }


class AgentWindowed(Mapping[str, Any]):
    """An agent's windowed figures: a read-only mapping over a tuple (thousands of
    agents in every window are cached between snapshots: a dict each costs 4x)."""

    __slots__ = ("_values",)

    def __init__(self, values: tuple[Any, ...]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[_AGENT_INDEX[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(AGENT_WINDOW_KEYS)

    def __len__(self) -> int:
        return len(AGENT_WINDOW_KEYS)

    def __repr__(self) -> str:
        return f"AgentWindowed({dict(self)!r})"


def agent_figures(st: Stats) -> AgentWindowed:
    """The windowed keys of an agent (``occupancy``, ``state``... are added later):
    each is computed as a queue's is (the SL formula does not enter them)."""
    figures = queue_figures(st, "answered")
    return AgentWindowed(tuple(figures[k] for k in AGENT_WINDOW_KEYS))
