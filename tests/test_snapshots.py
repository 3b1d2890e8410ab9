"""Screenshots of the three modes, each theme, and the states that matter.

Clock frozen at 2025-11-24 16:00:00 UTC, static hand-made snapshots, no
cursor blink (no text input is focused): the SVGs are stable. Update with
``pytest tests/test_snapshots.py --snapshot-update`` only after looking at
the report.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from wallboard.alert_store import AlertRecord
from wallboard.app import WallboardApp
from wallboard.source import AlertView, StaticSource, build_snapshot, demo_alerts

T0 = 1_764_000_000_000_000
US = 1_000_000
SIZES = {"80x24": (80, 24), "200x60": (200, 60)}


def make_app(mode: str = "tv", source: Any = None, **kwargs: Any) -> WallboardApp:
    return WallboardApp(
        source if source is not None else StaticSource(agents=120),
        mode=mode,
        agent_id="a0003" if mode == "agent" else None,
        clock=lambda: T0,
        tz=ZoneInfo("UTC"),
        watch_terminal=False,
        user="sam",
        **kwargs,
    )


class TestModes:
    @pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
    @pytest.mark.parametrize("mode", ["tv", "supervisor", "agent"])
    def test_mode(self, snap_compare: Any, mode: str, size: tuple[int, int]) -> None:
        assert snap_compare(make_app(mode), terminal_size=size)

    def test_tv_4k(self, snap_compare: Any) -> None:
        assert snap_compare(make_app("tv", StaticSource(agents=2000)), terminal_size=(300, 90))


class TestThemes:
    @pytest.mark.parametrize("theme", ["dark", "light", "high-contrast", "okabe-ito"])
    def test_theme(self, snap_compare: Any, theme: str) -> None:
        assert snap_compare(make_app("tv", theme=theme), terminal_size=(120, 36))

    def test_no_color(self, snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NO_COLOR", "1")
        assert snap_compare(make_app("tv"), terminal_size=(120, 36))


class TestStates:
    def test_stale_feed(self, snap_compare: Any) -> None:
        source = StaticSource(agents=40, last_event_us=T0 - 125_000_000)
        assert snap_compare(make_app("tv", source), terminal_size=(120, 36))

    def test_hostile_names(self, snap_compare: Any) -> None:
        names = {
            "a0001": "[red]x[/red] [b]bold?[/b]",
            "a0002": "\x1b[31mRED\x1b[0m\x1b[2J",
            "a0003": "Zed " + "W" * 200,
            "a0004": "\u202eevil\u202c שלום",
            "a0005": "مرحبا",
        }
        source = StaticSource(build_snapshot(T0, agents=12, names=names))
        assert snap_compare(make_app("tv", source), terminal_size=(120, 36))

    def test_queue_drill_down(self, snap_compare: Any) -> None:
        assert snap_compare(make_app("supervisor"), terminal_size=(120, 36), press=["enter"])

    def test_alert_list(self, snap_compare: Any) -> None:
        assert snap_compare(make_app("supervisor"), terminal_size=(140, 36), press=["a"])

    def test_alert_history(self, snap_compare: Any) -> None:
        class WithHistory(StaticSource):
            def alert_history(self, since_us: int | None, limit: int) -> list[AlertRecord]:
                return [
                    AlertRecord(
                        i,
                        "longest_wait_above",
                        f"queue:{q}",
                        sev,
                        T0 - (7200 - i * 900) * US,
                        None if i == 5 else T0 - (6000 - i * 900) * US,
                        T0 - 7000 * US if i == 1 else None,
                        "sam" if i == 1 else None,
                        value,
                        limit_,
                        f"{q}: longest wait {msg}",
                        "seconds",
                        sev,
                        value,
                    )
                    for i, (q, sev, value, limit_, msg) in enumerate(
                        [
                            ("Sales", "warning", 75.0, 60.0, "1:15 above 1:00"),
                            ("Support", "critical", 200.0, 180.0, "3:20 above 3:00"),
                            ("Chat", "warning", 190.0, 180.0, "3:10 above 3:00"),
                            ("Email", "warning", 11500.0, 10800.0, "3:11:40 above 3:00:00"),
                            ("Tech", "critical", 400.0, 180.0, "6:40 above 3:00"),
                            ("Billing", "warning", 70.0, 60.0, "1:10 above 1:00"),
                        ],
                        start=1,
                    )
                ]

        assert snap_compare(
            make_app("supervisor", WithHistory(agents=40)),
            terminal_size=(140, 30),
            press=["a", "h"],
        )

    def test_agent_alerts(self, snap_compare: Any) -> None:
        wrap = AlertView(
            id="w",
            rule="agent_complaints",
            scope="agent:a0003",
            severity="critical",
            message="Chen Wang: 3 complaints today (3 or more)",
            raised_at_us=T0 - 10 * US,
            value=3.0,
            threshold=3.0,
            unit="count",
        )
        billing = AlertView(
            id="b",
            rule="waiting_above",
            scope="queue:Billing",
            severity="warning",
            message="Billing: 6 waiting (5 or more for 1:00)",
            raised_at_us=T0 - 70 * US,
            value=6.0,
            threshold=5.0,
            unit="count",
        )
        source = StaticSource(agents=40, alerts=[*demo_alerts(T0), wrap, billing])
        assert snap_compare(make_app("agent", source), terminal_size=(80, 24))

    def test_supervisor_sorted_filtered(self, snap_compare: Any) -> None:
        async def run_before(pilot: Any) -> None:
            await pilot.press("right", "s", "slash", "s", "a", "enter")

        assert snap_compare(make_app("supervisor"), terminal_size=(120, 36), run_before=run_before)
