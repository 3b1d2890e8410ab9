"""Windows: running totals of the samples whose ts falls in each window.

A window keeps, per scope (overall, each queue, each agent), a :class:`Stats`
of the samples in it. A sample enters every window its ts is in when it is
emitted, leaves when it is retracted (a late event changed its contact), and
leaves a sliding window when the window's start passes it (a heap ordered by
ts); ``today`` empties at local midnight. Each sample enters and leaves each
window once, so an event costs O(windows * log n) and reading a window's
figures costs nothing but the figures.
"""

from __future__ import annotations

import heapq
from collections import Counter
from fractions import Fraction
from itertools import count
from typing import Any

from sortedcontainers import SortedList

from wallboard.engine.contact import (
    K_ABANDON,
    K_ANSWER,
    K_ARRIVAL,
    K_COMPLAINT,
    K_CSAT,
    K_ESCALATION,
    K_HANDLE,
    K_NPS,
    K_REPLY,
    K_RESOLVE,
    K_SALE,
    Sample,
)


class Stats:
    """Sums of one scope's samples within one window."""

    __slots__ = (
        "abandoned",
        "abandoned_within",
        "answered",
        "answered_within",
        "arrivals",
        "art_n",
        "art_sum",
        "complaints",
        "csat_good",
        "csat_n",
        "escalations",
        "fcr_n",
        "fr_sum",
        "fr_vals",
        "handle_n",
        "handle_sum",
        "nps_det",
        "nps_n",
        "nps_pro",
        "reply_sum",
        "reply_vals",
        "resolved_arrivals",
        "sales",
        "sales_amount",
        "short_abandoned",
        "sold",
    )

    def __init__(self) -> None:
        self.arrivals = 0
        self.resolved_arrivals = 0
        self.answered = 0
        self.answered_within = 0
        self.fr_sum = 0
        self.fr_vals: SortedList = SortedList()
        self.sold = 0
        self.abandoned = 0
        self.short_abandoned = 0
        self.abandoned_within = 0
        self.reply_sum = 0
        self.reply_vals: SortedList = SortedList()
        self.handle_n = 0
        self.handle_sum = 0
        self.art_n = 0
        self.art_sum = 0
        self.fcr_n = 0
        self.escalations = 0
        self.complaints = 0
        self.csat_n = 0
        self.csat_good = 0
        self.nps_n = 0
        self.nps_pro = 0
        self.nps_det = 0
        self.sales = 0
        self.sales_amount = Fraction(0)  # exact, so totals never depend on order

    def apply(self, s: Sample, sign: int) -> None:
        """Add (``sign`` 1) or remove (-1) one sample."""
        kind = s[0]
        if kind == K_ARRIVAL:
            self.arrivals += sign
            if s[5]:
                self.resolved_arrivals += sign
        elif kind == K_ANSWER:
            self.answered += sign
            v = s[5]
            self.fr_sum += sign * v
            if sign > 0:
                self.fr_vals.add(v)
            else:
                self.fr_vals.remove(v)
            if s[6]:
                self.answered_within += sign
            if s[7]:
                self.sold += sign
        elif kind == K_ABANDON:
            self.abandoned += sign
            if s[5]:
                self.short_abandoned += sign
            if s[6]:
                self.abandoned_within += sign
        elif kind == K_REPLY:
            v = s[5]
            self.reply_sum += sign * v
            if sign > 0:
                self.reply_vals.add(v)
            else:
                self.reply_vals.remove(v)
        elif kind == K_HANDLE:
            self.handle_n += sign
            self.handle_sum += sign * s[5]
        elif kind == K_RESOLVE:
            self.art_n += sign
            self.art_sum += sign * s[5]
            if s[6]:
                self.fcr_n += sign
        elif kind == K_ESCALATION:
            self.escalations += sign
        elif kind == K_COMPLAINT:
            self.complaints += sign
        elif kind == K_CSAT:
            self.csat_n += sign
            if s[5]:
                self.csat_good += sign
        elif kind == K_NPS:
            self.nps_n += sign
            if s[5] > 0:
                self.nps_pro += sign
            elif s[5] < 0:
                self.nps_det += sign
        elif kind == K_SALE:
            self.sales += sign
            self.sales_amount += sign * Fraction(s[5])


class Window:
    """One window: ``today`` (from local midnight) or sliding ``(now - length, now]``.

    Attributes:
        lo: the smallest ts inside the window (inclusive).
    """

    __slots__ = (
        "_heap",
        "_live",
        "_seq",
        "agents",
        "cache_agents",
        "cache_overall",
        "cache_queues",
        "categories",
        "dirty_agents",
        "dirty_overall",
        "dirty_queues",
        "hidden",
        "length",
        "lo",
        "name",
        "overall",
        "queue_agents",
        "queues",
    )

    def __init__(
        self, name: str, length: int | None, *, hidden: bool = False, detail: bool = False
    ) -> None:
        self.name = name
        self.length = length
        """Microseconds, or None for ``today``."""
        self.hidden = hidden
        """Kept for staffing or the product-gap alert only; not in snapshots."""
        self.lo = -(2**62)
        self.overall = Stats()
        self.queues: dict[str, Stats] = {}
        self.agents: dict[str, Stats] = {}
        self.dirty_overall = True
        self.dirty_queues: set[str] = set()
        self.dirty_agents: set[str] = set()
        # Figures already built from unchanged sums, reused by the next snapshot.
        self.cache_overall: dict[str, Any] | None = None
        self.cache_queues: dict[str, dict[str, Any]] = {}
        self.cache_agents: dict[str, dict[str, Any]] = {}
        self._heap: list[tuple[int, int, Sample]] = []
        self._live: Counter[Sample] = Counter()
        self._seq = count()
        # Detail for staffing and product gaps: escalations by category,
        # answers by (queue, agent).
        self.categories: Counter[str] | None = Counter() if detail else None
        self.queue_agents: dict[str, Counter[str]] | None = {} if detail else None

    def enable_detail(self) -> None:
        """Also keep escalations by category and answers by (queue, agent)."""
        if self.categories is None:
            self.categories = Counter()
            self.queue_agents = {}

    def reset(self, lo: int) -> None:
        """Empty the window and start it at ``lo`` (``today`` at midnight)."""
        self.lo = lo
        self.overall = Stats()
        self.dirty_queues.update(self.queues)
        self.dirty_agents.update(self.agents)
        self.queues = {}
        self.agents = {}
        self.dirty_overall = True
        self._heap.clear()
        self._live.clear()
        if self.categories is not None:
            self.categories = Counter()
            self.queue_agents = {}

    def slide(self, lo: int) -> None:
        """Move a sliding window's start to ``lo``; samples before it leave."""
        self.lo = lo
        heap = self._heap
        live = self._live
        while heap and heap[0][0] < lo:
            s = heapq.heappop(heap)[2]
            n = live[s]
            if n > 0:  # not retracted meanwhile
                if n == 1:
                    del live[s]
                else:
                    live[s] = n - 1
                self._apply(s, -1)

    def add(self, s: Sample) -> None:
        """Count a sample if its ts is in the window."""
        if s[1] < self.lo:
            return
        if self.length is not None:
            heapq.heappush(self._heap, (s[1], next(self._seq), s))
            self._live[s] += 1
        self._apply(s, 1)

    def remove(self, s: Sample) -> None:
        """Stop counting a sample (it was counted if its ts is still in the window)."""
        if s[1] < self.lo:
            return
        if self.length is not None:
            n = self._live[s]
            if n <= 1:
                del self._live[s]
            else:
                self._live[s] = n - 1
        self._apply(s, -1)

    def _apply(self, s: Sample, sign: int) -> None:
        self.overall.apply(s, sign)
        self.dirty_overall = True
        queue = s[3]
        if queue is not None:
            st = self.queues.get(queue)
            if st is None:
                st = self.queues[queue] = Stats()
            st.apply(s, sign)
            self.dirty_queues.add(queue)
        agent = s[4]
        if agent is not None:
            st = self.agents.get(agent)
            if st is None:
                st = self.agents[agent] = Stats()
            st.apply(s, sign)
            self.dirty_agents.add(agent)
        if self.categories is not None:
            kind = s[0]
            if kind == K_ESCALATION and s[5] is not None:
                _bump(self.categories, s[5], sign)
            elif kind == K_ANSWER and agent is not None:
                assert self.queue_agents is not None
                per = self.queue_agents.get(queue)  # type: ignore[arg-type]
                if per is None:
                    per = self.queue_agents[queue] = Counter()  # type: ignore[index]
                _bump(per, agent, sign)


def _bump(counter: Counter[Any], key: Any, sign: int) -> None:
    n = counter[key] + sign
    if n:
        counter[key] = n
    else:
        del counter[key]
