"""Decoding canonical events: accepted shapes and every quarantine reason."""

from __future__ import annotations

import json

import pytest

from wallboard.events import REQUIRED, Event, Rejection, parse_event


def line(**fields: object) -> bytes:
    base: dict[str, object] = {"id": "e1", "ts": "2026-03-01T09:00:00Z"}
    base.update(fields)
    return json.dumps(base).encode()


def test_queued_event_is_decoded_with_defaults() -> None:
    ev = parse_event(line(type="contact.queued", contact="c1", queue="sales", extra={"x": 1}))
    assert isinstance(ev, Event)
    assert ev.contact == "c1" and ev.queue == "sales"
    assert ev.channel == "voice" and ev.tier == 1 and ev.resolved is True
    assert ev.ts == 1772355600 * 1_000_000


@pytest.mark.parametrize(
    ("ts", "expected_us"),
    [
        ("2026-03-01T09:00:00.123456Z", 1772355600_123456),
        ("2026-03-01T10:00:00.5+01:00", 1772355600_500000),
        (1772355600, 1772355600_000000),
        (1772355600.25, 1772355600_250000),
    ],
)
def test_timestamps_become_exact_microseconds(ts: object, expected_us: int) -> None:
    ev = parse_event(line(type="contact.abandoned", contact="c1", ts=ts))
    assert isinstance(ev, Event)
    assert ev.ts == expected_us


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (line(type="contact.teleported", contact="c1"), "unknown type 'contact.teleported'"),
        (line(type="contact.queued", contact="c1"), "missing field 'queue'"),
        (b'{"ts": 1, "type": "contact.ended", "contact": "c"}', "missing field 'id'"),
        (line(type="contact.answered", contact="c1", agent=7), "wrong type for field 'agent'"),
        (line(type="contact.rated", contact="c1", csat=9), "bad value for field 'csat'"),
        (line(type="contact.rated", contact="c1"), "missing field 'csat' or 'nps'"),
        (line(type="message", contact="c1", **{"from": "agent"}), "missing field 'agent'"),
        (line(type="message", contact="c1", **{"from": "bot"}), "bad value for field 'from'"),
        (line(type="agent.state", agent="a", state="napping"), "bad value for field 'state'"),
        (line(type="contact.ended", contact="c1", ts="yesterday"), "bad 'ts'"),
        (line(type="contact.ended", contact="c1", ts="2026-03-01T09:00:00"), "no UTC offset"),
        (line(type="contact.ended", contact="c1", ts=True), "wrong type for field 'ts'"),
        (line(type="contact.ended", contact="c1", id=""), "bad value for field 'id'"),
        (line(type="contact.ended", contact="c1", id="x" * 129), "bad value for field 'id'"),
    ],
)
def test_each_bad_line_gets_a_reason(raw: bytes, reason: str) -> None:
    result = parse_event(raw)
    assert isinstance(result, Rejection)
    assert reason in result.reason


def test_every_type_accepts_its_required_fields() -> None:
    values = {
        "contact": "c1",
        "queue": "q",
        "agent": "a1",
        "from_": "customer",
        "amount": 10.5,
        "state": "busy",
        "service": "crm",
        "up": False,
    }
    for type_, fields in REQUIRED.items():
        body = {("from" if f == "from_" else f): values[f] for f in fields}
        if type_ == "contact.rated":
            body["csat"] = 5
        ev = parse_event(line(type=type_, **body))
        assert isinstance(ev, Event), (type_, ev)
