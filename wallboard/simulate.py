"""The contact-centre simulator (its command is ``wallboard.cmd_simulate``).

This module owns the synthetic data source of the live demo and of every
benchmark: a deterministic discrete-event simulation of a contact centre that
writes SPEC section 1 canonical events, one JSON object per line.

What it models: arrivals as a Poisson process whose rate follows a daily curve
per channel (voice, chat, email); agents with skills, teams, shifts sized by
Erlang C to the forecast, breaks and lunches; longest-idle-agent routing;
patience-driven abandons (some within 5 s); chat conversations with reply
delays; emails answered in minutes or hours; transfers, escalations with
occasional bursts of one category (a "product gap"), resolutions (sometimes
unresolved), reopens, call-backs from repeat customers, surveys, sales,
complaints, and service outages. ``--staffing-dip`` and ``--outage`` force bad
moments so that alerts have something to fire on.

Public API (used by the demo and the benchmarks):

- :class:`SimOptions`: the knobs, mirroring the command-line flags;
- :class:`Simulator`: ``until(t_us)``, ``lines()``, ``clock_us``, ``done``,
  ``next_due_us``;
- pacing against a clock, the outputs and the command's flags live in
  ``wallboard.cmd_simulate``.

Determinism: everything is drawn from ``random.Random`` instances seeded from
``seed``, and the heap breaks ties by a sequence number, so the same seed and
options give byte-identical output. Event ids, late delivery and malformed
lines have their own generators, so ``--ids``, ``--late`` and ``--bad`` change
only what they are about, never the simulated centre.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from heapq import heappop, heappush
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec

from wallboard.erlang import agents_needed
from wallboard.errors import UserError
from wallboard.timeutil import (
    US,
    TimeFormatError,
    load_zone,
    now_us,
    parse_duration,
)


class SimOptionError(UserError, ValueError):
    """A simulator option out of range: a user mistake on the CLI, a ValueError in the API."""


# --------------------------------------------------------------------------- options


@dataclass
class SimOptions:
    """What to simulate. Fields mirror the ``wallboard simulate`` flags."""

    agents: int = 20
    """Agents on the roster (not all are logged in at once: shifts follow demand)."""
    queues: int = 4
    """Queues; channels go voice, voice, chat, email, voice, voice, chat, email..."""
    rate: float | None = None
    """Contacts per hour at the daily peak, all queues; None = what the agents can serve."""
    speed: float | str | None = "max"
    """1 = real time, 60 = a minute per second, "max" or None = as fast as possible.
    Only :func:`pace` and the CLI use it; the Simulator itself never waits."""
    seed: int = 1
    """Same seed and options => byte-identical output."""
    duration: int | str | None = None
    """Simulated time to run: microseconds, or text such as ``90s``, ``15m``, ``1d``.
    None = endless."""
    start_us: int | None = None
    """Simulated start instant (microseconds since the epoch, UTC); None = now."""
    ids: str = "seq"
    """``seq`` (``e000000123``) or ``uuid`` (UUID4 strings drawn from the seed)."""
    events: int | None = None
    """Stop after this many lines (None = no limit)."""
    staffing_dip: bool = False
    """60% of the logged-in agents go away or offline for 30 min (then every 6 h)."""
    outage: bool = False
    """Force a service outage 65 min after the start (or at 30% of a shorter run)."""
    late: float = 0.0
    """Fraction of events delivered out of order, 1-8 s late."""
    bad: float = 0.0
    """Fraction of extra, deliberately malformed lines (for the quarantine)."""
    tz: str | None = None
    """IANA zone whose local hours shape the daily curve; None = this machine's zone."""
    out: str = "-"
    """Where the CLI writes: ``-``, a file path, ``tcp://HOST:PORT`` or ``unix:PATH``."""

    def __post_init__(self) -> None:
        if not 1 <= self.queues <= 1000:
            raise SimOptionError(f"--queues must be between 1 and 1000, not {self.queues}")
        if not self.queues <= self.agents <= 1_000_000:
            raise SimOptionError(
                f"--agents must be at least the number of queues ({self.queues}) "
                f"and at most 1000000, not {self.agents}"
            )
        if self.rate is not None and not (0 < self.rate < 1e9):
            raise SimOptionError("--rate must be a positive number of contacts per hour")
        if self.ids not in ("seq", "uuid"):
            raise SimOptionError(f"--ids must be 'seq' or 'uuid', not {self.ids!r}")
        if self.events is not None and self.events < 0:
            raise SimOptionError("--events must be zero or more")
        for name in ("late", "bad"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SimOptionError(f"--{name} must be a fraction between 0 and 1, not {value}")
        self.speed_factor  # noqa: B018 - validates speed
        self.duration_us  # noqa: B018 - validates duration

    @property
    def speed_factor(self) -> float | None:
        """The speed as a factor of real time; None = as fast as possible."""
        speed = self.speed
        if speed is None or (isinstance(speed, str) and speed.strip().lower() == "max"):
            return None
        try:
            value = float(speed)
        except ValueError:
            raise SimOptionError(
                f"--speed must be a positive number or 'max', not {speed!r}"
            ) from None
        if not (value > 0 and math.isfinite(value)):
            raise SimOptionError(f"--speed must be a positive number or 'max', not {speed!r}")
        return value

    @property
    def duration_us(self) -> int | None:
        """The duration in microseconds; None = endless."""
        duration = self.duration
        if duration is None:
            return None
        if isinstance(duration, str):
            try:
                return parse_duration(duration)
            except TimeFormatError as exc:
                raise SimOptionError(f"--duration: {exc}") from None
        if duration <= 0:
            raise SimOptionError("--duration must be more than zero")
        return int(duration)


# --------------------------------------------------------------------------- the model's data

VOICE, CHAT, EMAIL = 0, 1, 2
CHANNELS: Final = ("voice", "chat", "email")
_CHANNEL_CYCLE: Final = (VOICE, VOICE, CHAT, EMAIL)

_TOPICS: Final = (
    "sales", "support", "billing", "tech", "retention", "claims", "bookings", "accounts",
    "orders", "returns", "loyalty", "business", "mortgages", "cards", "travel", "energy",
)  # fmt: skip
_SALES_TOPICS: Final = frozenset({"sales", "retention", "bookings", "loyalty", "business"})
_CURRENCIES: Final = ("GBP", "GBP", "GBP", "EUR", "USD")

_FIRST: Final = (
    "Amira", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hugo", "Isla", "Jamal",
    "Kai", "Lena", "Marco", "Nadia", "Oscar", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aoife", "Bruno", "Chen", "Dara",
)  # fmt: skip
_LAST: Final = (
    "Adams", "Bianchi", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
    "Jensen", "Kowalski", "Lopez", "Murphy", "Nowak", "Okafor", "Patel", "Quist", "Rossi",
    "Singh", "Taylor", "Usman", "Varga", "Walsh", "Xu", "Yilmaz", "Zhang",
)  # fmt: skip
_TEAM_WORDS: Final = (
    "Aurora", "Beacon", "Comet", "Delta", "Ember", "Falcon", "Granite", "Harbour", "Iris",
    "Juniper", "Kestrel", "Lumen", "Meridian", "Nova", "Orbit", "Pioneer", "Quartz",
    "Raven", "Summit", "Tidal",
)  # fmt: skip
_TEAM_SIZE: Final = 12

# Contact reasons. A "product gap" or an outage makes one of them hot for a while.
_CATEGORIES: Final = ("billing", "delivery", "refund", "account", "technical", "cancellation")
_CATEGORY_CUM: Final = (0.25, 0.45, 0.60, 0.75, 0.90, 1.0)
_SERVICES: Final = {
    "website": "website-error",
    "mobile-app": "app-crash",
    "payments": "payment-failure",
    "login": "login-failure",
}
_COMPLAINTS: Final = (
    "Kept on hold far too long",
    "Agent was rude and dismissive",
    "Promised a call-back that never came",
    "Did not solve my problem",
    "Transferred around without help",
    "Gave me wrong information about my bill",
    "Hung up on me",
    "Had to explain everything twice",
)
_MISC_AWAY: Final = (("meeting", 30), ("training", 45), ("coaching", 20), ("personal", 5))
_DIP_REASONS: Final = ("meeting", "system issue", "training")

# Daily curves: (local hour, share of the peak rate), linear in between.
# Voice peaks mid-morning and early afternoon; chat runs later; email is flatter.
_CURVES: Final = {
    VOICE: (
        (0, 0.05), (5, 0.04), (6.5, 0.10), (7.5, 0.30), (8.5, 0.65), (9.5, 0.92),
        (10.5, 1.0), (11.5, 0.93), (12.5, 0.76), (13.5, 0.86), (14.5, 0.95), (15.5, 0.86),
        (16.5, 0.72), (17.5, 0.55), (18.5, 0.40), (19.5, 0.28), (21, 0.17), (22.5, 0.09),
        (24, 0.05),
    ),
    CHAT: (
        (0, 0.08), (5, 0.05), (7, 0.15), (8.5, 0.45), (10.5, 0.92), (12.5, 0.85),
        (14.5, 1.0), (17, 0.80), (19, 0.70), (21, 0.45), (23, 0.15), (24, 0.08),
    ),
    EMAIL: (
        (0, 0.18), (6, 0.15), (8, 0.55), (10, 1.0), (13, 0.85), (15, 0.92), (18, 0.60),
        (21, 0.35), (24, 0.18),
    ),
}  # fmt: skip

# Handling, in seconds: (median, log-normal sigma).
_VOICE_TALK = (270.0, 0.55)
_VOICE_WRAP = (40.0, 0.5)
_CHAT_CUSTOMER_DELAY = (25.0, 0.6)
_CHAT_AGENT_DELAY = (30.0, 0.6)
_CHAT_WRAP = (25.0, 0.5)
_CHAT_ROUNDS = (2, 8)  # customer turns in a first conversation
_EMAIL_HANDLE = (420.0, 0.6)
_EMAIL_WRAP = (20.0, 0.5)
_EMAIL_TRIAGE = (900.0, 1.0)
# Patience: a few hang up at once (short abandons), the rest wait a log-normal time.
_PATIENCE = {VOICE: (0.06, 120.0, 0.9), CHAT: (0.05, 240.0, 0.8)}
# What the scheduler asks Erlang C for: (threshold s, target share). Erlang C
# over-states waits here (handling times vary less than exponential, callers
# abandon, some agents take two queues), so asking it for 40% in 20 s gives about
# 80% in 20 s on the floor. Calibrated by measurement, small and large centres.
_STAFF_SL = {VOICE: (20.0, 0.40), CHAT: (60.0, 0.50)}
_EMAIL_OCCUPANCY = 0.85
_SHRINKAGE = 0.13  # breaks, lunch, meetings: logged in but not taking contacts
_BREAK_SHARE = 0.12  # at most this share of a queue's logged-in agents on a break at once
_CROSS_SKILLED = 0.3  # share of agents with a second queue
_OUTAGE_SURGE = 1.35  # arrivals multiply while a service is down, and 15 min after
_ON_DUTY = 0.65  # share of the roster that works on a given day (days off, leave)
_TICK_MS = 15 * 60_000  # the scheduler looks at the forecast every 15 minutes
_MIN_SHIFT_MS = 4 * 3_600_000  # nobody is sent home before 4 h...
_MAX_SHIFT_MS = 10 * 3_600_000  # ...nor kept beyond 10 h
_DIP_EVERY_MS = 6 * 3_600_000
_DIP_SHARE = 0.6

# Pieces of timestamps, looked up rather than formatted: `_ts` is the hottest path.
_SECONDS: Final = tuple(f"{s:02d}" for s in range(60))
_MILLIS: Final = tuple(f".{ms:03d}Z" for ms in range(1000))

# Contact states.
_WAITING, _ROUTED, _ACTIVE, _CLOSED, _GONE = range(5)


def _lognorm_mean(median: float, sigma: float) -> float:
    return median * math.exp(sigma * sigma / 2)


def _curve_minutes(points: tuple[tuple[float, float], ...]) -> list[float]:
    """The curve sampled per local minute of the day (piecewise constant per minute)."""
    out: list[float] = []
    j = 0
    for minute in range(1440):
        h = (minute + 0.5) / 60
        while points[j + 1][0] < h:
            j += 1
        (h0, v0), (h1, v1) = points[j], points[j + 1]
        out.append(v0 + (v1 - v0) * (h - h0) / (h1 - h0))
    return out


class _Line(msgspec.Struct, omit_defaults=True):
    """One output event; field order is the key order on the wire, None fields are left out."""

    id: str
    ts: str
    type: str
    contact: str | None = None
    queue: str | None = None
    agent: str | None = None
    channel: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    customer: str | None = None
    category: str | None = None
    to_queue: str | None = None
    to_agent: str | None = None
    to_tier: int | None = None
    resolved: bool | None = None
    csat: int | None = None
    nps: int | None = None
    amount: float | None = None
    currency: str | None = None
    text: str | None = None
    state: str | None = None
    name: str | None = None
    team: str | None = None
    reason: str | None = None
    service: str | None = None
    up: bool | None = None


_encode = msgspec.json.Encoder().encode


class _Queue:
    __slots__ = (
        "aht_s",
        "ch",
        "channel",
        "currency",
        "idle",
        "index",
        "n_away",
        "n_on",
        "name",
        "off",
        "peak_per_h",
        "roster",
        "sales",
        "staff_weight",
        "talk_median",
        "waiting",
    )  # fmt: skip

    def __init__(self, index: int, name: str, ch: int) -> None:
        self.index = index
        self.name = name
        self.ch = ch
        self.channel = CHANNELS[ch]
        self.sales = False
        self.currency = "GBP"
        self.talk_median = _VOICE_TALK[0]
        self.aht_s = 300.0
        self.staff_weight = 1.0
        self.peak_per_h = 0.0
        self.roster: list[_Agent] = []
        self.n_on = 0  # roster agents not offline
        self.n_away = 0  # roster agents away
        self.off: deque[_Agent] = deque()  # offline agents of this queue, longest rested first
        self.idle: dict[_Agent, None] = {}  # available agents with this skill, longest idle first
        self.waiting: deque[_Contact] = deque()  # FIFO; abandoned ones are skipped lazily


class _Agent:
    __slots__ = (
        "away_until", "breaks", "contact", "dip", "id", "idle", "logout", "name", "next_break",
        "on_shift", "primary", "shift_start", "skills", "state", "team",
    )  # fmt: skip

    def __init__(self, aid: str, name: str, primary: _Queue) -> None:
        self.id = aid
        self.name = name
        self.team = ""
        self.primary = primary
        self.skills: tuple[_Queue, ...] = (primary,)
        self.state = "offline"
        self.contact: _Contact | None = None
        self.idle = False
        self.on_shift = False
        self.logout = False
        self.dip = False
        self.shift_start = 0
        self.next_break = 0
        self.breaks = 0
        self.away_until = 0


class _Contact:
    __slots__ = (
        "abandon_at", "agent", "category", "ch", "channel", "cq", "customer", "escalated", "id",
        "legs", "pending_reply", "q", "reopened", "resolved", "rounds", "silent", "state",
        "t_queued", "transfer", "waited_ms",
    )  # fmt: skip

    def __init__(self, cid: str, q: _Queue, customer: str, category: str, t: int) -> None:
        self.id = cid
        self.q = q  # the queue it first entered
        self.cq = q  # the queue it is in now
        self.ch = q.ch
        self.channel = q.channel
        self.customer = customer
        self.category = category
        self.state = _WAITING
        self.agent: _Agent | None = None
        self.t_queued = t
        self.abandon_at = -1
        self.waited_ms = 0
        self.legs = 0
        self.rounds = 0
        self.pending_reply = False
        self.transfer = False
        self.escalated = False
        self.reopened = False
        self.resolved = True
        self.silent = False


class _Stream:
    """Arrivals of one channel: a Poisson process thinned to the daily curve.

    Candidates come at the curve's maximum over the current local hour (times the
    surge multiplier) and are kept with probability curve(t) / that maximum; at
    each hour boundary the bound is re-drawn. Exact, and few candidates wasted.
    """

    __slots__ = (
        "boundary", "ch", "cum", "curve", "hmax", "mult", "peak_per_ms", "queues", "sim",
        "token", "total",
    )  # fmt: skip

    def __init__(self, sim: Simulator, ch: int, queues: list[_Queue]) -> None:
        self.sim = sim
        self.ch = ch
        self.queues = queues
        rates = [q.peak_per_h for q in queues]
        self.total = sum(rates)
        self.cum = list(itertools.accumulate(rates))
        self.peak_per_ms = self.total / 3_600_000
        self.curve = _curve_minutes(_CURVES[ch])
        self.hmax = [max(self.curve[h * 60 : h * 60 + 60]) for h in range(24)]
        self.mult = 1.0
        self.token = 0
        self.boundary = False

    def fire(self, token: int) -> None:
        if token != self.token:
            return  # superseded by a restart (the multiplier changed)
        sim = self.sim
        t = sim._now
        if self.boundary:
            self.boundary = False
        else:
            m = (t + sim._tz_ms) // 60_000 % 1440
            if sim._rand() * self.hmax[m // 60] < self.curve[m]:
                sim._arrive(self)
        self.schedule(t)

    def schedule(self, t: int) -> None:
        sim = self.sim
        tz = sim._tz_ms
        hour = (t + tz) // 3_600_000
        hour_end = (hour + 1) * 3_600_000 - tz
        cap = self.peak_per_ms * self.hmax[hour % 24] * self.mult
        nt = t + int(sim._rng.expovariate(cap)) if cap > 0 else hour_end
        if nt >= hour_end:
            nt = hour_end
            self.boundary = True
        sim._at(nt, self.fire, self.token)

    def restart(self, t: int) -> None:
        self.token += 1
        self.boundary = False
        self.schedule(t)


# --------------------------------------------------------------------------- the simulator


class Simulator:
    """A discrete-event simulation of a contact centre that emits SPEC canonical events.

    Happenings sit in a heap of ``(ms, seq, handler, arg)``; handlers emit lines and
    schedule what follows. Simulated time is kept in integer milliseconds, so every
    ``ts`` is exact with millisecond precision. Memory stays bounded: a contact lives
    only while a happening refers to it, customers are kept in a fixed ring.
    """

    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self._rng = rng = random.Random(f"wallboard-sim/{options.seed}")
        self._rand = rng.random
        self._heap: list[tuple[int, int, Callable[[Any], None], Any]] = []
        self._seq = itertools.count()
        start_us = now_us() if options.start_us is None else options.start_us
        self._start_ms = start_us // 1000
        self._now = self._start_ms
        self._clock_us = start_us
        duration = options.duration_us
        self._end_ms: int | None = None if duration is None else self._start_ms + duration // 1000
        self._limit = options.events
        self._done = False
        # Emitted events wait here as structs (bad lines as bytes) and are encoded per
        # batch in `until`: cheaper than a Python call per event.
        self._out: list[_Line | bytes] = []
        self._returned = 0
        self._zone: ZoneInfo = load_zone(options.tz)
        self._tz_ms = 0
        self._update_tz()

        # Ids, late delivery and bad lines draw from their own generators (see module doc).
        self._n_event = 0
        self._n_contact = 0
        self._id_rng = random.Random(f"wallboard-sim-ids/{options.seed}")
        self._uuid = options.ids == "uuid"
        self._nid: Callable[[], str] = self._uuid4 if self._uuid else self._seq_id
        self._late_p = options.late
        self._bad_p = options.bad
        self._late_rng = random.Random(f"wallboard-sim-late/{options.seed}")
        self._bad_rng = random.Random(f"wallboard-sim-bad/{options.seed}")
        self._n_bad = 0
        self._late_heap: list[tuple[int, int, _Line]] = []
        self._late_seq = itertools.count()
        self._plain = not (self._late_p or self._bad_p)
        self._emit: Callable[[_Line], None] = self._out.append if self._plain else self._emit_mixed
        self._ts_at = -1
        self._ts_text = ""
        self._ts_minute = -1
        self._ts_prefix = ""

        # Repeat customers: a ring of recent customers (about two days of arrivals).
        self._n_customer = 0

        self._hot: dict[str, tuple[float, float]] = {}  # category -> (arrival share, esc. p)
        self._dip_active = False
        self._dip_agents: list[_Agent] = []
        self._dip_len = 30 * 60_000
        self._dip_end = 0

        self._build()
        self._schedule_start()

    # ----------------------------------------------------------------- public API

    @property
    def clock_us(self) -> int:
        """Simulated time reached so far (microseconds since the epoch)."""
        return self._clock_us

    @property
    def start_us(self) -> int:
        """The simulated start instant."""
        return self._start_ms * 1000

    @property
    def done(self) -> bool:
        """True once the duration or the event count is reached."""
        return self._done

    @property
    def next_due_us(self) -> int | None:
        """When the next happening is due (a hint for pacing), None when finished."""
        if self._done:
            return None
        due = [entry[0] for entry in self._heap[:1]]
        due += [entry[0] for entry in self._late_heap[:1]]
        if self._end_ms is not None:
            due.append(self._end_ms)
        return min(due) * 1000 if due else None

    def queue_channels(self) -> dict[str, str]:
        """Each simulated queue's name and channel (``voice``, ``chat``, ``email``)."""
        return {q.name: q.channel for q in self._queues}

    def until(self, t_us: int) -> list[bytes]:
        """Every event line (JSON, no newline) with simulated ts <= t_us not yet returned,
        in emission order.

        A line chosen to be late (``late``) comes out once the clock passes its
        release instant, after lines with later ``ts``: that is what late means.
        """
        if self._done:
            return []
        limit = t_us // 1000
        finishing = self._end_ms is not None and limit >= self._end_ms
        if finishing:
            limit = self._end_ms - 1  # type: ignore[operator]
        self._run(limit)
        if not self._done:
            self._release_late(limit)
            self._clock_us = max(self._clock_us, (self._end_ms * 1000) if finishing else t_us)
            if finishing:
                self._release_late(None)
                self._done = True
        pending = self._out
        if self._limit is not None:
            room = self._limit - self._returned
            if len(pending) >= room:
                del pending[room:]
                self._done = True
        if self._plain:
            out = list(map(_encode, pending))
        else:
            out = [x if x.__class__ is bytes else _encode(x) for x in pending]
        pending.clear()
        self._returned += len(out)
        return out

    def lines(self) -> Iterator[bytes]:
        """All lines for the configured duration / event count, as fast as possible."""
        step = 300 * US
        while not self._done:
            yield from self.until(self._clock_us + step)

    # ----------------------------------------------------------------- engine

    def _at(self, t: int, fn: Callable[[Any], None], arg: Any) -> None:
        heappush(self._heap, (t, next(self._seq), fn, arg))

    def _run(self, limit: int) -> None:
        heap = self._heap
        out = self._out
        room = None if self._limit is None else self._limit - self._returned
        late = self._late_p > 0
        while heap and heap[0][0] <= limit:
            t, _, fn, arg = heappop(heap)
            if late:
                self._release_late(t)
            self._now = t
            fn(arg)
            if room is not None and len(out) >= room:
                self._done = True
                return

    def _release_late(self, upto: int | None) -> None:
        late = self._late_heap
        while late and (upto is None or late[0][0] <= upto):
            self._out.append(heappop(late)[2])

    def _seq_id(self) -> str:
        self._n_event += 1
        return f"e{self._n_event:09d}"

    def _uuid4(self) -> str:
        x = self._id_rng.getrandbits(128)
        x = (x & ~(0xF << 76) & ~(0xC << 60)) | (4 << 76) | (0x8 << 60)
        h = f"{x:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _ts(self) -> str:
        """The current instant as RFC 3339 with milliseconds; the minute part is cached."""
        t = self._now
        if t != self._ts_at:
            minute, rem = divmod(t, 60_000)
            if minute != self._ts_minute:
                self._ts_minute = minute
                self._ts_prefix = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
            self._ts_at = t
            self._ts_text = f"{self._ts_prefix}{_SECONDS[rem // 1000]}{_MILLIS[rem % 1000]}"
        return self._ts_text

    def _emit_mixed(self, line: _Line) -> None:
        if self._late_p and self._late_rng.random() < self._late_p:
            release = self._now + self._late_rng.randint(1000, 8000)
            heappush(self._late_heap, (release, next(self._late_seq), line))
        else:
            self._out.append(line)
        if self._bad_p and self._bad_rng.random() < self._bad_p:
            self._out.append(self._bad_line(line))

    def _bad_line(self, line: _Line) -> bytes:
        """A malformed line of one of the kinds the quarantine must catch."""
        rng = self._bad_rng
        self._n_bad += 1
        bid = f"bad{self._n_bad:07d}"
        ts = self._ts()
        kind = rng.randrange(9)
        if kind == 0:
            good = _encode(line)
            return good[: max(1, len(good) // 2)]  # truncated mid-object
        if kind == 1:
            return b'["contact.queued", "not an object"]'
        if kind == 2:
            return (
                f'{{"id":"{bid}","ts":"{ts}","type":"contact.teleported","contact":"x"}}'.encode()
            )
        if kind == 3:
            return f'{{"id":"{bid}","ts":"{ts}","type":"contact.answered","contact":"x"}}'.encode()
        if kind == 4:
            return (
                f'{{"id":"{bid}","ts":"{ts}","type":"contact.rated","contact":"x","csat":"five"}}'
            ).encode()
        if kind == 5:
            return b'{"id":"' + bid.encode() + b'","ts":"\xff\xfe","type":"message"}'
        if kind == 6:
            return (
                f'{{"id":"{bid}","ts":"yesterday","type":"contact.abandoned","contact":"x"}}'
            ).encode()
        if kind == 7:
            return (
                f'{{"id":"{bid}","ts":"{ts}","type":"agent.state","agent":"x","state":"asleep"}}'
            ).encode()
        return b"this is not json at all"

    # ----------------------------------------------------------------- set-up

    def _build(self) -> None:
        o = self.options
        rng = self._rng
        queues: list[_Queue] = []
        for i in range(o.queues):
            ch = _CHANNEL_CYCLE[i % len(_CHANNEL_CYCLE)]
            topic = _TOPICS[i % len(_TOPICS)]
            base = topic if ch == VOICE else f"{CHANNELS[ch]}-{topic}"
            name = base if i < len(_TOPICS) else f"{base}-{i // len(_TOPICS) + 1}"
            q = _Queue(i, name, ch)
            q.sales = topic in _SALES_TOPICS and ch != EMAIL
            q.currency = _CURRENCIES[rng.randrange(len(_CURRENCIES))]
            q.talk_median = _VOICE_TALK[0] * rng.uniform(0.8, 1.3) * (1.2 if q.sales else 1.0)
            q.aht_s = self._aht(q)
            # Share of the workload (and so of the roster): voice heaviest, email lightest.
            q.staff_weight = (1.0, 0.7, 0.45)[ch] * rng.uniform(0.6, 1.4)
            queues.append(q)
        self._queues = queues

        # Roster per queue: largest remainder on the workload weights, at least one each.
        total_w = sum(q.staff_weight for q in queues)
        spare = o.agents - len(queues)
        raw = [spare * q.staff_weight / total_w for q in queues]
        counts = [1 + int(r) for r in raw]
        order = sorted(range(len(queues)), key=lambda i: int(raw[i]) - raw[i])
        for i in order[: o.agents - sum(counts)]:
            counts[i] += 1

        by_channel: dict[int, list[_Queue]] = {}
        for q in queues:
            by_channel.setdefault(q.ch, []).append(q)
        width = max(4, len(str(o.agents)))
        agents: list[_Agent] = []
        n_names = len(_FIRST) * len(_LAST)
        name_order = rng.sample(range(n_names), min(n_names, o.agents))
        for q, count in zip(queues, counts, strict=True):
            peers = [p for p in by_channel[q.ch] if p is not q]
            for _ in range(count):
                i = len(agents)
                k = name_order[i % len(name_order)]
                name = f"{_FIRST[k % len(_FIRST)]} {_LAST[k // len(_FIRST)]}"
                a = _Agent(f"a{i + 1:0{width}d}", name, q)
                # Some agents also take a second queue of their channel: a little pooling,
                # so that each queue's staffing (sized on its own) stays close to its need.
                n_extra = 1 if rng.random() < _CROSS_SKILLED else 0
                extra = rng.sample(peers, min(len(peers), n_extra))
                a.skills = (q, *extra)
                q.roster.append(a)
                agents.append(a)
        # Teams: consecutive agents of the same primary queue, about a dozen each.
        team_no = 0
        for q in queues:
            for j in range(0, len(q.roster), _TEAM_SIZE):
                word = _TEAM_WORDS[team_no % len(_TEAM_WORDS)]
                lap = team_no // len(_TEAM_WORDS)
                team = f"{word} {lap + 1}" if lap else word
                for a in q.roster[j : j + _TEAM_SIZE]:
                    a.team = team
                team_no += 1
            off = list(q.roster)
            rng.shuffle(off)
            q.off.extend(off)
        self._agents = agents

        # Peak rate per queue: the traffic its roster serves at the SL target on the
        # busiest hour; a --rate scales every queue alike.
        for q in queues:
            q.peak_per_h = self._servable_per_h(q, len(q.roster))
        total = sum(q.peak_per_h for q in queues)
        self._default_rate = total
        if o.rate is not None and total > 0:
            for q in queues:
                q.peak_per_h *= o.rate / total
        self._streams = [_Stream(self, ch, qs) for ch, qs in sorted(by_channel.items())]
        self._stream_of = {s.ch: s for s in self._streams}

        # Customers: ring buffer of recent ones, about two days of arrivals.
        cap = int(min(500_000, max(1000, sum(q.peak_per_h for q in queues) * 24)))
        self._customers = array("q", bytes(8 * cap))
        self._cust_cap = cap
        self._cust_len = 0
        self._cust_pos = 0

    @staticmethod
    def _aht(q: _Queue) -> float:
        """Expected handling time (answer to free again), seconds, for the scheduler."""
        if q.ch == VOICE:
            return 2.5 + _lognorm_mean(q.talk_median, _VOICE_TALK[1]) + _lognorm_mean(*_VOICE_WRAP)
        if q.ch == CHAT:
            rounds = sum(_CHAT_ROUNDS) / 2
            turn = _lognorm_mean(*_CHAT_CUSTOMER_DELAY) + _lognorm_mean(*_CHAT_AGENT_DELAY)
            return 5 + 7.5 + rounds * turn + 35 + _lognorm_mean(*_CHAT_WRAP)
        return 17 + _lognorm_mean(*_EMAIL_HANDLE) + _lognorm_mean(*_EMAIL_WRAP)

    @staticmethod
    def _productive(q: _Queue, per_h: float, backlog: int = 0) -> int:
        """Agents taking contacts that a rate needs: Erlang C (email: occupancy)."""
        traffic = per_h * q.aht_s / 3600
        if q.ch == EMAIL:
            return max(1, math.ceil(traffic / _EMAIL_OCCUPANCY + backlog * q.aht_s / 3600))
        threshold, target = _STAFF_SL[q.ch]
        staffing = agents_needed(traffic, q.aht_s, threshold, target)
        return max(1, staffing.agents) if staffing is not None else 1

    def _needed(self, q: _Queue, per_h: float, backlog: int = 0) -> int:
        """Agents to have logged in: the productive ones plus shrinkage, within the roster."""
        productive = self._productive(q, per_h, backlog)
        return min(len(q.roster), math.ceil(productive / (1 - _SHRINKAGE)))

    def _servable_per_h(self, q: _Queue, roster: int) -> float:
        """The highest hourly rate the roster serves at the target, net of shrinkage."""
        productive = max(1.0, roster * _ON_DUTY * (1 - _SHRINKAGE))
        lo, hi = 0.0, roster * 3600 / q.aht_s
        for _ in range(40):
            mid = (lo + hi) / 2
            if self._productive(q, mid) <= productive:
                lo = mid
            else:
                hi = mid
        return lo

    def _schedule_start(self) -> None:
        t = self._now
        rng = self._rng
        self._at(t, self._h_services_up, None)
        self._at(t, self._h_tick, None)  # logs the first shift in...
        self._at(t, self._h_roster, None)  # ...after the roster is announced
        for s in self._streams:
            s.schedule(t)
        # Bad moments: random outages, surges and product gaps, and the forced ones.
        for service in _SERVICES:
            self._at(t + int(rng.expovariate(1 / (36 * 3_600_000))), self._h_outage, service)
        self._at(t + int(rng.expovariate(1 / (10 * 3_600_000))), self._h_surge, None)
        self._at(t + int(rng.expovariate(1 / (20 * 3_600_000))), self._h_gap, None)
        span = None if self._end_ms is None else self._end_ms - t
        if self.options.outage:
            at = 65 * 60_000 if span is None else min(65 * 60_000, int(span * 0.3))
            length = 12 * 60_000 if span is None else max(60_000, min(12 * 60_000, span // 6))
            service = list(_SERVICES)[rng.randrange(len(_SERVICES))]
            self._at(t + at, self._h_forced_outage, (service, length))
        if self.options.staffing_dip:
            at = 75 * 60_000 if span is None else min(75 * 60_000, int(span * 0.4))
            self._dip_len = (
                30 * 60_000 if span is None else max(60_000, min(30 * 60_000, span // 4))
            )
            self._at(t + at, self._h_dip_start, None)

    def _update_tz(self) -> None:
        dt = datetime.fromtimestamp(self._now / 1000, UTC)
        offset = self._zone.utcoffset(dt)
        self._tz_ms = 0 if offset is None else int(offset.total_seconds() * 1000)

    # ----------------------------------------------------------------- helpers

    def _lognorm_ms(self, median_s: float, sigma: float, lo_s: float, hi_s: float) -> int:
        value = median_s * math.exp(sigma * self._rng.gauss(0.0, 1.0))
        return int(1000 * min(hi_s, max(lo_s, value)))

    def _uniform_ms(self, lo_s: float, hi_s: float) -> int:
        return int(1000 * (lo_s + (hi_s - lo_s) * self._rand()))

    def _state(self, a: _Agent, state: str, reason: str | None = None) -> None:
        old = a.state
        if old != state:  # head counts the break control and the scheduler read
            q = a.primary
            if old == "away":
                q.n_away -= 1
            elif state == "away":
                q.n_away += 1
            if old == "offline":
                q.n_on += 1
            elif state == "offline":
                q.n_on -= 1
        a.state = state
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="agent.state",
                agent=a.id,
                state=state,
                name=a.name,
                team=a.team,
                reason=reason,
            )
        )

    def _new_customer(self) -> str:
        """A new customer, or (sometimes) one seen within the last couple of days."""
        if self._cust_len and self._rand() < 0.18:
            n = self._customers[int(self._rand() * self._cust_len)]
        else:
            self._n_customer += 1
            n = self._n_customer
            self._customers[self._cust_pos] = n
            self._cust_pos = (self._cust_pos + 1) % self._cust_cap
            self._cust_len = min(self._cust_len + 1, self._cust_cap)
        return f"cust{n:07d}"

    def _category(self) -> str:
        r = self._rand()
        for category, (share, _) in self._hot.items():
            if r < share:
                return category
            r -= share
        r = self._rand()
        for category, edge in zip(_CATEGORIES, _CATEGORY_CUM, strict=True):
            if r < edge:
                return category
        return _CATEGORIES[-1]

    def _contact_id(self) -> str:
        if self._uuid:
            return self._uuid4()
        self._n_contact += 1
        return f"c{self._n_contact:08d}"

    def _set_mult(self, ch: int | None, factor: float) -> None:
        """Multiply the arrival rate of one channel (None: all) and redraw their arrivals."""
        for s in self._streams:
            if ch is None or s.ch == ch:
                s.mult *= factor
                s.restart(self._now)

    # ----------------------------------------------------------------- contacts

    def _arrive(self, stream: _Stream) -> None:
        r = self._rand() * stream.total
        queues = stream.queues
        i = 0
        cum = stream.cum
        while cum[i] < r:
            i += 1
        q = queues[i]
        c = _Contact(self._contact_id(), q, self._new_customer(), self._category(), self._now)
        self._enqueue(c)

    def _arrive_again(self, c: _Contact) -> None:
        """A call-back: the same customer with a new contact, same queue."""
        new = _Contact(self._contact_id(), c.q, c.customer, c.category, self._now)
        self._enqueue(new)

    def _enqueue(self, c: _Contact) -> None:
        t = self._now
        q = c.cq
        c.state = _WAITING
        c.t_queued = t
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="contact.queued",
                contact=c.id,
                queue=q.name,
                channel=c.channel,
                customer=c.customer,
                category=c.category,
            )
        )
        if c.ch == EMAIL:
            # Emails are triaged before anyone may pick them: answered in minutes or hours.
            self._at(t + self._lognorm_ms(*_EMAIL_TRIAGE, 30, 8 * 3600), self._h_routable, c)
        else:
            self._h_routable(c)

    def _h_routable(self, c: _Contact) -> None:
        """To the longest-idle agent with the skill, else wait (and maybe give up)."""
        q = c.cq
        idle = q.idle
        if idle:
            self._route(c, next(iter(idle)))
            return
        q.waiting.append(c)
        patience = _PATIENCE.get(c.ch)
        if patience is not None:
            short, median, sigma = patience
            if c.legs or c.reopened:
                median *= 1.6  # already invested in the contact: waits longer
            if self._rand() < short:
                wait = self._uniform_ms(0.5, 4.9)
            else:
                wait = self._lognorm_ms(median, sigma, 6, 3600)
            c.abandon_at = self._now + wait
            self._at(c.abandon_at, self._h_abandon, c)

    def _h_abandon(self, c: _Contact) -> None:
        if c.state != _WAITING or c.abandon_at != self._now:
            return
        c.state = _GONE
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="contact.abandoned",
                contact=c.id,
                queue=c.cq.name,
                channel=c.channel,
            )
        )
        if self._rand() < 0.35:  # many call back
            self._at(self._now + self._uniform_ms(120, 3600), self._arrive_again, c)

    def _route(self, c: _Contact, a: _Agent) -> None:
        """Reserve an agent for a contact; it answers after a short ring / accept."""
        self._take_idle(a)
        c.state = _ROUTED
        c.agent = a
        c.waited_ms += self._now - c.t_queued
        a.contact = c
        ring = (
            self._uniform_ms(1, 4)
            if c.ch == VOICE
            else self._uniform_ms(2, 8)
            if c.ch == CHAT
            else self._uniform_ms(5, 30)
        )
        self._at(self._now + ring, self._h_answer, c)

    def _take_idle(self, a: _Agent) -> None:
        if a.idle:
            a.idle = False
            for q in a.skills:
                del q.idle[a]

    def _h_answer(self, c: _Contact) -> None:
        a = c.agent
        assert a is not None
        t = self._now
        c.state = _ACTIVE
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="contact.answered",
                contact=c.id,
                queue=c.cq.name,
                agent=a.id,
                channel=c.channel,
            )
        )
        self._state(a, "busy")
        rand = self._rand
        c.transfer = c.legs == 0 and not c.reopened and rand() < (0.07, 0.04, 0.03)[c.ch]
        if c.ch == VOICE:
            talk = self._lognorm_ms(c.cq.talk_median, _VOICE_TALK[1], 15, 3600)
            if c.transfer:
                self._at(t + int(talk * (0.3 + 0.4 * rand())), self._h_transfer, c)
            else:
                self._at(t + talk, self._h_end, c)
        elif c.ch == CHAT:
            lo, hi = _CHAT_ROUNDS if c.legs == 0 else (1, 3)
            c.rounds = lo + int(rand() * (hi - lo + 1))
            c.pending_reply = False
            self._at(t + self._uniform_ms(3, 12), self._h_chat_agent, c)
        else:
            self._at(t + self._lognorm_ms(*_EMAIL_HANDLE, 30, 3600), self._h_email_reply, c)

    def _message(self, c: _Contact, from_agent: bool) -> None:
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="message",
                contact=c.id,
                agent=c.agent.id if from_agent and c.agent is not None else None,
                channel=c.channel,
                from_="agent" if from_agent else "customer",
            )
        )

    def _h_chat_agent(self, c: _Contact) -> None:
        if c.state != _ACTIVE:
            return
        self._message(c, True)
        c.pending_reply = False
        t = self._now
        if c.rounds <= 0:
            self._at(
                t + self._uniform_ms(10, 60), self._h_transfer if c.transfer else self._h_end, c
            )
        elif self._rand() < 0.05:
            c.silent = True  # the customer goes quiet; the chat times out
            self._at(t + self._uniform_ms(120, 180), self._h_end, c)
        else:
            self._at(t + self._lognorm_ms(*_CHAT_CUSTOMER_DELAY, 3, 300), self._h_chat_customer, c)

    def _h_chat_customer(self, c: _Contact) -> None:
        if c.state != _ACTIVE:
            return
        self._message(c, False)
        if c.pending_reply:
            return  # a second message before the agent replied
        c.pending_reply = True
        c.rounds -= 1
        t = self._now
        delay = self._lognorm_ms(*_CHAT_AGENT_DELAY, 5, 240)
        self._at(t + delay, self._h_chat_agent, c)
        if self._rand() < 0.2:
            self._at(t + self._uniform_ms(1, delay / 1000 - 1), self._h_chat_customer, c)

    def _h_email_reply(self, c: _Contact) -> None:
        if c.transfer:
            self._h_transfer(c)
            return
        self._message(c, True)
        self._h_end(c)

    def _h_transfer(self, c: _Contact) -> None:
        """Hand the contact to another queue (blind) or to an idle agent (warm)."""
        a = c.agent
        assert a is not None
        rng = self._rng
        c.legs += 1
        peers = [q for q in self._stream_of[c.ch].queues if q is not c.cq]
        target: _Agent | None = None
        if rng.random() < 0.3:
            pool = [q for q in self._stream_of[c.ch].queues if q.idle]
            if pool:
                target = next(iter(pool[rng.randrange(len(pool))].idle))
        if target is None and not peers:
            self._h_end(c)  # nowhere to go: finish here
            return
        to_queue = None if target is not None else peers[rng.randrange(len(peers))]
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="contact.transferred",
                contact=c.id,
                queue=c.cq.name,
                agent=a.id,
                channel=c.channel,
                to_queue=None if to_queue is None else to_queue.name,
                to_agent=None if target is None else target.id,
            )
        )
        self._state(a, "wrap_up")
        a.contact = None
        self._at(self._now + self._uniform_ms(5, 20), self._h_agent_free, a)
        if target is not None:
            self._take_idle(target)
            c.agent = target
            target.contact = c
            c.state = _ROUTED
            self._at(self._now + self._uniform_ms(3, 10), self._h_answer, c)
        else:
            assert to_queue is not None
            c.cq = to_queue
            self._enqueue(c)

    def _h_end(self, c: _Contact) -> None:
        """The conversation is over: maybe a sale or an escalation, then wrap-up."""
        if c.state != _ACTIVE:
            return
        a = c.agent
        assert a is not None
        rand = self._rand
        hot = self._hot.get(c.category)
        p_esc = hot[1] if hot else 0.03
        c.escalated = rand() < p_esc
        if c.escalated:
            self._emit(
                _Line(
                    id=self._nid(),
                    ts=self._ts(),
                    type="contact.escalated",
                    contact=c.id,
                    queue=c.cq.name,
                    agent=a.id,
                    channel=c.channel,
                    to_tier=2,
                    category=c.category,
                )
            )
        elif c.cq.sales and not c.silent and rand() < 0.22:
            self._emit(
                _Line(
                    id=self._nid(),
                    ts=self._ts(),
                    type="contact.sale",
                    contact=c.id,
                    agent=a.id,
                    channel=c.channel,
                    amount=round(math.exp(3.8 + 0.8 * self._rng.gauss(0.0, 1.0)), 2),
                    currency=c.cq.currency,
                )
            )
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="contact.ended",
                contact=c.id,
                queue=c.cq.name,
                agent=a.id,
                channel=c.channel,
            )
        )
        c.state = _CLOSED
        self._state(a, "wrap_up")
        wrap = (_VOICE_WRAP, _CHAT_WRAP, _EMAIL_WRAP)[c.ch]
        self._at(self._now + self._lognorm_ms(*wrap, 3, 300), self._h_wrap_end, c)

    def _h_wrap_end(self, c: _Contact) -> None:
        """Wrap-up done: the case is closed (unless escalated), follow-ups are scheduled."""
        a = c.agent
        assert a is not None
        t = self._now
        rand = self._rand
        if c.escalated:
            self._at(t + self._uniform_ms(1800, 86400), self._h_tier2, c)
        else:
            waited_long = c.waited_ms > 120_000
            p_ok = (0.9, 0.86, 0.82)[c.ch] - (0.1 if waited_long else 0) - (0.5 if c.silent else 0)
            c.resolved = rand() < p_ok
            self._resolved(c, a)
            # Follow-ups come hours later (log-normal: most the same day, some days on).
            if not c.resolved and rand() < 0.5:  # the customer tries again
                self._at(t + self._lognorm_ms(4 * 3600, 1.0, 600, 3 * 86400), self._arrive_again, c)
            elif c.resolved and not c.reopened and rand() < (0.015, 0.03, 0.06)[c.ch]:
                self._at(t + self._lognorm_ms(3 * 3600, 1.0, 600, 3 * 86400), self._h_reopen, c)
            if rand() < 0.008 + (0.02 if not c.resolved else 0) + (0.01 if waited_long else 0):
                delay = self._lognorm_ms(2 * 3600, 1.0, 300, 2 * 86400)
                self._at(t + delay, self._h_complaint, (c, a))
        a.contact = None
        self._free(a)

    def _resolved(self, c: _Contact, a: _Agent | None) -> None:
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="contact.resolved",
                contact=c.id,
                queue=c.cq.name,
                agent=None if a is None else a.id,
                channel=c.channel,
                resolved=c.resolved,
            )
        )
        if self._rand() < 0.28:  # survey answered
            delay = ((20, 300), (5, 600), (600, 86400))[c.ch]
            self._at(self._now + self._uniform_ms(*delay), self._h_rate, c)

    def _h_tier2(self, c: _Contact) -> None:
        c.resolved = self._rand() < 0.8
        self._resolved(c, None)

    def _h_rate(self, c: _Contact) -> None:
        rng = self._rng
        score = (4.3 if c.resolved else 2.4) - min(1.5, c.waited_ms / 300_000)
        score += rng.gauss(0.0, 0.9)
        csat: int | None = min(5, max(1, round(score)))
        nps: int | None = None
        r = rng.random()
        if r < 0.45:
            nps = min(10, max(0, round(score * 2 + rng.gauss(0.0, 1.5))))
            if r < 0.15:
                csat = None  # an NPS-only survey
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="contact.rated",
                contact=c.id,
                queue=c.q.name,
                agent=None if c.agent is None else c.agent.id,
                channel=c.channel,
                csat=csat,
                nps=nps,
            )
        )

    def _h_complaint(self, arg: tuple[_Contact, _Agent]) -> None:
        c, a = arg
        rng = self._rng
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="contact.complaint",
                contact=None if rng.random() < 0.1 else c.id,  # some arrive by letter, no ref
                agent=a.id,
                channel=c.channel,
                text=_COMPLAINTS[rng.randrange(len(_COMPLAINTS))],
            )
        )

    def _h_reopen(self, c: _Contact) -> None:
        """The customer comes back about the same case: reopened and queued again."""
        c.reopened = True
        c.legs = 0
        c.transfer = False
        c.silent = False
        c.cq = c.q
        self._emit(
            _Line(
                id=self._nid(),
                ts=self._ts(),
                type="contact.reopened",
                contact=c.id,
                queue=c.q.name,
                channel=c.channel,
            )
        )
        if c.ch != VOICE:
            c.agent = None
            self._message(c, False)
        self._enqueue(c)

    # ----------------------------------------------------------------- agents

    def _free(self, a: _Agent) -> None:
        """An agent has nothing to do: log out, take a break, or take the next contact."""
        t = self._now
        if a.logout:
            self._logout(a)
            return
        if a.dip and self._dip_active:
            self._away(a, _DIP_REASONS[self._rng.randrange(len(_DIP_REASONS))], self._dip_end)
            return
        if t >= a.next_break:
            q = a.primary
            if q.n_away >= max(1, int(q.n_on * _BREAK_SHARE)):
                # Break control: too many of the team are away already; go a bit later.
                a.next_break = t + self._uniform_ms(300, 600)
            else:
                self._break(a)
                return
        if self._rand() < 0.004:
            reason, minutes = _MISC_AWAY[self._rng.randrange(len(_MISC_AWAY))]
            self._away(a, reason, t + self._uniform_ms(minutes * 40, minutes * 80))
            return
        if a.state != "available":
            self._state(a, "available")
        # The oldest waiting contact among the agent's skills.
        best: _Contact | None = None
        best_q: _Queue | None = None
        for q in a.skills:
            waiting = q.waiting
            while waiting and waiting[0].state != _WAITING:
                waiting.popleft()
            if waiting and (best is None or waiting[0].t_queued < best.t_queued):
                best = waiting[0]
                best_q = q
        if best is not None:
            assert best_q is not None
            best_q.waiting.popleft()
            self._route(best, a)
            return
        a.idle = True
        for q in a.skills:
            q.idle[a] = None

    def _break(self, a: _Agent) -> None:
        """A short break, or lunch as the second one, then the next is due ~2 h later."""
        t = self._now
        a.breaks += 1
        if a.breaks == 2:
            reason, length = "lunch", self._uniform_ms(1500, 2100)
        else:
            reason, length = "break", self._uniform_ms(600, 900)
        a.next_break = t + length + self._uniform_ms(5400, 9000)
        self._away(a, reason, t + length)

    def _h_agent_free(self, a: _Agent) -> None:
        if a.contact is None and a.on_shift:
            self._free(a)

    def _away(self, a: _Agent, reason: str, until: int) -> None:
        self._take_idle(a)
        a.away_until = until
        self._state(a, "away", reason)
        self._at(until, self._h_away_end, a)

    def _h_away_end(self, a: _Agent) -> None:
        if a.state == "away" and a.away_until == self._now and a.on_shift:
            self._free(a)

    def _h_login(self, a: _Agent) -> None:
        if a.state != "offline":
            return
        t = self._now
        a.on_shift = True
        a.logout = False
        a.shift_start = t
        a.breaks = 0
        a.next_break = t + self._uniform_ms(5400, 9000)
        self._free(a)

    def _logout(self, a: _Agent) -> None:
        self._take_idle(a)
        a.on_shift = False
        a.logout = False
        a.away_until = 0
        self._state(a, "offline")
        if not a.dip:
            a.primary.off.append(a)

    def _h_roster(self, _: None) -> None:
        """At the start, every agent on the roster is announced (name, team, offline)."""
        for a in self._agents:
            if not a.on_shift:
                self._state(a, "offline")

    def _h_tick(self, _: None) -> None:
        """The scheduler: log agents in or out so each queue has what the forecast needs."""
        t = self._now
        self._update_tz()
        self._at(t + _TICK_MS, self._h_tick, None)
        if self._dip_active:
            return  # nobody covers a dip: that is the point of it
        first = t == self._start_ms
        m0 = (t + self._tz_ms) // 60_000
        minutes = [m % 1440 for m in range(m0, m0 + _TICK_MS // 60_000 + 10)]
        # The forecast for the coming interval: its busiest minute, so a ramp is met.
        forecast = {s.ch: max(s.curve[m] for m in minutes) for s in self._streams}
        for q in self._queues:
            backlog = len(q.waiting) if q.ch == EMAIL else 0
            need = self._needed(q, q.peak_per_h * forecast[q.ch], backlog)
            on = [a for a in q.roster if a.on_shift and not a.logout]
            for a in on:
                if t - a.shift_start >= _MAX_SHIFT_MS:
                    self._send_home(a)
            on = [a for a in on if not a.logout]
            if len(on) < need:
                for a in q.roster:  # first keep those who were about to leave
                    if len(on) >= need:
                        break
                    if a.on_shift and a.logout and t - a.shift_start < _MAX_SHIFT_MS:
                        a.logout = False
                        on.append(a)
                while len(on) < need and q.off:
                    a = q.off.popleft()
                    a.on_shift = True  # counts as on from now; logs in within 5 minutes
                    on.append(a)
                    self._at(t if first else t + self._uniform_ms(0, 300), self._h_login, a)
            elif len(on) > need:
                senior = sorted(
                    (a for a in on if t - a.shift_start >= _MIN_SHIFT_MS and a.state != "offline"),
                    key=lambda a: a.shift_start,
                )
                for a in senior[: len(on) - need]:
                    self._send_home(a)

    def _send_home(self, a: _Agent) -> None:
        a.logout = True
        if a.idle or a.state == "away":
            self._logout(a)

    # ----------------------------------------------------------------- bad moments

    def _h_services_up(self, _: None) -> None:
        for service in _SERVICES:
            self._service(service, True)

    def _service(self, service: str, up: bool) -> None:
        self._emit(
            _Line(id=self._nid(), ts=self._ts(), type="service.status", service=service, up=up)
        )

    def _h_outage(self, service: str) -> None:
        rng = self._rng
        length = self._lognorm_ms(360, 0.8, 60, 5400)
        self._outage(service, length)
        self._at(
            self._now + length + int(rng.expovariate(1 / (36 * 3_600_000))), self._h_outage, service
        )

    def _h_forced_outage(self, arg: tuple[str, int]) -> None:
        self._outage(*arg)

    def _outage(self, service: str, length: int) -> None:
        """Down, then up. Customers call about it: more arrivals, and its category runs hot."""
        category = _SERVICES[service]
        if category in self._hot:
            return  # already down
        self._service(service, False)
        self._hot[category] = (0.5, 0.4)
        self._set_mult(None, _OUTAGE_SURGE)
        self._at(self._now + length, self._h_service_up, service)
        self._at(self._now + length + 15 * 60_000, self._h_outage_over, service)

    def _h_service_up(self, service: str) -> None:
        self._service(service, True)

    def _h_outage_over(self, service: str) -> None:
        self._hot.pop(_SERVICES[service], None)
        self._set_mult(None, 1 / _OUTAGE_SURGE)

    def _h_surge(self, _: None) -> None:
        """A burst of traffic on one channel the forecast did not expect."""
        rng = self._rng
        stream = self._streams[rng.randrange(len(self._streams))]
        factor = rng.uniform(1.2, 1.5)
        self._set_mult(stream.ch, factor)
        length = self._uniform_ms(900, 2700)
        self._at(self._now + length, self._h_surge_over, (stream.ch, factor))
        self._at(
            self._now + length + int(rng.expovariate(1 / (10 * 3_600_000))), self._h_surge, None
        )

    def _h_surge_over(self, arg: tuple[int, float]) -> None:
        self._set_mult(arg[0], 1 / arg[1])

    def _h_gap(self, _: None) -> None:
        """A product gap: one category is suddenly asked about, and escalated, a lot."""
        rng = self._rng
        category = _CATEGORIES[rng.randrange(len(_CATEGORIES))]
        length = self._uniform_ms(3600, 7200)
        if category not in self._hot:
            self._hot[category] = (0.3, 0.45)
            self._at(self._now + length, self._h_gap_over, category)
        self._at(self._now + length + int(rng.expovariate(1 / (20 * 3_600_000))), self._h_gap, None)

    def _h_gap_over(self, category: str) -> None:
        self._hot.pop(category, None)

    def _h_dip_start(self, _: None) -> None:
        """Staffing dip: most logged-in agents go away (some offline) and nobody covers."""
        rng = self._rng
        self._dip_active = True
        self._dip_end = self._now + self._dip_len
        on = [a for a in self._agents if a.on_shift and not a.logout]
        picked = rng.sample(on, int(len(on) * _DIP_SHARE))
        self._dip_agents = picked
        for a in picked:
            a.dip = True
            if a.idle or a.state == "away":
                if rng.random() < 0.3:
                    self._logout(a)
                else:
                    self._free(a)  # goes away until the dip ends
        self._at(self._dip_end, self._h_dip_end, None)
        self._at(self._now + _DIP_EVERY_MS, self._h_dip_start, None)

    def _h_dip_end(self, _: None) -> None:
        self._dip_active = False
        for a in self._dip_agents:
            a.dip = False
            if a.state == "offline":
                if a.on_shift is False and not a.logout:
                    a.on_shift = True
                    self._at(self._now + self._uniform_ms(0, 180), self._h_login, a)
            elif a.state == "away" and a.away_until == self._now:
                self._free(a)
        self._dip_agents = []
