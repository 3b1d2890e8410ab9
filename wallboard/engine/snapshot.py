"""The immutable snapshot the engine hands to screens, alerts and `report`.

Widgets only ever read these values; they never reach into the engine.
Figures are plain mappings keyed by the SPEC section 3 names; a rate or a
mean with an empty denominator is ``None`` (shown as a dash, never 0).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Figures = Mapping[str, Any]
"""SPEC section 3 key -> value (int, float, str or None)."""


class AgentFigures(Mapping[str, Any]):
    """One agent's figures in one window: the windowed ones (shared with other
    snapshots, never mutated) and the "now" ones captured at the snapshot.

    A read-only mapping, cheaper to build for thousands of agents than a dict.
    """

    __slots__ = ("_base", "_now")

    def __init__(
        self,
        base: Mapping[str, Any],
        occupancy: float | None,
        state: str | None,
        state_since: int | None,
    ) -> None:
        self._base = base
        self._now = (occupancy, state, state_since)

    def __getitem__(self, key: str) -> Any:
        if key == "occupancy":
            return self._now[0]
        if key == "state":
            return self._now[1]
        if key == "state_since":
            return self._now[2]
        return self._base[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._base
        yield from ("occupancy", "state", "state_since")

    def __len__(self) -> int:
        return len(self._base) + 3

    def __repr__(self) -> str:
        return f"AgentFigures({dict(self)!r})"


class AgentsView(Mapping[str, AgentFigures]):
    """Every agent's figures in one window, built on access from captured values.

    Holds a copy of the windowed figures by agent (themselves never mutated),
    the occupancy computed for this window and the agents' "now" values, so
    it is a value; an agent's :class:`AgentFigures` is made when read.
    """

    __slots__ = ("_bases", "_empty", "_now", "_occupancy")

    def __init__(
        self,
        bases: dict[str, Mapping[str, Any]],
        empty: Mapping[str, Any],
        occupancy: dict[str, float | None],
        now: Mapping[str, tuple[str | None, int | None]],
    ) -> None:
        self._bases = bases
        self._empty = empty
        self._occupancy = occupancy
        self._now = now

    def __getitem__(self, agent: str) -> AgentFigures:
        state, since = self._now[agent]
        return AgentFigures(
            self._bases.get(agent, self._empty), self._occupancy.get(agent), state, since
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._now)

    def __len__(self) -> int:
        return len(self._now)

    def __contains__(self, agent: object) -> bool:
        return agent in self._now


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
    """Service -> ``uptime`` in this window (``Snapshot.services_now``: its status now)."""


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
    services_now: Mapping[str, Figures] = field(default_factory=dict)
    """Service -> ``{"status": "up" | "down", "status_since": microseconds}``: its
    latest status and when it entered it (a repeated status does not move it)."""
    agent_queues: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Agent -> the queues they serve: their teams' queues (config ``[teams]``) and
    the queues of the contacts they gave a first response to within the last hour.
    Agents serving no queue are left out."""
