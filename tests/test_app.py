"""Pilot tests of the App: every mode, every key, staleness, cadence, hostile names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.command import CommandPalette
from textual.widgets import HelpPanel, Input

from wallboard.app import WallboardApp
from wallboard.engine.snapshot import Snapshot, WindowFigures
from wallboard.screen_agent import AgentScreen
from wallboard.screen_alerts import AlertsScreen
from wallboard.screen_detail import DetailScreen
from wallboard.screen_supervisor import SupervisorScreen
from wallboard.screen_tv import TVScreen
from wallboard.source import AlertView, StaticSource
from wallboard.widgets.agent_grid import AgentGrid
from wallboard.widgets.figure_table import FigureTable
from wallboard.widgets.header import BoardHeader, StaleBanner
from wallboard.widgets.headline import Headline
from wallboard.widgets.queue_strip import QueueStrip
from wallboard.widgets.ticker import AlertTicker

T0 = 1_764_000_000_000_000  # 2025-11-24 16:00:00 UTC
UTC = ZoneInfo("UTC")


def make_app(
    mode: str = "tv", source: Any = None, agent_id: str | None = None, **kwargs: Any
) -> WallboardApp:
    """An app on a static source with a frozen clock."""
    kwargs.setdefault("clock", lambda: T0)
    return WallboardApp(
        source if source is not None else StaticSource(agents=40),
        mode=mode,
        agent_id=agent_id or ("a0003" if mode == "agent" else None),
        tz=UTC,
        watch_terminal=False,
        **kwargs,
    )


def screen_text(app: WallboardApp) -> str:
    """Every cell on screen, as text (the compositor's own lines)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def header(app: WallboardApp) -> str:
    return app.screen.query_one(BoardHeader).plain


class TestModes:
    @pytest.mark.parametrize("size", [(80, 24), (200, 60), (300, 90)])
    async def test_tv_lays_out(self, size: tuple[int, int]) -> None:
        app = make_app("tv", StaticSource(agents=300))
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, TVScreen)
            text = screen_text(app)
            for words in ("WALLBOARD", "SERVICE LEVEL", "QUEUES", "AGENTS 300", "ALERTS"):
                assert words in text
            assert "16:00:00" in header(app) and "window 15m" in header(app)
            assert "SL = answered ≤20s" in text or size[0] < 100
            grid = app.screen.query_one(AgentGrid)
            assert grid.page_count > 1
            assert f"page 1/{grid.page_count}" in text
            assert len(grid.visible_ids) == grid.tiles_per_page

    async def test_supervisor_has_every_metric(self) -> None:
        app = make_app("supervisor")
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, SupervisorScreen)
            queues = app.screen.query_one("#queues", FigureTable)
            agents = app.screen.query_one("#agents", FigureTable)
            for key in ("service_level", "asa", "nps", "fcr", "sales_conversion", "art"):
                assert key in queues.column_keys
            for key in ("handled", "asa", "aht", "csat", "occupancy", "time", "state"):
                assert key in agents.column_keys
            assert queues.row_count == 6
            assert agents.row_count == 40

    async def test_agent_view(self) -> None:
        app = make_app("agent", agent_id="a0002")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, AgentScreen)
            text = screen_text(app)
            name = app.view.agent_name("a0002")
            assert name in header(app)
            for words in ("me", "team South", "centre", "Handled", "CSAT", "waiting"):
                assert words in text

    async def test_agent_view_unknown_agent(self) -> None:
        app = make_app("agent", agent_id="nobody")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "NOT SEEN" in screen_text(app)

    async def test_agent_view_inline(self) -> None:
        app = make_app("agent", inline=True)
        assert app.inline_mode
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "team" in screen_text(app)

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="unknown mode"):
            make_app("wall")
        with pytest.raises(ValueError, match="agent id"):
            WallboardApp(StaticSource(), mode="agent")
        with pytest.raises(ValueError, match="out of range"):
            make_app(refresh_hz=100)
        with pytest.raises(ValueError, match="unknown theme"):
            make_app(theme="sparkly")


class TestHonesty:
    async def test_null_figures_show_dashes(self) -> None:
        nulls = {
            k: None for k in ("service_level", "asa", "longest_wait", "abandonment_rate", "waiting")
        }
        snap = Snapshot(
            at_us=T0,
            sl_formula="default",
            windows={
                "15m": WindowFigures(
                    window="15m",
                    start_us=T0 - 900_000_000,
                    overall=nulls,
                    queues={"Quiet": dict(nulls)},
                    agents={"a1": {"state": "busy", "handled": None}},
                    services={},
                )
            },
        )
        app = make_app("tv", StaticSource(snap, alerts=[]))
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            for headline in app.screen.query(Headline):
                assert headline.value_text == "-"
                assert headline.has_class("-none")
            text = screen_text(app)
            assert "– no data" in text
            assert "0%" not in text and "100%" not in text
            quiet = next(line for line in text.splitlines() if line.startswith("Quiet"))
            assert quiet.count("–") >= 5
            assert "no alerts" in text

    async def test_stale_banner(self) -> None:
        source = StaticSource(agents=5, last_event_us=T0 - 95_000_000)
        app = make_app("tv", source, stale_after_s=30)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            banner = app.screen.query_one(StaleBanner)
            assert banner.display
            assert "feed stale since 15:58:25" in banner.plain
            assert "feed stale since 15:58:25" in screen_text(app)
            source.set_last_event(T0 - 5_000_000)
            app.refresh_now()
            await pilot.pause()
            assert not banner.display and banner.plain == ""

    async def test_no_event_ever(self) -> None:
        now = [T0]
        source = StaticSource(agents=5, last_event_us=None)
        app = make_app("tv", source, clock=lambda: now[0], stale_after_s=10)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert app.screen.query_one(StaleBanner).plain == ""
            now[0] = T0 + 11_000_000
            app.refresh_now()
            await pilot.pause()
            assert "no event yet" in app.screen.query_one(StaleBanner).plain

    async def test_source_error_is_shown_not_fatal(self) -> None:
        class Broken(StaticSource):
            def snapshot(self, now_us: int) -> Snapshot:
                raise RuntimeError("db locked [red]boom[/red]\x1b[2J")

        app = make_app("supervisor", Broken())
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            banner = app.screen.query_one(StaleBanner).plain
            assert "source error: RuntimeError: db locked [red]boom[/red]" in banner
            assert "\x1b" not in screen_text(app)
            assert app.is_running

    async def test_steady_cadence(self) -> None:
        source = StaticSource(agents=5)
        app = make_app("tv", source, refresh_hz=4)
        async with app.run_test(size=(80, 24)) as pilot:
            start = source.calls
            await pilot.pause(1.0)
            got = source.calls - start
            assert 2 <= got <= 6

    async def test_only_changed_tiles_repaint(self) -> None:
        now = [T0]
        app = make_app("tv", StaticSource(agents=30, churn_s=10_000), clock=lambda: now[0])
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.pause()
            grid = app.screen.query_one(AgentGrid)
            app.refresh_now()
            assert grid.repainted_tiles == 0  # same instant: nothing changed
            now[0] += 1_000_000
            app.refresh_now()
            # every tile's time in state moves, but nothing else does
            assert 0 < grid.repainted_tiles <= len(grid.visible_ids)


class TestKeys:
    async def test_q_quits(self) -> None:
        app = make_app("tv")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("q")
            await pilot.pause()
        assert app.return_code == 0

    @pytest.mark.parametrize("mode", ["tv", "supervisor", "agent"])
    async def test_common_keys_in_every_mode(self, mode: str) -> None:
        source = StaticSource(agents=20)
        app = make_app(mode, source)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            # ? shows and hides the keys
            await pilot.press("question_mark")
            await pilot.pause()
            assert app.screen.query(HelpPanel)
            await pilot.press("question_mark")
            await pilot.pause()
            assert not app.screen.query(HelpPanel)
            # w cycles the window, 1/2/3 pick one
            await pilot.press("w")
            assert app.window == "1h" and "window 1h" in header(app)
            await pilot.press("w", "w")
            assert app.window == "15m"
            await pilot.press("3")
            assert app.window == "today" and "window today" in header(app)
            await pilot.press("2")
            assert app.window == "1h"
            await pilot.press("1")
            assert app.window == "15m"
            # p pauses: no more snapshots, PAUSED shown; again resumes
            await pilot.press("p")
            calls = source.calls
            app.refresh_now()
            assert source.calls == calls
            assert "PAUSED" in header(app)
            await pilot.press("p")
            assert "PAUSED" not in header(app) and source.calls > calls
            # t cycles the themes
            before = app.theme
            await pilot.press("t")
            assert app.theme != before
            # ctrl+p opens the command palette, escape closes it
            await pilot.press("ctrl+p")
            await pilot.pause()
            assert isinstance(app.screen, CommandPalette)
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, CommandPalette)
            await pilot.press("q")
        assert app.return_code == 0

    async def test_tv_page_keys(self) -> None:
        app = make_app("tv", StaticSource(agents=200), page_seconds=100)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            grid = app.screen.query_one(AgentGrid)
            pages = grid.page_count
            assert pages > 2
            first = grid.visible_ids
            await pilot.press("n")
            assert app.page == 1 and grid.visible_ids != first
            assert f"page 2/{pages}" in screen_text(app)
            await pilot.press("right_square_bracket")
            assert app.page == 2
            assert f"page 3/{pages}" in screen_text(app)

    async def test_tv_pages_turn_on_their_own(self) -> None:
        app = make_app("tv", StaticSource(agents=200), page_seconds=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.7)
            assert app.page >= 2

    async def test_queue_paging(self) -> None:
        app = make_app("tv", StaticSource(agents=10, queues=20))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            strip = app.screen.query_one(QueueStrip)
            assert strip.page_count > 1
            assert f"QUEUES 1/{strip.page_count}" in screen_text(app)
            await pilot.press("n")
            await pilot.pause()
            assert f"QUEUES 2/{strip.page_count}" in screen_text(app)

    async def test_supervisor_sort_filter_drill(self) -> None:
        source = StaticSource(agents=30)
        app = make_app("supervisor", source)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, SupervisorScreen)
            queues = screen.query_one("#queues", FigureTable)
            assert queues.has_focus
            by_name = queues.row_order
            assert by_name == sorted(by_name, key=str.casefold)
            # s on the first column (name) reverses it
            await pilot.press("s")
            assert queues.row_order == by_name[::-1]
            await pilot.press("s")
            assert queues.row_order == by_name
            # move to the SL column: s sorts by it (highest first), again: lowest first
            await pilot.press("right")
            await pilot.press("s")
            assert screen.sort_by["queues"] == ("service_level", True)
            sls = [app.view.queues[q]["service_level"] for q in queues.row_order]
            present = [v for v in sls if v is not None]
            assert present == sorted(present, reverse=True)
            assert sls[-1] is None  # nulls last
            await pilot.press("s")
            sls = [app.view.queues[q]["service_level"] for q in queues.row_order]
            present = [v for v in sls if v is not None]
            assert present == sorted(present) and sls[-1] is None
            # / filters both tables, escape clears
            await pilot.press("slash")
            box = screen.query_one("#filter", Input)
            assert box.has_focus and box.display
            await pilot.press(*"sal")
            await pilot.pause()
            assert queues.row_order == ["Sales"]
            agents = screen.query_one("#agents", FigureTable)
            await pilot.press("enter")
            assert agents.has_focus
            await pilot.press("escape")
            await pilot.pause()
            assert screen.filter_text == "" and not box.display
            assert len(queues.row_order) == 6
            # enter drills into the queue under the cursor; escape comes back
            queues.focus()
            queues.move_cursor(row=0)
            key = queues.cursor_key
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen)
            assert app.screen.kind == "queue" and app.screen.key == key
            text = screen_text(app)
            assert "Service level" in text and "15m" in text and "today" in text
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen
            # tab to agents, enter drills into an agent
            agents.focus()
            agents.move_cursor(row=2)
            aid = agents.cursor_key
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen) and app.screen.key == aid
            assert app.view.agent_name(aid) in header(app)
            await pilot.press("backspace")
            await pilot.pause()
            assert app.screen is screen

    async def test_agents_sort_by_time_in_state(self) -> None:
        app = make_app("supervisor", StaticSource(agents=30))
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            agents = app.screen.query_one("#agents", FigureTable)
            agents.focus()
            await pilot.press("right", "right", "right")
            await pilot.press("s")
            assert app.screen.sort_by["agents"] == ("time", True)
            from wallboard.widgets.format import seconds_in_state

            secs = [seconds_in_state(app.view.agents[a], T0) for a in agents.row_order]
            assert secs == sorted(secs, reverse=True)

    async def test_alerts_list_and_ack(self) -> None:
        source = StaticSource(agents=10)
        app = make_app("supervisor", source, user="sam")
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, AlertsScreen)
            table = app.screen.query_one(FigureTable)
            assert table.row_count == 3
            assert "CRITICAL" in screen_text(app)
            first = table.cursor_key
            await pilot.press("a")  # a opens the list, and inside it acknowledges
            await pilot.pause()
            assert source.acks == [(first, "sam")]
            assert "sam" in screen_text(app)
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, SupervisorScreen)

    async def test_keymap_from_config(self) -> None:
        app = make_app("tv", keymap={"app.pause": "space", "app.window": "x"})
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("space")
            assert app.paused
            await pilot.press("x")
            assert app.window == "1h"

    async def test_palette_commands(self) -> None:
        app = make_app("supervisor")
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            names = [name for name, _, _ in app.palette_commands()]
            assert "Window: today" in names and "Theme: okabe-ito" in names
            assert "Open queue: Sales" in names and "Show alerts" in names
            assert "Alert history" in names
            dict((n, cb) for n, _, cb in app.palette_commands())["Window: today"]()
            assert app.window == "today"
            dict((n, cb) for n, _, cb in app.palette_commands())["Theme: light"]()
            assert app.theme == "light"
            dict((n, cb) for n, _, cb in app.palette_commands())["Open queue: Sales"]()
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen)


HOSTILE = {
    "a0001": "[red]x[/red] [link=http://evil]click[/link]",
    "a0002": "\x1b[31mRED\x1b[0m\x1b[2J\x1b[H\x1b]0;pwned\x07",
    "a0003": "Zed " + "W" * 300,
    "a0004": "\u202eevil\u202c שלום עליכם",
    "a0005": "مرحبا بالعالم",
    "a0006": "\x9b31m C1 \x85 \x00 nul",
}


def hostile_source() -> StaticSource:
    snap = __import__("wallboard.source", fromlist=["build_snapshot"]).build_snapshot(
        T0, agents=8, names=HOSTILE
    )
    wf = snap.windows["15m"]
    queues = dict(wf.queues)
    queues["[bold]Q[/bold]\x1b[5m"] = dict(next(iter(wf.queues.values())))
    agents = dict(wf.agents)
    agents["a0007"] = {**agents["a0007"], "reason": "\x1b[31m[blink]brb"}
    windows = {name: w for name, w in snap.windows.items()}
    windows["15m"] = WindowFigures(
        window="15m",
        start_us=wf.start_us,
        overall=wf.overall,
        queues=queues,
        agents=agents,
        services=wf.services,
    )
    alerts: Sequence[AlertView] = [
        AlertView(
            id="x",
            rule="product_gap",
            scope="category:[red]refunds\x1b[0m",
            severity="critical",
            message="gap in [red]refunds[/red]\x1b[2J",
            raised_at_us=T0,
        )
    ]
    teams = {**snap.agent_teams, "a0007": "[i]T"}
    return StaticSource(
        Snapshot(
            at_us=T0,
            sl_formula="default",
            windows=windows,
            agent_names=snap.agent_names,
            agent_teams=teams,
            queue_names={"Sales": "\x1b[2J[u]Sales"},
        ),
        alerts=alerts,
    )


def assert_harmless(app: WallboardApp) -> None:
    """No control character, bidi override or link reaches the terminal."""
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            text = segment.text
            assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text), repr(text)
            assert not set(text) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067")
            assert segment.style is None or segment.style.link is None


class TestHostileNames:
    @pytest.mark.parametrize("mode", ["tv", "supervisor", "agent"])
    async def test_names_are_shown_literally_and_harmlessly(self, mode: str) -> None:
        app = make_app(mode, hostile_source(), agent_id="a0007" if mode == "agent" else None)
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.pause()
            assert_harmless(app)
            if mode == "supervisor":
                text = screen_text(app)
                assert "[red]x[/red]" in text and "[bold]Q[/bold]" in text
                await pilot.press("a")
                await pilot.pause()
                assert_harmless(app)
            text = screen_text(app)
            if mode == "tv":
                assert "[red]x[/red]" in text
                assert "[bold]Q[/bold]" in text
                assert "שלום" in text
                assert "WWWW…" in text
                assert "gap in [red]refunds[/red]" in app.screen.query_one(AlertTicker).plain
            elif mode == "supervisor":
                assert "gap in [red]refunds[/red]" in text
            else:
                assert "[blink]brb" in text and "team [i]T" in text


class TestThemes:
    @pytest.mark.parametrize("theme", ["dark", "light", "high-contrast", "okabe-ito", "cb"])
    async def test_theme_applies(self, theme: str) -> None:
        app = make_app("tv", theme=theme)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            grid = app.screen.query_one(AgentGrid)
            styles = {s: grid._style(s).bgcolor for s in ("available", "busy", "critical")}
            assert len(set(styles.values())) == 3

    async def test_textual_theme_from_palette_still_works(self) -> None:
        app = make_app("tv", theme="nord")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert app.theme == "nord"
            assert "AGENTS" in screen_text(app)

    async def test_no_color_still_usable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NO_COLOR", "1")
        app = make_app("tv")
        assert app.no_color
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            text = screen_text(app)
            for words in ("✓", "✗", "AVAIL", "BUSY", "WRAP", "AWAY", "!"):
                assert words in text


async def test_hostile_names_in_the_command_palette() -> None:
    app = make_app("supervisor", hostile_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"open queue")
        await pilot.pause(0.5)
        text = screen_text(app)
        assert "Open queue: [bold]Q[/bold]" in text
        assert_harmless(app)


async def test_table_navigation_keys_and_clicks() -> None:
    app = make_app("supervisor", StaticSource(agents=200))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        agents = app.screen.query_one("#agents", FigureTable)
        agents.focus()
        await pilot.press("down", "down")
        assert agents.cursor_row == 2
        await pilot.press("up")
        assert agents.cursor_row == 1
        await pilot.press("pagedown")
        assert agents.cursor_row > 10
        await pilot.press("end")
        assert agents.cursor_row == 199
        await pilot.pause()
        assert agents.scroll_offset.y > 150  # the cursor is kept in view
        assert agents.formatted_rows < 60  # only rows on screen are formatted
        await pilot.press("home")
        assert agents.cursor_row == 0
        await pilot.press("right", "right", "right", "right", "right", "right", "right")
        assert agents.cursor_column == 7
        await pilot.press("left")
        assert agents.cursor_column == 6
        # a click on a heading sorts by it; again reverses
        queues = app.screen.query_one("#queues", FigureTable)
        await pilot.click(queues, offset=(3, 0))
        assert app.screen.sort_by["queues"] == ("name", True)
        await pilot.click(queues, offset=(3, 0))
        assert app.screen.sort_by["queues"] == ("name", False)
        # a click on a row moves the cursor, a second click opens it
        await pilot.click(queues, offset=(3, 2))
        assert queues.cursor_row == 1
        await pilot.click(queues, offset=(3, 2))
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.kind == "queue"


async def test_quarantine_count_is_on_screen() -> None:
    snap = __import__("wallboard.source", fromlist=["build_snapshot"]).build_snapshot(
        T0, agents=5, quarantined=17
    )
    for mode in ("tv", "supervisor", "agent"):
        app = make_app(mode, StaticSource(snap))
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            assert "17 quarantined" in header(app)
