"""Alerts in SQLite: transitions recorded by the writer, acknowledgements from any
process, history across restarts, `wallboard alerts`, and the ingest writer."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli, wait_until
from tests.test_alert_eval import T0, at, make_snapshot, rule
from wallboard.alert_rules import AlertsConfig, Rule
from wallboard.alert_store import (
    AlertMonitor,
    AlertReader,
    ack_identity,
    acknowledge,
    alert_events,
    history,
)
from wallboard.config import Config
from wallboard.engine.core import Engine
from wallboard.errors import UserError
from wallboard.live import LiveSource, ViewerSource
from wallboard.source import FeedStatus
from wallboard.store import MIGRATIONS, SCHEMA_VERSION, connect_readonly, open_for_writing
from wallboard.timeutil import US, now_us

WAIT = [rule("waiting_above")]


def new_db(tmp_path: Path) -> Path:
    db = tmp_path / "w.db"
    open_for_writing(db).close()
    return db


def waiting(t: int, n: int, queue: str = "Sales"):
    return make_snapshot(at(t), queues={queue: {"waiting": n}})


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT rule, scope, severity, peak_severity, cleared_at_us IS NULL, acked_by"
            " FROM alerts ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def test_migrations_add_alert_tables_to_an_old_database(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    conn.execute("INSERT INTO events (id, ts_us, type, body) VALUES ('1', 1, 'x', x'7b7d')")
    conn.close()
    # A viewer of a database its (older) writer never upgraded shows no alerts.
    reader = AlertReader(db)
    assert reader.active() == () and reader.missing_tables
    reader.close()
    with pytest.raises(UserError, match="no alert tables"):
        acknowledge(db, "1", "sam")
    open_for_writing(db).close()
    conn = connect_readonly(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    conn.close()


def test_transitions_are_recorded(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    for t, n in ((0, 6), (60, 6), (61, 12), (121, 12), (200, 1)):
        m.tick(waiting(t, n), at(t))
    m.close()
    assert rows(db) == [("waiting_above", "queue:Sales", "critical", "critical", 0, None)]
    conn = connect_readonly(db)
    [rec] = history(conn)
    assert (rec.raised_at_us, rec.cleared_at_us, rec.value, rec.threshold) == (
        at(60),
        at(200),
        12.0,
        10.0,
    )
    kinds = [k for _, k, _ in alert_events(conn, rec.id)]
    assert kinds == ["raised", "escalated", "cleared"]
    conn.close()


def test_current_values_are_stored_for_viewers(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, [rule("longest_wait_above")])
    reader = AlertReader(db, max_age_s=0)
    for t, v in ((0, 70.0), (1, 90.0)):
        snap = make_snapshot(at(t), queues={"Sales": {"longest_wait": v}})
        m.write(m.evaluate(snap, at(t), refresh_now=True))
    [view] = reader.active()
    assert (view.value, view.threshold, view.severity) == (90.0, 60.0, "warning")
    assert view.message == "Sales: longest wait 1:30 above 1:00"
    m.close()
    reader.close()


def test_an_acknowledgement_from_another_process_is_seen_by_every_reader(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    m.tick(waiting(0, 12), at(0))
    m.tick(waiting(60, 12), at(60))
    clock = FakeClock()
    tv, supervisor = AlertReader(db, clock=clock), AlertReader(db, clock=clock)
    [alert] = tv.active()
    assert alert.acked_by is None and supervisor.active()[0].acked_by is None
    code = (
        "import sys; from wallboard.alert_store import acknowledge; "
        "print(acknowledge(sys.argv[1], sys.argv[2], 'alice (ssh from 10.1.2.3)'))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(db), alert.id], capture_output=True, check=True
    )
    assert r.stdout.strip() == b"True"
    assert tv.active()[0].acked_by is None  # read at most once a second...
    clock.now += 1.0
    assert tv.active()[0].acked_by == "alice (ssh from 10.1.2.3)"  # ...then seen by all
    assert supervisor.active()[0].acked_by == "alice (ssh from 10.1.2.3)"
    assert acknowledge(db, alert.id, "bob") is False  # the first acknowledgement stays
    [rec] = history(connect_readonly(db))
    assert rec.acked_by == "alice (ssh from 10.1.2.3)" and rec.acked_at_us is not None
    m.close()


def test_escalation_needs_a_new_acknowledgement(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    m.tick(waiting(0, 6), at(0))
    m.tick(waiting(60, 6), at(60))
    acknowledge(db, "1", "sam")
    m.tick(waiting(61, 12), at(61))
    m.tick(waiting(121, 12), at(121))
    assert rows(db) == [("waiting_above", "queue:Sales", "critical", "critical", 1, None)]
    events = alert_events(connect_readonly(db), 1)
    assert [k for _, k, _ in events] == ["raised", "acknowledged", "escalated"]
    assert events[1][2] == "sam"
    m.close()


def test_history_survives_a_restart(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    m.tick(waiting(0, 12), at(0))
    m.tick(waiting(60, 12), at(60))
    m.close()
    # A new writer takes over the alert in force: no second raise, same row cleared later.
    m2 = AlertMonitor(db, WAIT)
    assert m2.tick(waiting(100, 12), at(100)) == []
    [cleared] = m2.tick(waiting(130, 0), at(130))
    assert cleared.kind == "cleared"
    m2.close()
    [rec] = history(connect_readonly(db))
    assert (rec.raised_at_us, rec.cleared_at_us) == (at(60), at(130))


def test_alerts_of_a_removed_rule_are_cleared_at_start(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    m.tick(waiting(0, 12), at(0))
    m.tick(waiting(60, 12), at(60))
    m.close()
    AlertMonitor(db, [rule("service_down")], at_us=at(90)).close()
    [rec] = history(connect_readonly(db))
    assert rec.cleared_at_us == at(90) and rec.message.endswith("(rule removed)")


def test_acknowledge_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    with pytest.raises(UserError, match="no alert '42'"):
        acknowledge(db, "42", "sam")
    with pytest.raises(UserError, match="no alert 'x'"):
        acknowledge(db, "x", "sam")
    with pytest.raises(UserError, match="cannot open"):
        acknowledge(tmp_path / "missing.db", "1", "sam")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only file")
def test_acknowledge_on_a_read_only_database(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    m.tick(waiting(0, 12), at(0))
    m.tick(waiting(60, 12), at(60))
    m.close()
    db.chmod(0o444)
    with pytest.raises(UserError, match=r"not writable|cannot"):
        acknowledge(db, "1", "sam")


def test_ack_identity() -> None:
    assert ack_identity({}) and "ssh" not in ack_identity({})
    who = ack_identity({"SSH_CONNECTION": "10.1.2.3 50000 10.0.0.1 22"})
    assert who.endswith(" (ssh from 10.1.2.3)")
    assert ack_identity({"SSH_CLIENT": "fe80::1 5000 22"}).endswith("(ssh from fe80::1)")


# ---------------------------------------------------------------- sources


def test_viewer_source_reads_and_acknowledges(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    m.tick(waiting(0, 12), at(0))
    m.tick(waiting(60, 12), at(60))
    viewer = ViewerSource(Engine(Config(timezone="UTC")), db, 0)
    [alert] = viewer.alerts()
    viewer.acknowledge(alert.id, "sam")
    assert viewer.alerts()[0].acked_by == "sam"
    with pytest.raises(UserError):
        viewer.acknowledge("999", "sam")
    viewer.close()
    m.close()


async def test_live_source_acknowledges_off_the_event_loop(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    m.tick(waiting(0, 12), at(0))
    m.tick(waiting(60, 12), at(60))
    reader = AlertReader(db)
    source = LiveSource(Engine(Config(timezone="UTC")), "test", alerts=reader)
    [alert] = source.alerts()
    source.acknowledge(alert.id, "sam")
    assert source.alerts()[0].acked_by == "sam"  # shown at once...

    def stored() -> bool:
        return rows(db)[0][5] == "sam"

    await wait_until(stored, what="the acknowledgement stored")  # ...stored in a thread
    assert source.ack_error is None
    # One that cannot be stored is shown, then taken back.
    m.tick(waiting(61, 12, queue="Support"), at(61))
    m.tick(waiting(121, 12, queue="Support"), at(121))
    reader.invalidate()
    support = next(a for a in source.alerts() if a.scope == "queue:Support")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DELETE FROM alert_events WHERE alert_id = ?", (int(support.id),))
    conn.execute("DELETE FROM alerts WHERE id = ?", (int(support.id),))  # gone meanwhile
    conn.close()
    source.acknowledge(support.id, "sam")
    await wait_until(lambda: source.ack_error is not None, what="the failure")
    assert "no alert" in source.ack_error
    reader.close()
    m.close()


async def test_alert_loop_evaluates_and_stores(tmp_path: Path) -> None:
    from wallboard.alert_store import alert_loop

    db = new_db(tmp_path)
    m = AlertMonitor(db, [rule("feed_silent")])
    clock = {"now": T0}
    seen: list = []

    def tick() -> int:
        clock["now"] += 200 * US  # every round, 200 s later
        return clock["now"]

    task = asyncio.create_task(
        alert_loop(
            m,
            lambda now: make_snapshot(now),
            lambda: FeedStatus(last_event_received_us=T0),
            on_transitions=seen.extend,
            interval_s=0.01,
            clock=tick,
        )
    )
    await wait_until(lambda: len(seen) >= 2, what="raised and escalated")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    m.close()
    assert [t.kind for t in seen[:2]] == ["raised", "escalated"]
    assert rows(db)[0][:3] == ("feed_silent", "overall", "critical")


async def test_alert_loop_survives_a_failing_round(tmp_path: Path) -> None:
    from wallboard.alert_store import alert_loop

    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    errors: list[str] = []
    calls = {"n": 0}

    def snapshot(now: int):
        calls["n"] += 1
        raise RuntimeError("boom")

    task = asyncio.create_task(
        alert_loop(m, snapshot, lambda: FeedStatus(None), on_error=errors.append, interval_s=0.01)
    )
    await wait_until(lambda: calls["n"] >= 3, what="three rounds")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    m.close()
    assert errors == ["alert evaluation failed: RuntimeError: boom"]  # said once


# ---------------------------------------------------------------- `wallboard alerts`


def _history_db(tmp_path: Path) -> Path:
    db = new_db(tmp_path)
    rules = [*WAIT, Rule("hostile", "waiting", "queue", exclude=("Sales",), op=">=", warning=1)]
    m = AlertMonitor(db, rules)
    q = "[red]x[/red]\x1b[2J"
    m.tick(make_snapshot(at(0), queues={"Sales": {"waiting": 12}, q: {"waiting": 1}}), at(0))
    m.tick(make_snapshot(at(60), queues={"Sales": {"waiting": 12}, q: {"waiting": 1}}), at(60))
    m.tick(make_snapshot(at(90), queues={"Sales": {"waiting": 0}, q: {"waiting": 1}}), at(90))
    m.close()
    [wait] = [r for r in history(connect_readonly(db)) if r.rule == "waiting_above"]
    acknowledge(db, str(wait.id), "sam", at_us=at(70))
    return db


def test_alerts_command_json(tmp_path: Path) -> None:
    db = _history_db(tmp_path)
    r = run_cli("alerts", "--db", str(db), "--json")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["rule"] for x in lines] == ["hostile", "waiting_above"]
    wait = lines[1]
    for key in ("rule", "scope", "severity", "raised_at", "cleared_at", "acked_at", "acked_by",
                "value", "threshold"):  # fmt: skip
        assert key in wait
    assert wait == wait | {
        "scope": "queue:Sales",
        "severity": "critical",
        "raised_at": "2026-01-05T09:01:00Z",
        "cleared_at": "2026-01-05T09:01:30Z",
        "acked_at": "2026-01-05T09:01:10Z",
        "acked_by": "sam",
        "value": 12.0,
        "threshold": 10.0,
    }
    assert lines[0]["cleared_at"] is None and lines[0]["raised_at"] == "2026-01-05T09:00:00Z"
    active = run_cli("alerts", "--db", str(db), "--json", "--active").stdout.splitlines()
    assert [json.loads(x)["rule"] for x in active] == ["hostile"]


def test_alerts_command_since(tmp_path: Path) -> None:
    db = _history_db(tmp_path)
    after = "2026-01-05T09:01:31Z"  # the Sales alert had cleared by then
    r = run_cli("alerts", "--db", str(db), "--json", "--since", after)
    assert [json.loads(x)["rule"] for x in r.stdout.splitlines()] == ["hostile"]
    r = run_cli("alerts", "--db", str(db), "--json", "--since", "1000d")
    assert len(r.stdout.splitlines()) == 2
    bad = run_cli("alerts", "--db", str(db), "--since", "yesterday")
    assert bad.returncode != 0 and b"--since" in bad.stderr and b"Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_alerts_command_table_shows_hostile_names_inert(tmp_path: Path) -> None:
    db = _history_db(tmp_path)
    r = run_cli("alerts", "--db", str(db), "--tz", "UTC")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "\x1b[2J" not in out and "\\x1b[2J" in out and "[red]x[/red]" in out
    assert "waiting_above" in out and "sam" in out and "2026-01-05 09:01:00" in out
    assert "→ 09:01:30" in out and "in force" in out


def test_alerts_command_on_a_missing_database(tmp_path: Path) -> None:
    r = run_cli("alerts", "--db", str(tmp_path / "none.db"))
    assert r.returncode != 0 and b"no database" in r.stderr and b"Traceback" not in r.stderr


# ---------------------------------------------------------------- the ingest writer


def test_following_ingest_evaluates_rules(tmp_path: Path) -> None:
    """`wallboard ingest` (the single writer) raises an alert from its feed; a viewer's
    acknowledgement is stored; `wallboard alerts` lists it after the writer stopped."""
    log, db = tmp_path / "ev.jsonl", tmp_path / "w.db"
    down = now_us() / US - 30
    log.write_text(
        json.dumps(
            {"id": "s1", "ts": down, "type": "service.status", "service": "CRM", "up": False}
        )
        + "\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "wallboard", "ingest", "--feed", str(log), "--db", str(db)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        deadline = time.monotonic() + 30
        found = []
        while time.monotonic() < deadline and not found:
            time.sleep(0.1)
            try:
                found = [r for r in rows(db) if r[0] == "service_down"]
            except sqlite3.Error:
                continue
        assert found, "no service_down alert"
        assert acknowledge(db, "1", "sam") is True  # a viewer writes while ingest runs
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"alert raised: [warning] service_down service:CRM" in err
    [line] = run_cli("alerts", "--db", str(db), "--json").stdout.splitlines()
    got = json.loads(line)
    assert (got["rule"], got["scope"], got["acked_by"]) == ("service_down", "service:CRM", "sam")


def test_ingest_once_only_stores_events(tmp_path: Path) -> None:
    log, db = tmp_path / "ev.jsonl", tmp_path / "w.db"
    log.write_text(
        json.dumps({"id": "s1", "ts": 1, "type": "service.status", "service": "CRM", "up": False})
        + "\n"
    )
    r = run_cli("ingest", "--feed", str(log), "--db", str(db), "--once")
    assert r.returncode == 0 and b"--once stores events only" in r.stderr
    assert rows(db) == []


def test_ingest_refuses_a_bad_rule_before_starting(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[alerts]\nbell = "loud"\n')
    r = run_cli("ingest", "--feed", str(tmp_path / "x"), "--db", str(tmp_path / "w.db"),
                "--config", str(cfg))  # fmt: skip
    assert r.returncode != 0 and b"Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_backlog_pauses_rounds_while_big_batches_arrive() -> None:
    from wallboard.alert_store import Backlog

    clock = FakeClock()
    b = Backlog(big=1000, settle_s=2.0, clock=clock)
    b.note(999)
    assert not b.busy()
    b.note(5000)
    assert b.busy()
    clock.now += 1.9
    b.note(10)
    assert b.busy()
    clock.now += 0.2
    assert not b.busy()


def test_monitor_accepts_a_config_section(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    m = AlertMonitor(db, AlertsConfig(defaults=False))
    assert m.evaluator.rules == ()
    m.close()


async def test_a_supervisor_acknowledges_on_screen_and_every_viewer_sees_it(
    tmp_path: Path,
) -> None:
    """The App's alert list over a read-only viewer: `a` opens it, `k` acknowledges."""
    from wallboard.app import WallboardApp
    from wallboard.screen_detail import AlertsScreen

    db = new_db(tmp_path)
    m = AlertMonitor(db, WAIT)
    m.tick(waiting(0, 12), at(0))
    m.tick(waiting(60, 12), at(60))
    m.close()
    viewer = ViewerSource(Engine(Config(timezone="UTC")), db, 0)
    other = AlertReader(db)
    app = WallboardApp(
        viewer, mode="supervisor", clock=lambda: at(61), watch_terminal=False, user="alice"
    )
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "1 alert (a)" in text
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AlertsScreen)
        await pilot.press("k")
        await pilot.pause()
    viewer.close()
    assert other.active()[0].acked_by == "alice"
    other.close()
