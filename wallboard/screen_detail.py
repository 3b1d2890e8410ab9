"""Screens pushed over the supervisor: a queue's or an agent's details.

The drill-down shows every figure for every window side by side, and
sparklines of the last hours (service level, waiting, handled) from the
App's history (or the source's, when it offers one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Sparkline, Static

from wallboard.screen_base import BoardScreen, BoardView
from wallboard.widgets.format import (
    DASH,
    LABELS,
    METRIC_KEYS,
    duration,
    fmt,
    seconds_in_state,
    state_info,
)
from wallboard.widgets.header import BoardHeader, StaleBanner
from wallboard.widgets.sanitize import clean

SPARK_METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "overall": (("service_level", "Service level"), ("waiting", "Waiting"), ("handled", "Handled")),
    "queue": (("service_level", "Service level"), ("waiting", "Waiting"), ("handled", "Handled")),
    "agent": (("handled", "Handled"),),
}


class SparkPanel(Vertical):
    """A titled sparkline with its first, lowest, highest and latest values."""

    DEFAULT_CSS = """
    SparkPanel { height: 4; padding: 0 1; }
    SparkPanel > Static { height: 1; }
    SparkPanel > Sparkline { height: 2; }
    """

    def __init__(self, metric: str, title: str) -> None:
        super().__init__(id=f"spark-{metric}")
        self.metric = metric
        self.title = title

    def compose(self) -> ComposeResult:
        """Caption and line."""
        yield Static(Text(self.title, end=""))
        yield Sparkline([], summary_function=max)

    def show(self, series: Sequence[float | None]) -> None:
        """Plot the non-null samples; the caption says how many there are."""
        values = [v for v in series if v is not None]
        caption = Text(end="")
        caption.append(self.title, style="bold")
        if len(values) >= 2:
            caption.append(
                f"  now {fmt(self.metric, values[-1])}"
                f"  low {fmt(self.metric, min(values))}"
                f"  high {fmt(self.metric, max(values))}"
                f"  ({len(values)} samples, oldest first)"
            )
        else:
            caption.append(f"  {DASH} collecting samples (one a minute)")
            values = []
        self.query_one(Static).update(caption)
        self.query_one(Sparkline).data = values


class DetailScreen(BoardScreen):
    """One queue's or one agent's figures, for every window, with sparklines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "Back", id="detail.back"),
    ]
    DEFAULT_CSS = """
    DetailScreen #figures { height: 1fr; padding: 0 1; }
    DetailScreen #sparks { height: auto; }
    """

    def __init__(self, kind: str, key: str) -> None:
        super().__init__()
        self.kind = kind
        """``queue`` or ``agent``."""
        self.key = key

    def compose(self) -> ComposeResult:
        """Header, figures, sparklines, footer."""
        yield BoardHeader(f"{self.kind.upper()}", id="header")
        yield StaleBanner(id="stale")
        with VerticalScroll(id="figures"):
            yield Static(id="table")
        with Vertical(id="sparks"):
            for metric, title in SPARK_METRICS[self.kind]:
                yield SparkPanel(metric, title)
        yield Footer()

    def header_extra(self, view: BoardView) -> str:
        """The queue's or agent's name."""
        if self.kind == "agent":
            name = view.agent_name(self.key)
            return f"{clean(name, 60)} ({clean(self.key, 40)})"
        name = view.queue_name(self.key)
        return clean(name, 60) if name == self.key else f"{clean(name, 60)} ({clean(self.key, 40)})"

    def show(self, view: BoardView) -> None:
        """Figures for each window, sparklines from the history."""
        snap = view.snapshot
        table = Table(box=None, expand=False, pad_edge=False, show_edge=False)
        table.add_column(Text("figure", end=""), style="bold")
        windows = list(snap.windows) if snap else []
        for window in windows:
            style = "bold reverse" if window == view.window else "bold"
            table.add_column(Text(clean(window, 12), style=style, end=""), justify="right")
        per_window: list[Mapping[str, Any]] = []
        for window in windows:
            wf = snap.windows[window] if snap else None
            group = (wf.queues if self.kind == "queue" else wf.agents) if wf else {}
            per_window.append(group.get(self.key, {}))
        current = view.agents.get(self.key) if self.kind == "agent" else None
        if self.kind == "agent" and current is not None:
            info = state_info(current.get("state"))
            secs = seconds_in_state(current, view.at_us)
            table.add_row(
                Text("state", end=""),
                *[Text(f"{info.glyph} {info.word} {duration(secs)}", end="")] * len(windows),
            )
            extras = {"team": view.agent_team(self.key), "reason": current.get("reason")}
            for key, value in extras.items():
                if value:
                    table.add_row(
                        Text(key, end=""), *[Text(clean(value, 40), end="")] * len(windows)
                    )
        if not any(per_window):
            table.add_row(Text(f"{DASH} not in this snapshot", end=""), *[""] * len(windows))
        keys = [k for k in METRIC_KEYS if any(k in f for f in per_window)]
        for key in keys:
            table.add_row(
                Text(LABELS.get(key, key), end=""),
                *[Text(fmt(key, f.get(key)), end="") for f in per_window],
            )
        self.query_one("#table", Static).update(table)
        history = getattr(self.board.source, "history", None)
        for panel in self.query(SparkPanel):
            series: Sequence[float | None] = ()
            if callable(history):
                try:
                    series = history(self.kind, self.key, panel.metric, view.window, 240)
                except Exception:  # an optional extra: never fatal
                    series = ()
            if not series:
                series = self.board.history.series(self.kind, self.key, panel.metric)
            panel.show(series)


# The alert list moved to wallboard.screen_alerts; imported here for older callers.
from wallboard.screen_alerts import AlertHistoryScreen, AlertsScreen  # noqa: E402

__all__ = ["AlertHistoryScreen", "AlertsScreen", "DetailScreen", "SparkPanel"]
