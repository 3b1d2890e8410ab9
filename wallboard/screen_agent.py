"""The agent view (``--agent ID``): my state and time in it, my figures beside
my team's and the centre's, my queues' waiting count, and the alerts about me
or my queues (``alert_rules.concerns_agent``).

Large enough to read at a glance; with ``--inline`` it is a small panel
under the shell prompt (the big digits are left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Digits, Static

from wallboard.screen_base import BoardScreen, BoardView
from wallboard.screen_supervisor import level_styles
from wallboard.widgets.format import (
    DASH,
    Level,
    duration,
    fmt,
    level_of,
    seconds_in_state,
    state_info,
)
from wallboard.widgets.header import BoardHeader, StaleBanner
from wallboard.widgets.sanitize import clean

COMPARED = (
    ("handled", "Handled"),
    ("asa", "ASA"),
    ("aht", "AHT"),
    ("csat", "CSAT"),
    ("occupancy", "Occupancy"),
    ("fcr", "FCR"),
)
_WEIGHTED = frozenset({"asa", "aht"})


def team_figures(
    agents: Mapping[str, Mapping[str, Any]],
    team: object,
    teams: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Figures of a team from its agents' (sum of handled; means weighted by
    handled for ASA and AHT; plain means for shares). None where no agent has one.

    ``teams`` (agent -> team, the snapshot's ``agent_teams``) wins over the
    figures' own ``team``."""
    teams = teams or {}
    members = [
        f
        for aid, f in agents.items()
        if team is not None and (teams.get(aid) or f.get("team")) == team
    ]
    out: dict[str, Any] = {"members": len(members)}
    handled = [f.get("handled") for f in members if _is_num(f.get("handled"))]
    out["handled"] = sum(handled) if handled else None
    for key, _ in COMPARED:
        if key == "handled":
            continue
        pairs = [(f.get(key), f.get("handled")) for f in members if _is_num(f.get(key))]
        if not pairs:
            out[key] = None
        elif key in _WEIGHTED:
            weights = [w if _is_num(w) and w > 0 else 0 for _, w in pairs]
            total = sum(weights)
            out[key] = (
                sum(v * w for (v, _), w in zip(pairs, weights, strict=True)) / total
                if total
                else sum(v for v, _ in pairs) / len(pairs)
            )
        else:
            out[key] = sum(v for v, _ in pairs) / len(pairs)
    return out


def _is_num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class AgentScreen(BoardScreen):
    """One agent's own board."""

    DEFAULT_CSS = """
    AgentScreen { layout: vertical; }
    AgentScreen #state-row { height: 5; }
    AgentScreen #state { width: auto; min-width: 22; height: 5; padding: 1 2; text-style: bold; }
    AgentScreen #time { width: auto; height: 3; margin: 1 2; }
    AgentScreen #level { width: 1fr; height: 5; padding: 2 1; }
    AgentScreen .-available #state { background: $tile-available; color: $tile-available-text; }
    AgentScreen .-busy #state { background: $tile-busy; color: $tile-busy-text; }
    AgentScreen .-wrap_up #state { background: $tile-wrap-up; color: $tile-wrap-up-text; }
    AgentScreen .-away #state { background: $tile-away; color: $tile-away-text; }
    AgentScreen .-offline #state { background: $tile-offline; color: $tile-offline-text; }
    AgentScreen .-warning #state { background: $tile-warning; color: $tile-warning-text; }
    AgentScreen .-critical #state { background: $tile-critical; color: $tile-critical-text; }
    AgentScreen #compare { height: auto; padding: 0 1; }
    AgentScreen #my-queues { height: auto; padding: 0 1; }
    AgentScreen #my-alerts { height: auto; padding: 0 1; }
    AgentScreen:inline { height: auto; max-height: 12; }
    AgentScreen:inline #state-row { height: 1; }
    AgentScreen:inline #state { height: 1; padding: 0 1; }
    AgentScreen:inline #time { display: none; }
    AgentScreen:inline #level { height: 1; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        """Header, state, comparison, queues."""
        yield BoardHeader("AGENT", id="header")
        yield StaleBanner(id="stale")
        with Horizontal(id="state-row"):
            yield Static(id="state")
            yield Digits("-", id="time")
            yield Static(id="level")
        yield Static(id="compare")
        yield Static(id="my-queues")
        yield Static(id="my-alerts")

    def header_extra(self, view: BoardView) -> str:
        """The agent's name and id."""
        aid = self.board.agent_id or ""
        name = view.agent_name(aid)
        return f"{clean(name, 60)} ({clean(aid, 40)})" if name != aid else clean(aid, 40)

    def show(self, view: BoardView) -> None:
        """State, figures, queues."""
        aid = self.board.agent_id or ""
        me = view.agents.get(aid)
        row = self.query_one("#state-row", Horizontal)
        if me is None:
            row.set_classes("")
            self.query_one("#state", Static).update(Text(f"{DASH} NOT SEEN", end=""))
            self.query_one("#time", Digits).update("-")
            self.query_one("#level", Static).update(
                Text(f"agent {clean(aid, 40)!r} has not appeared in the feed yet", end="")
            )
            me = {}
        else:
            info = state_info(me.get("state"))
            secs = seconds_in_state(me, view.at_us)
            level = self.board.tile_thresholds.level(info.key, secs)
            classes = f"-{info.key}" + (
                " -critical" if level == 2 else " -warning" if level else ""
            )
            row.set_classes(classes)
            self.query_one("#state", Static).update(Text(f"{info.glyph} {info.word}", end=""))
            time_text = duration(secs)
            self.query_one("#time", Digits).update("-" if time_text == DASH else time_text)
            words = f"{info.word.lower()} for {time_text}"
            if level:
                words += "  ✗ far too long" if level == 2 else "  ▲ long"
            reason = clean(me.get("reason"), 60)
            if reason:
                words += f"  ({reason})"
            self.query_one("#level", Static).update(Text(words, end=""))
        self.query_one("#compare", Static).update(self._compare(view, me, view.agent_team(aid)))
        self.query_one("#my-queues", Static).update(self._queues(view, aid))
        self.query_one("#my-alerts", Static).update(self._alerts(view, aid))

    def _compare(self, view: BoardView, me: Mapping[str, Any], team: str | None) -> Table:
        teams: Mapping[str, str] = getattr(view.snapshot, "agent_teams", None) or {}
        team_figs = team_figures(view.agents, team, teams)
        overall = dict(view.overall)
        if overall.get("handled") is None:
            overall["handled"] = overall.get("answered")
        if overall.get("occupancy") is None:
            overall["occupancy"] = team_figures(
                {k: {**v, "team": 0} for k, v in view.agents.items()}, 0
            ).get("occupancy")
        table = Table(box=None, pad_edge=False, show_edge=False, expand=False)
        table.add_column(Text("", end=""))
        table.add_column(Text("me", style="bold", end=""), justify="right")
        team_label = f"team {clean(team, 20)}" if team else "team"
        table.add_column(Text(team_label, style="bold", end=""), justify="right")
        table.add_column(Text("centre", style="bold", end=""), justify="right")
        for key, label in COMPARED:
            table.add_row(
                Text(label, end=""),
                Text(fmt(key, me.get(key)), style="bold", end=""),
                Text(fmt(key, team_figs.get(key)) if team else DASH, end=""),
                Text(fmt(key, overall.get(key)), end=""),
            )
        return table

    def _queues(self, view: BoardView, aid: str) -> Text:
        mine = view.queues_of(aid)
        queues = view.queues
        names = [q for q in mine if q in queues] if mine else list(queues)
        text = Text(end="")
        text.append("my queues: " if mine else "queues: ", style="bold")
        if not names:
            text.append(DASH)
        targets = self.board.targets
        for i, q in enumerate(names):
            figures = queues[q]
            if i:
                text.append("   ")
            lvl = level_of("waiting", figures, targets)
            text.append(clean(view.queue_name(q), 30), style="bold")
            text.append(f" {fmt('waiting', figures.get('waiting'))} waiting")
            if lvl is not Level.GOOD and lvl is not Level.NONE:
                text.append(f" {lvl.glyph}")
            longest = figures.get("longest_wait")
            if longest is not None:
                text.append(f" (longest {duration(longest)})")
        return text

    def _alerts(self, view: BoardView, aid: str) -> Text:
        """The alerts about me or my queues, critical first, newest first."""
        mine = sorted(
            view.alerts_for_agent(aid),
            key=lambda a: (bool(a.acked_by), a.severity != "critical", -a.raised_at_us),
        )
        styles = level_styles(self.app.theme_variables)
        text = Text(end="")
        text.append("my alerts: ", style="bold")
        if not mine:
            text.append("✓ none")
            return text
        for i, alert in enumerate(mine[:5]):
            if i:
                text.append("\n" + " " * len("my alerts: "))
            critical = alert.severity == "critical"
            text.append(
                "✗ CRITICAL " if critical else "▲ WARNING ",
                style=styles[Level.BAD if critical else Level.NEAR] + Style(bold=True),
            )
            text.append(clean(alert.message, 120))
            if alert.acked_by:
                text.append(f"  (acknowledged by {clean(alert.acked_by, 40)})", style="dim")
        if len(mine) > 5:
            text.append(f"\n{' ' * len('my alerts: ')}and {len(mine) - 5} more", style="dim")
        return text
