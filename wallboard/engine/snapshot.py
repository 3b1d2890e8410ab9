"""The immutable snapshot the engine hands to screens, alerts and `report`.

Widgets only ever read these values; they never reach into the engine.
Figures are plain mappings keyed by the SPEC section 3 names; a rate or a
mean with an empty denominator is ``None`` (shown as a dash, never 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Figures = Mapping[str, Any]
"""SPEC section 3 key -> value (int, float, str or None)."""


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """Every figure for one window ending at the snapshot's instant."""

    window: str
    """The window's name as configured: ``15m``, ``1h``, ``today``..."""
    start_us: int
    """Where the window starts (exclusive; ``today``: local midnight, inclusive)."""
    overall: Figures
    queues: Mapping[str, Figures]
    agents: Mapping[str, Figures]
    services: Mapping[str, Figures]


@dataclass(frozen=True, slots=True)
class Staffing:
    """Erlang C hint for one queue: agents needed now to meet the SL target."""

    queue: str
    arrival_rate_per_h: float | None
    aht_s: float | None
    traffic_erlangs: float | None
    agents_needed: int | None
    """Fewest agents meeting ``sl_target`` within ``sl_threshold`` (None: no AHT yet)."""
    p_wait: float | None
    expected_asa_s: float | None
    agents_logged_in: int
    """Agents not offline that serve the queue: its teams' members (config), and the
    agents who answered it in the last hour."""
    service_level: float | None = None
    """The SL that ``agents_needed`` agents would give."""


@dataclass(frozen=True, slots=True)
class SlSettings:
    """The service-level settings in force for a queue (SPEC section 3)."""

    sl_threshold_s: float
    sl_target: float
    short_abandon_s: float
    """0 when short abandons are not told apart."""
    sl_formula: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the board shows at one instant."""

    at_us: int
    """The instant ("now") the snapshot was computed for, microseconds UTC."""
    sl_formula: str
    """The service-level formula in force (SPEC: default, answered, ...)."""
    windows: Mapping[str, WindowFigures]
    """Window name -> its figures, in the configured order."""
    quarantined: int = 0
    staffing: Mapping[str, Staffing] = field(default_factory=dict)
    """Queue -> Erlang C hint from the last hour."""
    queue_sl: Mapping[str, SlSettings] = field(default_factory=dict)
    """Queue -> the service-level settings its figures were computed with."""
    gaps: Mapping[str, int] = field(default_factory=dict)
    """Product gaps: escalation category -> escalations within ``gap_window``, for the
    categories that reached ``gap_threshold``."""
    agent_names: Mapping[str, str] = field(default_factory=dict)
    """Agent -> display name (config, else the latest ``name`` its events gave)."""
    agent_teams: Mapping[str, str] = field(default_factory=dict)
    """Agent -> team (config ``[teams]``, else the latest ``team`` its events gave)."""
    queue_names: Mapping[str, str] = field(default_factory=dict)
    """Queue -> display name, for the queues the config names."""
