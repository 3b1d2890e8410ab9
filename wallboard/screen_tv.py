"""The TV wallboard: readable across a room, no keyboard needed.

Header (clock, window, SL formula), stale banner, five headline figures in
big digits, the strip of queues, the grid of agent tiles and the alert
ticker. Queues and agents that do not fit are paged; the App turns the page
every ``page_seconds``.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from wallboard.screen_base import BoardScreen, BoardView
from wallboard.widgets.agent_grid import AgentGrid
from wallboard.widgets.header import BoardHeader, StaleBanner
from wallboard.widgets.headline import Headlines
from wallboard.widgets.queue_strip import QueueStrip
from wallboard.widgets.ticker import AlertTicker


class TVScreen(BoardScreen):
    """Headlines, queues, agents, alerts."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket,n", "next_page", "Next page", id="tv.next_page"),
    ]

    DEFAULT_CSS = """
    TVScreen { layout: vertical; }
    TVScreen > Headlines { margin: 0 0 0 0; }
    TVScreen > QueueStrip { margin: 0 0 1 0; }
    """

    def compose(self) -> ComposeResult:
        """The board, top to bottom."""
        board = self.board
        yield BoardHeader("WALLBOARD", id="header")
        yield StaleBanner(id="stale")
        yield Headlines(id="headlines")
        yield QueueStrip(id="queues")
        yield AgentGrid(
            id="agents",
            thresholds=board.tile_thresholds,
            order=board.agent_order,
            hide_offline=board.hide_offline,
        )
        yield AlertTicker(id="ticker")

    def show(self, view: BoardView) -> None:
        """Hand each widget its figures."""
        targets = self.board.targets
        self.query_one(Headlines).show(view.overall, targets)
        strip = self.query_one(QueueStrip)
        strip.page = view.page
        strip.update_queues(view.queues, targets, view.queue_names)
        grid = self.query_one(AgentGrid)
        grid.page = view.page
        grid.update_agents(view.agents, view.at_us, view.agent_names)
        self.query_one(AlertTicker).show(view.alerts, offset=view.now_us // 4_000_000)

    def action_next_page(self) -> None:
        """Turn the page now."""
        self.board.action_next_page()
