"""The supervisor console: every figure of every queue and agent, interactive.

Two tables (queues, agents) with every SPEC section 3 metric for the window
in force; ``s`` sorts by the column under the cursor (again: reverse), ``/``
filters (``Esc`` clears), ``Enter`` drills into a queue or an agent, ``a``
lists the alerts. Window, pause, theme, help and quit are the App's keys.

Rows are sorted on raw values and formatted only when on screen
(:class:`~wallboard.widgets.figure_table.FigureTable`), so 2,000 agents cost
about what the 40 visible ones do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from wallboard.screen_base import BoardScreen, BoardView
from wallboard.widgets.figure_table import Cell, Column, FigureTable
from wallboard.widgets.format import (
    LABELS,
    METRIC_KEYS,
    NON_METRIC_KEYS,
    Level,
    Targets,
    duration,
    fmt,
    level_of,
    seconds_in_state,
    sort_value,
    state_info,
)
from wallboard.widgets.header import BoardHeader, StaleBanner
from wallboard.widgets.sanitize import clean

QUEUE_METRICS = tuple(k for k in METRIC_KEYS if k not in ("occupancy", "handled"))
_AGENT_FIRST = ("handled", "asa", "aht", "csat", "occupancy")
_NOT_PER_AGENT = frozenset(
    {
        "waiting",
        "longest_wait",
        "service_level",
        "abandonment_rate",
        "arrivals",
        "abandoned",
        "short_abandoned",
        "answered_within",
    }
)
AGENT_METRICS = (
    *_AGENT_FIRST,
    *(k for k in METRIC_KEYS if k not in _AGENT_FIRST and k not in _NOT_PER_AGENT),
)
_LEVELLED = frozenset({"service_level", "waiting", "longest_wait", "asa", "abandonment_rate"})
_TEXT_KEYS = frozenset({"name", "id", "team", "state"})

LevelStyles = Mapping[Level, Style]


def level_styles(theme_variables: Mapping[str, str]) -> dict[Level, Style]:
    """Rich styles for the levels, from the theme's success / warning / error."""

    def colour(name: str, fallback: str) -> str:
        value = theme_variables.get(name) or fallback
        return value if value.startswith("#") else fallback

    return {
        Level.GOOD: Style(color=colour("success", "green")),
        Level.NEAR: Style(color=colour("warning", "yellow")),
        Level.BAD: Style(color=colour("error", "red"), bold=True),
        Level.NONE: Style(),
    }


def figure_cell(key: str, figures: Mapping[str, Any], targets: Targets | None) -> Cell:
    """One figure as a table cell; levelled figures carry their glyph and level."""
    value = fmt(key, figures.get(key))
    if targets is not None and key in _LEVELLED:
        lvl = level_of(key, figures, targets)
        if lvl is not Level.NONE:
            return (f"{lvl.glyph} {value}", lvl.css)
    return (value, "")


def figure_text(
    key: str, figures: Mapping[str, Any], targets: Targets, styles: LevelStyles
) -> Text:
    """A levelled figure as Text (glyph and colour), for the summary line."""
    value = fmt(key, figures.get(key))
    lvl = level_of(key, figures, targets)
    if lvl is Level.NONE:
        return Text(value, end="")
    return Text(f"{lvl.glyph} {value}", style=styles[lvl], end="")


def extra_metric_keys(rows: Mapping[str, Mapping[str, Any]], known: tuple[str, ...]) -> list[str]:
    """Scalar keys the engine added that no column shows yet (sampled, sorted)."""
    seen: set[str] = set()
    for i, figures in enumerate(rows.values()):
        if i >= 20:
            break
        for key, value in figures.items():
            if key in NON_METRIC_KEYS or key in known or key.startswith("_"):
                continue
            if key in ("sl_target", "sl_threshold"):
                continue
            if value is None or isinstance(value, (int, float, str)):
                seen.add(key)
    return sorted(seen)


def _width(key: str) -> int:
    return max(len(LABELS.get(key, key)) + 2, 8)


class SupervisorScreen(BoardScreen):
    """Queues and agents tables; sort, filter, drill down."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort", id="supervisor.sort"),
        Binding("slash", "filter", "Filter", id="supervisor.filter"),
        Binding("escape", "clear_filter", "Clear filter", id="supervisor.clear_filter"),
        Binding("a", "alerts", "Alerts", id="supervisor.alerts"),
    ]

    DEFAULT_CSS = """
    SupervisorScreen { layout: vertical; }
    SupervisorScreen #summary { height: 1; padding: 0 1; }
    SupervisorScreen .table-title { height: 1; padding: 0 1; text-style: bold; background: $panel; }
    SupervisorScreen #queues { height: auto; max-height: 40%; min-height: 3; }
    SupervisorScreen #agents { height: 1fr; min-height: 4; }
    SupervisorScreen #filter { dock: bottom; display: none; }
    SupervisorScreen #filter.-shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self.sort_by: dict[str, tuple[str, bool]] = {
            "queues": ("name", False),
            "agents": ("name", False),
        }
        self._view: BoardView | None = None

    def compose(self) -> ComposeResult:
        """Header, summary, two tables, filter, footer."""
        yield BoardHeader("SUPERVISOR", id="header")
        yield StaleBanner(id="stale")
        yield Static(id="summary")
        yield Static(Text("QUEUES", end=""), classes="table-title", id="queues-title")
        yield FigureTable(id="queues", fixed_columns=1)
        yield Static(Text("AGENTS", end=""), classes="table-title", id="agents-title")
        yield FigureTable(id="agents", fixed_columns=2)
        yield Input(placeholder="filter: name, id, team, state (Esc clears)", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        """Focus the queues."""
        self.query_one("#queues", FigureTable).focus()

    # -- showing ---------------------------------------------------------

    def show(self, view: BoardView) -> None:
        """Fill both tables for the window in force."""
        self._view = view
        targets = self.board.targets
        styles = level_styles(self.app.theme_variables)
        self.query_one("#summary", Static).update(
            self._summary(view, targets, styles), layout=False
        )
        self._fill_queues(view, targets)
        self._fill_agents(view)

    def _summary(self, view: BoardView, targets: Targets, styles: LevelStyles) -> Text:
        overall = view.overall
        text = Text(no_wrap=True, end="", overflow="ellipsis")
        for key in ("service_level", "waiting", "longest_wait", "asa", "abandonment_rate"):
            text.append(f"{LABELS[key]} ", style="bold")
            text.append_text(figure_text(key, overall, targets, styles))
            text.append("   ")
        for key in ("answered", "arrivals", "abandoned"):
            text.append(f"{LABELS[key]} {fmt(key, overall.get(key))}   ")
        services = view.figures.services if view.figures else {}
        for name, figures in list(services.items())[:6]:
            text.append(f"{clean(name, 20)} up {fmt('uptime', figures.get('uptime'))}   ")
        active = sum(1 for a in view.alerts if not a.acked_by)
        if active:
            text.append(
                f"⚠ {active} alert{'s' if active > 1 else ''} (a)   ", style=styles[Level.BAD]
            )
        if view.status is not None:
            feed = clean(view.status.description, 60)
            text.append(f"feed {feed}: {view.status.events:,} events", style="dim")
        return text

    def _matches(self, *fields: object) -> bool:
        if not self.filter_text:
            return True
        needle = self.filter_text.casefold()
        return any(needle in clean(f).casefold() for f in fields if f is not None)

    def _fill_queues(self, view: BoardView, targets: Targets) -> None:
        table = self.query_one("#queues", FigureTable)
        queues = view.queues
        staffing = getattr(view.snapshot, "staffing", None) or {}
        metrics = (*QUEUE_METRICS, *extra_metric_keys(queues, QUEUE_METRICS))
        columns = [Column("name", "Queue", 16, right=False)]
        columns += [Column(k, LABELS.get(k, k), _width(k)) for k in metrics]
        if staffing:
            columns += [Column("staff_in", "Agents", 8), Column("staff_need", "Need", 8)]
        table.set_columns(columns)
        label = {q: clean(view.queue_name(q), 60) for q in queues}
        names = [q for q in queues if self._matches(q, label[q])]
        sort_key, reverse = self.sort_by["queues"]
        table.set_sort(sort_key, reverse)

        def staff(q: str, field: str) -> Any:
            return getattr(staffing.get(q), field, None)

        if sort_key == "name":
            names.sort(key=lambda q: (label[q].casefold(), q), reverse=reverse)
        elif sort_key in ("staff_in", "staff_need"):
            field = "agents_logged_in" if sort_key == "staff_in" else "agents_needed"
            names = _sorted_nulls_last(names, lambda q: staff(q, field), reverse)
        else:
            names = _sorted_nulls_last(names, lambda q: queues[q].get(sort_key), reverse)

        def row(q: str) -> list[Cell]:
            figures = queues[q]
            cells: list[Cell] = [(label[q], "bold")]
            cells += [figure_cell(k, figures, targets) for k in metrics]
            if staffing:
                cells.append((fmt("agents", staff(q, "agents_logged_in")), ""))
                cells.append((fmt("agents", staff(q, "agents_needed")), ""))
            return cells

        table.set_rows(names, row)
        self._title("queues", len(names), len(queues))

    def _fill_agents(self, view: BoardView) -> None:
        table = self.query_one("#agents", FigureTable)
        agents = view.agents
        metrics = (*AGENT_METRICS, *extra_metric_keys(agents, AGENT_METRICS))
        columns = [
            Column("id", "Agent", 8, right=False),
            Column("name", "Name", 18, right=False),
            Column("state", "State", 12, right=False),
            Column("time", "In state", 9),
            Column("team", "Team", 9, right=False),
        ]
        columns += [Column(k, LABELS.get(k, k), _width(k)) for k in metrics]
        table.set_columns(columns)
        at_us = view.at_us
        filtering = bool(self.filter_text)
        sort_key, reverse = self.sort_by["agents"]
        table.set_sort(sort_key, reverse)
        need_names = filtering or sort_key in ("name", "team")
        label: Callable[[str], str] = lambda a: clean(view.agent_name(a), 60)  # noqa: E731
        team: Callable[[str], str] = lambda a: clean(view.agent_team(a), 40)  # noqa: E731
        if need_names:
            names = {a: label(a) for a in agents}
            teams = {a: team(a) for a in agents}
            label, team = names.__getitem__, teams.__getitem__
        ids = [
            a
            for a in agents
            if not filtering or self._matches(a, label(a), team(a), agents[a].get("state"))
        ]
        if sort_key == "id":
            ids.sort(reverse=reverse)
        elif sort_key in ("name", "team"):
            words = label if sort_key == "name" else team
            ids.sort(key=lambda a: (words(a).casefold(), a), reverse=reverse)
        elif sort_key == "state":
            ids.sort(key=lambda a: (str(agents[a].get("state") or ""), a), reverse=reverse)
        elif sort_key == "time":
            ids = _sorted_nulls_last(ids, lambda a: seconds_in_state(agents[a], at_us), reverse)
        else:
            ids = _sorted_nulls_last(ids, lambda a: agents[a].get(sort_key), reverse)
        thresholds = self.board.tile_thresholds

        def row(aid: str) -> list[Cell]:
            figures = agents[aid]
            state = figures.get("state")
            info = state_info(state)
            secs = seconds_in_state(figures, at_us)
            level = thresholds.level(info.key, secs)
            marker = " !!" if level == 2 else " !" if level == 1 else ""
            return [
                (clean(aid, 40), ""),
                (label(aid), "bold"),
                (f"{info.glyph} {info.word}", ""),
                (duration(secs) + marker, "crit" if level == 2 else "warn" if level else ""),
                (team(aid), ""),
                *(figure_cell(k, figures, None) for k in metrics),
            ]

        table.set_rows(ids, row)
        self._title("agents", len(ids), len(agents))

    def _title(self, table: str, shown: int, total: int) -> None:
        words = f"{table.upper()} {total}"
        if self.filter_text:
            words += f"  (filter {clean(self.filter_text, 40)!r}: {shown} shown)"
        sort_key, reverse = self.sort_by[table]
        heading = {"staff_in": "Agents", "staff_need": "Need", "time": "In state"}
        words += (
            f"  sorted by {LABELS.get(sort_key, heading.get(sort_key, sort_key))} "
            f"{'▼' if reverse else '▲'}"
        )
        self.query_one(f"#{table}-title", Static).update(Text(words, end=""), layout=False)

    def _refill(self) -> None:
        if self._view is not None:
            self.show(self._view)

    # -- actions ---------------------------------------------------------

    def _focused_table(self) -> FigureTable:
        focused = self.focused
        if isinstance(focused, FigureTable):
            return focused
        return self.query_one("#queues", FigureTable)

    def action_sort(self) -> None:
        """Sort the focused table by the cursor's column; again reverses."""
        table = self._focused_table()
        keys = table.column_keys
        if not keys:
            return
        self.sort_table(table, keys[min(max(table.cursor_column, 0), len(keys) - 1)])

    def sort_table(self, table: FigureTable, column: str) -> None:
        """Sort by ``column``: text ascending, figures biggest first; again reverses."""
        table_id = table.id or "queues"
        current, reverse = self.sort_by[table_id]
        if column == current:
            self.sort_by[table_id] = (column, not reverse)
        else:
            self.sort_by[table_id] = (column, column not in _TEXT_KEYS)
        self._refill()

    def action_filter(self) -> None:
        """Show the filter box."""
        box = self.query_one("#filter", Input)
        box.add_class("-shown")
        box.focus()

    def action_clear_filter(self) -> None:
        """Clear and hide the filter."""
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-shown")
        self.filter_text = ""
        self.query_one("#queues", FigureTable).focus()
        self._refill()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._refill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one("#agents", FigureTable).focus()

    def action_alerts(self) -> None:
        """Open the alert list."""
        self.board.action_alerts()

    @on(FigureTable.Selected)
    def _selected(self, event: FigureTable.Selected) -> None:
        event.stop()
        kind = "queue" if event.table.id == "queues" else "agent"
        self.board.open_detail(kind, event.key)

    @on(FigureTable.HeaderClicked)
    def _header_clicked(self, event: FigureTable.HeaderClicked) -> None:
        event.stop()
        event.table.focus()
        self.sort_table(event.table, event.column)


def _sorted_nulls_last(keys: list[str], value_of: Callable[[str], Any], reverse: bool) -> list[str]:
    """Sort by figure, nulls last whatever the direction, ties by key."""
    decorated = [(sort_value(value_of(k)), k) for k in keys]
    present = [(v, k) for v, k in decorated if v[0] < 2]
    missing = sorted(k for v, k in decorated if v[0] == 2)
    present.sort(reverse=reverse)
    return [k for _, k in present] + missing
