"""Windows: running sums of the samples whose ts falls in each window.

A window keeps, per scope (overall, each queue, each agent), a flat list of
sums (indices below) and the sorted values its percentiles need. A sample
enters every window its ts is in when it is emitted, leaves when it is
retracted (a late event changed its contact), and leaves a sliding window
when the window's start passes it (a heap ordered by ts); ``today`` empties
at local midnight. Each sample enters and leaves each window once, so an
event costs O(windows * log n) and reading a window's figures costs nothing
but the figures.
"""

from __future__ import annotations

import heapq
from collections import Counter
from fractions import Fraction
from typing import Any, Final

from sortedcontainers import SortedList

from wallboard.engine.contact import (
    K_ABANDON,
    K_ANSWER,
    K_ARRIVAL,
    K_COMPLAINT,
    K_CSAT,
    K_ESCALATION,
    K_FCR,
    K_HANDLE,
    K_NPS,
    K_REPLY,
    K_RESOLVE,
    K_RESOLVED_ARRIVAL,
    K_SALE,
    K_SOLD,
    Sample,
)

# Indices into a scope's sums.
(
    ARRIVALS,
    RESOLVED_ARRIVALS,
    ANSWERED,
    ANSWERED_WITHIN,
    FR_SUM,
    SOLD,
    ABANDONED,
    SHORT_ABANDONED,
    ABANDONED_WITHIN,
    REPLY_N,
    REPLY_SUM,
    HANDLE_N,
    HANDLE_SUM,
    ART_N,
    ART_SUM,
    FCR_N,
    ESCALATIONS,
    COMPLAINTS,
    CSAT_N,
    CSAT_GOOD,
    NPS_N,
    NPS_PRO,
    NPS_DET,
    SALES,
    SALES_AMOUNT,
    FR_VALUES,
    REPLY_VALUES,
) = range(27)
_SUMS: Final = 25  # the number of plain sums before the two value lists

Stats = list[Any]
"""One scope's sums in one window (indexed by the constants above)."""
Deltas = tuple[tuple[int, Any], ...]


class _Unsorted(list):  # type: ignore[type-arg]
    """A big scope's percentile values during :meth:`Windows.add_many`: added in
    any order, sorted once at the end of the batch."""

    __slots__ = ()
    add = list.append


def new_stats(sorted_values: bool, bulk: bool = False) -> Stats:
    """Empty sums; percentile values in SortedLists (big scopes) or plain lists (agents)."""
    st: Stats = [0] * _SUMS
    if sorted_values:
        st += [_Unsorted(), _Unsorted()] if bulk else [SortedList(), SortedList()]
    else:
        st += [[], []]
    return st


EMPTY: Final = new_stats(False)
"""The sums of a scope with nothing in a window (never mutated)."""

_ONE: Final = 1
_BUCKET: Final = 1_000_000  # sliding windows evict samples a second of ts at a time

_Entry = tuple[Sample, "Deltas", int, Any]


def deltas_of(s: Sample) -> tuple[Deltas, int, Any]:
    """What a sample adds to a scope's sums: ``(deltas, value list index, value)``."""
    kind = s[0]
    if kind == K_ARRIVAL:
        return ((ARRIVALS, 1),), 0, None
    if kind == K_ANSWER:
        v = s[5]
        if s[6]:
            return ((ANSWERED, 1), (FR_SUM, v), (ANSWERED_WITHIN, 1)), FR_VALUES, v
        return ((ANSWERED, 1), (FR_SUM, v)), FR_VALUES, v
    if kind == K_REPLY:
        return ((REPLY_N, 1), (REPLY_SUM, s[5])), REPLY_VALUES, s[5]
    if kind == K_HANDLE:
        return ((HANDLE_N, 1), (HANDLE_SUM, s[5])), 0, None
    if kind == K_RESOLVED_ARRIVAL:
        return ((RESOLVED_ARRIVALS, 1),), 0, None
    if kind == K_SOLD:
        return ((SOLD, 1),), 0, None
    if kind == K_RESOLVE:
        return ((ART_N, 1), (ART_SUM, s[5])), 0, None
    if kind == K_FCR:
        return ((FCR_N, 1),), 0, None
    if kind == K_ABANDON:
        d: list[tuple[int, Any]] = [(ABANDONED, 1)]
        if s[5]:
            d.append((SHORT_ABANDONED, 1))
        if s[6]:
            d.append((ABANDONED_WITHIN, 1))
        return tuple(d), 0, None
    if kind == K_CSAT:
        return (((CSAT_N, 1), (CSAT_GOOD, 1)) if s[5] else ((CSAT_N, 1),)), 0, None
    if kind == K_NPS:
        if s[5] > 0:
            return ((NPS_N, 1), (NPS_PRO, 1)), 0, None
        if s[5] < 0:
            return ((NPS_N, 1), (NPS_DET, 1)), 0, None
        return ((NPS_N, 1),), 0, None
    if kind == K_ESCALATION:
        return ((ESCALATIONS, 1),), 0, None
    if kind == K_COMPLAINT:
        return ((COMPLAINTS, 1),), 0, None
    if kind == K_SALE:
        return ((SALES, 1), (SALES_AMOUNT, Fraction(s[5]))), 0, None  # exact sums
    raise ValueError(f"unknown sample kind {kind}")


class Window:
    """One window's description and position: ``today`` or sliding ``(now - length, now]``."""

    __slots__ = ("hidden", "index", "length", "lo", "name")

    def __init__(self, index: int, name: str, length: int | None, hidden: bool) -> None:
        self.index = index
        self.name = name
        self.length = length
        """Microseconds, or None for ``today``."""
        self.hidden = hidden
        """Kept for staffing or the product-gap alert only; not in snapshots."""
        self.lo = -(2**62)
        """The smallest ts inside the window (inclusive)."""


class Windows:
    """The sums of every window, kept together: a scope's sums are one list per window.

    A sample in every window (the usual case: it is recent) costs one lookup
    per scope for all windows at once.
    """

    def __init__(self, specs: list[tuple[str, int | None, bool]]) -> None:
        self.list = [Window(i, n, length, hidden) for i, (n, length, hidden) in enumerate(specs)]
        self.n = len(self.list)
        self._all = tuple(range(self.n))
        self.sliding = sorted(
            (w for w in self.list if w.length is not None), key=lambda w: w.length or 0
        )
        """Sliding windows, shortest first."""
        self.fixed = [w for w in self.list if w.length is None]
        self._los: list[int] = []
        self._max_lo = 0
        self._thresholds: list[tuple[int, tuple[int, ...]]] = []
        self._set_los()
        self._min_sliding_lo = self.sliding[-1].lo if self.sliding else 2**62
        self.overall: list[Stats] = [new_stats(True) for _ in self.list]
        self.queues: dict[str, list[Stats]] = {}
        self.agents: dict[str, list[Stats]] = {}
        self.dirty_overall = True
        self.dirty_queues: set[str] = set()
        self.dirty_agents: set[str] = set()
        """Scopes whose sums changed in some window since the figures were last built."""
        # Per sliding window, its samples bucketed by second of ts (bucket -> entries)
        # and a heap of the bucket numbers: sliding evicts whole buckets, and scans
        # only the one the window's start falls in. A sample in a sliding window is
        # in it exactly when its ts >= the window's lo (lo only grows).
        self._buckets: list[dict[int, list[_Entry]]] = [{} for _ in self.list]
        self._bucket_heaps: list[list[int]] = [[] for _ in self.list]
        self.categories: list[Counter[str] | None] = [None] * self.n
        """Per window: escalations by category (detail windows only)."""
        self.queue_agents: list[dict[str, Counter[str]] | None] = [None] * self.n
        """Per window: answers by queue and agent (detail windows only)."""
        self.qa_version = 0
        """Changes when a (queue, agent) pair appears in or leaves ``queue_agents``."""
        self._detail: tuple[int, ...] = ()
        self._bulk = False

    def enable_detail(self, w: Window) -> None:
        """Also keep escalations by category and answers by (queue, agent) in ``w``."""
        if self.categories[w.index] is None:
            self.categories[w.index] = Counter()
            self.queue_agents[w.index] = {}
            self._detail = tuple(i for i in self._all if self.categories[i] is not None)

    # ------------------------------------------------------------ moving

    def move(self, now: int, midnight: int) -> None:
        """Windows end at ``now``: ``today`` restarts at ``midnight``, sliding ones slide."""
        for w in self.fixed:
            if w.lo != midnight:
                self._reset(w, midnight)
        for w in self.sliding:
            lo = w.lo = now - w.length + 1  # type: ignore[operator]
            i = w.index
            keys = self._bucket_heaps[i]
            buckets = self._buckets[i]
            drop = self._drop
            while keys and keys[0] * _BUCKET < lo:
                k = keys[0]
                bucket = buckets[k]
                if (k + 1) * _BUCKET <= lo:  # wholly out
                    heapq.heappop(keys)
                    del buckets[k]
                    drop(i, bucket)
                    continue
                keep = []
                out = []
                for entry in bucket:
                    if entry[0][1] < lo:
                        out.append(entry)
                    else:
                        keep.append(entry)
                if out:
                    bucket[:] = keep
                    drop(i, out)
                break
        self._set_los()

    def _set_los(self) -> None:
        self._los = los = [w.lo for w in self.list]
        self._max_lo = max(los)
        # (lo, the windows a ts >= lo is in), latest lo first.
        self._thresholds = [
            (lo, tuple(i for i in self._all if los[i] <= lo))
            for lo in sorted(set(los), reverse=True)
        ]
        if self.sliding:
            self._min_sliding_lo = self.sliding[-1].lo

    def _reset(self, w: Window, lo: int) -> None:
        i = w.index
        w.lo = lo
        self.overall[i] = new_stats(True)
        for stats in self.queues.values():
            stats[i] = new_stats(True)
        for stats in self.agents.values():
            stats[i] = new_stats(False)
        self.dirty_overall = True
        self.dirty_queues.update(self.queues)
        self.dirty_agents.update(self.agents)
        if self.categories[i] is not None:
            self.categories[i] = Counter()
            self.queue_agents[i] = {}
            self.qa_version += 1

    # ----------------------------------------------------------- samples

    def add(self, s: Sample) -> None:
        """Count a sample in every window its ts is in."""
        deltas, vi, v = deltas_of(s)
        ts = s[1]
        inside = self._all if ts >= self._max_lo else self._inside(ts)
        if not inside:
            return
        if ts >= self._min_sliding_lo:
            entry = (s, deltas, vi, v)
            k = ts // _BUCKET
            all_buckets = self._buckets
            for w in self.sliding:
                if ts >= w.lo:
                    buckets = all_buckets[w.index]
                    bucket = buckets.get(k)
                    if bucket is None:
                        buckets[k] = [entry]
                        heapq.heappush(self._bucket_heaps[w.index], k)
                    else:
                        bucket.append(entry)
        self._apply(inside, s, deltas, vi, v, 1)

    def add_many(self, samples: list[Sample]) -> None:
        """:meth:`add` each sample; the big scopes' percentile values are sorted once
        at the end instead of inserted one at a time."""
        big = [self.overall, *self.queues.values()]
        for stats in big:
            for st in stats:
                st[FR_VALUES] = _Unsorted(st[FR_VALUES])
                st[REPLY_VALUES] = _Unsorted(st[REPLY_VALUES])
        self._bulk = True
        try:
            add = self.add
            for s in samples:
                add(s)
        finally:
            self._bulk = False
            for stats in (self.overall, *self.queues.values()):
                for st in stats:
                    st[FR_VALUES] = SortedList(st[FR_VALUES])
                    st[REPLY_VALUES] = SortedList(st[REPLY_VALUES])

    def _inside(self, ts: int) -> tuple[int, ...]:
        """The windows a ts older than some window's start is in."""
        for lo, inside in self._thresholds:
            if ts >= lo:
                return inside
        return ()

    def remove(self, s: Sample) -> None:
        """Stop counting a sample wherever it is counted (it is in each window whose
        lo its ts reaches: lo only grows, and today's restart empties it)."""
        deltas, vi, v = deltas_of(s)
        ts = s[1]
        inside = self._all if ts >= self._max_lo else self._inside(ts)
        if not inside:
            return
        if ts >= self._min_sliding_lo:
            k = ts // _BUCKET
            for w in self.sliding:
                if ts >= w.lo:
                    bucket = self._buckets[w.index][k]
                    for j, entry in enumerate(bucket):
                        if entry[0] is s or entry[0] == s:
                            del bucket[j]
                            break
        self._apply(inside, s, deltas, vi, v, -1)

    def _drop(self, i: int, entries: list[_Entry]) -> None:
        """Stop counting ``entries`` in window ``i`` (they left that sliding window):
        :meth:`_apply` with sign -1 and one window, for many samples at once."""
        if not entries:
            return
        self.dirty_overall = True
        overall = self.overall[i]
        queues = self.queues
        agents = self.agents
        dirty_queues = self.dirty_queues
        dirty_agents = self.dirty_agents
        cats = self.categories[i]
        qa = self.queue_agents[i]
        for s, deltas, vi, v in entries:
            for j, d in deltas:
                overall[j] -= d
            if vi:
                overall[vi].remove(v)
            queue = s[3]
            agent = s[4]
            if queue is not None:  # counted when added: its scope exists (never dropped)
                st = queues[queue][i]
                for j, d in deltas:
                    st[j] -= d
                if vi:
                    st[vi].remove(v)
                dirty_queues.add(queue)
            if agent is not None:
                st = agents[agent][i]
                for j, d in deltas:
                    st[j] -= d
                if vi:
                    st[vi].remove(v)
                dirty_agents.add(agent)
            if cats is not None:
                kind = s[0]
                if kind == K_ESCALATION and s[5] is not None:
                    _bump(cats, s[5], -1)
                elif kind == K_ANSWER and agent is not None and queue is not None:
                    assert qa is not None
                    per = qa.get(queue)
                    if per is None:
                        per = qa[queue] = Counter()
                    if _bump(per, agent, -1):
                        self.qa_version += 1

    def _apply(
        self, inside: tuple[int, ...], s: Sample, deltas: Deltas, vi: int, v: Any, sign: int
    ) -> None:
        queue = s[3]
        agent = s[4]
        self.dirty_overall = True
        qstats = None  # big scopes' values are SortedLists
        if queue is not None:
            qstats = self.queues.get(queue)
            if qstats is None:
                qstats = self.queues[queue] = [new_stats(True, self._bulk) for _ in self._all]
            self.dirty_queues.add(queue)
        astats = None  # an agent's values: a plain list, sorted when read
        if agent is not None:
            astats = self.agents.get(agent)
            if astats is None:
                astats = self.agents[agent] = [new_stats(False) for _ in self._all]
            self.dirty_agents.add(agent)
        overall = self.overall
        if sign > 0:
            for k in inside:
                st = overall[k]
                for i, d in deltas:
                    st[i] += d
                if vi:
                    st[vi].add(v)
                if qstats is not None:
                    st = qstats[k]
                    for i, d in deltas:
                        st[i] += d
                    if vi:
                        st[vi].add(v)
                if astats is not None:
                    st = astats[k]
                    for i, d in deltas:
                        st[i] += d
                    if vi:
                        st[vi].append(v)
        else:
            for k in inside:
                st = overall[k]
                for i, d in deltas:
                    st[i] -= d
                if vi:
                    st[vi].remove(v)
                if qstats is not None:
                    st = qstats[k]
                    for i, d in deltas:
                        st[i] -= d
                    if vi:
                        st[vi].remove(v)
                if astats is not None:
                    st = astats[k]
                    for i, d in deltas:
                        st[i] -= d
                    if vi:
                        st[vi].remove(v)
        if self._detail:
            kind = s[0]
            if kind == K_ESCALATION and s[5] is not None:
                for k in inside:
                    cats = self.categories[k]
                    if cats is not None:
                        _bump(cats, s[5], sign)
            elif kind == K_ANSWER and agent is not None and queue is not None:
                for k in inside:
                    qa = self.queue_agents[k]
                    if qa is not None:
                        per = qa.get(queue)
                        if per is None:
                            per = qa[queue] = Counter()
                        if _bump(per, agent, sign):
                            self.qa_version += 1


def _bump(counter: Counter[Any], key: Any, sign: int) -> bool:
    """Add ``sign`` to a count; True when the key appeared or went."""
    n = counter[key] + sign
    if n:
        counter[key] = n
        return n == sign
    del counter[key]
    return True
