"""`wallboard report`: SPEC section 4's object, from a file or a DB, through the engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wallboard.engine import AGENT_KEYS, OVERALL_KEYS, QUEUE_KEYS

LINES = [
    '{"id":"1","ts":"2024-06-01T09:00:00Z","type":"agent.state","agent":"a1","state":"available"}',
    '{"id":"2","ts":"2024-06-01T09:50:00Z","type":"contact.queued","contact":"c1","queue":"sales"}',
    '{"id":"3","ts":"2024-06-01T09:50:20Z","type":"contact.answered","contact":"c1","agent":"a1"}',
    '{"id":"4","ts":"2024-06-01T09:50:20Z","type":"agent.state","agent":"a1","state":"busy"}',
    "",
    "not json",
    '{"id":"5","ts":"2024-06-01T09:53:20Z","type":"contact.ended","contact":"c1"}',
    '{"id":"6","ts":"2024-06-01T09:54:00Z","type":"contact.resolved","contact":"c1"}',
    '{"id":"6","ts":"2024-06-01T09:54:30Z","type":"contact.reopened","contact":"c1"}',
    '{"id":"7","ts":"2024-06-01T09:55:00Z","type":"contact.queued","contact":"c2","queue":"sales"}',
    '{"id":"8","ts":"2024-06-01T09:55:02Z","type":"contact.abandoned","contact":"c2"}',
    '{"id":"9","ts":"2024-06-01T09:58:00Z","type":"contact.queued","contact":"c3","queue":"help"}',
    '{"id":"10","ts":"2024-06-01T09:59:00Z","type":"service.status","service":"crm","up":true}',
    '{"id":"11","ts":"2024-06-01T10:30:00Z","type":"contact.rated","contact":"c1","csat":5}',
]


def run_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wallboard", "report", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_json_object_is_spec_section_4(events: Path) -> None:
    r = run_report(
        "--events",
        str(events),
        "--at",
        "2024-06-01T10:00:00Z",
        "--window",
        "1h",
        "--tz",
        "UTC",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert list(out) == ["at", "window", "overall", "queues", "agents", "services", "quarantined"]
    assert out["at"] == "2024-06-01T10:00:00Z" and out["window"] == "1h"
    assert out["quarantined"] == 1  # "not json"; the blank line is skipped
    o = out["overall"]
    assert set(o) == set(OVERALL_KEYS)
    assert (o["arrivals"], o["answered"], o["abandoned"], o["short_abandoned"]) == (3, 1, 1, 1)
    assert o["answered_within"] == 1 and o["service_level"] == 1.0  # 1 / (1 + 1 - 1)
    assert o["asa"] == 20.0 and o["aht"] == 180.0
    assert o["waiting"] == 1 and o["longest_wait"] == 120.0
    assert o["art"] == 240.0 and o["fcr"] == 1.0  # the duplicate id "6" (reopened) is ignored
    assert o["csat"] is None  # rated at 10:30, after --at
    assert set(out["queues"]) == {"sales", "help"}
    assert set(out["queues"]["sales"]) == set(QUEUE_KEYS)
    a1 = out["agents"]["a1"]
    assert set(a1) == set(AGENT_KEYS)
    assert a1["handled"] == 1 and a1["state"] == "busy"
    assert a1["state_since"] == "2024-06-01T09:50:20Z"
    assert a1["occupancy"] == pytest.approx(580 / 3600)
    assert out["services"] == {"crm": {"uptime": 1.0}}


def test_at_defaults_to_the_latest_event(events: Path) -> None:
    r = run_report("--events", str(events), "--window", "today", "--tz", "UTC", "--json")
    out = json.loads(r.stdout)
    assert out["at"] == "2024-06-01T10:30:00Z"
    assert out["overall"]["csat"] == 1.0 and out["agents"]["a1"]["csat"] == 1.0


def test_table_output(events: Path) -> None:
    r = run_report("--events", str(events), "--at", "2024-06-01T10:00:00Z", "--tz", "UTC")
    assert r.returncode == 0, r.stderr
    assert "service_level" in r.stdout and "Queues" in r.stdout and "Agents" in r.stdout
    assert "–" in r.stdout  # nulls are dashes


def test_user_mistakes_are_one_line(events: Path, tmp_path: Path) -> None:
    for args, expect in [
        (["--events", str(tmp_path / "none.jsonl")], "no events file"),
        (["--events", str(events), "--at", "noon"], "--at"),
        (["--events", str(events), "--window", "3 weeks"], "--window"),
        (["--events", str(events), "--tz", "Mars/Base"], "--tz"),
        (["--db", str(tmp_path / "none.db")], "no database"),
    ]:
        r = run_report(*args)
        assert r.returncode != 0 and expect in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_db_gives_the_same_object_as_the_file(events: Path, tmp_path: Path) -> None:
    if not (Path(__file__).parents[1] / "wallboard" / "store.py").exists():
        pytest.skip("wallboard/store.py is not there yet")
    db = tmp_path / "w.db"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "wallboard",
            "ingest",
            "--feed",
            str(events),
            "--db",
            str(db),
            "--once",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    common = ["--at", "2024-06-01T10:00:00Z", "--window", "today", "--tz", "UTC", "--json"]
    from_file = json.loads(run_report("--events", str(events), *common).stdout)
    from_db = json.loads(run_report("--db", str(db), *common).stdout)
    assert from_db == from_file


def test_queue_log_format(tmp_path: Path) -> None:
    """Asterisk's queue_log through the adapter, then the same engine (peer case 1a, q01)."""
    path = tmp_path / "queue_log"
    path.write_text(
        "1341129600|received_1|q01|NONE|ENTERQUEUE\n"
        "1341129600|received_6|q01|NONE|ENTERQUEUE\n"
        "1341129600|received_3|q02|NONE|ENTERQUEUE\n"
        "1341130200|received_1|q01|NONE|ABANDON|1|1|4\n"
        "1341130260|received_6|q01|NONE|ABANDON|2|3|5\n"
        "1341130260|received_3|q02|NONE|ABANDON|1|1|3\n"
        "garbage line\n"
    )
    r = run_report(
        "--events",
        str(path),
        "--format",
        "queue_log",
        "--window",
        "today",
        "--tz",
        "UTC",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["at"] == "2012-07-01T08:11:00Z"
    assert out["queues"]["q01"]["arrivals"] == 2 and out["queues"]["q01"]["abandoned"] == 2
    assert out["overall"]["abandoned"] == 3 and out["overall"]["abandonment_rate"] == 1.0
    assert out["quarantined"] == 1
