"""The supervisor's alert screens: the alerts in force, and their history.

:class:`AlertsScreen` lists the alerts in force (critical first, newest first):
severity, when raised and for how long, scope, message, current value and
limit with their unit, who acknowledged. ``a`` acknowledges the alert under
the cursor as the App's user; ``h`` opens :class:`AlertHistoryScreen`, which
reads the source's optional ``alert_history(since_us, limit)`` hook (the live
sources read it from SQLite) and says so when the source has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from wallboard.screen_base import BoardScreen, BoardView
from wallboard.source import AlertView
from wallboard.timeutil import US, to_datetime
from wallboard.widgets.figure_table import Cell, Column, FigureTable
from wallboard.widgets.format import DASH, alert_value, duration
from wallboard.widgets.header import BoardHeader, StaleBanner
from wallboard.widgets.sanitize import clean

SEVERITY_CELLS: dict[str, Cell] = {
    "critical": ("✗ CRITICAL", "bad"),
    "warning": ("▲ WARNING", "near"),
}
HISTORY_HOURS = 24
"""How far back the history view reads."""
HISTORY_LIMIT = 500
"""At most this many alerts in the history view (the newest)."""
HISTORY_REFRESH_S = 5.0
"""The history is read again at most this often (it is a query, not a snapshot)."""


def severity_cell(severity: object) -> Cell:
    """``✗ CRITICAL`` or ``▲ WARNING`` with its style (anything else is a warning)."""
    return SEVERITY_CELLS.get(
        severity if isinstance(severity, str) else "", SEVERITY_CELLS["warning"]
    )


def in_order(alerts: Sequence[AlertView]) -> list[AlertView]:
    """Critical before warning, newest first; acknowledging does not move a row."""
    return sorted(alerts, key=lambda a: (a.severity != "critical", -a.raised_at_us, a.id))


def when(ts_us: int | None, now_us: int, tz: Any) -> str:
    """``HH:MM:SS`` today, ``24 Nov 15:58`` another day, a dash for None."""
    if ts_us is None:
        return DASH
    dt = to_datetime(ts_us, tz)
    if dt.date() == to_datetime(now_us, tz).date():
        return dt.strftime("%H:%M:%S")
    return dt.strftime("%d %b %H:%M")


class AlertsScreen(BoardScreen):
    """The alerts in force; ``a`` acknowledges the one under the cursor, ``h`` the history."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a,k", "ack", "Acknowledge", id="alerts.ack"),
        Binding("h", "history", "History", id="alerts.history"),
        Binding("escape,backspace", "app.pop_screen", "Back", id="alerts.back"),
    ]
    DEFAULT_CSS = """
    AlertsScreen #alerts-summary { height: 1; padding: 0 1; }
    AlertsScreen #alert-list { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        """Header, summary, table, footer."""
        yield BoardHeader("ALERTS", id="header")
        yield StaleBanner(id="stale")
        yield Static(id="alerts-summary")
        yield FigureTable(id="alert-list", fixed_columns=1)
        yield Footer()

    def on_mount(self) -> None:
        """Columns, focus."""
        table = self.query_one(FigureTable)
        table.set_columns(
            [
                Column("severity", "Severity", 10, right=False),
                Column("raised", "Raised", 12, right=False),
                Column("for", "For", 7),
                Column("scope", "Scope", 16, right=False),
                Column("message", "Message", 48, right=False),
                Column("value", "Value", 8),
                Column("threshold", "Limit", 8),
                Column("acked", "Acked by", 22, right=False),
            ]
        )
        table.focus()

    def show(self, view: BoardView) -> None:
        """One row per alert, and a count line."""
        ordered = in_order(view.alerts)
        alerts = {alert.id: alert for alert in ordered}
        tz = self.board.tz
        now = view.now_us

        def row(alert_id: str) -> list[Cell]:
            alert = alerts[alert_id]
            unit = getattr(alert, "unit", "") or ""
            acked = bool(alert.acked_by)
            return [
                severity_cell(alert.severity),
                (when(alert.raised_at_us, now, tz), ""),
                (duration((now - alert.raised_at_us) / US), ""),
                (clean(alert.scope, 60), ""),
                (clean(alert.message, 200), "dim" if acked else ""),
                (alert_value(alert.value, unit), ""),
                (alert_value(alert.threshold, unit), ""),
                (f"✓ {clean(alert.acked_by, 40)}" if acked else DASH, "good" if acked else ""),
            ]

        self.query_one(FigureTable).set_rows(list(alerts), row)
        self.query_one("#alerts-summary", Static).update(_summary(ordered), layout=False)

    def action_ack(self) -> None:
        """Acknowledge the alert under the cursor (as the App's user)."""
        key = self.query_one(FigureTable).cursor_key
        if key is not None:
            self.board.acknowledge(key)

    def action_history(self) -> None:
        """Open the history of the alerts."""
        self.board.action_alert_history()

    @on(FigureTable.Selected)
    def _selected(self, event: FigureTable.Selected) -> None:
        event.stop()
        view = self.board.view
        alerts = view.alerts if view is not None else ()
        alert = next((a for a in alerts if a.id == event.key), None)
        if alert is not None:
            open_scope(self, alert.scope)


def open_scope(screen: BoardScreen, scope: str) -> None:
    """Drill into the queue or agent an alert is about (other scopes have no details)."""
    kind, _, key = scope.partition(":")
    view = screen.board.view
    known = (view.queues if kind == "queue" else view.agents) if view is not None else {}
    if kind in ("queue", "agent") and key in known:
        screen.board.open_detail(kind, key)
    else:
        screen.notify(f"no details for {clean(scope, 60)}", timeout=3, markup=False)


def _summary(alerts: Sequence[AlertView]) -> Text:
    text = Text(end="")
    if not alerts:
        text.append("✓ no alerts in force", style="bold")
        return text
    critical = sum(1 for a in alerts if a.severity == "critical")
    acked = sum(1 for a in alerts if a.acked_by)
    text.append(f"{len(alerts)} in force: ", style="bold")
    text.append(f"✗ {critical} critical", style="bold" if critical else "")
    text.append(f", ▲ {len(alerts) - critical} warning")
    text.append(f"; {acked} acknowledged, {len(alerts) - acked} not")
    return text


class AlertHistoryScreen(BoardScreen):
    """Alerts raised, in force or cleared in the last :data:`HISTORY_HOURS` hours,
    newest first, from the source's ``alert_history`` hook."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "Back", id="history.back"),
    ]
    DEFAULT_CSS = """
    AlertHistoryScreen #history-note { height: 1; padding: 0 1; }
    AlertHistoryScreen #alert-history { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Any] = []
        """What the source gave, oldest first."""
        self.note = ""
        """The line above the table (how many, or why there is nothing)."""
        self._read_at: int | None = None

    def compose(self) -> ComposeResult:
        """Header, note, table, footer."""
        yield BoardHeader("ALERT HISTORY", id="header")
        yield StaleBanner(id="stale")
        yield Static(id="history-note")
        yield FigureTable(id="alert-history", fixed_columns=1)
        yield Footer()

    def on_mount(self) -> None:
        """Columns, focus."""
        table = self.query_one(FigureTable)
        table.set_columns(
            [
                Column("severity", "Peak", 10, right=False),
                Column("raised", "Raised", 12, right=False),
                Column("cleared", "Cleared", 12, right=False),
                Column("scope", "Scope", 16, right=False),
                Column("message", "Message", 42, right=False),
                Column("value", "Worst", 8),
                Column("threshold", "Limit", 8),
                Column("acked", "Acked by", 22, right=False),
            ]
        )
        table.focus()

    def read(self, now_us: int) -> None:
        """Ask the source for the history (never fatal)."""
        self._read_at = now_us
        hook = getattr(self.board.source, "alert_history", None)
        if not callable(hook):
            self.records = []
            self.note = "no history available: this source keeps no alert history"
            return
        since = now_us - HISTORY_HOURS * 3600 * US
        try:
            self.records = list(hook(since, HISTORY_LIMIT))
        except Exception as exc:  # an optional extra: say why, go on
            self.records = []
            self.note = f"history unavailable: {clean(type(exc).__name__)}: {clean(str(exc), 120)}"
            return
        n = len(self.records)
        self.note = (
            f"{n} alert{'' if n == 1 else 's'} in the last {HISTORY_HOURS} h, newest first"
            if n
            else f"no alerts in the last {HISTORY_HOURS} h"
        )

    def show(self, view: BoardView) -> None:
        """The history, read again every :data:`HISTORY_REFRESH_S` seconds."""
        now = view.now_us
        if self._read_at is None or now - self._read_at >= HISTORY_REFRESH_S * US:
            self.read(now)
        tz = self.board.tz
        records = {str(getattr(r, "id", i)): r for i, r in enumerate(self.records)}
        keys = list(records)[::-1]

        def row(key: str) -> list[Cell]:
            r = records[key]
            unit = getattr(r, "unit", "") or ""
            cleared = getattr(r, "cleared_at_us", None)
            acked_by = getattr(r, "acked_by", None)
            return [
                severity_cell(getattr(r, "severity", "")),
                (when(getattr(r, "raised_at_us", None), now, tz), ""),
                (when(cleared, now, tz), "") if cleared is not None else ("in force", "bold"),
                (clean(getattr(r, "scope", ""), 60), ""),
                (clean(getattr(r, "message", ""), 200), ""),
                (alert_value(getattr(r, "value", None), unit), ""),
                (alert_value(getattr(r, "threshold", None), unit), ""),
                (f"✓ {clean(acked_by, 40)}", "good") if acked_by else (DASH, ""),
            ]

        self.query_one(FigureTable).set_rows(keys, row)
        self.query_one("#history-note", Static).update(Text(self.note, end=""), layout=False)

    @on(FigureTable.Selected)
    def _selected(self, event: FigureTable.Selected) -> None:
        event.stop()
        r = next((r for r in self.records if str(getattr(r, "id", "")) == event.key), None)
        if r is not None:
            open_scope(self, str(getattr(r, "scope", "")))
