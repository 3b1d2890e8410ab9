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
    p_wait: float | None
    expected_asa_s: float | None
    agents_logged_in: int


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
