"""Figures to words: formatting, target states, agent states and their glyphs.

No Textual here: these are pure functions the widgets and tests share.
A ``None`` figure is always shown as :data:`DASH`, never as 0 or 100%.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from wallboard.alert_eval import format_value
from wallboard.figure_units import COUNT_KEYS, SECONDS_KEYS, SHARE_KEYS
from wallboard.timeutil import US, to_datetime

DASH = "–"
"""What a null figure is shown as (an en dash)."""


class Level(Enum):
    """Where a figure stands against its target: shown by colour, glyph and word."""

    GOOD = ("good", "✓", "on target")
    NEAR = ("near", "▲", "near target")
    BAD = ("bad", "✗", "missing target")
    NONE = ("none", DASH, "no data")

    @property
    def css(self) -> str:
        """The CSS class suffix: ``-good``, ``-near``, ``-bad``, ``-none``."""
        return self.value[0]

    @property
    def glyph(self) -> str:
        """One cell that shows the level without colour."""
        return self.value[1]

    @property
    def word(self) -> str:
        """The level in words."""
        return self.value[2]


@dataclass(frozen=True, slots=True)
class Targets:
    """Thresholds for the headline figures. Per queue, an ``sl_target`` found in
    the queue's figures wins, and an ``sl_threshold`` scales the wait targets
    (``asa_s``, ``longest_wait_s``) by its ratio to ``sl_threshold_s``."""

    sl_target: float = 0.80
    """Service level target (share)."""
    sl_near: float = 0.05
    """Below target by at most this much is 'near'."""
    sl_threshold_s: float = 20.0
    """Answered within this many seconds counts (SPEC default)."""
    asa_s: float = 20.0
    """ASA target, seconds."""
    longest_wait_s: float = 60.0
    """Longest current wait target, seconds."""
    waiting: int = 5
    """Contacts waiting: more than this is 'near'..."""
    waiting_bad: int = 10
    """... and more than this is 'missing'."""
    abandon_rate: float = 0.05
    """Abandonment rate target (share)."""
    near_factor: float = 1.5
    """Lower-is-better figures: up to target x this is 'near'."""


@dataclass(frozen=True, slots=True)
class TileThresholds:
    """How long an agent may stay in wrap-up or away before the tile warns."""

    wrap_up_warn_s: float = 120.0
    wrap_up_crit_s: float = 300.0
    away_warn_s: float = 600.0
    away_crit_s: float = 1200.0

    def level(self, state: str, seconds: float | None) -> int:
        """0 normal, 1 warning, 2 critical."""
        if seconds is None:
            return 0
        if state == "wrap_up":
            warn, crit = self.wrap_up_warn_s, self.wrap_up_crit_s
        elif state == "away":
            warn, crit = self.away_warn_s, self.away_crit_s
        else:
            return 0
        return 2 if seconds >= crit else 1 if seconds >= warn else 0


@dataclass(frozen=True, slots=True)
class StateInfo:
    """How an agent state is shown."""

    key: str
    glyph: str
    word: str
    short: str


AGENT_STATES: dict[str, StateInfo] = {
    "available": StateInfo("available", "●", "AVAILABLE", "AVAIL"),
    "busy": StateInfo("busy", "◆", "BUSY", "BUSY"),
    "wrap_up": StateInfo("wrap_up", "✎", "WRAP-UP", "WRAP"),
    "away": StateInfo("away", "‖", "AWAY", "AWAY"),
    "offline": StateInfo("offline", "○", "OFFLINE", "OFF"),
}
UNKNOWN_STATE = StateInfo("unknown", "?", "UNKNOWN", "?")
STATE_ORDER = {key: i for i, key in enumerate(AGENT_STATES)}


def state_info(state: object) -> StateInfo:
    """The display of a state; anything unknown shows as ``?``."""
    return AGENT_STATES.get(state, UNKNOWN_STATE) if isinstance(state, str) else UNKNOWN_STATE


# ---------------------------------------------------------------------------
# numbers


def _num(value: object) -> float | None:
    """The value as a float, or None when it is null, NaN, a bool or not a number."""
    kind = type(value)
    if kind is float:
        return None if value != value else value  # type: ignore[return-value]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    if value is None or kind is bool:
        return None
    if isinstance(value, _NUMBER):
        return None if value != value else float(value)
    return None


_NUMBER = (int, float)


def pct(value: object, decimals: int = 0) -> str:
    """A share (0-1) as a percentage; floors, so 79.6% never shows as 80%."""
    v = _num(value)
    if v is None:
        return DASH
    scale = 10**decimals
    shown = math.floor(round(v * 100 * scale, 6)) / scale
    return f"{shown:.{decimals}f}%"


def count(value: object) -> str:
    """An integer count."""
    v = _num(value)
    return DASH if v is None else f"{round(v):d}"


def number(value: object, decimals: int = 1) -> str:
    """A plain number (NPS, amounts)."""
    v = _num(value)
    return DASH if v is None else f"{v:,.{decimals}f}"


def duration(value: object) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` from an hour)."""
    v = _num(value)
    if v is None:
        return DASH
    total = max(round(v), 0)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def short_duration(value: object) -> str:
    """Seconds compactly: ``45s``, ``4:10``, ``1h02``, ``3d``."""
    v = _num(value)
    if v is None:
        return DASH
    total = max(round(v), 0)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}:{total % 60:02d}"
    if total < 86400:
        return f"{total // 3600}h{total % 3600 // 60:02d}"
    return f"{total // 86400}d"


# Re-exported under the names the screens use.
PERCENT_KEYS = SHARE_KEYS
DURATION_KEYS = SECONDS_KEYS
METRIC_KEYS: tuple[str, ...] = (
    "service_level",
    "waiting",
    "longest_wait",
    "asa",
    "abandonment_rate",
    "arrivals",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_within",
    "first_response_p50",
    "first_response_p90",
    "reply_speed_mean",
    "reply_speed_p90",
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
    "occupancy",
)
"""Every SPEC section 3 figure, in the order the tables show them."""

LABELS: dict[str, str] = {
    "service_level": "SL",
    "waiting": "Waiting",
    "longest_wait": "Longest",
    "asa": "ASA",
    "abandonment_rate": "Aband%",
    "arrivals": "Arrived",
    "answered": "Answered",
    "abandoned": "Aband",
    "short_abandoned": "ShortAb",
    "answered_within": "InSL",
    "first_response_p50": "FR p50",
    "first_response_p90": "FR p90",
    "reply_speed_mean": "Reply",
    "reply_speed_p90": "Reply p90",
    "handled": "Handled",
    "aht": "AHT",
    "art": "ART",
    "resolution_rate": "Resolved",
    "fcr": "FCR",
    "escalations": "Escal",
    "escalation_rate": "Escal%",
    "complaints": "Compl",
    "csat": "CSAT",
    "nps": "NPS",
    "sales": "Sales",
    "sales_amount": "Sales amt",
    "sales_conversion": "Conv%",
    "occupancy": "Occ%",
}
"""Short column headings."""

NON_METRIC_KEYS = frozenset({"name", "team", "state", "state_since", "reason", "queues", "queue"})


def fmt(key: str, value: object) -> str:
    """Any figure, formatted by what its key measures."""
    if key in PERCENT_KEYS:
        return pct(value, 1)
    if key in DURATION_KEYS:
        return duration(value)
    if key in COUNT_KEYS:
        return count(value)
    if key == "sales_amount":
        return number(value, 2)
    if key == "nps":
        return number(value, 0)
    if isinstance(value, str):
        return value
    v = _num(value)
    if v is None:
        return DASH
    return count(v) if float(v).is_integer() else number(v, 2)


def alert_value(value: object, unit: str = "") -> str:
    """An alert's value or threshold with its unit: ``62%``, ``2:10``, ``7``
    (:func:`wallboard.alert_eval.format_value`); as given when the unit is unknown."""
    v = _num(value)
    if v is None:
        return DASH
    if unit in ("share", "seconds", "count"):
        return format_value(v, unit)
    return count(v) if float(v).is_integer() else f"{v:g}"


def sort_value(value: object) -> tuple[int, Any]:
    """A key that sorts numbers, then text, with nulls always last."""
    v = _num(value)
    if v is not None:
        return (0, v)
    if isinstance(value, str):
        return (1, value.casefold())
    return (2, 0)


# ---------------------------------------------------------------------------
# levels


def _lower_is_better(v: float | None, target: float, near_factor: float) -> Level:
    if v is None:
        return Level.NONE
    if v <= target:
        return Level.GOOD
    return Level.NEAR if v <= target * near_factor else Level.BAD


def _wait_target(target_s: float, figures: Mapping[str, Any], targets: Targets) -> float:
    """A wait target (ASA, longest wait) for these figures: the global one, scaled by
    the queue's own SL threshold against the global threshold when the figures carry
    one (``sl_threshold``). With the defaults a 20 s queue keeps 20 s / 60 s, a chat
    queue of 60 s gets 60 s / 3 min, an email queue of 1 h gets 1 h / 3 h."""
    own = _num(figures.get("sl_threshold"))
    base = targets.sl_threshold_s
    if own is None or own <= 0 or base <= 0:
        return target_s
    return target_s * own / base


def level_of(key: str, figures: Mapping[str, Any], targets: Targets) -> Level:
    """Where ``figures[key]`` stands against ``targets`` (per-figure overrides win)."""
    v = _num(figures.get(key))
    if key == "service_level":
        target = _num(figures.get("sl_target")) or targets.sl_target
        if v is None:
            return Level.NONE
        if v >= target - 1e-9:
            return Level.GOOD
        return Level.NEAR if v >= target - targets.sl_near else Level.BAD
    if key == "asa":
        return _lower_is_better(
            v, _wait_target(targets.asa_s, figures, targets), targets.near_factor
        )
    if key == "longest_wait":
        if v is None:  # nobody waiting is the best there is
            return Level.GOOD if _num(figures.get("waiting")) == 0 else Level.NONE
        target = _wait_target(targets.longest_wait_s, figures, targets)
        return _lower_is_better(v, target, targets.near_factor)
    if key == "waiting":
        if v is None:
            return Level.NONE
        return (
            Level.GOOD
            if v <= targets.waiting
            else Level.NEAR
            if v <= targets.waiting_bad
            else Level.BAD
        )
    if key == "abandonment_rate":
        return _lower_is_better(v, targets.abandon_rate, 2.0)
    return Level.NONE if v is None else Level.GOOD


# ---------------------------------------------------------------------------
# time


@lru_cache(maxsize=16384)
def _parse_since(text: str) -> int | None:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return int(dt.timestamp()) * US + dt.microsecond


def since_us(value: object) -> int | None:
    """``state_since`` as microseconds: an int (microseconds; small numbers are
    taken as Unix seconds), a float of Unix seconds, or RFC 3339 text."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) >= 10**14 else value * US
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return round(value) if abs(value) >= 1e14 else round(value * US)
    if isinstance(value, str):
        return _parse_since(value)
    return None


def seconds_in_state(figures: Mapping[str, Any], at_us: int) -> float | None:
    """Seconds from ``state_since`` to the snapshot's instant (None if unknown)."""
    start = since_us(figures.get("state_since"))
    if start is None:
        return None
    return max(at_us - start, 0) / US


def clock_text(ts_us: int, tz: ZoneInfo | None) -> str:
    """``HH:MM:SS`` in the zone."""
    return to_datetime(ts_us, tz).strftime("%H:%M:%S")


SL_FORMULAS: dict[str, str] = {
    "default": "answered ≤{t} / (answered + abandoned − short abandons)",
    "answered": "answered ≤{t} / answered",
    "abandons_good": "(answered ≤{t} + abandoned ≤{t}) / (answered + abandoned)",
    "abandons_ignored": "answered ≤{t} / (answered + abandoned − abandoned ≤{t})",
}


def formula_text(name: str, threshold_s: float) -> str:
    """The SL formula in force, in words (unknown names are shown as given)."""
    t = f"{threshold_s:g}s"
    template = SL_FORMULAS.get(name)
    return f"SL = {template.format(t=t)}" if template else f"SL formula: {name}"
