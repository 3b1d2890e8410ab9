"""One contact's events and what SPEC section 3 derives from them.

A contact keeps its own events (compact records, in ts order, ties in the
order received) and, from them alone, :func:`derive` computes its facts
(queued time and queue, first response, agent at a time, waiting, resolved)
and its *samples*: the tuples every window counts. When a late event arrives
the contact is derived again and only the samples that changed are replaced,
so the figures never depend on arrival order.

Sample tuples start with ``(kind, ts, contact, queue, agent, ...)``. Two
samples of a contact can be equal (two like ratings at one ts): a contact's
samples are a multiset, and equal samples count the same wherever they are.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from operator import itemgetter
from sys import intern
from typing import Any, Final

from wallboard.events import Event

# Event codes held in records.
QUEUED, ANSWERED, AGENT_MSG, CUSTOMER_MSG, ABANDONED, TRANSFERRED = range(6)
ESCALATED, ENDED, RESOLVED, REOPENED, RATED, SALE, COMPLAINT = range(6, 13)

CODES: Final[dict[str, int]] = {
    "contact.queued": QUEUED,
    "contact.answered": ANSWERED,
    "contact.abandoned": ABANDONED,
    "contact.transferred": TRANSFERRED,
    "contact.escalated": ESCALATED,
    "contact.ended": ENDED,
    "contact.resolved": RESOLVED,
    "contact.reopened": REOPENED,
    "contact.rated": RATED,
    "contact.sale": SALE,
    "contact.complaint": COMPLAINT,
}

# Sample kinds (first element of a sample tuple). A flag that can flip later
# (resolved now, sold) is a sample of its own, so a flip is one addition; FCR
# is a flag of the resolution sample, as it is known when the resolution is
# (a later contact of the customer can still flip it: rare).
K_ARRIVAL, K_ANSWER, K_ABANDON, K_REPLY, K_HANDLE, K_RESOLVE = range(6)
K_ESCALATION, K_COMPLAINT, K_RATED, K_SALE = range(6, 10)
K_RESOLVED_ARRIVAL, K_SOLD = range(10, 12)

Record = tuple[int, int, str | None, Any]
"""``(ts, code, agent, extra)``; ``extra`` depends on the code. A queueing's has no
agent: ``(ts, QUEUED, customer, (queue, category))``. No event id: no figure
needs it once duplicates are out."""
Keys = array
"""A contact's records' ``ts << 4 | code`` in ts order (ties in the order received),
as machine integers; with :data:`Rest`, a record costs 24 bytes where a tuple with
its ts would cost 120 (700k records a day)."""
Rest = list[Any]
"""The rest of each record, ``(agent, extra)``, laid end to end."""
_BITS: Final = 4  # codes are below 16
_LAST: Final = (1 << _BITS) - 1
Sample = tuple[Any, ...]


_shared_pairs: dict[tuple[Any, Any], tuple[Any, Any]] = {}  # runtime state: lowercase


def _shared(pair: tuple[Any, Any]) -> tuple[Any, Any]:
    """One copy of each pair: thousands of records share a few."""
    return _shared_pairs.setdefault(pair, pair)


def record(ev: Event) -> Record:
    """The compact record kept for a contact event (the Event itself is not kept)."""
    t = ev.type
    agent = intern(ev.agent) if ev.agent is not None else None  # one copy of each name
    if t == "message":
        code = AGENT_MSG if ev.from_ == "agent" else CUSTOMER_MSG
        return (ev.ts, code, agent, None)
    code = CODES[t]
    extra: Any = None
    if code == QUEUED:  # the customer where the agent goes: (queue, category) repeat
        category = intern(ev.category) if ev.category is not None else None
        return (ev.ts, code, ev.customer, _shared((intern(ev.queue), category)))  # type: ignore[arg-type]
    if code == RESOLVED:
        extra = ev.resolved
    elif code == ESCALATED:
        extra = ev.category
    elif code == RATED:
        extra = _shared((ev.csat, ev.nps))
    elif code == SALE:
        extra = ev.amount
    return (ev.ts, code, agent, extra)


def insert(keys: Keys, rest: Rest, rec: Record) -> None:
    """Insert in ts order; an equal ts goes after those already there (order received)."""
    ts = rec[0]
    if not keys or keys[-1] >> _BITS <= ts:
        keys.append(ts << _BITS | rec[1])
        rest += rec[2:]
        return
    k = bisect_right(keys, ts << _BITS | _LAST)  # after every key of an equal ts
    keys.insert(k, ts << _BITS | rec[1])
    rest[k * 2 : k * 2] = rec[2:]


def last_ts(keys: Keys) -> int:
    """The latest ts of non-empty records."""
    return keys[-1] >> _BITS


def first_ts(keys: Keys) -> int:
    """The earliest ts of non-empty records."""
    return keys[0] >> _BITS


def drop_before(keys: Keys, rest: Rest, ts: int) -> None:
    """Forget the records with a ts before ``ts``."""
    k = bisect_left(keys, ts << _BITS)
    del keys[:k]
    del rest[: k * 2]


def unpack(keys: Keys, rest: Rest) -> list[Record]:
    """The records as tuples."""
    return [
        (key >> _BITS, key & _LAST, rest[i], rest[i + 1])
        for i, key in zip(range(0, len(rest), 2), keys, strict=True)
    ]


class Targets:
    """The per-queue settings a contact's samples depend on (microseconds)."""

    __slots__ = ("short_abandon_us", "sl_threshold_us")

    def __init__(self, sl_threshold_us: int, short_abandon_us: int) -> None:
        self.sl_threshold_us = sl_threshold_us
        self.short_abandon_us = short_abandon_us


class Derived:
    """What a contact's events amount to now."""

    __slots__ = (
        "abandoned",
        "customer",
        "dirty",
        "ended",
        "fcr",
        "fr_agent",
        "fr_ts",
        "last_agent",
        "pending",
        "queue",
        "queued_ts",
        "resolve",
        "sold",
        "waiting",
    )

    def __init__(self) -> None:
        self.queue: str | None = None
        """The queue of its earliest ``contact.queued`` (None: the contact is not known)."""
        self.queued_ts: int | None = None
        self.customer: str | None = None
        self.waiting: tuple[str, int] | None = None
        """``(queue, since)`` when it is waiting now."""
        self.resolve: tuple[int, str | None, bool] | None = None
        """``(resolution ts, agent, clean)``; clean = no reopen,
        transfer or escalation (the repeat-customer half of FCR is the engine's)."""
        # For appending in O(1) (derive_append):
        self.fr_ts: int | None = None
        self.pending: int | None = None
        """ts of the earliest customer message not yet replied to, after the first response."""
        self.last_agent: str | None = None
        """The agent of the latest answer or agent message."""
        self.ended = False
        self.dirty = False
        """Reopened, transferred or escalated: a resolution is not a first-contact one."""
        self.sold = False
        self.abandoned = False
        self.fr_agent: str | None = None
        self.fcr = False
        """The FCR flag the resolution sample was counted with (see the engine)."""


def rated(rec: Record, cid: str, queue: str, who: str | None) -> Sample:
    """A rating's sample: CSAT good (None: no CSAT), NPS class 1/0/-1 (None: no NPS)."""
    csat, nps = rec[3]
    good = None if csat is None else csat >= 4
    klass = None if nps is None else 1 if nps >= 9 else -1 if nps <= 6 else 0
    return (K_RATED, rec[0], cid, queue, who, good, klass)


def copy_derived(src: Derived, dst: Derived) -> None:
    """Make ``dst`` what ``src`` derived to (a contact is its own :class:`Derived`)."""
    for name in _DERIVED:
        setattr(dst, name, getattr(src, name))


def derive(
    keys: Keys,
    rest: Rest,
    targets_of: Callable[[str], Targets],
    cid: str,
    into: Derived | None = None,
) -> tuple[Derived, list[Sample]]:
    """Apply SPEC section 3's ground rules to one contact's records (ts <= now): its
    facts and its samples, all but the resolution one (which needs other contacts).
    ``into``: a :class:`Derived` as made (defaults) to fill instead of a new one."""
    records = unpack(keys, rest)
    d = Derived() if into is None else into
    first_q: Record | None = None
    last_q: Record | None = None
    block_ts: int | None = None  # latest answered / agent message / abandoned / resolved
    resp_ts: list[int] = []  # answered and agent messages, for "agent at time t"
    resp_agent: list[str | None] = []
    first_abandon = -1
    first_end = -1
    last_closing = -1  # latest resolved / reopened
    customer = None
    dirty = False  # reopened, transferred or escalated
    sold = False
    for i, rec in enumerate(records):
        code = rec[1]
        if code == QUEUED:
            if first_q is None:
                first_q = rec
            last_q = rec
            if customer is None:
                customer = rec[2]
        elif code in (ANSWERED, AGENT_MSG):
            resp_ts.append(rec[0])
            resp_agent.append(rec[2])
            block_ts = rec[0]
        elif code == ABANDONED:
            if first_abandon < 0:
                first_abandon = i
            block_ts = rec[0] if block_ts is None else max(block_ts, rec[0])
        elif code == RESOLVED:
            last_closing = i
            block_ts = rec[0] if block_ts is None else max(block_ts, rec[0])
        elif code == REOPENED:
            last_closing = i
            dirty = True
        elif code == ENDED:
            if first_end < 0:
                first_end = i
        elif code in (TRANSFERRED, ESCALATED):
            dirty = True
        elif code == SALE:
            sold = True

    samples: list[Sample] = []
    if first_q is None:
        # Not known: only complaints count (they are about an agent).
        for rec in records:
            if rec[1] == COMPLAINT:
                samples.append((K_COMPLAINT, rec[0], cid, None, rec[2]))
        return d, samples

    q_ts: int = first_q[0]
    queue: str = first_q[3][0]
    d.queue = queue
    d.queued_ts = q_ts
    d.customer = customer
    assert last_q is not None
    if block_ts is None or last_q[0] >= block_ts:
        d.waiting = (last_q[3][0], last_q[0])
    targets = targets_of(queue)

    def agent_at(t: int) -> str | None:
        k = bisect_right(resp_ts, t)
        return resp_agent[k - 1] if k else None

    # Whether the contact is resolved now feeds its arrival sample.
    resolved_rec = records[last_closing] if last_closing >= 0 else None
    resolved = resolved_rec is not None and resolved_rec[1] == RESOLVED and bool(resolved_rec[3])
    samples.append((K_ARRIVAL, q_ts, cid, queue, None))
    if resolved:
        samples.append((K_RESOLVED_ARRIVAL, q_ts, cid, queue, None))
    d.last_agent = resp_agent[-1] if resp_agent else None
    d.ended = first_end >= 0
    d.dirty = dirty
    d.sold = sold
    d.abandoned = first_abandon >= 0

    # First response: the earliest answered / agent message with ts >= queued time.
    fr_index = -1
    for i in range(bisect_right(records, q_ts - 1, key=itemgetter(0)), len(records)):
        if records[i][1] == ANSWERED or records[i][1] == AGENT_MSG:
            fr_index = i
            break
    fr_ts = records[fr_index][0] if fr_index >= 0 else None
    d.fr_ts = fr_ts
    if fr_ts is not None:
        frt = fr_ts - q_ts
        fr_agent = d.fr_agent = records[fr_index][2]
        samples.append((K_ANSWER, fr_ts, cid, queue, fr_agent, frt, frt <= targets.sl_threshold_us))
        if sold:
            samples.append((K_SOLD, fr_ts, cid, queue, fr_agent))
        # Reply speed: agent messages answering customer messages after the first response.
        pending: int | None = None
        for rec in records[fr_index + 1 :]:
            code = rec[1]
            if code == CUSTOMER_MSG:
                if pending is None:
                    pending = rec[0]
            elif code == AGENT_MSG and pending is not None:
                samples.append((K_REPLY, rec[0], cid, queue, rec[2], rec[0] - pending))
                pending = None
        d.pending = pending

    if first_abandon >= 0 and not (0 <= fr_index < first_abandon):
        a_ts = records[first_abandon][0]
        waited = a_ts - q_ts
        short = targets.short_abandon_us > 0 and waited <= targets.short_abandon_us
        samples.append(
            (K_ABANDON, a_ts, cid, queue, None, short, waited <= targets.sl_threshold_us)
        )

    if first_end >= 0 and fr_ts is not None:
        e = records[first_end]
        samples.append((K_HANDLE, e[0], cid, queue, e[2] or agent_at(e[0]), e[0] - fr_ts))

    if resolved:
        assert resolved_rec is not None
        r_ts = resolved_rec[0]
        d.resolve = (r_ts, resolved_rec[2] or agent_at(r_ts), not dirty)

    for rec in records:
        code = rec[1]
        if code < ESCALATED:
            continue
        ts, agent = rec[0], rec[2]
        if code == ESCALATED:
            category = rec[3] if rec[3] is not None else first_q[3][1]
            samples.append((K_ESCALATION, ts, cid, queue, agent or agent_at(ts), category))
        elif code == RATED:
            samples.append(rated(rec, cid, queue, agent or agent_at(ts)))
        elif code == SALE:
            samples.append((K_SALE, ts, cid, queue, agent, rec[3]))
        elif code == COMPLAINT:
            samples.append((K_COMPLAINT, ts, cid, queue, agent))
    return d, samples


_DERIVED: Final = Derived.__slots__


def derive_append(
    d: Derived,
    rec: Record,
    cid: str,
    targets_of: Callable[[str], Targets],
    first: bool,
    tie: bool = False,
) -> tuple[Sample, ...] | None:
    """The new samples when ``rec`` was appended after every earlier record (a ts not
    before theirs; ``first``: there was none) and changes none of their samples;
    None when a full :func:`derive` is needed, and then ``d`` is untouched. ``tie``:
    its ts is the latest record's.

    Covers nearly all of a live feed: a contact's first queueing, its first answer,
    messages, ending, resolution, ratings, complaints, transfers, escalations,
    sales and abandons. Not: a queueing again, a second resolution, a reopening
    after one, and a response at the latest record's ts (``agent_at`` of what
    came before it at that ts changes). Updates ``d`` in place (``waiting`` and
    ``resolve`` too: the engine's indexes follow them).
    """
    code = rec[1]
    ts = rec[0]
    if first:
        if code != QUEUED:
            return None
        queue, customer = rec[3][0], rec[2]
        d.queue = queue
        d.queued_ts = ts
        d.customer = customer
        d.waiting = (queue, ts)
        return ((K_ARRIVAL, ts, cid, queue, None),)
    if code == CUSTOMER_MSG:
        if d.fr_ts is not None and d.pending is None:
            d.pending = ts
        return ()
    queue = d.queue
    if queue is None:  # not known yet: only a complaint counts
        if code == COMPLAINT:
            return ((K_COMPLAINT, ts, cid, None, rec[2]),)
        return () if code in (AGENT_MSG, ENDED, RATED) else None
    if tie and code in (ANSWERED, AGENT_MSG):
        return None  # the agent at that ts changes for what came before it at that ts
    if code in (ANSWERED, AGENT_MSG, ABANDONED, RESOLVED) and (
        d.waiting is not None and d.waiting[1] >= ts
    ):
        return None  # at the ts it was queued again: still waiting (derive decides)
    if code in (ANSWERED, AGENT_MSG):
        if d.fr_ts is None:  # the first response
            if d.ended or d.sold:  # a handle or a sold sample appears
                return None
            frt = ts - d.queued_ts  # type: ignore[operator]
            d.fr_ts = ts
            d.fr_agent = rec[2]
            d.waiting = None
            d.last_agent = rec[2]
            within = frt <= targets_of(queue).sl_threshold_us
            return ((K_ANSWER, ts, cid, queue, rec[2], frt, within),)
        d.waiting = None
        d.last_agent = rec[2]
        if code == AGENT_MSG and d.pending is not None:
            sample = (K_REPLY, ts, cid, queue, rec[2], ts - d.pending)
            d.pending = None
            return (sample,)
        return ()
    if code == RESOLVED:
        if d.resolve is not None:  # resolved again: the resolution moves
            return None
        d.waiting = None
        if not rec[3]:  # closed unresolved: nothing counts
            return ()
        d.resolve = (ts, rec[2] or d.last_agent, not d.dirty)
        return ((K_RESOLVED_ARRIVAL, d.queued_ts, cid, queue, None),)
    if code == ENDED:
        if d.ended:
            return ()
        d.ended = True
        if d.fr_ts is None:
            return ()
        return ((K_HANDLE, ts, cid, queue, rec[2] or d.last_agent, ts - d.fr_ts),)
    if code == RATED:
        return (rated(rec, cid, queue, rec[2] or d.last_agent),)
    if code == COMPLAINT:
        return ((K_COMPLAINT, ts, cid, queue, rec[2]),)
    if code in (TRANSFERRED, ESCALATED, REOPENED):
        if d.resolve is not None:  # the resolution is no longer clean, or reopened
            return None
        if code == ESCALATED and rec[3] is None:  # the category of the first queueing
            return None
        d.dirty = True
        if code == ESCALATED:
            return ((K_ESCALATION, ts, cid, queue, rec[2] or d.last_agent, rec[3]),)
        return ()
    if code == SALE:
        sale = (K_SALE, ts, cid, queue, rec[2], rec[3])
        if d.sold or d.fr_ts is None:
            d.sold = True
            return (sale,)
        d.sold = True
        return (sale, (K_SOLD, d.fr_ts, cid, queue, d.fr_agent))
    if code == ABANDONED:
        d.waiting = None
        if d.abandoned or d.fr_ts is not None:  # the first abandon counts, unanswered
            d.abandoned = True
            return ()
        d.abandoned = True
        waited = ts - d.queued_ts  # type: ignore[operator]
        targets = targets_of(queue)
        short = targets.short_abandon_us > 0 and waited <= targets.short_abandon_us
        return ((K_ABANDON, ts, cid, queue, None, short, waited <= targets.sl_threshold_us),)
    return None
