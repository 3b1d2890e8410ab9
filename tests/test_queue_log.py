"""The Asterisk queue_log adapter: mappings, bad lines, real logs and peer cases.

The real logs and the peer cases are read from ``../shared/data`` (next to the
checkout, never copied into it; see its SOURCES.md). The figures asserted
against them are restated from ``asterisk/EXPECTED.md`` and ``peer_cases.md``
in that folder; tests that need a missing file are skipped.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from wallboard.events import Event, parse_event
from wallboard.feeds.queue_log import QueueLogAdapter
from wallboard.timeutil import US, load_zone, to_datetime

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ASTERISK = DATA / "asterisk"
PEER_CASES = DATA / "peer_cases.md"

H = 3600  # seconds in an hour


# Helpers ------------------------------------------------------------------------------


@dataclass
class Converted:
    """What an adapter made of some lines: parsed events, their JSON, and refusals."""

    events: list[Event]
    raw: list[dict[str, Any]]
    reasons: list[str]
    adapter: QueueLogAdapter

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.raw if r["type"] == type_]


def convert(lines: Iterable[bytes], adapter: QueueLogAdapter | None = None) -> Converted:
    """Run lines through an adapter; every produced line must pass parse_event."""
    adapter = adapter or QueueLogAdapter()
    out = Converted([], [], [], adapter)
    for line in lines:
        result = adapter.convert(line)
        if isinstance(result, str):
            out.reasons.append(result)
            continue
        for produced in result:
            assert not produced.endswith(b"\n")
            ev = parse_event(produced)
            assert isinstance(ev, Event), (ev, produced)
            out.events.append(ev)
            out.raw.append(msgspec.json.decode(produced))
    return out


def ql(text: str) -> list[bytes]:
    """Queue_log lines written inline in a test, one per line."""
    return [line.strip().encode() for line in text.strip().splitlines()]


def one(text: str, adapter: QueueLogAdapter | None = None) -> list[dict[str, Any]]:
    """The JSON of the events made from the last of some lines (earlier ones set state)."""
    adapter = adapter or QueueLogAdapter()
    lines = ql(text)
    convert(lines[:-1], adapter)
    out = convert(lines[-1:], adapter)
    assert not out.reasons, out.reasons
    return out.raw


@dataclass
class Contact:
    """One contact as SPEC section 3 reads it from the events (the bits these tests need)."""

    queued: int | None = None
    queue: str | None = None
    customer: str | None = None
    answered: list[tuple[int, str]] = field(default_factory=list)
    abandoned: list[dict[str, Any]] = field(default_factory=list)
    ended: list[dict[str, Any]] = field(default_factory=list)
    transferred: list[dict[str, Any]] = field(default_factory=list)
    resolved: int = 0

    def first_response(self) -> tuple[int, str] | None:
        """Earliest answer at or after the queued time (SPEC's first response)."""
        if self.queued is None:
            return None
        after = [a for a in self.answered if a[0] >= self.queued]
        return min(after, key=lambda a: a[0]) if after else None

    def response_s(self) -> float | None:
        fr = self.first_response()
        return None if fr is None or self.queued is None else (fr[0] - self.queued) / US


def contacts(conv: Converted) -> dict[str, Contact]:
    by_id: dict[str, Contact] = {}
    for ev, raw in zip(conv.events, conv.raw, strict=True):
        if ev.contact is None:
            continue
        c = by_id.setdefault(ev.contact, Contact())
        if ev.type == "contact.queued" and (c.queued is None or ev.ts < c.queued):
            c.queued, c.queue, c.customer = ev.ts, ev.queue, ev.customer
        elif ev.type == "contact.answered":
            c.answered.append((ev.ts, ev.agent or ""))
        elif ev.type == "contact.abandoned":
            c.abandoned.append(raw | {"ts_us": ev.ts})
        elif ev.type == "contact.ended":
            c.ended.append(raw | {"ts_us": ev.ts})
        elif ev.type == "contact.transferred":
            c.transferred.append(raw)
        elif ev.type == "contact.resolved":
            c.resolved += 1
    return by_id


def queued_in(cs: dict[str, Contact], queue: str) -> dict[str, Contact]:
    return {k: c for k, c in cs.items() if c.queued is not None and c.queue == queue}


def state_seconds(conv: Converted, agent: str, start: int, end: int, states: set[str]) -> float:
    """Seconds in [start, end) (epochs) that the agent spent in one of ``states``.

    The state at t is that of the latest agent.state with ts <= t, ties going to
    the one received last (SPEC section 3).
    """
    timeline = [
        (e.ts, e.state) for e in conv.events if e.type == "agent.state" and e.agent == agent
    ]
    timeline.sort(key=lambda item: item[0])  # stable: ties keep the order received
    total = 0
    for i, (t, state) in enumerate(timeline):
        t_next = timeline[i + 1][0] if i + 1 < len(timeline) else end * US
        lo, hi = max(t, start * US), min(t_next, end * US)
        if state in states and hi > lo:
            total += hi - lo
    return total / US


def per_hour(conv: Converted, agent: str, day: int, hours: range, states: set[str]) -> list[float]:
    return [state_seconds(conv, agent, day + h * H, day + (h + 1) * H, states) for h in hours]


def real_log(name: str) -> list[bytes]:
    path = ASTERISK / name
    if not path.is_file():
        pytest.skip(f"real Asterisk data not found at {path} (it lives next to the checkout)")
    return path.read_bytes().splitlines()


def _peer_blocks() -> dict[str, list[list[str]]]:
    """The queue_log code blocks of peer_cases.md, by case ('1a', '2', '9', ...)."""
    blocks: dict[str, list[list[str]]] = {}
    key, current = "", None
    for line in PEER_CASES.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^(?:## Case (\d+)|### (\d+[a-z])):", line)
        if heading:
            key = heading.group(1) or heading.group(2)
        elif line.startswith("```"):
            if current is None:
                current = []
            else:
                blocks.setdefault(key, []).append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


_PEER: dict[str, list[list[str]]] | None = None


def peer(case: str, block: int = 0) -> list[bytes]:
    """The queue_log lines of one peer case (see ../shared/data/peer_cases.md)."""
    global _PEER
    if not PEER_CASES.is_file():
        pytest.skip(f"peer cases not found at {PEER_CASES} (they live next to the checkout)")
    if _PEER is None:
        _PEER = _peer_blocks()
    return [line.encode() for line in _PEER[case][block]]


def hour_of(ts_us: int, day: int) -> int:
    return (ts_us // US - day) // H


# Unit tests: one mapping each -----------------------------------------------------------


def test_enterqueue_queues_the_call_with_its_caller() -> None:
    [ev] = one("1543602677|1543602660.197|IT|NONE|ENTERQUEUE||5550000002|1")
    assert ev["type"] == "contact.queued"
    assert (ev["contact"], ev["queue"], ev["customer"]) == ("1543602660.197", "IT", "5550000002")
    assert ev["ts"] == "2018-11-30T18:31:17Z"


@pytest.mark.parametrize("caller", ["", "unknown", "Anonymous"])
def test_enterqueue_without_a_real_caller_has_no_customer(caller: str) -> None:
    [ev] = one(f"100|c1|q|NONE|ENTERQUEUE||{caller}|1")
    assert "customer" not in ev


def test_enterqueue_with_no_data_at_all() -> None:
    [ev] = one("100|c1|q|NONE|ENTERQUEUE")
    assert ev["type"] == "contact.queued" and "customer" not in ev


def test_connect_answers_at_its_own_epoch_and_makes_the_agent_busy() -> None:
    answered, state = one(
        """
        100|c1|q|NONE|ENTERQUEUE||555|1
        130|c1|q|SIP/1001|CONNECT|29|c1.2|4
        """
    )
    assert answered["type"] == "contact.answered"
    assert (answered["contact"], answered["agent"], answered["hold_s"]) == ("c1", "SIP/1001", 29)
    assert answered["ts"] == "1970-01-01T00:02:10Z"  # the CONNECT epoch, not 100 + 29
    assert (state["type"], state["agent"], state["state"]) == ("agent.state", "SIP/1001", "busy")


@pytest.mark.parametrize(
    ("event", "by"), [("COMPLETEAGENT", "agent"), ("COMPLETECALLER", "caller")]
)
def test_complete_ends_resolves_and_frees_the_agent(event: str, by: str) -> None:
    ended, resolved, state = one(
        f"""
        100|c1|q|NONE|ENTERQUEUE||555|1
        110|c1|q|Local/1127@callback-agent|CONNECT|10|c1.2|3
        200|c1|q|Local/1127@callback-agent|{event}|10|90|1
        """
    )
    assert ended["type"] == "contact.ended" and ended["ended_by"] == by
    assert (ended["agent"], ended["talk_s"], ended["hold_s"]) == (
        "Local/1127@callback-agent",
        90,
        10,
    )
    assert resolved["type"] == "contact.resolved" and resolved["inferred"] is True
    assert (state["state"], state["agent"]) == ("available", "Local/1127@callback-agent")


def test_completion_without_resolutions_when_asked() -> None:
    raw = one(
        """
        100|c1|q|NONE|ENTERQUEUE||555|1
        110|c1|q|Agent/7|CONNECT|10|c1.2|3
        200|c1|q|Agent/7|COMPLETEAGENT|10|90|1
        """,
        QueueLogAdapter(resolve_on_complete=False),
    )
    assert [r["type"] for r in raw] == ["contact.ended", "agent.state"]


def test_complete_with_agent_none_uses_the_agent_that_answered() -> None:
    ended = one(
        """
        100|c1|q|NONE|ENTERQUEUE
        110|c1|q|Agent/7|CONNECT|10
        200|c1|q|NONE|COMPLETECALLER|10|90|1
        """
    )[0]
    assert ended["agent"] == "Agent/7"


@pytest.mark.parametrize(
    ("line", "extra", "talk"),
    [
        ("TRANSFER|1001|default|6|38|1", {"to_extension": "1001", "to_context": "default"}, 38),
        ("BLINDTRANSFER|1142|transfer|6|38|1", {"to_extension": "1142"}, 38),
        ("ATTENDEDTRANSFER|||6|30|1", {}, 30),
        ("ATTENDEDTRANSFER|BRIDGE|foobar|0|10", {"method": "BRIDGE"}, 10),
        ("ATTENDEDTRANSFER|LINK|SIP/a-1|SIP/b-2|0|10|1", {"method": "LINK"}, 10),
    ],
)
def test_transfers_end_the_agents_part_without_resolving(
    line: str, extra: dict[str, str], talk: int
) -> None:
    raw = one(
        f"""
        100|c1|q|NONE|ENTERQUEUE||555|1
        106|c1|q|Agent/1128|CONNECT|6|c1.9|2
        144|c1|q|Agent/1128|{line}
        """
    )
    assert [r["type"] for r in raw] == ["contact.transferred", "contact.ended", "agent.state"]
    transferred, ended, state = raw
    assert transferred["agent"] == "Agent/1128" and transferred.items() >= extra.items()
    assert ended["ended_by"] == "transfer" and ended["talk_s"] == talk
    assert state["state"] == "available"


@pytest.mark.parametrize(
    ("line", "kind", "wait"),
    [
        ("ABANDON|1|1|20", "abandon", 20),
        ("EXITWITHTIMEOUT|1|1|300", "timeout", 300),
        ("EXITEMPTY|2|3|41", "empty", 41),
        ("EXITWITHKEY|5|1|1|12", "key", 12),
    ],
)
def test_leaving_without_an_answer_is_abandoned(line: str, kind: str, wait: int) -> None:
    [ev] = one(f"100|c1|q|NONE|ENTERQUEUE||555|1\n{100 + wait}|c1|q|NONE|{line}")
    assert (ev["type"], ev["contact"], ev["exit"], ev["wait_s"]) == (
        "contact.abandoned",
        "c1",
        kind,
        wait,
    )
    assert ev.get("key") == ("5" if kind == "key" else None)


def test_abandon_with_no_data_has_an_unknown_wait_not_zero() -> None:
    [ev] = one("100|c1|q|NONE|ENTERQUEUE\n107|c1|q|NONE|ABANDON")
    assert ev["type"] == "contact.abandoned" and "wait_s" not in ev


@pytest.mark.parametrize(
    "line",
    [
        "1543527289|NONE|NONE|NONE|QUEUESTART",
        "1543539428|NONE|NONE|NONE|CONFIGRELOAD",
        "1543602687|c1|IT|Agent/1141|RINGNOANSWER|10000",
        "1675909460|c1|Support|PJSIP/400|RINGCANCELED|11193",
        "100|c1|q|NONE|DID|5551234",
    ],
)
def test_lines_that_say_nothing_give_nothing_and_are_not_unknown(line: str) -> None:
    adapter = QueueLogAdapter()
    assert adapter.convert(line.encode()) == []
    assert not adapter.unknown_events


def test_unknown_events_are_counted_not_refused() -> None:
    adapter = QueueLogAdapter()
    lines = ql(
        """
        1543601975|1543601975.170|NONE|Agent/1127|OUTDIAL|5550000001||0|0
        1543601976|1543601975.170|NONE|Agent/1127|OUTCANCEL|5550000001||1|0
        1543602023|1543602022.182|NONE|Agent/1127|OUTDIAL|3318||0|0
        """
    )
    assert [adapter.convert(line) for line in lines] == [[], [], []]
    assert adapter.unknown_events == Counter({"OUTDIAL": 2, "OUTCANCEL": 1})


# Agents


def states(raw: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(r["state"], r.get("reason")) for r in raw if r["type"] == "agent.state"]


def test_member_added_and_removed() -> None:
    conv = convert(
        ql(
            """
            10|x|q1|SIP/1001|ADDMEMBER
            20|x|q2|SIP/1001|ADDMEMBER
            30|x|q1|SIP/1001|REMOVEMEMBER
            40|x|q2|SIP/1001|REMOVEMEMBER
            """
        )
    )
    # Still a member of q2 after leaving q1: no change until it leaves its last queue.
    assert states(conv.raw) == [("available", None), ("offline", None)]
    assert [e.ts // US for e in conv.events] == [10, 40]


def test_remove_member_of_an_agent_never_seen_is_offline() -> None:
    assert states(one("10|x|q1|SIP/1001|REMOVEMEMBER")) == [("offline", None)]


def test_pause_and_unpause_with_reason() -> None:
    conv = convert(
        ql(
            """
            10|NONE|q1|SIP/1001|ADDMEMBER
            20|NONE|q1|SIP/1001|PAUSE|Lunch
            30|NONE|q1|SIP/1001|UNPAUSE
            40|NONE|NONE|Agent/9|PAUSEALL
            41|NONE|NONE|Agent/9|PAUSEALL
            50|NONE|NONE|Agent/9|UNPAUSEALL
            """
        )
    )
    assert [(e.agent, e.state, e.reason, e.ts // US) for e in conv.events] == [
        ("SIP/1001", "available", None, 10),
        ("SIP/1001", "away", "Lunch", 20),
        ("SIP/1001", "available", None, 30),
        ("Agent/9", "away", "paused", 40),  # the repeated PAUSEALL changes nothing
        ("Agent/9", "available", None, 50),
    ]


def test_a_pause_during_a_call_shows_once_the_call_ends() -> None:
    conv = convert(
        ql(
            """
            10|c1|q|NONE|ENTERQUEUE
            12|c1|q|SIP/1001|CONNECT|2
            20|NONE|q|SIP/1001|PAUSE|Break
            30|c1|q|SIP/1001|COMPLETECALLER|2|18|1
            """
        )
    )
    assert states(conv.raw) == [("busy", None), ("away", "Break")]
    assert [e.ts // US for e in conv.events if e.type == "agent.state"] == [12, 30]


def test_agent_login_and_logoff() -> None:
    conv = convert(
        ql(
            """
            100|l1|NONE|Agent/4|AGENTLOGIN|SIP/aaaaa-00000001
            130|l1|NONE|Agent/4|AGENTLOGOFF|SIP/aaaaa-00000001|30|CommandLogoff
            200|l2|NONE|Agent/4|AGENTCALLBACKLOGIN|1003@default
            """
        )
    )
    assert states(conv.raw) == [
        ("available", None),
        ("offline", "CommandLogoff"),
        ("available", None),
    ]


def test_logoff_of_an_agent_never_seen_recovers_its_session_start() -> None:
    conv = convert(ql("1000|l1|NONE|Agent/5|AGENTCALLBACKLOGOFF|1003@default|300|CommandLogoff"))
    assert [(e.state, e.ts // US) for e in conv.events] == [("available", 700), ("offline", 1000)]


def test_wrap_up_then_available_at_its_end() -> None:
    conv = convert(
        ql(
            """
            10|c1|q|NONE|ENTERQUEUE
            12|c1|q|Agent/11|CONNECT|2
            20|c1|q|Agent/11|COMPLETEAGENT|2|8|1
            20|NONE|NONE|Agent/11|WRAPUPSTART|15
            """
        )
    )
    assert [(e.state, e.ts // US) for e in conv.events if e.type == "agent.state"] == [
        ("busy", 12),
        ("available", 20),
        ("wrap_up", 20),
        ("available", 35),
    ]


def test_a_pause_during_wrap_up_replaces_the_planned_end() -> None:
    conv = convert(
        ql(
            """
            20|NONE|NONE|Agent/11|WRAPUPSTART|15
            25|NONE|NONE|Agent/11|PAUSEALL
            """
        )
    )
    assert state_seconds(conv, "Agent/11", 0, 100, {"wrap_up"}) == 15
    assert state_seconds(conv, "Agent/11", 0, 100, {"away"}) == 65
    assert state_seconds(conv, "Agent/11", 0, 100, {"available"}) == 0


def test_agent_none_gets_no_state() -> None:
    conv = convert(ql("1341140571|MANAGER|q01|NONE|ADDMEMBER\n10|NONE|NONE|NONE|PAUSEALL"))
    assert conv.raw == [] and conv.reasons == []


# Contacts across queues


def test_a_call_entering_a_second_queue_is_a_new_contact_there() -> None:
    conv = convert(
        ql(
            """
            100|c1|q1|NONE|ENTERQUEUE||555|1
            103|c1|q1|Agent/1|CONNECT|3
            150|c1|q1|Agent/1|COMPLETECALLER|3|47|1
            150|c1|q2|NONE|ENTERQUEUE||555|1
            152|c1|q2|Agent/2|CONNECT|2
            160|c1|q2|Agent/2|COMPLETECALLER|2|8|1
            """
        )
    )
    cs = contacts(conv)
    assert set(cs) == {"c1", "c1#2"}
    assert (cs["c1"].queue, cs["c1"].first_response()) == ("q1", (103 * US, "Agent/1"))
    assert (cs["c1#2"].queue, cs["c1#2"].first_response()) == ("q2", (152 * US, "Agent/2"))
    assert [t["to_queue"] for t in cs["c1"].transferred] == ["q2"]
    assert cs["c1#2"].customer == "555"


def test_a_line_in_a_queue_the_call_never_entered_is_kept_apart() -> None:
    conv = convert(
        ql(
            """
            1341140460|1402587143.24|q00|NONE|ENTERQUEUE||1002|1
            1341140700|1402587143.24|q01|Agent/1001|COMPLETEAGENT|12|6|1
            """
        )
    )
    cs = contacts(conv)
    assert cs["1402587143.24"].ended == []
    assert cs["1402587143.24@q01"].queued is None and len(cs["1402587143.24@q01"].ended) == 1


# Timestamps and ids


def test_fractional_epochs_are_exact_to_the_microsecond() -> None:
    [ev] = one("1543602677.123456|c1|IT|NONE|ENTERQUEUE")
    assert ev["ts"] == "2018-11-30T18:31:17.123456Z"
    parsed = parse_event(msgspec.json.encode(ev))
    assert isinstance(parsed, Event) and parsed.ts == 1543602677123456


def test_ids_are_unique_for_identical_lines_and_stable_on_rereading() -> None:
    text = """
        1543614691|MANAGER|IT|Local/1127@callback-agent|ADDMEMBER
        1543614691|MANAGER|IT|Local/1141@callback-agent|ADDMEMBER
        1543614700|MANAGER|IT|Local/1127@callback-agent|REMOVEMEMBER
        1543614701|MANAGER|IT|Local/1127@callback-agent|ADDMEMBER
        1543614701|MANAGER|IT|Local/1127@callback-agent|ADDMEMBER
        1543614702|MANAGER|IT|Local/1127@callback-agent|PAUSE|a
        1543614702|MANAGER|IT|Local/1127@callback-agent|PAUSE|b
    """
    first, second = convert(ql(text)), convert(ql(text))
    ids = [e.id for e in first.events]
    assert len(ids) == len(set(ids)) == 6
    assert ids == [e.id for e in second.events]
    assert ids[0] == "ql|1543614691|MANAGER|IT|Local/1127@callback-agent|ADDMEMBER|0|agent.state"


def test_long_ids_are_hashed_within_the_limit() -> None:
    agent = "Local/" + "9" * 120 + "@from-queue/n"
    [ev] = one(f"10|NONE|q|{agent}|ADDMEMBER")
    assert ev["id"].startswith("ql#") and len(ev["id"]) <= 128
    assert ev["agent"] == agent


# Bad lines


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\xff\xfe|c|q|a|ENTERQUEUE", "not valid UTF-8"),
        (b"1543602677|c1|IT|NONE", "not a queue_log line"),
        (b"just some text", "not a queue_log line"),
        (b"abc|c1|IT|NONE|ENTERQUEUE", "not a number"),
        (b"-5|c1|IT|NONE|ENTERQUEUE", "not a number"),
        (b"1e9|c1|IT|NONE|ENTERQUEUE", "not a number"),
        (b"2023-02-05 00:09:13|c1|IT|NONE|ENTERQUEUE", "not a number"),
        (b"99999999999999|c1|IT|NONE|ENTERQUEUE", "not a number"),
        (b"100|c1|IT|NONE|", "without an event name"),
        (b"100|NONE|IT|NONE|ENTERQUEUE", "without a callid"),
        (b"100|c1|NONE|NONE|ENTERQUEUE", "without a queue"),
        (b"100||IT|Agent/1|CONNECT|3", "without a callid"),
        (b"100|NONE|IT|NONE|ABANDON|1|1|3", "without a callid"),
    ],
)
def test_bad_lines_give_a_reason(line: bytes, reason: str) -> None:
    result = QueueLogAdapter().convert(line)
    assert isinstance(result, str) and reason in result


@pytest.mark.parametrize("line", [b"", b"   ", b"\r\n", b"\n"])
def test_blank_lines_give_nothing(line: bytes) -> None:
    assert QueueLogAdapter().convert(line) == []


def test_a_trailing_newline_is_not_part_of_the_line() -> None:
    [ev] = one("100|c1|q|NONE|ENTERQUEUE||555|1\r")
    assert ev["customer"] == "555"


def test_garbage_never_raises() -> None:
    rng = random.Random(20240601)
    adapter = QueueLogAdapter()
    alphabet = b"|0123456789.NONEABCDEFGHIJKLMNOPQRSTUVWXYZ/\xff \t"
    events = [b"ENTERQUEUE", b"CONNECT", b"COMPLETEAGENT", b"ABANDON", b"ATTENDEDTRANSFER"]
    events += [b"PAUSE", b"WRAPUPSTART", b"AGENTLOGOFF", b"REMOVEMEMBER", b"EXITWITHKEY"]
    for _ in range(3000):
        if rng.random() < 0.5:
            line = bytes(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        else:
            data = b"|".join(
                bytes(rng.choice(b"0123456789.-aLINK") for _ in range(rng.randrange(4)))
                for _ in range(rng.randrange(7))
            )
            line = b"|".join(
                [
                    str(rng.randrange(10**6)).encode(),
                    rng.choice([b"c1", b"c2", b"NONE", b""]),
                    rng.choice([b"q1", b"q2", b"NONE"]),
                    rng.choice([b"Agent/1", b"SIP/2", b"NONE"]),
                    rng.choice(events),
                    data,
                ]
            )
        result = adapter.convert(line)
        if not isinstance(result, str):
            for produced in result:
                assert isinstance(parse_event(produced), Event), produced


# Real Asterisk logs: the facts of ../shared/data/asterisk/EXPECTED.md ------------------


@pytest.fixture(scope="module")
def voip() -> Converted:
    return convert(real_log("voipreports1.queue_log"))


@pytest.fixture(scope="module")
def malaria() -> Converted:
    return convert(real_log("malariapbx.queue_log"))


@pytest.mark.parametrize("name", ["voipreports1.queue_log", "malariapbx.queue_log"])
def test_real_logs_convert_every_line_with_unique_stable_ids(name: str) -> None:
    lines = real_log(name)
    first = convert(lines)
    assert first.reasons == []
    ids = [e.id for e in first.events]
    assert len(ids) == len(set(ids))
    assert convert(lines).raw == first.raw  # re-reading the log gives the same events


def test_voipreports_calls_and_outcomes(voip: Converted) -> None:
    cs = contacts(voip)
    it = queued_in(cs, "IT")
    assert len(it) == len({c for c in cs if cs[c].queued is not None}) == 108
    assert all(c.customer for c in it.values())
    answers = voip.of_type("contact.answered")
    assert len(answers) == 93 and len({a["contact"] for a in answers}) == 93
    assert Counter(a["agent"] for a in answers) == {
        "Agent/1109": 17,
        "Agent/1126": 13,
        "Agent/1127": 18,
        "Agent/1128": 13,
        "Agent/1141": 22,
        "Agent/1144": 10,
    }
    exits = Counter(a["exit"] for a in voip.of_type("contact.abandoned"))
    assert exits == {"abandon": 12, "timeout": 1}  # no EXITEMPTY, no EXITWITHKEY
    transfers = voip.of_type("contact.transferred")
    assert len(transfers) == 2 and {t.get("method") for t in transfers} == {None}
    ended = Counter(e["ended_by"] for e in voip.of_type("contact.ended"))
    assert ended == {"agent": 51, "caller": 38, "transfer": 2}
    assert len(voip.of_type("contact.resolved")) == 89
    # The OUT* rows are the site's own outbound events: unknown, counted, nothing else is.
    assert voip.adapter.unknown_events == {
        "OUTDIAL": 128,
        "OUTANSWER": 77,
        "OUTCANCEL": 24,
        "OUTCHANUNAVAIL": 18,
        "OUTCONGESTION": 9,
        "OUTTRANSFER": 1,
    }


def test_voipreports_waits(voip: Converted) -> None:
    cs = contacts(voip)
    answers = voip.of_type("contact.answered")
    holds = [a["hold_s"] for a in answers]
    assert (sum(holds), max(holds), sum(h <= 20 for h in holds)) == (3599, 279, 39)
    # CONNECT data1 equals the epoch difference on every line, so SPEC's first response
    # time (from the timestamps) gives the same figures.
    responses = [cs[a["contact"]].response_s() for a in answers]
    assert responses == holds
    assert sum(r is not None and r <= 20 for r in responses) == 39
    abandons = [a for c in cs.values() for a in c.abandoned]
    abandons.sort(key=lambda a: a["ts_us"])
    waits = [a["wait_s"] for a in abandons if a["exit"] == "abandon"]
    assert waits == [191, 197, 45, 53, 146, 74, 21, 5, 40, 70, 98, 201]
    assert (sum(w <= 5 for w in waits), sum(w <= 20 for w in waits)) == (1, 1)
    assert [a["wait_s"] for a in abandons if a["exit"] == "timeout"] == [300]
    for c in cs.values():
        for a in c.abandoned:
            assert c.queued is not None and (a["ts_us"] - c.queued) / US == a["wait_s"]


def test_voipreports_calls_without_an_end(voip: Converted) -> None:
    cs = contacts(voip)
    open_calls = {k for k, c in cs.items() if c.queued and not c.ended and not c.abandoned}
    assert open_calls == {
        "1543942189.2194",
        "1543942358.2226",
        "1543942788.2389",
        "1543942842.2438",
    }
    answered = {k for k in open_calls if cs[k].first_response()}
    assert answered == {"1543942189.2194", "1543942358.2226"}


def test_voipreports_agent_states(voip: Converted) -> None:
    by = Counter((e.agent, e.state) for e in voip.events if e.type == "agent.state")
    # 10 AGENTCALLBACKLOGOFF lines (Agent/...), 10 REMOVEMEMBER lines (Local/...).
    assert sum(n for (a, s), n in by.items() if s == "offline" and a.startswith("Agent/")) == 10
    assert sum(n for (a, s), n in by.items() if s == "offline" and a.startswith("Local/")) == 10
    # No agent takes two queue calls at once here: every CONNECT makes its agent busy.
    assert sum(n for (a, s), n in by.items() if s == "busy") == 93


def test_malariapbx_calls_and_outcomes(malaria: Converted) -> None:
    cs = contacts(malaria)
    support, sales = queued_in(cs, "Support"), queued_in(cs, "sales")
    assert (len(support), len(sales)) == (7, 1)
    assert malaria.adapter.unknown_events == {}
    answers = malaria.of_type("contact.answered")
    assert [(a["agent"], a["hold_s"]) for a in answers] == [("PJSIP/400", 8), ("PJSIP/400", 5)]
    # The stored epochs are rounded one by one: a wait from timestamps is within 1 s.
    for a in answers:
        response = cs[a["contact"]].response_s()
        assert response is not None and abs(response - a["hold_s"]) <= 1
    assert sum((cs[a["contact"]].response_s() or 99) <= 20 for a in answers) == 2

    def waits(group: dict[str, Contact], kind: str) -> list[int]:
        found = [a for c in group.values() for a in c.abandoned if a["exit"] == kind]
        return [a["wait_s"] for a in sorted(found, key=lambda a: a["ts_us"])]

    assert waits(support, "abandon") == [20, 11, 17, 20]
    assert waits(sales, "abandon") == [9]
    assert (waits(support, "timeout"), waits(sales, "timeout")) == ([20], [])
    for c in cs.values():
        for a in c.abandoned:
            assert c.queued is not None and abs((a["ts_us"] - c.queued) / US - a["wait_s"]) <= 1
    ended = Counter(e["ended_by"] for e in malaria.of_type("contact.ended"))
    assert ended == {"agent": 1, "caller": 1}
    assert all(c.ended or c.abandoned for c in cs.values())  # no call without an end


# Peer cases: ../shared/data/peer_cases.md --------------------------------------------------
# Only the figures that are plain counts, waits or state durations are checked. Where the
# peer's definition is not SPEC's, the test says so and checks what our events carry.

JUL_1_2012 = 1341100800  # 2012-07-01T00:00:00Z
JAN_1_2012 = 1325376000
JAN_2_2012 = 1325462400


def test_peer_1a_abandoned_calls_per_hour() -> None:
    conv = convert(peer("1a"))
    q01 = queued_in(contacts(conv), "q01")
    assert len(q01) == 5 and len(queued_in(contacts(conv), "q02")) == 1
    assert Counter(hour_of(c.queued or 0, JUL_1_2012) for c in q01.values()) == {8: 3, 9: 2}
    assert all(len(c.abandoned) == 1 and not c.answered for c in q01.values())
    # The peer's average wait is ABANDON data3, bucketed by ENTERQUEUE hour and truncated.
    # (SPEC counts an abandon in the window of the abandon itself, so received_2 would
    # be a 9h abandon there; the data3 waits are what this adapter must carry.)
    waits: dict[int, list[int]] = {}
    for c in q01.values():
        waits.setdefault(hour_of(c.queued or 0, JUL_1_2012), []).append(c.abandoned[0]["wait_s"])
    assert {h: sum(w) // len(w) for h, w in waits.items()} == {8: 3, 9: 3}
    everything = [w for ws in waits.values() for w in ws]
    assert sum(everything) // len(everything) == 3


def test_peer_1b_answered_calls_per_hour() -> None:
    conv = convert(peer("1b"))
    q01 = queued_in(contacts(conv), "q01")
    assert Counter(hour_of(c.queued or 0, JUL_1_2012) for c in q01.values()) == {8: 3, 9: 2}
    holds = [a["hold_s"] for a in conv.of_type("contact.answered") if a["queue"] == "q01"]
    assert holds == [3] * 5  # 5 answered, all within the 10 s QoS threshold
    # The source's CONNECT times of received_2/4/5 are earlier than their ENTERQUEUE. SPEC
    # takes the first answer at or after the queued time, so only 2 of the 5 have a first
    # response there; the peer (which buckets by ENTERQUEUE and reads hold) counts 5.
    assert sum(c.first_response() is not None for c in q01.values()) == 2


@pytest.mark.parametrize(
    ("block", "unknown"),
    [
        (0, {"JOINEMPTY": 6}),
        (1, {"CLOSED": 6}),
        (2, {"DIVERT_CA_RATIO": 2, "FULL": 2, "DIVERT_HOLDTIME": 2}),
    ],
)
def test_peer_2_calls_refused_entry_are_unknown_here(block: int, unknown: dict[str, int]) -> None:
    # Wazo's own events for calls that never waited; no SPEC type carries them, so the
    # peer's "received 5" does not apply. They are counted for the operator instead.
    conv = convert(peer("2", block))
    assert conv.raw == [] and conv.reasons == []
    assert conv.adapter.unknown_events == unknown


def test_peer_3a_answered_rate_with_a_closed_queue() -> None:
    conv = convert(peer("3a"))
    q01 = queued_in(contacts(conv), "q01")
    answered = sum(c.first_response() is not None for c in q01.values())
    abandoned = sum(bool(c.abandoned) for c in q01.values())
    assert (len(q01), answered, abandoned) == (8, 4, 4)
    assert answered / (answered + abandoned) == 0.5  # the peer's 50 %, CLOSED left out
    assert sorted(a["wait_s"] for c in q01.values() for a in c.abandoned) == [1, 1, 1, 38]
    assert conv.adapter.unknown_events == {"CLOSED": 1}
    assert not [e for e in conv.events if e.type == "agent.state"]  # agent NONE, MANAGER


def test_peer_3b_only_a_closed_call() -> None:
    conv = convert(peer("3b"))
    assert conv.raw == [] and conv.adapter.unknown_events == {"CLOSED": 1}


def test_peer_4a_one_call_through_two_queues() -> None:
    conv = convert(peer("4a"))
    cs = contacts(conv)
    day = 1383868800  # 2013-11-08
    q01, q02 = queued_in(cs, "q01"), queued_in(cs, "q02")
    assert (len(q01), len(q02)) == (1, 1)
    [(c1, first)] = q01.items()
    [(c2, second)] = q02.items()
    assert [hour_of(c.queued or 0, day) for c in (first, second)] == [9, 10]
    fr1, fr2 = first.first_response(), second.first_response()
    assert fr1 is not None and fr2 is not None
    assert (fr1[1], hour_of(fr1[0], day)) == ("Agent/1240", 9)
    assert (fr2[1], hour_of(fr2[0], day)) == ("Agent/1246", 10)
    assert c2 == c1 + "#2" and [t["to_queue"] for t in first.transferred] == ["q02"]


def test_peer_4b_partial_log_is_not_counted() -> None:
    # The peer infers "received and answered in q01" from a lone COMPLETEAGENT. SPEC needs
    # contact.queued and contact.answered, and this adapter does not invent them.
    conv = convert(peer("4b"))
    assert queued_in(contacts(conv), "q01") == {}


def test_peer_5a_agent_answers_including_a_transfer() -> None:
    conv = convert(peer("5a"))
    cs = contacts(conv)
    firsts = [c.first_response() for c in cs.values()]
    hours = sorted(hour_of(f[0], JUL_1_2012) for f in firsts if f and f[1] == "Agent/1")
    assert hours == [8, 9, 10]
    assert cs["answered_2"].transferred and cs["answered_2"].resolved == 0


def test_peer_5b_conversation_time_from_every_end_line() -> None:
    conv = convert(peer("5b"))
    cs = contacts(conv)
    firsts = [c.first_response() for c in cs.values()]
    assert sum(1 for f in firsts if f and f[1] == "Agent/2" and hour_of(f[0], JAN_1_2012) == 9) == 6
    ended = conv.of_type("contact.ended")
    assert [e["talk_s"] for e in ended] == [10] * 6 and sum(e["talk_s"] for e in ended) == 60
    # (The lines were constructed with 4 s between CONNECT and the end line, so SPEC's aht,
    # which reads the timestamps, would give 4 s; the peer reads the talk-time fields.)


def test_peer_6a_pause_time_per_hour() -> None:
    conv = convert(peer("6a"))
    assert per_hour(conv, "Agent/10", JAN_1_2012, range(8, 12), {"away"}) == [518, 1130, 2760, 0]


def test_peer_6b_open_pause_runs_to_the_end_of_the_period() -> None:
    lines = peer("6a")
    assert lines[-1].endswith(b"UNPAUSEALL")
    conv = convert(lines[:-1])
    hours = per_hour(conv, "Agent/10", JAN_1_2012, range(8, 12), {"away"})
    assert hours == [518, 1130, 3600, 3600] and sum(hours) == 8848  # 02:27:28


def test_peer_6c_wrap_up_split_across_hours() -> None:
    conv = convert(peer("6c"))
    six = 1349071200 - 6 * H  # 2012-10-01T00:00:00Z
    assert per_hour(conv, "Agent/2", six, range(6, 8), {"wrap_up"}) == [30, 20]
    # Agent/1's wrap-ups at 05:59:50 (30 s) and 06:00:10 (15 s) overlap. The peer adds
    # them up (45 s in 06h); an agent is in one state at a time, so here the overlap
    # counts once: 06:00:00-06:00:25 plus 06:59:50-07:00:00 is 35 s. 07h agrees (35 s).
    assert per_hour(conv, "Agent/1", six, range(6, 8), {"wrap_up"}) == [35, 35]


def test_peer_6d_wrap_up_after_a_call() -> None:
    conv = convert(peer("6d"))
    assert per_hour(conv, "Agent/11", JAN_1_2012, range(8, 12), {"wrap_up"}) == [0, 15, 0, 0]
    first = contacts(conv)["wrapup_time_1"].first_response()
    assert first is not None and hour_of(first[0], JAN_1_2012) == 9


LOGGED_IN = {"available", "busy", "wrap_up", "away"}


def test_peer_7a_two_login_sessions_in_one_hour() -> None:
    conv = convert(peer("7a"))
    hours = per_hour(conv, "Agent/4", JAN_1_2012, range(8, 12), LOGGED_IN)
    assert hours == [0, 636, 3600, 3600] and sum(hours) == 7836  # 02:10:36


def test_peer_7b_login_before_the_hour() -> None:
    # With the whole-second login line (the peer's 00:09:59 comes from a .999999 login).
    conv = convert(peer("7b"))
    hours = per_hour(conv, "Agent/5", JAN_1_2012, range(8, 12), LOGGED_IN)
    assert hours == [600, 96, 0, 0]


def test_peer_7c_logoff_without_login_at_and_after_the_hour() -> None:
    lines = peer("7c")
    conv = convert(lines)
    assert per_hour(conv, "Agent/5", JAN_2_2012, range(8, 9), LOGGED_IN) == [0]
    # The sibling scenario: the same two lines at 10:00 still leave 8h-9h empty, because
    # the session start comes from data2, not from the start of the period.
    later = [b"%d|" % (int(line.split(b"|")[0]) + 2 * H) + line.split(b"|", 1)[1] for line in lines]
    conv = convert(later)
    assert per_hour(conv, "Agent/5", JAN_2_2012, range(8, 9), LOGGED_IN) == [0]


def test_peer_7d_closed_sessions_and_later_logins() -> None:
    conv = convert(peer("7d"))
    assert per_hour(conv, "Agent/5", JAN_2_2012, range(8, 9), LOGGED_IN) == [600]


def test_peer_8a_qos_and_average_wait() -> None:
    conv = convert(peer("8a"))
    waits = [c.response_s() for c in contacts(conv).values()]
    assert waits == [20, 5, 3]
    assert round(100 * sum(w is not None and w <= 10 for w in waits) / len(waits), 2) == 66.67
    assert int(sum(w or 0 for w in waits) / len(waits)) == 9


def test_peer_9_wait_buckets_by_local_entry_time() -> None:
    conv = convert(peer("9"))
    zone = load_zone("America/Montreal")
    edges = [0, 5, 10, 15, 20, 30, None]
    answered = [0] * 6
    abandoned = [0] * 6
    for c in contacts(conv).values():
        assert c.queued is not None
        local: datetime = to_datetime(c.queued, zone)
        if local.isoweekday() not in (2, 3, 4, 6) or not 10 <= local.hour <= 15:
            continue
        if c.abandoned:
            wait, tally = c.abandoned[0]["wait_s"], abandoned
            assert wait == (c.abandoned[0]["ts_us"] - c.queued) / US
        else:
            wait, tally = c.response_s(), answered
        for i in range(6):
            hi = edges[i + 1]
            if edges[i] <= wait and (hi is None or wait < hi):  # type: ignore[operator]
                tally[i] += 1
    assert answered == [2, 2, 1, 1, 2, 0]
    assert abandoned == [2, 0, 2, 0, 0, 2]


@pytest.mark.parametrize(
    ("last", "kind"), [(None, "abandon"), ("EXITWITHTIMEOUT|1|1|20", "timeout")]
)
def test_peer_10a_abandon_after_a_transfer_at_an_hour_border(last: str | None, kind: str) -> None:
    lines = peer("10a")
    if last is not None:
        lines[-1] = lines[-1].rsplit(b"|ABANDON|", 1)[0] + b"|" + last.encode()
    cs = contacts(convert(lines))
    noon = 1430913600  # 2015-05-06T12:00:00Z
    queue1 = queued_in(cs, "queue1")
    [c] = queue1.values()
    assert c.queued is not None and noon <= c.queued // US < noon + H
    assert [a["exit"] for a in c.abandoned] == [kind]
    assert noon <= c.abandoned[0]["ts_us"] // US < noon + H
    assert all(not c.abandoned for c in queued_in(cs, "queue2").values())


def test_peer_10b_abandon_without_enterqueue_is_not_a_queued_call() -> None:
    cs = contacts(convert(peer("10b")))
    assert sum(bool(c.abandoned) for c in cs.values() if c.queued is not None) == 1
    assert cs["2"].queued is None and cs["2"].abandoned


@pytest.mark.parametrize("event", ["ABANDON", "EXITWITHTIMEOUT"])
def test_peer_10c_exit_with_no_data_has_no_wait(event: str) -> None:
    lines = peer("10c")
    lines[-1] = lines[-1].replace(b"ABANDON", event.encode())
    [c] = contacts(convert(lines)).values()
    assert len(c.abandoned) == 1 and "wait_s" not in c.abandoned[0]
    assert c.queued == 1708045493 * US


def test_peer_10d_answered_on_connect() -> None:
    # The peer's fill job records a call as answered only once its COMPLETE* line exists;
    # SPEC counts the answer at contact.answered, i.e. at CONNECT. What both agree on: the
    # call is answered once, and converting the same lines again changes nothing.
    lines = peer("10d")
    partial = contacts(convert(lines[:2]))
    assert [c.first_response() is not None for c in partial.values()] == [True]
    full = convert(lines)
    assert len(full.of_type("contact.answered")) == 1
    assert convert(lines).raw == full.raw


@pytest.mark.parametrize("event", ["ABANDON", "EXITWITHTIMEOUT"])
def test_peer_10e_abandons_in_an_hour(event: str) -> None:
    lines = [line.replace(b"ABANDON", event.encode()) for line in peer("10e")]
    cs = contacts(convert(lines))
    one_am, two_am = 1325379600, 1325383200
    # SPEC: an abandon counts in the window (now - 1h, now] of its own ts.
    by_abandon = {k for k, c in cs.items() if one_am < c.abandoned[0]["ts_us"] // US <= two_am}
    # The peer: by ENTERQUEUE time in [01:00, 02:00). Both give the same four calls.
    by_entry = {k for k, c in cs.items() if one_am <= (c.queued or 0) // US < two_am}
    assert by_abandon == by_entry == {"ab+10", "ab+30", "ab+59", "ab+60"}
    assert all(c.abandoned[0]["wait_s"] == 5 for c in cs.values())
