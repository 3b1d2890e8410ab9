"""Pilot tests of the alerts on screen: bell and notification, the supervisor's list
and history, the agent's own alerts, values with their unit, per-queue wait targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from tests.test_app import T0, make_app, screen_text
from wallboard.alert_store import AlertRecord
from wallboard.app import WallboardApp
from wallboard.engine.snapshot import Snapshot, WindowFigures
from wallboard.screen_alerts import AlertHistoryScreen, AlertsScreen
from wallboard.screen_supervisor import SupervisorScreen
from wallboard.source import AlertView, StaticSource, build_snapshot
from wallboard.widgets.figure_table import FigureTable
from wallboard.widgets.format import Level, Targets, alert_value, level_of
from wallboard.widgets.queue_strip import QueueStrip

S = 1_000_000


def alert(
    id: str,
    severity: str = "critical",
    scope: str = "queue:Sales",
    message: str | None = None,
    ago_s: int = 60,
    **kwargs: Any,
) -> AlertView:
    return AlertView(
        id=id,
        rule="waiting_above",
        scope=scope,
        severity=severity,  # type: ignore[arg-type]
        message=message or f"{scope}: alert {id}",
        raised_at_us=T0 - ago_s * S,
        **kwargs,
    )


class Recorder:
    """Counts the App's bells and notifications (headless apps ring no real bell)."""

    def __init__(self, app: WallboardApp) -> None:
        self.bells = 0
        self.notes: list[dict[str, Any]] = []
        notify = app.notify

        def bell() -> None:
            self.bells += 1

        def note(message: str, **kwargs: Any) -> None:
            self.notes.append({"message": message, **kwargs})
            notify(message, **kwargs)

        app.bell = bell  # type: ignore[method-assign]
        app.notify = note  # type: ignore[method-assign]


class TestBell:
    async def test_rings_once_per_new_critical_and_not_at_the_first_refresh(self) -> None:
        source = StaticSource(agents=5, alerts=[alert("c1")])
        app = make_app("supervisor", source)
        rec = Recorder(app)
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            app.refresh_now()
            assert rec.bells == 0 and rec.notes == []  # already there at start: silent
            # a new critical and a new warning: one bell, one notification
            source.set_alerts(
                [
                    alert("c1"),
                    alert("c2", message="Support: [red]9[/red] waiting"),
                    alert("w1", "warning"),
                ]
            )
            app.refresh_now()
            assert rec.bells == 1
            assert [n["message"] for n in rec.notes] == ["Support: [red]9[/red] waiting"]
            assert rec.notes[0]["markup"] is False and rec.notes[0]["severity"] == "error"
            assert rec.notes[0]["title"] == "✗ CRITICAL queue:Sales"
            app.refresh_now()
            app.refresh_now()
            assert rec.bells == 1  # still the same alerts: no more
            # the warning escalates: it is a new critical
            source.set_alerts([alert("c1"), alert("c2"), alert("w1", "critical")])
            app.refresh_now()
            assert rec.bells == 2 and len(rec.notes) == 2
            # acknowledged: quiet; escalated again (the ack is cleared): rings again
            source.set_alerts([alert("c1"), alert("c2", acked_by="sam"), alert("w1")])
            app.refresh_now()
            source.set_alerts([alert("c1"), alert("c2"), alert("w1")])
            app.refresh_now()
            assert rec.bells == 3
            # two at once: two bells
            source.set_alerts([alert(f"n{i}") for i in range(2)])
            app.refresh_now()
            assert rec.bells == 5 and len(rec.notes) == 5

    async def test_tv_is_silent_unless_told(self) -> None:
        for kwargs, rings in (({}, 0), ({"alert_bell": True, "alert_notify": True}, 1)):
            source = StaticSource(agents=5, alerts=[])
            app = make_app("tv", source, **kwargs)
            rec = Recorder(app)
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                source.set_alerts([alert("c1")])
                app.refresh_now()
                assert (rec.bells, len(rec.notes)) == (rings, rings), kwargs

    async def test_bell_and_notification_apart(self) -> None:
        source = StaticSource(agents=5, alerts=[])
        app = make_app("supervisor", source, alert_bell=False)
        assert app.alert_notify and not app.alert_bell
        rec = Recorder(app)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            source.set_alerts([alert("c1")])
            app.refresh_now()
            assert rec.bells == 0 and len(rec.notes) == 1

    async def test_a_source_error_first_does_not_make_everything_new(self) -> None:
        class Flaky(StaticSource):
            fail = True

            def alerts(self) -> Sequence[AlertView]:
                if self.fail:
                    raise RuntimeError("locked")
                return super().alerts()

        source = Flaky(agents=5, alerts=[alert("c1")])
        app = make_app("supervisor", source)
        rec = Recorder(app)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            source.fail = False
            app.refresh_now()  # the first read that worked: silent
            assert rec.bells == 0


class TestAlertList:
    async def test_a_opens_then_acknowledges_as_the_apps_user(self) -> None:
        source = StaticSource(agents=10)
        app = make_app("supervisor", source, user="alice (ssh from 10.1.2.3)")
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, AlertsScreen)
            table = app.screen.query_one(FigureTable)
            assert table.row_order == ["al-2", "al-1", "al-0"]  # critical, then newest
            await pilot.press("down")
            await pilot.press("a")
            await pilot.pause()
            assert source.acks == [("al-1", "alice (ssh from 10.1.2.3)")]
            assert table.cursor_key == "al-1"  # acknowledging does not move the row
            text = screen_text(app)
            assert "✓ alice (ssh from" in text
            assert "3 in force" in text and "2 acknowledged" in text
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, SupervisorScreen)

    async def test_values_with_their_unit_and_when_raised(self) -> None:
        app = make_app("supervisor", StaticSource(agents=5))
        async with app.run_test(size=(180, 30)) as pilot:
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            text = screen_text(app)
            row = next(line for line in text.splitlines() if "Support: service" in line)
            assert "62%" in row and "80%" in row and "0.62" not in row
            assert "15:58:25" in row and "1:35" in row  # raised at, and for how long
            row = next(line for line in text.splitlines() if "Sales: longest" in line)
            assert "2:10" in row and "1:00" in row

    async def test_enter_opens_the_queue_an_alert_is_about(self) -> None:
        from wallboard.screen_detail import DetailScreen

        app = make_app("supervisor", StaticSource(agents=5))
        async with app.run_test(size=(160, 30)) as pilot:
            await pilot.pause()
            await pilot.press("a", "enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen)
            assert (app.screen.kind, app.screen.key) == ("queue", "Support")
            await pilot.press("escape", "end", "enter")  # category:refunds has no details
            await pilot.pause()
            assert isinstance(app.screen, AlertsScreen)

    async def test_an_empty_list_says_so(self) -> None:
        app = make_app("supervisor", StaticSource(agents=5, alerts=[]))
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            await pilot.press("a")
            await pilot.pause()
            assert "no alerts in force" in screen_text(app)


def record(i: int, **kwargs: Any) -> AlertRecord:
    base: dict[str, Any] = {
        "id": i,
        "rule": "longest_wait_above",
        "scope": f"queue:Q{i}",
        "severity": "critical",
        "raised_at_us": T0 - (3600 - i * 60) * S,
        "cleared_at_us": T0 - 60 * S,
        "acked_at_us": None,
        "acked_by": None,
        "value": 200.0,
        "threshold": 180.0,
        "message": f"Q{i}: longest wait",
        "unit": "seconds",
        "current_severity": "critical",
        "current_value": 200.0,
    }
    base.update(kwargs)
    return AlertRecord(**base)


class HistorySource(StaticSource):
    def __init__(self, records: Sequence[AlertRecord], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.records = list(records)
        self.asked: list[tuple[int | None, int]] = []

    def alert_history(self, since_us: int | None = None, limit: int = 200) -> list[AlertRecord]:
        self.asked.append((since_us, limit))
        return self.records


class TestHistory:
    async def test_history_view_from_the_sources_hook(self) -> None:
        records = [
            record(1, acked_by="sam"),
            record(2, cleared_at_us=None, unit="share", value=0.42, threshold=0.6),
            record(3, raised_at_us=T0 - 30 * 3600 * S, message="yesterday's"),
        ]
        source = HistorySource(records, agents=5)
        app = make_app("supervisor", source)
        async with app.run_test(size=(180, 30)) as pilot:
            await pilot.pause()
            await pilot.press("a", "h")
            await pilot.pause()
            assert isinstance(app.screen, AlertHistoryScreen)
            assert source.asked and source.asked[0][0] == T0 - 24 * 3600 * S
            table = app.screen.query_one(FigureTable)
            assert table.row_order == ["3", "2", "1"]  # newest first
            text = screen_text(app)
            assert "3 alerts in the last 24 h" in text
            row2 = next(line for line in text.splitlines() if "Q2: longest" in line)
            assert "in force" in row2 and "42%" in row2 and "60%" in row2
            row1 = next(line for line in text.splitlines() if "Q1: longest" in line)
            assert "3:20" in row1 and "3:00" in row1 and "sam" in row1 and "15:59:00" in row1
            assert "23 Nov" in text  # another day shows its date
            # read again at most every 5 s, not at every refresh
            calls = len(source.asked)
            app.refresh_now()
            assert len(source.asked) == calls
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, AlertsScreen)

    async def test_no_history_available(self) -> None:
        app = make_app("supervisor", StaticSource(agents=5))
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            await pilot.press("a", "h")
            await pilot.pause()
            assert "no history available" in screen_text(app)

    async def test_a_failing_hook_is_shown_not_fatal(self) -> None:
        class Broken(HistorySource):
            def alert_history(self, since_us: int | None = None, limit: int = 200) -> list[Any]:
                raise OSError("disk [b]gone[/b]")

        app = make_app("supervisor", Broken([], agents=5))
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            await pilot.press("a", "h")
            await pilot.pause()
            assert "history unavailable: OSError: disk [b]gone[/b]" in screen_text(app)
            assert app.is_running


if "agent_queues" in getattr(Snapshot, "__dataclass_fields__", {}):
    QueuedSnapshot: Any = Snapshot
else:

    @dataclass(frozen=True, slots=True)
    class QueuedSnapshot(Snapshot):  # type: ignore[no-redef]
        """A snapshot with the engine's coming ``agent_queues`` field."""

        agent_queues: Mapping[str, frozenset[str]] = field(default_factory=dict)


def with_agent_queues(snap: Snapshot, agent_queues: Mapping[str, frozenset[str]]) -> Snapshot:
    fields = {name: getattr(snap, name) for name in Snapshot.__dataclass_fields__}
    fields["agent_queues"] = agent_queues
    return QueuedSnapshot(**fields)


AGENT_ALERTS = [
    alert("mine", scope="agent:a0003", message="a0003 in wrap-up for 6:00"),
    alert("myq", "warning", scope="queue:Tech", message="Tech: 7 waiting"),
    alert("other", scope="queue:Sales", message="Sales: 12 waiting"),
    alert("peer", scope="agent:a0004", message="a0004 away for 1:10:00"),
    alert("all", scope="overall", message="feed silent"),
]


class TestAgentView:
    async def test_only_my_alerts_and_my_queues(self) -> None:
        snap = with_agent_queues(
            build_snapshot(T0, agents=10), {"a0003": frozenset({"Tech", "Chat"})}
        )
        source = StaticSource(snap, alerts=AGENT_ALERTS)
        app = make_app("agent", source, agent_id="a0003")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            text = screen_text(app)
            assert "a0003 in wrap-up" in text and "Tech: 7 waiting" in text
            for other in ("Sales: 12", "a0004 away", "feed silent"):
                assert other not in text
            queues = next(line for line in text.splitlines() if "my queues" in line)
            assert "Chat" in queues and "Tech" in queues and "Billing" not in queues
            assert queues.index("Chat") < queues.index("Tech")  # sorted

    async def test_without_agent_queues_the_agents_own_queues_count(self) -> None:
        # build_snapshot gives a0003 the queues Billing and Email in its figures
        source = StaticSource(
            build_snapshot(T0, agents=10),
            alerts=[*AGENT_ALERTS, alert("bill", scope="queue:Billing", message="Billing: SL")],
        )
        app = make_app("agent", source, agent_id="a0003")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            text = screen_text(app)
            assert "Billing: SL" in text and "Tech: 7" not in text
            assert "a0003 in wrap-up" in text

    async def test_the_bell_rings_only_for_my_alerts(self) -> None:
        source = StaticSource(build_snapshot(T0, agents=10), alerts=[])
        app = make_app("agent", source, agent_id="a0003")
        rec = Recorder(app)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            source.set_alerts([alert("other", scope="queue:Sales")])
            app.refresh_now()
            assert rec.bells == 0
            source.set_alerts(
                [alert("other", scope="queue:Sales"), alert("mine", scope="agent:a0003")]
            )
            app.refresh_now()
            assert rec.bells == 1

    async def test_hostile_alert_text_is_harmless(self) -> None:
        from tests.test_app import assert_harmless

        evil = alert(
            "x", scope="agent:a0003", message="[red]x[/red]\x1b[2J\u202eevil", acked_by="\x9bme"
        )
        app = make_app("agent", StaticSource(agents=10, alerts=[evil]), agent_id="a0003")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert "[red]x[/red]" in screen_text(app)
            assert_harmless(app)

    async def test_no_alerts_says_none(self) -> None:
        app = make_app("agent", StaticSource(agents=10, alerts=[]), agent_id="a0003")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert "my alerts: ✓ none" in screen_text(app)


def queue_snapshot(longest: float, threshold_s: float) -> Snapshot:
    snap = build_snapshot(T0, agents=4, queues=2)
    wf = snap.windows["15m"]
    figures = {
        "waiting": 2,
        "longest_wait": longest,
        "asa": longest / 2,
        "service_level": 0.95,
        "answered": 10,
        "arrivals": 10,
        "abandonment_rate": 0.0,
    }
    queues = {"Email": dict(figures), "Phone": dict(figures)}
    windows = dict(snap.windows)
    windows["15m"] = WindowFigures(
        window="15m",
        start_us=wf.start_us,
        overall=wf.overall,
        queues=queues,
        agents=wf.agents,
        services=wf.services,
    )
    sl = next(iter(snap.queue_sl.values()))
    return replace(
        snap,
        windows=windows,
        queue_sl={
            "Email": replace(sl, sl_threshold_s=threshold_s),
            "Phone": replace(sl, sl_threshold_s=20.0),
        },
    )


class TestPerQueueTargets:
    def test_wait_targets_scale_with_the_queues_threshold(self) -> None:
        t = Targets()
        email = {"longest_wait": 36 * 60.0, "asa": 20 * 60.0, "waiting": 3, "sl_threshold": 3600}
        assert level_of("longest_wait", email, t) is Level.GOOD
        assert level_of("asa", email, t) is Level.GOOD
        phone = {**email, "sl_threshold": 20}
        assert level_of("longest_wait", phone, t) is Level.BAD
        assert level_of("asa", phone, t) is Level.BAD
        bare = {k: v for k, v in phone.items() if k != "sl_threshold"}
        assert level_of("longest_wait", bare, t) is Level.BAD
        # near the target: 60 s queue, longest wait target 3 min, near up to 4:30
        chat = {"longest_wait": 200.0, "waiting": 1, "sl_threshold": 60}
        assert level_of("longest_wait", chat, t) is Level.NEAR
        # a configured ASA target is kept, scaled for each queue
        assert level_of("asa", {"asa": 25.0, "sl_threshold": 20}, Targets(asa_s=30)) is Level.GOOD

    async def test_email_queue_is_not_red_at_36_minutes(self) -> None:
        source = StaticSource(queue_snapshot(36 * 60.0, 3600.0), alerts=[])
        for mode in ("tv", "supervisor"):
            app = make_app(mode, source)
            async with app.run_test(size=(160, 40)) as pilot:
                await pilot.pause()
                text = screen_text(app)
                if mode == "tv":
                    assert app.screen.query_one(QueueStrip).page_count == 1
                lines = text.splitlines()
                email = next(line for line in lines if line.lstrip().startswith("Email"))
                phone = next(line for line in lines if line.lstrip().startswith("Phone"))
                assert "✓ 36:00" in email and "✗" not in email.split("36:00")[0][-4:]
                assert "✗ 36:00" in phone


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.62, "share", "62%"),
        (130.0, "seconds", "2:10"),
        (4000.0, "seconds", "1:06:40"),
        (7.0, "count", "7"),
        (0.62, "", "0.62"),
        (12.0, "", "12"),
        (None, "share", "–"),
        (float("nan"), "seconds", "–"),
    ],
)
def test_alert_value(value: float | None, unit: str, shown: str) -> None:
    assert alert_value(value, unit) == shown
