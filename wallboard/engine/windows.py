"""Windows: the sums of the samples whose ts falls in each window, per scope.

A scope (overall, a queue, an agent) keeps one running ``total`` of every
sample it has counted and, per window, the ``dropped`` sums of those with a
ts before the window's start: a window's sums are ``total - dropped``, built
only when a snapshot reads a scope that changed. So a sample costs one
addition to the totals, plus one to ``dropped`` as each sliding window's
start passes it (a heap of second-buckets ordered by ts); ``today`` takes a
copy of the totals at local midnight. The sorted values percentiles need
are kept per visible window, and leave with the sample. Each sample enters
and leaves each window once, so an event costs O(windows * log n) and
reading a window's figures costs nothing but the figures.

Invariant: for every counted sample and window, the sample is in the
window's ``dropped`` exactly when its ts is before the window's start.
"""

from __future__ import annotations

import heapq
from collections import Counter
from fractions import Fraction
from typing import Any, Final

from wallboard.engine.contact import (
    K_ABANDON,
    K_ANSWER,
    K_ARRIVAL,
    K_COMPLAINT,
    K_ESCALATION,
    K_HANDLE,
    K_RATED,
    K_REPLY,
    K_RESOLVE,
    K_RESOLVED_ARRIVAL,
    K_SALE,
    K_SOLD,
    Sample,
)
from wallboard.engine.values import TimedValues

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


EMPTY: Final[list[Any]] = [0] * _SUMS + [[], []]
"""The sums of a scope with nothing in a window (never mutated)."""

_BUCKET: Final = 1_000_000  # sliding windows evict samples a second of ts at a time
_TRIM: Final = 1_023  # values before every window are forgotten every 1,024 added


class Scope:
    """One scope's sums: ``total``, and per window ``dropped``; its timed values."""

    __slots__ = ("dropped", "fr", "reply", "total")

    def __init__(self, n: int, big: bool) -> None:
        self.total: list[Any] = [0] * _SUMS
        self.dropped: list[list[Any]] = [[0] * _SUMS for _ in range(n)]
        """Per window: the sums of counted samples with a ts before its start."""
        # Overall and queues keep their sorted suffixes between reads; an agent's
        # few values are sorted when read.
        self.fr = TimedValues(big)
        self.reply = TimedValues(big)


_Entry = tuple[Sample, "Deltas", Scope | None, Scope | None]


def _rated_deltas(good: bool | None, klass: int | None) -> Deltas:
    out: list[tuple[int, int]] = []
    if good is not None:
        out += [(CSAT_N, 1), (CSAT_GOOD, 1)] if good else [(CSAT_N, 1)]
    if klass is not None:
        out.append((NPS_N, 1))
        if klass:
            out.append((NPS_PRO if klass > 0 else NPS_DET, 1))
    return tuple(out)


_RATED: Final = {
    (good, klass): _rated_deltas(good, klass)
    for good in (None, False, True)
    for klass in (None, -1, 0, 1)
}


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
        if s[6]:
            return ((ART_N, 1), (ART_SUM, s[5]), (FCR_N, 1)), 0, None
        return ((ART_N, 1), (ART_SUM, s[5])), 0, None
    if kind == K_ABANDON:
        d: list[tuple[int, Any]] = [(ABANDONED, 1)]
        if s[5]:
            d.append((SHORT_ABANDONED, 1))
        if s[6]:
            d.append((ABANDONED_WITHIN, 1))
        return tuple(d), 0, None
    if kind == K_RATED:
        return _RATED[s[5], s[6]], 0, None
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
    """The sums of every window, per scope (overall, queues, agents)."""

    def __init__(self, specs: list[tuple[str, int | None, bool]]) -> None:
        self.list = [Window(i, n, length, hidden) for i, (n, length, hidden) in enumerate(specs)]
        self.n = len(self.list)
        self._all = tuple(range(self.n))
        self.sliding = sorted(
            (w for w in self.list if w.length is not None), key=lambda w: w.length or 0
        )
        """Sliding windows, shortest first."""
        self.fixed = [w for w in self.list if w.length is None]
        self._max_lo = self._min_lo = self._min_sliding_lo = -(2**62)
        self._thresholds: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []
        self._set_los()
        self.overall = Scope(self.n, True)
        self.queues: dict[str, Scope] = {}
        self.agents: dict[str, Scope] = {}
        self.dirty_overall = True
        self.dirty_queues: set[str] = set()
        self.dirty_agents: set[str] = set()
        """Scopes whose sums changed in some window since the figures were last built."""
        # Per sliding window, its samples bucketed by second of ts (bucket -> entries)
        # and a heap of the bucket numbers: sliding drops whole buckets, and scans
        # only the one the window's start falls in. A sample in a sliding window is
        # in it exactly when its ts >= the window's lo (lo only grows).
        self._buckets: list[dict[int, list[_Entry]]] = [{} for _ in self.list]
        self._bucket_heaps: list[list[int]] = [[] for _ in self.list]
        self._sliding_buckets = [
            (w, self._buckets[w.index], self._bucket_heaps[w.index]) for w in self.sliding
        ]
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

    # ----------------------------------------------------------- reading

    def stats(self, scope: Scope | None, i: int, values: bool = True) -> Stats:
        """A scope's sums in window ``i`` (sums ``[:_SUMS]``, then the two sorted value
        lists: empty without ``values``)."""
        if scope is None:
            return EMPTY
        st = [t - d for t, d in zip(scope.total, scope.dropped[i], strict=True)]
        if values:
            lo = self.list[i].lo
            st += [scope.fr.sorted_since(lo, i), scope.reply.sorted_since(lo, i)]
        else:
            st += [[], []]
        return st

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
        los = [w.lo for w in self.list]
        self._max_lo = max(los)
        self._min_lo = min(los)
        self._min_sliding_lo = self.sliding[-1].lo if self.sliding else 2**62
        # (lo, the windows a ts >= lo is in, those it is not in), latest lo first.
        self._thresholds = [
            (
                lo,
                tuple(i for i in self._all if los[i] <= lo),
                tuple(i for i in self._all if los[i] > lo),
            )
            for lo in sorted(set(los), reverse=True)
        ]

    def _split(self, ts: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The windows ``ts`` is in and those it is before, for min_lo <= ts < max_lo."""
        for lo, inside, outside in self._thresholds:
            if ts >= lo:
                return inside, outside
        raise AssertionError("ts before every window")

    def _reset(self, w: Window, lo: int) -> None:
        """``today`` restarts: every sample counted so far is before it (its ts <= the
        previous clock < ``lo``), so its dropped sums are a copy of the totals."""
        i = w.index
        w.lo = lo
        for scope in (self.overall, *self.queues.values(), *self.agents.values()):
            scope.dropped[i] = list(scope.total)
        self.dirty_overall = True
        self.dirty_queues.update(self.queues)
        self.dirty_agents.update(self.agents)
        if self.categories[i] is not None:
            self.categories[i] = Counter()
            self.queue_agents[i] = {}
            self.qa_version += 1

    # ----------------------------------------------------------- samples

    def _scopes(self, queue: str | None, agent: str | None) -> tuple[Scope | None, Scope | None]:
        qs = as_ = None
        if queue is not None:
            qs = self.queues.get(queue)
            if qs is None:
                qs = self.queues[queue] = Scope(self.n, True)
            self.dirty_queues.add(queue)
        if agent is not None:
            as_ = self.agents.get(agent)
            if as_ is None:
                as_ = self.agents[agent] = Scope(self.n, False)
            self.dirty_agents.add(agent)
        self.dirty_overall = True
        return qs, as_

    def add(self, s: Sample) -> None:
        """Count a sample: in every window its ts is in, and as dropped from the others."""
        ts = s[1]
        if ts >= self._max_lo:
            inside, outside = self._all, ()
        elif ts < self._min_lo:
            return  # before every window: never counted (nor dropped)
        else:
            inside, outside = self._split(ts)
        deltas, vi, v = deltas_of(s)
        queue = s[3]
        agent = s[4]
        qs = as_ = None
        if queue is not None:  # _scopes(), inlined
            qs = self.queues.get(queue)
            if qs is None:
                qs = self.queues[queue] = Scope(self.n, True)
            self.dirty_queues.add(queue)
        if agent is not None:
            as_ = self.agents.get(agent)
            if as_ is None:
                as_ = self.agents[agent] = Scope(self.n, False)
            self.dirty_agents.add(agent)
        self.dirty_overall = True
        ov = self.overall
        _add3(deltas, ov.total, qs.total if qs else None, as_.total if as_ else None)
        for i in outside:  # a late sample: counted as already dropped there
            _add3(
                deltas,
                ov.dropped[i],
                qs.dropped[i] if qs else None,
                as_.dropped[i] if as_ else None,
            )
        if vi:
            bulk = self._bulk
            for scope in (ov, qs, as_):
                if scope is not None:
                    tv = scope.fr if vi == FR_VALUES else scope.reply
                    if bulk:
                        tv.add_unordered(ts, v)
                    else:
                        tv.add(ts, v)
                        if not len(tv.ts) & _TRIM and tv.ts[0] < self._min_lo:
                            tv.trim(self._min_lo)
        if ts >= self._min_sliding_lo:
            entry = (s, deltas, qs, as_)
            k = ts // _BUCKET
            for w, buckets, heap in self._sliding_buckets:
                if ts >= w.lo:
                    bucket = buckets.get(k)
                    if bucket is None:
                        buckets[k] = [entry]
                        heapq.heappush(heap, k)
                    else:
                        bucket.append(entry)
        if self._detail and (s[0] == K_ESCALATION or s[0] == K_ANSWER):
            self._bump_detail(s, inside, 1)

    def add_many(self, samples: list[Sample]) -> None:
        """:meth:`add` each sample; the timed values are put in ts order once at the
        end instead of inserted one at a time."""
        self._bulk = True
        try:
            add = self.add
            for s in samples:
                add(s)
        finally:
            self._bulk = False
            for scope in (self.overall, *self.queues.values(), *self.agents.values()):
                scope.fr.settle()
                scope.reply.settle()

    def remove(self, s: Sample) -> None:
        """Stop counting a sample (its contact changed): undo what :meth:`add` did,
        given where the windows' starts are now (they only move forward)."""
        ts = s[1]
        if ts >= self._max_lo:
            inside, outside = self._all, ()
        elif ts < self._min_lo:
            return  # counted in the totals and every window's dropped, or in nothing
        else:
            inside, outside = self._split(ts)
        deltas, vi, v = deltas_of(s)
        qs, as_ = self._scopes(s[3], s[4])
        for scope in (self.overall, qs, as_):
            if scope is None:
                continue
            total = scope.total
            for j, d in deltas:
                total[j] -= d
            for i in outside:
                dropped = scope.dropped[i]
                for j, d in deltas:
                    dropped[j] -= d
            if vi:
                (scope.fr if vi == FR_VALUES else scope.reply).remove(ts, v)
        if ts >= self._min_sliding_lo:
            k = ts // _BUCKET
            for w in self.sliding:
                if ts >= w.lo:
                    bucket = self._buckets[w.index][k]
                    for j, entry in enumerate(bucket):
                        if entry[0] is s or entry[0] == s:
                            del bucket[j]
                            break
        if self._detail:
            self._bump_detail(s, inside, -1)

    def _drop(self, i: int, entries: list[_Entry]) -> None:
        """``entries`` left sliding window ``i``: count them as dropped there."""
        if not entries:
            return
        self.dirty_overall = True
        ov_dropped = self.overall.dropped[i]
        dirty_queues = self.dirty_queues
        dirty_agents = self.dirty_agents
        detail = i in self._detail
        for s, deltas, qs, as_ in entries:
            if qs is not None:
                dirty_queues.add(s[3])
                if as_ is not None:
                    dirty_agents.add(s[4])
                    qd, ad = qs.dropped[i], as_.dropped[i]
                    for j, d in deltas:
                        ov_dropped[j] += d
                        qd[j] += d
                        ad[j] += d
                else:
                    qd = qs.dropped[i]
                    for j, d in deltas:
                        ov_dropped[j] += d
                        qd[j] += d
            else:
                _add3(deltas, ov_dropped, None, as_.dropped[i] if as_ else None)
                if as_ is not None:
                    dirty_agents.add(s[4])
            if detail and (s[0] == K_ESCALATION or s[0] == K_ANSWER):
                self._bump_detail(s, (i,), -1)

    def _bump_detail(self, s: Sample, inside: tuple[int, ...], sign: int) -> None:
        kind = s[0]
        if kind == K_ESCALATION and s[5] is not None:
            for k in inside:
                cats = self.categories[k]
                if cats is not None:
                    _bump(cats, s[5], sign)
        elif kind == K_ANSWER and s[4] is not None and s[3] is not None:
            for k in inside:
                qa = self.queue_agents[k]
                if qa is not None:
                    per = qa.get(s[3])
                    if per is None:
                        per = qa[s[3]] = Counter()
                    if _bump(per, s[4], sign):
                        self.qa_version += 1


def _add3(deltas: Deltas, a: list[Any], b: list[Any] | None, c: list[Any] | None) -> None:
    """Add ``deltas`` to the sums ``a``, ``b`` and ``c`` (None: no such scope)."""
    if b is not None:
        if c is not None:
            for j, d in deltas:
                a[j] += d
                b[j] += d
                c[j] += d
        else:
            for j, d in deltas:
                a[j] += d
                b[j] += d
    elif c is not None:
        for j, d in deltas:
            a[j] += d
            c[j] += d
    else:
        for j, d in deltas:
            a[j] += d


def _bump(counter: Counter[Any], key: Any, sign: int) -> bool:
    """Add ``sign`` to a count; True when the key appeared or went."""
    n = counter[key] + sign
    if n:
        counter[key] = n
        return n == sign
    del counter[key]
    return True
