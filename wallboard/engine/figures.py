"""From a window's sums to the SPEC section 3 figures, and which keys each scope shows.

A rate or mean with an empty denominator is None; durations are seconds;
percentiles are nearest-rank (value at rank ceil(p/100 * n)).
"""

from __future__ import annotations

from typing import Any, Final

from wallboard.engine.windows import Stats
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
    if formula == "answered":
        return _ratio(st.answered_within, st.answered)
    if formula == "abandons_good":
        return _ratio(st.answered_within + st.abandoned_within, st.answered + st.abandoned)
    if formula == "abandons_ignored":
        return _ratio(st.answered_within, st.answered + st.abandoned - st.abandoned_within)
    return _ratio(st.answered_within, st.answered + st.abandoned - st.short_abandoned)


def queue_figures(st: Stats, formula: str) -> dict[str, Any]:
    """The windowed keys of an overall or queue scope (``waiting``... are added later)."""
    answered = st.answered
    return {
        "arrivals": st.arrivals,
        "answered": answered,
        "abandoned": st.abandoned,
        "short_abandoned": st.short_abandoned,
        "answered_within": st.answered_within,
        "service_level": service_level(st, formula),
        "asa": _seconds(st.fr_sum, answered),
        "first_response_p50": percentile(st.fr_vals, 50),
        "first_response_p90": percentile(st.fr_vals, 90),
        "reply_speed_mean": _seconds(st.reply_sum, len(st.reply_vals)),
        "reply_speed_p90": percentile(st.reply_vals, 90),
        "waiting": 0,
        "longest_wait": None,
        "abandonment_rate": _ratio(st.abandoned, answered + st.abandoned),
        "handled": answered,
        "aht": _seconds(st.handle_sum, st.handle_n),
        "art": _seconds(st.art_sum, st.art_n),
        "resolution_rate": _ratio(st.resolved_arrivals, st.arrivals),
        "fcr": _ratio(st.fcr_n, st.art_n),
        "escalations": st.escalations,
        "escalation_rate": _ratio(st.escalations, answered),
        "complaints": st.complaints,
        "csat": _ratio(st.csat_good, st.csat_n),
        "nps": 100 * (st.nps_pro - st.nps_det) / st.nps_n if st.nps_n else None,
        "sales": st.sales,
        "sales_amount": float(st.sales_amount),
        "sales_conversion": _ratio(st.sold, answered),
    }


def agent_figures(st: Stats) -> dict[str, Any]:
    """The windowed keys of an agent (``occupancy``, ``state``... are added later)."""
    answered = st.answered
    return {
        "answered": answered,
        "handled": answered,
        "answered_within": st.answered_within,
        "asa": _seconds(st.fr_sum, answered),
        "first_response_p50": percentile(st.fr_vals, 50),
        "first_response_p90": percentile(st.fr_vals, 90),
        "reply_speed_mean": _seconds(st.reply_sum, len(st.reply_vals)),
        "reply_speed_p90": percentile(st.reply_vals, 90),
        "aht": _seconds(st.handle_sum, st.handle_n),
        "art": _seconds(st.art_sum, st.art_n),
        "fcr": _ratio(st.fcr_n, st.art_n),
        "escalations": st.escalations,
        "escalation_rate": _ratio(st.escalations, answered),
        "complaints": st.complaints,
        "csat": _ratio(st.csat_good, st.csat_n),
        "nps": 100 * (st.nps_pro - st.nps_det) / st.nps_n if st.nps_n else None,
        "sales": st.sales,
        "sales_amount": float(st.sales_amount),
        "sales_conversion": _ratio(st.sold, answered),
    }


EMPTY: Final = Stats()
"""The sums of a scope with nothing in a window (never mutated)."""
