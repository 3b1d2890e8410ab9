"""The grid of agent tiles: one widget, drawn through the Line API.

Thousands of agents: one ``Static`` per tile costs about a second per refresh
at 1,000 tiles, so the whole grid is one widget that draws its lines itself
(``render_line``), keeps the rendered lines of each tile in a cache keyed by
what the tile shows, and on each snapshot repaints only the tiles whose
content changed (``refresh(region)``).

Tiles that do not fit are paged: the owner sets :attr:`AgentGrid.page` (the
TV screen turns it every few seconds); the first line says "page 2/5".

Each tile shows the name, the state as a glyph and a word, the time in state,
handled, ASA, AHT and CSAT; its colour follows the state, and a wrap-up or
away spell that lasts too long turns it to warning, then critical, marked
``!`` and ``!!`` as well as by colour.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from wallboard.widgets.format import (
    AGENT_STATES,
    DASH,
    STATE_ORDER,
    TileThresholds,
    pct,
    seconds_in_state,
    short_duration,
    state_info,
)
from wallboard.widgets.sanitize import clean, fit

MIN_TILE_WIDTH = 26
MAX_TILE_WIDTH = 34
GAP = 1


@dataclass(frozen=True, slots=True)
class TileModel:
    """What one tile shows, all formatted; equal models draw identical tiles."""

    agent_id: str
    name: str
    state: str
    time_in_state: str
    level: int
    handled: str
    asa: str
    aht: str
    csat: str
    occupancy: str
    reason: str


def tile_model(
    agent_id: str,
    figures: Mapping[str, Any],
    at_us: int,
    thresholds: TileThresholds,
    name: str | None = None,
) -> TileModel:
    """Read one agent's figures into a :class:`TileModel` (every string cleaned).

    ``name`` is the display name (the snapshot's ``agent_names``); without it
    the figures' ``name``, then the id, is shown."""
    state = figures.get("state")
    state_key = state if isinstance(state, str) else "unknown"
    secs = seconds_in_state(figures, at_us)
    return TileModel(
        agent_id=agent_id,
        name=clean(name or figures.get("name") or agent_id, 80),
        state=state_key,
        time_in_state=short_duration(secs) if secs is not None else DASH,
        level=thresholds.level(state_key, secs),
        handled=_count(figures.get("handled")),
        asa=short_duration(figures.get("asa")),
        aht=short_duration(figures.get("aht")),
        csat=pct(figures.get("csat")),
        occupancy=pct(figures.get("occupancy")),
        reason=clean(figures.get("reason"), 40),
    )


def _count(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(round(value))
    return DASH


def tile_texts(model: TileModel, height: int, inner: int) -> list[str]:
    """The lines of one tile as plain text, each exactly ``inner`` cells."""
    info = state_info(model.state)
    marker = " !!" if model.level == 2 else " !" if model.level == 1 else ""
    status = f"{info.short} {model.time_in_state}{marker}"
    csat = f"CSAT {model.csat}"
    if len(status) + 1 + len(csat) <= inner:
        status = status + " " * (inner - len(status) - len(csat)) + csat
        csat_line = None
    else:
        csat_line = csat
    figures = f"H {model.handled} ASA {model.asa} AHT {model.aht}"
    lines = [f"{info.glyph} {model.name}", status, figures]
    if height >= 4:
        extra = f"OCC {model.occupancy}"
        if csat_line:
            extra = f"{csat_line} {extra}"
        if model.reason:
            extra = f"{extra} {model.reason}"
        lines.append(extra)
    return [fit(line, inner) for line in lines[:height]]


class AgentGrid(Widget):
    """Agent tiles, paged to fit the widget; only changed tiles are repainted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "agent-grid--available",
        "agent-grid--busy",
        "agent-grid--wrap_up",
        "agent-grid--away",
        "agent-grid--offline",
        "agent-grid--unknown",
        "agent-grid--warning",
        "agent-grid--critical",
        "agent-grid--caption",
    }

    DEFAULT_CSS = """
    AgentGrid { height: 1fr; min-height: 4; }
    AgentGrid > .agent-grid--available { background: $tile-available; color: $tile-available-text; }
    AgentGrid > .agent-grid--busy { background: $tile-busy; color: $tile-busy-text; }
    AgentGrid > .agent-grid--wrap_up { background: $tile-wrap-up; color: $tile-wrap-up-text; }
    AgentGrid > .agent-grid--away { background: $tile-away; color: $tile-away-text; }
    AgentGrid > .agent-grid--offline { background: $tile-offline; color: $tile-offline-text; }
    AgentGrid > .agent-grid--unknown { background: $panel; color: $foreground; }
    AgentGrid > .agent-grid--warning {
        background: $tile-warning; color: $tile-warning-text; text-style: bold;
    }
    AgentGrid > .agent-grid--critical {
        background: $tile-critical; color: $tile-critical-text; text-style: bold;
    }
    AgentGrid > .agent-grid--caption { color: $foreground; text-style: bold; }
    """

    def __init__(
        self,
        *,
        thresholds: TileThresholds | None = None,
        order: str = "name",
        hide_offline: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.thresholds = thresholds or TileThresholds()
        self.order = order
        """``name`` (stable) or ``state`` (grouped by state, then name)."""
        self.hide_offline = hide_offline
        self.page = 0
        """The page wanted; taken modulo the page count."""
        self.page_count = 1
        self._agents: Mapping[str, Mapping[str, Any]] = {}
        self._names: Mapping[str, str] = {}
        self._at_us = 0
        self._ids: list[str] = []
        self._order_signature: object = None
        self._models: dict[int, TileModel] = {}
        self._geometry: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
        self._shown_page = -1
        self._caption = ""
        self._tile_styles: dict[str, Style] = {}
        self._tile_cache: dict[tuple[TileModel, int, int], list[Strip]] = {}
        self._line_cache: dict[tuple[str, str, bool, int], Strip] = {}
        self._row_cache: dict[int, tuple[list[Strip], Strip]] = {}
        self._gap: tuple[Style, Strip] | None = None
        self._base_style: Style | None = None
        self.repainted_tiles = 0
        """Tiles repainted by the last update (for tests and the benchmark)."""

    # -- public ----------------------------------------------------------

    def update_agents(
        self,
        agents: Mapping[str, Mapping[str, Any]],
        at_us: int,
        names: Mapping[str, str] | None = None,
    ) -> None:
        """Show these agents at this instant; repaint only what changed.

        Args:
            agents: Agent id -> figures.
            at_us: The snapshot's instant (time in state is counted to it).
            names: Agent id -> display name (else the figures' ``name``, else the id).
        """
        self._agents = agents
        self._names = names or {}
        self._at_us = at_us
        self._ids = self._ordered_ids(agents)
        self._relayout()

    def set_page(self, page: int) -> None:
        """Turn to ``page`` (modulo the page count)."""
        self.page = page
        self._relayout()

    @property
    def tiles_per_page(self) -> int:
        """How many tiles one page holds at the current size."""
        cols, rows = self._geometry[0], self._geometry[1]
        return cols * rows

    @property
    def visible_ids(self) -> list[str]:
        """The agent ids on the page shown, in order."""
        return [m.agent_id for _, m in sorted(self._models.items())]

    # -- layout ----------------------------------------------------------

    def _ordered_ids(self, agents: Mapping[str, Mapping[str, Any]]) -> list[str]:
        by_state = self.order == "state" or self.hide_offline
        names = self._names
        signature = (
            self.order,
            self.hide_offline,
            tuple(
                (aid, names.get(aid) or f.get("name"), f.get("state") if by_state else None)
                for aid, f in agents.items()
            ),
        )
        if signature == self._order_signature:
            return self._ids
        self._order_signature = signature

        def name_key(aid: str) -> tuple[str, str]:
            return (clean(names.get(aid) or agents[aid].get("name") or aid, 80).casefold(), aid)

        ids = [
            aid
            for aid in agents
            if not (self.hide_offline and agents[aid].get("state") == "offline")
        ]
        if self.order == "state":
            return sorted(
                ids, key=lambda a: (STATE_ORDER.get(agents[a].get("state"), 9), *name_key(a))
            )
        return sorted(ids, key=name_key)

    def _compute_geometry(self, size: Size) -> tuple[int, int, int, int, int]:
        width, height = size.width, size.height
        cols = max(1, (width + GAP) // (MIN_TILE_WIDTH + GAP))
        tile_w = max(1, min(MAX_TILE_WIDTH, (width - (cols - 1) * GAP) // cols))
        body = max(height - 1, 0)
        rows4 = (body + 1) // 5
        tile_h = 4 if rows4 >= 3 else 3
        rows = max(1, (body + 1) // (tile_h + 1))
        return cols, rows, tile_w, tile_h, width

    def on_resize(self) -> None:
        """Re-page for the new size."""
        self._relayout()

    def _relayout(self) -> None:
        geometry = self._compute_geometry(self.size)
        cols, rows, tile_w, tile_h, _ = geometry
        per_page = cols * rows
        self.page_count = max(1, math.ceil(len(self._ids) / per_page))
        page = self.page % self.page_count
        start = page * per_page
        thresholds, at_us, agents, names = self.thresholds, self._at_us, self._agents, self._names
        models = {
            slot: tile_model(aid, agents[aid], at_us, thresholds, names.get(aid))
            for slot, aid in enumerate(self._ids[start : start + per_page])
        }
        caption = self._caption_text(page)
        if geometry != self._geometry or page != self._shown_page:
            self._geometry = geometry
            self._shown_page = page
            self._models = models
            self._caption = caption
            self.repainted_tiles = len(models)
            self._trim_cache()
            self.refresh()
            return
        changed = 0
        old = self._models
        spans: dict[int, tuple[int, int]] = {}
        for slot in set(old) | set(models):
            before, after = old.get(slot), models.get(slot)
            if before == after:
                continue
            changed += 1
            row, col = divmod(slot, cols)
            x, top = col * (tile_w + GAP), 1 + row * (tile_h + 1)
            if before is None or after is None:
                lines = range(tile_h)
            else:  # only the lines that differ (usually just the time in state)
                was = self._tile_strips(before, tile_w, tile_h)
                now = self._tile_strips(after, tile_w, tile_h)
                lines = [i for i in range(tile_h) if was[i] is not now[i]]
            for i in lines:
                x0, x1 = spans.get(top + i, (x, x + tile_w))
                spans[top + i] = (min(x0, x), max(x1, x + tile_w))
        for y, (x0, x1) in spans.items():
            self.refresh(Region(x0, y, x1 - x0, 1))
        self._models = models
        self.repainted_tiles = changed
        if caption != self._caption:
            self._caption = caption
            self.refresh(Region(0, 0, self.size.width, 1))
        self._trim_cache()

    def _caption_text(self, page: int) -> str:
        agents = self._agents
        raw = Counter(agents[aid].get("state") for aid in self._ids)
        counts: dict[str, int] = {}
        for state, n in raw.items():
            key = state if isinstance(state, str) and state in AGENT_STATES else "unknown"
            counts[key] = counts.get(key, 0) + n
        parts = [f"AGENTS {len(self._ids)}"]
        if self.page_count > 1:
            parts[0] += f"  page {page + 1}/{self.page_count}"
        for key, info in AGENT_STATES.items():
            if key in counts:
                parts.append(f"{info.glyph} {counts[key]} {info.word.lower()}")
        if "unknown" in counts:
            parts.append(f"? {counts['unknown']} unknown")
        return "  ".join(parts)

    def _trim_cache(self) -> None:
        limit = 8 * max(len(self._models), 64)
        if len(self._line_cache) > limit:
            self._line_cache = {}
        if len(self._tile_cache) > limit:
            live = set(self._models.values())
            self._tile_cache = {k: v for k, v in self._tile_cache.items() if k[0] in live}

    # -- drawing ---------------------------------------------------------

    def notify_style_update(self) -> None:
        """The theme changed: forget resolved styles and drawn tiles."""
        super().notify_style_update()
        self._tile_styles = {}
        self._base_style = None
        self._tile_cache = {}
        self._line_cache = {}
        self._row_cache = {}
        self.refresh()

    def _style(self, name: str) -> Style:
        style = self._tile_styles.get(name)
        if style is None:
            style = self.get_component_rich_style(f"agent-grid--{name}")
            self._tile_styles[name] = style
        return style

    def _tile_strips(self, model: TileModel, tile_w: int, tile_h: int) -> list[Strip]:
        key = (model, tile_w, tile_h)
        strips = self._tile_cache.get(key)
        if strips is None:
            if model.level == 2:
                style_name = "critical"
            elif model.level == 1:
                style_name = "warning"
            else:
                style_name = model.state if model.state in AGENT_STATES else "unknown"
            inner = max(tile_w - 2, 1)
            strips = [
                self._line_strip(text, style_name, i == 0, tile_w)
                for i, text in enumerate(tile_texts(model, tile_h, inner))
            ]
            self._tile_cache[key] = strips
        return strips

    def _line_strip(self, text: str, style_name: str, bold: bool, tile_w: int) -> Strip:
        """One line of one tile; identical lines (most of them) come from the cache."""
        key = (text, style_name, bold, tile_w)
        strip = self._line_cache.get(key)
        if strip is None:
            style = self._style(style_name)
            text_style = style + Style(bold=True) if bold else style
            segments = [Segment(" ", style), Segment(text, text_style), Segment(" ", style)]
            strip = Strip(segments, tile_w)
            self._line_cache[key] = strip
        return strip

    def _gap_strip(self, base: Style) -> Strip:
        cached = self._gap
        if cached is None or cached[0] != base:
            cached = self._gap = (base, Strip([Segment(" " * GAP, base)], GAP))
        return cached[1]

    def render_line(self, y: int) -> Strip:
        """One line of the grid: the caption, a line of tiles, or a gap."""
        width = self.size.width
        base = self._base_style
        if base is None:
            base = self._base_style = self.rich_style
        if y == 0:
            caption_style = base + self._style("caption")
            return Strip([Segment(fit(self._caption, width), caption_style)], width)
        cols, rows, tile_w, tile_h, _ = self._geometry
        row, line = divmod(y - 1, tile_h + 1)
        if line >= tile_h or row >= rows:
            return Strip.blank(width, base)
        gap = self._gap_strip(base)
        parts: list[Strip] = []
        for col in range(cols):
            model = self._models.get(row * cols + col)
            if model is None:
                break
            if col:
                parts.append(gap)
            parts.append(self._tile_strips(model, tile_w, tile_h)[line])
        if not parts:
            return Strip.blank(width, base)
        cached = self._row_cache.get(y)
        if (
            cached is not None
            and len(cached[0]) == len(parts)
            and all(a is b for a, b in zip(cached[0], parts, strict=True))
        ):
            return cached[1]
        joined = Strip.join(parts).crop_extend(0, width, base)
        self._row_cache[y] = (parts, joined)
        return joined
