"""The simulator: valid SPEC events, deterministic, plausible, and wired to its outputs."""

from __future__ import annotations

import collections
import itertools
import os
import random
import re
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from wallboard.cli import build_parser, main
from wallboard.cmd_simulate import open_sink, pace, run
from wallboard.errors import UserError
from wallboard.events import EVENT_TYPES, Event, Rejection, parse_event
from wallboard.simulate import SimOptionError, SimOptions, Simulator
from wallboard.timeutil import US, parse_rfc3339

START = parse_rfc3339("2024-05-06T00:00:00Z")  # a Monday, midnight UTC
H = 3600 * US
MIN = 60 * US
TS_TEXT = re.compile(rb'"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"')


def options(**changes: object) -> SimOptions:
    """Fixed start, zone and seed, so every run here is reproducible."""
    base: dict[str, object] = {"start_us": START, "tz": "UTC", "seed": 7, "duration": "1d"}
    base.update(changes)
    return SimOptions(**base)  # type: ignore[arg-type]


def lines_of(**changes: object) -> list[bytes]:
    return list(Simulator(options(**changes)).lines())


def parsed(lines: list[bytes]) -> list[Event]:
    out = []
    for line in lines:
        ev = parse_event(line)
        assert isinstance(ev, Event), (ev, line)
        out.append(ev)
    return out


@pytest.fixture(scope="module")
def day_lines() -> list[bytes]:
    """One day of the default centre, with the forced bad moments."""
    return lines_of(outage=True, staffing_dip=True)


@pytest.fixture(scope="module")
def day(day_lines: list[bytes]) -> list[Event]:
    return parsed(day_lines)


def dip_window_figures(events: list[Event], start: int) -> tuple[int, float]:
    """Voice and chat in minutes 75-105 (the dip): most contacts waiting, and SL in 20 s."""
    waiting: set[str] = set()
    first_q: dict[str, int] = {}
    done: set[str] = set()
    peak = within = handled = 0
    for ev in events:
        c = ev.contact
        if c is None or ev.channel == "email":
            continue
        minute = (ev.ts - start) // MIN
        if ev.type == "contact.queued":
            waiting.add(c)
            first_q.setdefault(c, ev.ts)
        elif ev.type in ("contact.answered", "contact.abandoned"):
            waiting.discard(c)
            if c not in done and 80 <= minute <= 105:
                done.add(c)
                handled += 1
                within += ev.type == "contact.answered" and ev.ts - first_q[c] <= 20 * US
        if 75 <= minute <= 105:
            peak = max(peak, len(waiting))
    return peak, within / handled


# --------------------------------------------------------------------------- the events


def test_every_line_parses_with_millisecond_utc_timestamps(day_lines: list[bytes]) -> None:
    events = parsed(day_lines)
    assert len(events) > 3000
    assert all(TS_TEXT.search(line) for line in day_lines)
    assert len({ev.id for ev in events}) == len(events)
    assert all(START <= ev.ts < START + 24 * H for ev in events)


def test_every_event_type_and_variant_appears_in_a_day(day: list[Event]) -> None:
    types = collections.Counter(ev.type for ev in day)
    assert set(types) == EVENT_TYPES
    assert {ev.channel for ev in day if ev.type == "contact.queued"} == {"voice", "chat", "email"}
    assert {ev.state for ev in day if ev.type == "agent.state"} == {
        "available", "busy", "wrap_up", "away", "offline",
    }  # fmt: skip
    assert all(ev.name and ev.team for ev in day if ev.type == "agent.state")
    assert all(ev.reason for ev in day if ev.state == "away")
    assert {ev.reason for ev in day if ev.state == "away"} >= {"break", "lunch"}
    resolved = [ev.resolved for ev in day if ev.type == "contact.resolved"]
    assert True in resolved and False in resolved
    rated = [ev for ev in day if ev.type == "contact.rated"]
    assert any(ev.csat is not None for ev in rated) and any(ev.nps is not None for ev in rated)
    transfers = [ev for ev in day if ev.type == "contact.transferred"]
    assert any(ev.to_queue for ev in transfers) and any(ev.to_agent for ev in transfers)
    escalations = [ev for ev in day if ev.type == "contact.escalated"]
    assert all(ev.to_tier == 2 and ev.category for ev in escalations)
    assert all(
        ev.amount and ev.amount > 0 and ev.currency for ev in day if ev.type == "contact.sale"
    )
    assert all(ev.text for ev in day if ev.type == "contact.complaint")
    assert {ev.up for ev in day if ev.type == "service.status"} == {True, False}
    customers = collections.defaultdict(set)
    for ev in day:
        if ev.type == "contact.queued" and ev.customer:
            customers[ev.customer].add(ev.contact)
    assert any(len(contacts) > 1 for contacts in customers.values()), "no repeat customer"


def test_time_order_without_late_events(day: list[Event]) -> None:
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(day))


def test_contacts_follow_a_sane_life(day: list[Event]) -> None:
    """queued -> answered -> (messages) -> ended -> resolved, or abandoned, and so on."""
    state: dict[str, str] = {}
    agent_of: dict[str, str | None] = {}
    queued_at: dict[str, int] = {}
    answered: set[str] = set()
    pending_to_agent: dict[str, str] = {}
    for ev in day:
        c = ev.contact
        if c is None:
            assert ev.type in ("agent.state", "service.status", "contact.complaint")
            continue
        s = state.get(c, "new")
        t = ev.type
        if t == "contact.queued":
            assert s in ("new", "transferred", "reopened"), (ev, s)
            state[c] = "waiting"
            queued_at[c] = ev.ts
        elif t == "contact.answered":
            if s == "transferred":
                assert pending_to_agent.pop(c) == ev.agent
            else:
                assert s == "waiting", (ev, s)
                assert ev.ts >= queued_at[c]
            state[c] = "active"
            agent_of[c] = ev.agent
            answered.add(c)
        elif t == "contact.abandoned":
            assert s == "waiting", (ev, s)
            state[c] = "gone"
        elif t == "message":
            if ev.from_ == "agent":
                assert s == "active" and ev.agent == agent_of[c], (ev, s)
            else:
                assert s in ("active", "reopened"), (ev, s)
        elif t == "contact.transferred":
            assert s == "active" and ev.agent == agent_of[c], (ev, s)
            assert (ev.to_queue is None) != (ev.to_agent is None)
            if ev.to_agent:
                pending_to_agent[c] = ev.to_agent
            state[c] = "transferred"
        elif t in ("contact.escalated", "contact.sale"):
            assert s == "active" and ev.agent == agent_of[c], (ev, s)
        elif t == "contact.ended":
            assert s == "active" and ev.agent == agent_of[c], (ev, s)
            state[c] = "ended"
        elif t == "contact.resolved":
            assert s == "ended", (ev, s)
            assert ev.agent in (None, agent_of[c])
            state[c] = "closed"
        elif t == "contact.reopened":
            assert s == "closed", (ev, s)
            state[c] = "reopened"
        elif t == "contact.rated":
            assert c in answered and s in ("closed", "reopened", "waiting", "active", "ended")
        elif t == "contact.complaint":
            assert c in answered
    assert sum(1 for s in state.values() if s == "closed") > 100


def test_agents_move_through_states_sensibly(day: list[Event]) -> None:
    allowed_from = {
        "available": {None, "offline", "wrap_up", "away"},  # None: on the first shift
        "busy": {"available"},
        "wrap_up": {"busy"},
        "away": {"available", "wrap_up", "away"},
        "offline": {None, "available", "wrap_up", "away"},
    }
    current: dict[str, str | None] = {}
    for ev in day:
        if ev.type == "agent.state":
            assert ev.agent is not None and ev.state is not None
            prev = current.get(ev.agent)
            assert prev in allowed_from[ev.state], (ev, prev)
            current[ev.agent] = ev.state
        elif ev.type == "contact.answered":
            assert current[ev.agent] == "available", ev  # type: ignore[index]
    assert len(current) == 20


def test_voice_service_level_hovers_around_80_percent() -> None:
    """Answered within 20 s over (answered + abandoned - short abandons), 08:00-20:00."""
    within = answered = abandoned = short = 0
    first_q: dict[str, int] = {}
    done: set[str] = set()
    for seed in (1, 2, 3):
        for ev in parsed(lines_of(seed=seed)):
            c = ev.contact
            if ev.type == "contact.queued" and ev.channel == "voice":
                first_q.setdefault(c, ev.ts)  # type: ignore[arg-type]
            elif ev.type in ("contact.answered", "contact.abandoned") and c in first_q:
                if c in done or not START + 8 * H <= ev.ts < START + 20 * H:
                    continue
                done.add(c)  # type: ignore[arg-type]
                wait = ev.ts - first_q[c]  # type: ignore[index]
                if ev.type == "contact.answered":
                    answered += 1
                    within += wait <= 20 * US
                else:
                    abandoned += 1
                    short += wait <= 5 * US
    sl = within / (answered + abandoned - short)
    assert 0.7 <= sl <= 0.93, sl
    assert 0.005 <= abandoned / (answered + abandoned) <= 0.15


def test_staffing_dip_makes_queues_build_and_service_level_drop() -> None:
    # 4 h runs from 08:00: the dip runs from 75 to 105 minutes in.
    start = START + 8 * H
    calm_peak = dip_peak = 0
    calm_sl = dip_sl = 0.0
    for seed in (1, 2, 3, 4):
        peak, sl = dip_window_figures(
            parsed(lines_of(seed=seed, start_us=start, duration="4h")), start
        )
        calm_peak += peak
        calm_sl += sl / 4
        peak, sl = dip_window_figures(
            parsed(lines_of(seed=seed, start_us=start, duration="4h", staffing_dip=True)), start
        )
        dip_peak += peak
        dip_sl += sl / 4
    assert dip_peak >= 1.5 * calm_peak, (calm_peak, dip_peak)
    assert dip_sl <= calm_sl - 0.25, (calm_sl, dip_sl)


def test_forced_outage_goes_down_then_up() -> None:
    events = parsed(lines_of(start_us=START + 9 * H, duration="2h", outage=True))
    status = [(ev.ts, ev.service, ev.up) for ev in events if ev.type == "service.status"]
    downs = [(t, s) for t, s, up in status if up is False]
    assert downs
    t_down, service = downs[0]
    assert any(s == service and up and t > t_down for t, s, up in status)


def test_product_gap_bursts_escalations_of_one_category() -> None:
    escalations = [
        (ev.ts, ev.category)
        for ev in parsed(lines_of(seed=1, duration="2d"))
        if ev.type == "contact.escalated"
    ]
    best = max(
        sum(1 for t2, c2 in escalations[i:] if c2 == cat and t2 - t < H)
        for i, (t, cat) in enumerate(escalations)
    )
    assert best >= 5


# --------------------------------------------------------------------------- determinism and API


@pytest.mark.parametrize("ids", ["seq", "uuid"])
def test_same_seed_gives_byte_identical_output(ids: str) -> None:
    first = lines_of(ids=ids, duration="6h", start_us=START + 8 * H)
    again = lines_of(ids=ids, duration="6h", start_us=START + 8 * H)
    other = lines_of(ids=ids, duration="6h", start_us=START + 8 * H, seed=8)
    assert first == again
    assert first != other
    events = parsed(first)
    if ids == "uuid":
        assert all(uuid.UUID(ev.id).version == 4 for ev in events)
        assert all(uuid.UUID(ev.contact).version == 4 for ev in events if ev.contact)
    else:
        assert [ev.id for ev in events[:3]] == ["e000000001", "e000000002", "e000000003"]


def test_id_style_does_not_change_the_simulated_centre() -> None:
    seq = parsed(lines_of(ids="seq", duration="3h", start_us=START + 9 * H))
    uid = parsed(lines_of(ids="uuid", duration="3h", start_us=START + 9 * H))
    assert [(e.ts, e.type, e.agent) for e in seq] == [(e.ts, e.type, e.agent) for e in uid]


def test_until_in_pieces_equals_lines_and_respects_the_clock() -> None:
    whole = lines_of(duration="3h", start_us=START + 9 * H)
    sim = Simulator(options(duration="3h", start_us=START + 9 * H))
    rng = random.Random(3)
    got: list[bytes] = []
    t = sim.clock_us
    assert t == START + 9 * H
    while not sim.done:
        t += rng.randrange(1, 600 * US)
        batch = sim.until(t)
        assert all(ev.ts <= t for ev in parsed(batch))
        assert sim.clock_us == min(t, START + 12 * H)
        got += batch
    assert got == whole
    assert sim.until(t + H) == []


def test_live_use_catches_up_an_hour_then_follows_the_clock() -> None:
    now = START + 10 * H
    sim = Simulator(options(duration=None, start_us=now - H))
    backlog = parsed(sim.until(now))
    assert backlog and backlog[0].ts == now - H and backlog[-1].ts <= now
    follow: list[Event] = []
    for step in range(1, 41):  # 10 s of wall clock, four calls a second
        follow += parsed(sim.until(now + step * US // 4))
    assert all(now < ev.ts <= now + 10 * US for ev in follow)
    assert not sim.done and sim.clock_us == now + 10 * US


def test_event_count_limit_is_exact() -> None:
    assert len(lines_of(events=777)) == 777
    assert len(lines_of(events=777, late=0.2, bad=0.1)) == 777
    assert lines_of(events=0) == []


def test_late_events_are_the_same_events_a_few_seconds_late() -> None:
    on_time = lines_of(duration="6h", start_us=START + 8 * H)
    late = lines_of(duration="6h", start_us=START + 8 * H, late=0.1)
    assert sorted(late) == sorted(on_time)
    ts = [ev.ts for ev in parsed(late)]
    newest = 0
    lags = []
    for t in ts:
        newest = max(newest, t)
        lags.append(newest - t)
    assert sum(1 for lag in lags if lag > 0) > len(ts) * 0.03
    assert max(lags) <= 8 * US


def test_bad_lines_are_extra_and_all_rejected() -> None:
    clean = lines_of(duration="6h", start_us=START + 8 * H)
    mixed = lines_of(duration="6h", start_us=START + 8 * H, bad=0.05)
    good = [line for line in mixed if isinstance(parse_event(line), Event)]
    bad = [line for line in mixed if isinstance(parse_event(line), Rejection)]
    assert good == clean
    assert len(good) + len(bad) == len(mixed)
    assert 0.03 < len(bad) / len(mixed) < 0.07
    reasons = {parse_event(line).reason.split(" ")[0] for line in bad}  # type: ignore[union-attr]
    assert len(reasons) >= 4


def test_memory_stays_bounded_over_a_week() -> None:
    sim = Simulator(options(duration="7d"))
    sizes = []
    for day in range(1, 8):
        sim.until(START + day * 24 * H)
        sizes.append(len(sim._heap))
    assert max(sizes) < 2000, sizes
    assert sizes[-1] < 3 * sizes[0] + 200, sizes


def test_more_agents_means_more_traffic() -> None:
    small = len(lines_of(duration="2h", start_us=START + 10 * H))
    large = len(lines_of(duration="2h", start_us=START + 10 * H, agents=80, queues=8))
    assert large > 3 * small
    faster = len(lines_of(duration="2h", start_us=START + 10 * H, rate=400))
    assert faster > 2 * small


@pytest.mark.parametrize(
    "changes",
    [
        {"agents": 2, "queues": 4},
        {"queues": 0},
        {"speed": "fast"},
        {"speed": 0},
        {"duration": "soon"},
        {"ids": "ulid"},
        {"late": 1.5},
        {"bad": -0.1},
        {"rate": 0},
    ],
)
def test_bad_options_are_user_errors(changes: dict[str, object]) -> None:
    with pytest.raises(SimOptionError) as info:
        options(**changes)
    assert isinstance(info.value, UserError) and isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- pacing and outputs


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds
        self.slept += seconds


def test_real_time_pacing_follows_the_injected_clock() -> None:
    start = START + 10 * H
    sim = Simulator(options(duration="10m", start_us=start))
    clock = FakeClock()
    wall0 = clock.now
    batches: list[tuple[float, list[bytes]]] = []
    pace(sim, lambda b: batches.append((clock.now, list(b))), 1.0, clock=clock, sleep=clock.sleep)
    assert 600 <= clock.slept <= 600.5  # ten simulated minutes took ten (fake) minutes
    assert len(batches) > 20
    for wall, batch in batches:
        assert all(ev.ts <= start + (wall - wall0) * US for ev in parsed(batch))
    assert [line for _, b in batches for line in b] == lines_of(duration="10m", start_us=start)


def test_cli_speed_uses_the_injected_clock(tmp_path: Path) -> None:
    out = tmp_path / "feed.jsonl"
    argv = cli_args("--speed", "60", "--duration", "30m", "--out", str(out))
    args = build_parser(only="simulate").parse_args(argv)
    clock = FakeClock()
    assert run(args, clock=clock, sleep=clock.sleep) == 0
    assert 30 <= clock.slept <= 30.5  # 30 simulated minutes at 60x = 30 s
    assert out.read_bytes().splitlines() == lines_of(duration="30m", start_us=START + 10 * H)


def cli_args(*extra: str) -> list[str]:
    return [
        "simulate", "--speed", "max", "--duration", "1h", "--seed", "7", "--tz", "UTC",
        "--start", "2024-05-06T10:00:00Z", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def hour_lines() -> list[bytes]:
    return lines_of(duration="1h", start_us=START + 10 * H)


def test_cli_appends_whole_lines_to_a_file(tmp_path: Path, hour_lines: list[bytes]) -> None:
    out = tmp_path / "feed.jsonl"
    out.write_bytes(b"")
    assert main(cli_args("--out", str(out))) == 0
    assert main(cli_args("--out", str(out))) == 0
    data = out.read_bytes()
    assert data.endswith(b"\n")
    assert data.splitlines() == hour_lines + hour_lines


def test_cli_writes_to_stdout(
    capsysbinary: pytest.CaptureFixture[bytes], hour_lines: list[bytes]
) -> None:
    assert main(cli_args("--events", "100")) == 0
    assert capsysbinary.readouterr().out.splitlines() == hour_lines[:100]


def _serve_once(server: socket.socket, received: bytearray) -> threading.Thread:
    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_cli_writes_to_a_tcp_listener(hour_lines: list[bytes]) -> None:
    received = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as server:
        thread = _serve_once(server, received)
        port = server.getsockname()[1]
        assert main(cli_args("--out", f"tcp://127.0.0.1:{port}")) == 0
        thread.join(5)
    assert bytes(received).splitlines() == hour_lines


@pytest.fixture
def short_dir() -> Iterator[str]:
    """Unix socket paths must be short (about 100 bytes): not pytest's tmp_path."""
    path = tempfile.mkdtemp(prefix="wbsim", dir="/tmp" if os.path.isdir("/tmp") else None)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix sockets")
def test_cli_writes_to_a_unix_socket(short_dir: str, hour_lines: list[bytes]) -> None:
    path = os.path.join(short_dir, "feed.sock")
    received = bytearray()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        thread = _serve_once(server, received)
        assert main(cli_args("--out", f"unix:{path}")) == 0
        thread.join(5)
    assert bytes(received).splitlines() == hour_lines


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "out",
    [
        "udp://127.0.0.1:9000",
        "http://example.com/feed",
        "tcp://127.0.0.1",
        "tcp://:9000",
        "tcp://127.0.0.1:notaport",
        "unix:",
        "unix:/nonexistent-dir/feed.sock",
        "/nonexistent-dir/feed.jsonl",
    ],
)
def test_bad_out_is_a_user_error(out: str) -> None:
    with pytest.raises(UserError):
        open_sink(out)


def test_nobody_listening_is_a_clear_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()
    with pytest.raises(UserError, match="cannot connect"):
        open_sink(f"tcp://127.0.0.1:{port}")
    assert main(cli_args("--out", f"tcp://127.0.0.1:{port}")) == 2
    err = capsys.readouterr().err
    assert err.startswith("wallboard simulate: error: cannot connect") and err.count("\n") == 1


def test_directory_as_output_and_bad_flags_fail_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli_args("--out", str(tmp_path))) == 2
    assert main(["simulate", "--speed", "warp"]) == 2
    assert main(["simulate", "--start", "tomorrow"]) == 2
    assert main(["simulate", "--duration", "0s"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("wallboard simulate: error:") == 4
