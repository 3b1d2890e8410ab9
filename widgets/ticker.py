"""The TV's alert ticker: one line of the alerts in force, turning slowly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.widget import Widget

from wallboard.source import AlertView
from wallboard.widgets.sanitize import clean

SEVERITY_GLYPH = {"critical": "✗ CRITICAL", "warning": "▲ WARNING"}


class AlertTicker(Widget):
    """Unacknowledged alerts first (critical before warning), rotating by one
    alert each time :meth:`show` is given a new ``offset``."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "alert-ticker--critical",
        "alert-ticker--warning",
        "alert-ticker--ok",
    }
    DEFAULT_CSS = """
    AlertTicker { height: 1; background: $panel; }
    AlertTicker > .alert-ticker--critical { color: $error; text-style: bold; }
    AlertTicker > .alert-ticker--warning { color: $warning; text-style: bold; }
    AlertTicker > .alert-ticker--ok { color: $success; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._alerts: tuple[AlertView, ...] = ()
        self._offset = 0

    def show(self, alerts: Sequence[AlertView], offset: int = 0) -> None:
        """Show these alerts, starting ``offset`` alerts in."""
        alerts = tuple(alerts)
        if alerts != self._alerts or offset != self._offset:
            self._alerts = alerts
            self._offset = offset
            self.refresh()

    @property
    def plain(self) -> str:
        """The ticker's line as plain text."""
        return self.render().plain

    def render(self) -> Text:
        """The line."""
        active = [a for a in self._alerts if not a.acked_by]
        acked = len(self._alerts) - len(active)
        active.sort(key=lambda a: (a.severity != "critical", -a.raised_at_us))
        text = Text(no_wrap=True, end="", overflow="ellipsis")
        if not active:
            style = self.get_component_rich_style("alert-ticker--ok")
            text.append(" ✓ no alerts", style=style)
            if acked:
                text.append(f"  ({acked} acknowledged)", style="dim")
            return text
        text.append(f" ALERTS {len(active)} ", style="bold reverse")
        n = len(active)
        start = self._offset % n
        for alert in active[start:] + active[:start]:
            severity = alert.severity if alert.severity in SEVERITY_GLYPH else "warning"
            style = self.get_component_rich_style(f"alert-ticker--{severity}")
            text.append("  ")
            text.append(SEVERITY_GLYPH[severity], style=style)
            text.append(" " + clean(alert.message, 160))
            text.append("  ·", style="dim")
        if acked:
            text.append(f"  ({acked} acknowledged)", style="dim")
        return text
