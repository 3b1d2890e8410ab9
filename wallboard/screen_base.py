"""What every wallboard screen shares: the view it is given, the base screen, history.

The App builds one :class:`BoardView` per refresh and hands it down to the
screen on top (attributes down); screens never call the source themselves.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from textual.css.query import NoMatches
from textual.screen import Screen

from wallboard.alert_rules import concerns_agent
from wallboard.engine.snapshot import Figures, Snapshot, WindowFigures
from wallboard.source import AlertView, FeedStatus
from wallboard.widgets.format import clock_text, formula_text
from wallboard.widgets.header import BoardHeader, StaleBanner

if TYPE_CHECKING:
    from wallboard.app import WallboardApp

EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True)
class BoardView:
    """Everything a screen shows at one refresh."""

    snapshot: Snapshot | None
    """The figures (None until the first snapshot arrives)."""
    window: str
    """The window in force (a key of ``snapshot.windows`` when it has it)."""
    alerts: tuple[AlertView, ...] = ()
    status: FeedStatus | None = None
    now_us: int = 0
    """The App's clock at this refresh."""
    stale: str | None = None
    """The stale-feed message, or None while the feed is fresh."""
    paused: bool = False
    error: str | None = None
    """A one-line source error, shown in the banner."""
    tick: int = 0
    """Refresh counter (drives the alert ticker's rotation)."""
    page: int = 0
    """The page wanted on paged screens (turned every ``page_seconds``)."""

    @property
    def figures(self) -> WindowFigures | None:
        """The window in force (the first one if that window is missing)."""
        snap = self.snapshot
        if snap is None or not snap.windows:
            return None
        wf = snap.windows.get(self.window)
        if wf is None:
            wf = next(iter(snap.windows.values()))
        return wf

    @property
    def windows(self) -> tuple[str, ...]:
        """The window names in the snapshot, in order."""
        return tuple(self.snapshot.windows) if self.snapshot else ()

    @property
    def overall(self) -> Figures:
        """The overall figures of the window in force."""
        wf = self.figures
        return wf.overall if wf else EMPTY

    @cached_property
    def queues(self) -> Mapping[str, Figures]:
        """Queue -> figures for the window in force, with the queue's own
        ``sl_target`` and ``sl_threshold`` added when the snapshot has them."""
        wf = self.figures
        if wf is None:
            return EMPTY
        settings = getattr(self.snapshot, "queue_sl", None) or EMPTY
        if not settings:
            return wf.queues
        out: dict[str, Figures] = {}
        for q, figures in wf.queues.items():
            sl = settings.get(q)
            if sl is None:
                out[q] = figures
            else:
                out[q] = {
                    **figures,
                    "sl_target": getattr(sl, "sl_target", None),
                    "sl_threshold": getattr(sl, "sl_threshold_s", None),
                }
        return out

    @property
    def agent_names(self) -> Mapping[str, str]:
        """Agent id -> display name, from the snapshot (may be empty)."""
        return getattr(self.snapshot, "agent_names", None) or EMPTY

    def agent_name(self, agent_id: str) -> str:
        """The agent's display name (raw: clean it before showing)."""
        name = self.agent_names.get(agent_id)
        if not name:
            name = self.agents.get(agent_id, EMPTY).get("name")
        return name if isinstance(name, str) and name else agent_id

    def agent_team(self, agent_id: str) -> str | None:
        """The agent's team, if known (raw)."""
        teams: Mapping[str, str] = getattr(self.snapshot, "agent_teams", None) or EMPTY
        team = teams.get(agent_id) or self.agents.get(agent_id, EMPTY).get("team")
        return team if isinstance(team, str) and team else None

    def queue_name(self, queue: str) -> str:
        """The queue's display name (raw)."""
        names: Mapping[str, str] = getattr(self.snapshot, "queue_names", None) or EMPTY
        name = names.get(queue)
        return name if isinstance(name, str) and name else queue

    def queues_of(self, agent_id: str) -> tuple[str, ...]:
        """The agent's queues (raw ids): the snapshot's ``agent_queues`` when it has
        the agent (sorted), else the ``queues`` in the agent's figures (in order)."""
        mapping: Mapping[str, Any] = getattr(self.snapshot, "agent_queues", None) or EMPTY
        queues = mapping.get(agent_id)
        if queues is None:
            queues = self.agents.get(agent_id, EMPTY).get("queues")
        if isinstance(queues, (set, frozenset)):
            queues = sorted(q for q in queues if isinstance(q, str))
        if not isinstance(queues, (list, tuple)):
            return ()
        return tuple(dict.fromkeys(q for q in queues if isinstance(q, str)))

    def alerts_for_agent(self, agent_id: str) -> tuple[AlertView, ...]:
        """The alerts about the agent or one of their queues."""
        queues = self.queues_of(agent_id)
        return tuple(a for a in self.alerts if concerns_agent(a.scope, agent_id, queues))

    @property
    def queue_names(self) -> Mapping[str, str]:
        """Queue -> display name, for the queues that have one."""
        return getattr(self.snapshot, "queue_names", None) or EMPTY

    @property
    def agents(self) -> Mapping[str, Figures]:
        """Agent id -> figures for the window in force."""
        wf = self.figures
        return wf.agents if wf else EMPTY

    @property
    def quarantined(self) -> int:
        """Lines refused into the quarantine (the larger of snapshot's and feed's count)."""
        counts = [
            getattr(self.snapshot, "quarantined", 0) or 0,
            getattr(self.status, "quarantined", 0) or 0,
        ]
        return max(int(c) for c in counts if isinstance(c, (int, float)))

    @property
    def at_us(self) -> int:
        """The snapshot's instant (the clock before the first one)."""
        return self.snapshot.at_us if self.snapshot else self.now_us


class BoardScreen(Screen[None]):
    """A screen that shows :class:`BoardView` s; subclasses fill :meth:`show`."""

    @property
    def board(self) -> WallboardApp:
        """The app, typed."""
        return cast("WallboardApp", self.app)

    def update_view(self, view: BoardView) -> None:
        """Show the view: header and banner here, the rest in :meth:`show`."""
        try:
            self.show_chrome(view)
            self.show(view)
        except NoMatches:  # not composed yet: the resume handler catches up
            pass

    def show_chrome(self, view: BoardView) -> None:
        """The header line and the stale banner, if the screen has them."""
        for header in self.query(BoardHeader):
            sl_t = view.overall.get("sl_threshold")
            threshold = (
                sl_t
                if isinstance(sl_t, (int, float)) and not isinstance(sl_t, bool)
                else self.board.targets.sl_threshold_s
            )
            formula = (
                formula_text(view.snapshot.sl_formula, float(threshold)) if view.snapshot else ""
            )
            header.show(
                clock=clock_text(view.at_us, self.board.tz),
                window=view.window,
                formula=formula,
                paused=view.paused,
                extra=self.header_extra(view),
                quarantined=view.quarantined,
            )
        for banner in self.query(StaleBanner):
            banner.show(view.error or view.stale)

    def header_extra(self, view: BoardView) -> str:
        """Extra words for the header (e.g. the agent view's name)."""
        return ""

    def show(self, view: BoardView) -> None:
        """Show the figures (subclasses)."""

    def on_screen_resume(self) -> None:
        """Back on top: show the latest view at once, not at the next tick."""
        view = self.board.view
        if view is not None:
            self.update_view(view)


HISTORY_METRICS = ("service_level", "waiting", "handled")


@dataclass
class History:
    """Samples of a few figures, one per ``step_us``, for the drill-down sparklines.

    Overall and queue series keep SL, waiting and handled; agents keep handled
    only (2,000 agents x 240 samples is 2 MB as float arrays).
    """

    step_us: int = 60_000_000
    points: int = 240
    _last_bucket: int = -1
    _series: dict[tuple[str, str, str], deque[float | None]] = field(default_factory=dict)
    _agents: dict[str, array[float]] = field(default_factory=dict)

    def record(self, view: BoardView) -> None:
        """Take a sample if a new step has begun."""
        snap = view.snapshot
        if snap is None or not snap.windows:
            return
        bucket = snap.at_us // self.step_us
        if bucket == self._last_bucket:
            return
        self._last_bucket = bucket
        wf = next(iter(snap.windows.values()))  # the shortest window: the liveliest line
        self._add("overall", "", wf.overall)
        for name, figures in wf.queues.items():
            self._add("queue", name, figures)
        for aid, figures in wf.agents.items():
            series = self._agents.get(aid)
            if series is None:
                series = self._agents[aid] = array("f")
            handled = figures.get("handled")
            series.append(float(handled) if isinstance(handled, (int, float)) else float("nan"))
            if len(series) > self.points:
                del series[: len(series) - self.points]

    def _add(self, kind: str, name: str, figures: Figures) -> None:
        for metric in HISTORY_METRICS:
            key = (kind, name, metric)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = deque(maxlen=self.points)
            value = figures.get(metric)
            if metric == "handled" and value is None:
                value = figures.get("answered")
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            series.append(float(value) if ok else None)

    def series(self, kind: str, name: str, metric: str) -> Sequence[float | None]:
        """The samples, oldest first (None where the figure was null)."""
        if kind == "agent":
            if metric != "handled":
                return ()
            return [None if v != v else v for v in self._agents.get(name, ())]
        return list(self._series.get((kind, name, metric), ()))
