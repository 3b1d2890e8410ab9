"""The Textual App: one app, three modes (tv, supervisor, agent) over the same snapshots.

The App asks its :class:`~wallboard.source.SnapshotSource` for a snapshot at
a steady cadence (``refresh_hz``, 1-4 Hz), however fast events arrive, and
hands a :class:`~wallboard.screen_base.BoardView` to the screen on top. It
turns the TV's pages every ``page_seconds``, shows a banner when the feed has
been silent longer than ``stale_after_s``, and exits when its terminal goes
away (SIGHUP, or the tty hung up), so a dropped SSH session leaves no process.

Every key binding has an id, so a config file can remap keys
(``keymap={"app.pause": "space"}``).

For development: ``python -m wallboard.app --mode supervisor --agents 300``
runs the App on a hand-made :class:`~wallboard.source.StaticSource`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape
from textual.widgets import HelpPanel

from wallboard import timeutil
from wallboard.alert_rules import concerns_agent
from wallboard.screen_base import BoardScreen, BoardView, History
from wallboard.source import AlertView, FeedStatus, SnapshotSource, StaticSource
from wallboard.themes import THEMES, VARIABLE_DEFAULTS, resolve_theme
from wallboard.widgets.format import Targets, TileThresholds, clock_text
from wallboard.widgets.sanitize import clean

MODES = ("tv", "supervisor", "agent")


class WallboardCommands(Provider):
    """Command palette entries: windows, pause, themes, alerts, open a queue or agent."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        assert isinstance(app, WallboardApp)
        return app.palette_commands()

    async def discover(self) -> Hits:
        """Every command, before anything is typed."""
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(Content(name), callback, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        """Commands matching what was typed."""
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:  # highlight() parses markup: names must be escaped first
                yield Hit(
                    score, matcher.highlight(escape(name)), callback, text=name, help=help_text
                )


class WallboardApp(App[None]):
    """The wallboard: TV board, supervisor console or agent view."""

    TITLE = "wallboard"
    COMMANDS = App.COMMANDS | {WallboardCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "toggle_help", "Keys", id="app.help"),
        Binding("w", "cycle_window", "Window", id="app.window"),
        Binding("1", "window(0)", "1st window", show=False, id="app.window_1"),
        Binding("2", "window(1)", "2nd window", show=False, id="app.window_2"),
        Binding("3", "window(2)", "3rd window", show=False, id="app.window_3"),
        Binding("p", "toggle_pause", "Pause", id="app.pause"),
        Binding("t", "cycle_theme", "Theme", show=False, id="app.theme"),
    ]

    CSS = """
    Screen { background: $background; }
    HelpPanel { width: 40; }
    """

    def __init__(
        self,
        source: SnapshotSource,
        mode: str = "tv",
        agent_id: str | None = None,
        theme: str = "dark",
        refresh_hz: float = 2.0,
        page_seconds: float = 10,
        stale_after_s: float = 30,
        clock: Callable[[], int] = timeutil.now_us,
        inline: bool = False,
        *,
        window: str | None = None,
        tz: ZoneInfo | None = None,
        targets: Targets | None = None,
        tile_thresholds: TileThresholds | None = None,
        keymap: Mapping[str, str] | None = None,
        user: str | None = None,
        agent_order: str = "name",
        hide_offline: bool = False,
        watch_terminal: bool = True,
        alert_bell: bool | None = None,
        alert_notify: bool | None = None,
    ) -> None:
        """Make the app; nothing is read from the source until it runs.

        Args:
            source: Where snapshots, alerts and the feed's health come from.
            mode: ``tv``, ``supervisor`` or ``agent``.
            agent_id: The agent shown in ``agent`` mode (required there).
            theme: ``dark``, ``light``, ``high-contrast``, ``okabe-ito`` (or an alias,
                or any Textual theme name).
            refresh_hz: Snapshots per second (0.2 to 10; 1-4 is sensible).
            page_seconds: Seconds between page turns on the TV.
            stale_after_s: Seconds of feed silence before the stale banner shows.
            clock: Now, in microseconds (inject a fixed clock in tests).
            inline: Run under the prompt instead of full screen (agent panel).
            window: The window in force at start (default: the snapshot's first).
            tz: Zone for the clock on screen (default: the machine's).
            targets: Headline targets (SL target, ASA, waits...).
            tile_thresholds: Wrap-up and away limits for the agent tiles.
            keymap: Binding id -> keys, e.g. ``{"app.pause": "space"}``.
            user: Name recorded when acknowledging alerts (default: login name).
            agent_order: Tile order: ``name`` (stable) or ``state``.
            hide_offline: Leave offline agents off the TV grid.
            watch_terminal: Exit when the terminal hangs up (off in tests).
            alert_bell: Ring the terminal bell when a critical alert appears (raised or
                escalated, not yet acknowledged). None: on, except on the TV (it has
                the ticker and usually nobody to hear it); ``[alerts]`` ``bell`` and
                ``tv_silent`` decide it in ``wallboard run``.
            alert_notify: Show a notification for such an alert; None as for the bell.

        Raises:
            ValueError: an unknown mode or theme, agent mode without an agent,
                or a cadence out of range.
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (use one of: {', '.join(MODES)})")
        if mode == "agent" and not agent_id:
            raise ValueError("the agent view needs an agent id (--agent ID)")
        if not 0.2 <= refresh_hz <= 10:
            raise ValueError(f"refresh rate {refresh_hz} Hz is out of range (0.2 to 10)")
        if page_seconds <= 0 or stale_after_s <= 0:
            raise ValueError("page_seconds and stale_after_s must be more than zero")
        super().__init__()
        for custom in THEMES.values():
            self.register_theme(custom)
        self.theme = resolve_theme(theme, extra=tuple(self.available_themes))
        self.source = source
        self.mode = mode
        self.agent_id = agent_id
        self.refresh_hz = refresh_hz
        self.page_seconds = page_seconds
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.inline_mode = inline
        self.tz = tz if tz is not None else timeutil.local_zone()
        self.targets = targets or Targets()
        self.tile_thresholds = tile_thresholds or TileThresholds()
        self.user = user or _login_name()
        self.agent_order = agent_order
        self.hide_offline = hide_offline
        self.watch_terminal = watch_terminal
        self.alert_bell = (mode != "tv") if alert_bell is None else alert_bell
        self.alert_notify = (mode != "tv") if alert_notify is None else alert_notify
        self._critical_ids: frozenset[str] | None = None  # None: no alerts read yet
        self._keymap = dict(keymap or {})
        self._window = window
        self.paused = False
        self.page = 0
        self.ticks = 0
        self.view: BoardView | None = None
        self.history = History()
        self.board_screen: BoardScreen | None = None
        self._snapshot = None
        self._alerts: tuple[AlertView, ...] = ()
        self._status: FeedStatus | None = None
        self._error: str | None = None
        self._tty_fd: int | None = None
        self._hung_up = False

    # -- running ---------------------------------------------------------

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run full screen, or inline when the app was made with ``inline=True``."""
        kwargs.setdefault("inline", self.inline_mode)
        return super().run(*args, **kwargs)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Fallbacks for our ``tile-*`` variables, so any theme can be chosen."""
        return {**super().get_theme_variable_defaults(), **VARIABLE_DEFAULTS}

    def on_mount(self) -> None:
        """Show the mode's screen, take a first snapshot, start the cadence."""
        if self._keymap:
            self.set_keymap(self._keymap)
        self.board_screen = self._make_screen()
        self.push_screen(self.board_screen)
        self.refresh_now()
        self.set_interval(1 / self.refresh_hz, self.refresh_now, name="refresh")
        self.set_interval(self.page_seconds, self.action_next_page, name="pages")
        if self.watch_terminal and not self.is_headless:
            self._watch_terminal()

    def _make_screen(self) -> BoardScreen:
        if self.mode == "supervisor":
            from wallboard.screen_supervisor import SupervisorScreen

            return SupervisorScreen()
        if self.mode == "agent":
            from wallboard.screen_agent import AgentScreen

            return AgentScreen()
        from wallboard.screen_tv import TVScreen

        return TVScreen()

    def refresh_now(self) -> None:
        """One refresh: read the source (unless paused), build the view, show it."""
        now = self.clock()
        self.ticks += 1
        source = self.source
        error = None
        alerts_read = False
        try:
            if not self.paused or self._snapshot is None:
                self._snapshot = source.snapshot(now)
            self._alerts = tuple(source.alerts())
            alerts_read = True
            self._status = source.status()
        except Exception as exc:  # a wallboard never exits because the feed hiccupped
            error = f"source error: {clean(type(exc).__name__)}: {clean(str(exc), 120)}"
            self.log.error(error)
        self._error = error
        self._publish(now)
        if alerts_read:
            self._announce_new_critical()

    def relevant_alerts(self, alerts: Sequence[AlertView] | None = None) -> list[AlertView]:
        """The alerts this screen is about: all of them, or in the agent view only
        those about the agent or their queues (``alert_rules.concerns_agent``)."""
        alerts = self._alerts if alerts is None else alerts
        if self.mode != "agent":
            return list(alerts)
        aid = self.agent_id or ""
        queues = self.view.queues_of(aid) if self.view is not None else ()
        return [a for a in alerts if concerns_agent(a.scope, aid, queues)]

    def _announce_new_critical(self) -> None:
        """Bell and notification for each critical, unacknowledged alert that was not
        so at the previous refresh. Not at the first read: a session that reconnects
        (or a restart) must not ring for what is already on screen."""
        critical = {
            a.id: a for a in self.relevant_alerts() if a.severity == "critical" and not a.acked_by
        }
        before = self._critical_ids
        self._critical_ids = frozenset(critical)
        if before is None:
            return
        for key, alert in critical.items():
            if key in before:
                continue
            if self.alert_bell:
                self.bell()
            if self.alert_notify:
                self.notify(
                    clean(alert.message, 200),
                    title=f"✗ CRITICAL {clean(alert.scope, 60)}",
                    severity="error",
                    timeout=30,
                    markup=False,
                )

    def _publish(self, now: int | None = None) -> None:
        now = self.clock() if now is None else now
        snap = self._snapshot
        windows = tuple(snap.windows) if snap is not None else ()
        if self._window not in windows and windows:
            self._window = windows[0]
        view = BoardView(
            snapshot=snap,
            window=self._window or "",
            alerts=self._alerts,
            status=self._status,
            now_us=now,
            stale=self.stale_message(now, self._status),
            paused=self.paused,
            error=self._error,
            tick=self.ticks,
            page=self.page,
        )
        self.view = view
        if not self.paused:
            self.history.record(view)
        screen = self.screen
        if isinstance(screen, BoardScreen):
            with self.batch_update():
                screen.update_view(view)

    def stale_message(self, now_us: int, status: FeedStatus | None) -> str | None:
        """``feed stale since HH:MM:SS`` when the feed has been silent too long."""
        if status is None:
            return None
        last = status.last_event_received_us
        limit = int(self.stale_after_s * timeutil.US)
        if last is None:
            return None if self._started_recently(now_us, limit) else "feed silent: no event yet"
        if now_us - last <= limit:
            return None
        silent = (now_us - last) // timeutil.US
        mins, secs = divmod(silent, 60)
        return (
            f"feed stale since {clock_text(last, self.tz)} "
            f"(silent {mins}m {secs:02d}s; figures may be out of date)"
        )

    def _started_recently(self, now_us: int, limit: int) -> bool:
        first = getattr(self, "_first_tick_us", None)
        if first is None:
            self._first_tick_us = now_us
            return True
        return now_us - first <= limit

    # -- terminal going away --------------------------------------------

    def _watch_terminal(self) -> None:
        if not os.environ.get("WALLBOARD_IGNORE_SIGHUP"):  # tests of the tty watch
            try:
                loop = asyncio.get_running_loop()
                loop.add_signal_handler(signal.SIGHUP, self._hang_up)
            except (NotImplementedError, RuntimeError, ValueError, AttributeError):
                pass
        else:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        for stream in (sys.__stdin__, sys.__stdout__):
            try:
                if stream is not None and os.isatty(stream.fileno()):
                    self._tty_fd = stream.fileno()
                    break
            except (OSError, ValueError):
                continue
        if self._tty_fd is not None:
            self.set_interval(1.0, self._check_tty, name="tty-watch")

    def _check_tty(self) -> None:
        fd = self._tty_fd
        if fd is None:
            return
        try:
            termios.tcgetattr(fd)
        except (termios.error, OSError):
            self._hang_up()

    def _hang_up(self) -> None:
        """The terminal is gone: stop now, quietly, whatever happens to the last writes."""
        if self._hung_up:
            return
        self._hung_up = True
        self._tty_fd = None
        _detach_from_terminal()
        # Textual's shutdown writes to the terminal; should it block on the dead
        # tty anyway, a daemon thread ends the process: never a spinning orphan.
        threading.Thread(target=_exit_later, args=(3.0,), daemon=True).start()
        self.exit(return_code=129)

    # -- actions ---------------------------------------------------------

    def action_toggle_help(self) -> None:
        """Show or hide the keys."""
        if self.screen.query(HelpPanel):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    @property
    def window(self) -> str:
        """The window in force."""
        return self._window or ""

    def set_window(self, window: str) -> None:
        """Put a window in force and show it at once."""
        self._window = window
        self._publish()

    def action_cycle_window(self) -> None:
        """Next window (15m -> 1h -> today -> 15m)."""
        windows = self.view.windows if self.view else ()
        if not windows:
            return
        i = windows.index(self._window) if self._window in windows else -1
        self.set_window(windows[(i + 1) % len(windows)])

    def action_window(self, index: int) -> None:
        """The n-th window (keys 1, 2, 3)."""
        windows = self.view.windows if self.view else ()
        if 0 <= index < len(windows):
            self.set_window(windows[index])

    def action_toggle_pause(self) -> None:
        """Freeze the figures (the clock, staleness and alerts go on)."""
        self.paused = not self.paused
        if not self.paused:
            self.refresh_now()
        else:
            self._publish()
        self.notify("paused" if self.paused else "resumed", timeout=2, markup=False)

    def action_next_page(self) -> None:
        """Turn the TV's pages (agents and queues)."""
        self.page += 1
        if self.view is not None:
            self.view = replace(self.view, page=self.page)
            screen = self.screen
            if isinstance(screen, BoardScreen):
                screen.update_view(self.view)

    def action_cycle_theme(self) -> None:
        """Next of the wallboard's themes."""
        names = list(THEMES)
        i = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(i + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2, markup=False)

    def action_alerts(self) -> None:
        """Open the alert list."""
        from wallboard.screen_alerts import AlertsScreen

        self.push_screen(AlertsScreen())

    def action_alert_history(self) -> None:
        """Open the alert history."""
        from wallboard.screen_alerts import AlertHistoryScreen

        self.push_screen(AlertHistoryScreen())

    def open_detail(self, kind: str, key: str) -> None:
        """Drill into a queue or an agent."""
        from wallboard.screen_detail import DetailScreen

        self.push_screen(DetailScreen(kind, key))

    def acknowledge(self, alert_id: str) -> None:
        """Acknowledge an alert as this app's user, then show it."""
        try:
            self.source.acknowledge(alert_id, self.user)
        except Exception as exc:
            self.notify(
                Text(f"could not acknowledge: {clean(str(exc), 120)}").plain,
                severity="error",
                markup=False,
            )
            return
        self.refresh_now()

    # -- command palette -------------------------------------------------

    def palette_commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        """(name, help, callback) for :class:`WallboardCommands`."""
        commands: list[tuple[str, str, Callable[[], object]]] = []
        view = self.view
        for window in view.windows if view else ():
            name = clean(window, 20)
            commands.append(
                (f"Window: {name}", "show this window's figures", _bind(self.set_window, window))
            )
        commands.append(
            (
                "Resume" if self.paused else "Pause",
                "freeze or unfreeze the figures",
                self.action_toggle_pause,
            )
        )
        for theme in THEMES:
            commands.append(
                (f"Theme: {theme}", "wallboard colour theme", _bind(self._set_theme, theme))
            )
        if self.mode == "supervisor":
            commands.append(("Show alerts", "the alert list", self.action_alerts))
            commands.append(("Alert history", "alerts of the last 24 h", self.action_alert_history))
            if view is not None:
                for q in view.queues:
                    label = clean(view.queue_name(q), 40)
                    commands.append(
                        (f"Open queue: {label}", "details", _bind2(self.open_detail, "queue", q))
                    )
                if len(view.agents) <= 5000:
                    for aid in view.agents:
                        label = clean(view.agent_name(aid), 40)
                        commands.append(
                            (
                                f"Open agent: {label} ({clean(aid, 20)})",
                                "details",
                                _bind2(self.open_detail, "agent", aid),
                            )
                        )
        return commands

    def _set_theme(self, name: str) -> None:
        self.theme = name


def _bind(func: Callable[[str], object], arg: str) -> Callable[[], object]:
    return lambda: func(arg)


def _bind2(func: Callable[[str, str], object], a: str, b: str) -> Callable[[], object]:
    return lambda: func(a, b)


def _detach_from_terminal() -> None:
    """Point stdin, stdout and stderr at /dev/null, so no write blocks or fails."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) or _tty_dead(fd):
                os.dup2(null, fd)
        except OSError:
            continue
    os.close(null)


def _tty_dead(fd: int) -> bool:
    try:
        termios.tcgetattr(fd)
    except termios.error:
        return True
    except OSError:
        return False
    return False


def _exit_later(seconds: float) -> None:
    time.sleep(seconds)
    os._exit(129)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "supervisor"


def main(argv: Sequence[str] | None = None) -> int:
    """Development entry: the App on a hand-made source."""
    parser = argparse.ArgumentParser(prog="python -m wallboard.app", description=__doc__)
    parser.add_argument("--mode", choices=MODES, default="tv")
    parser.add_argument("--agent", default=None)
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--queues", type=int, default=6)
    parser.add_argument("--theme", default="dark")
    parser.add_argument("--hz", type=float, default=2.0)
    parser.add_argument("--page-seconds", type=float, default=10)
    parser.add_argument("--inline", action="store_true")
    args = parser.parse_args(argv)
    source = StaticSource(agents=args.agents, queues=args.queues)
    app = WallboardApp(
        source,
        mode=args.mode,
        agent_id=args.agent or ("a0001" if args.mode == "agent" else None),
        theme=args.theme,
        refresh_hz=args.hz,
        page_seconds=args.page_seconds,
        inline=args.inline,
    )
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
