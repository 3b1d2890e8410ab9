"""The engine: events in (any order), snapshots out, memory bounded by the windows.

:class:`Engine` owns the clock, duplicate detection, events held until their
ts is reached, per-contact state, the cross-contact indexes (waiting
contacts, repeat customers for FCR), agent and service timelines, the
windows, eviction, restart from the store, and the assembly of a
:class:`~wallboard.engine.snapshot.Snapshot`.

Its numbers are SPEC section 3 applied to the events it holds: those with
``horizon_us(now) <= ts <= now``, where the horizon is the earliest window
start minus ``lookback``. That is what makes restart exact: reloading the
stored events from the horizon on rebuilds the same state.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sortedcontainers import SortedList

from wallboard import erlang
from wallboard.config import TODAY, Config
from wallboard.engine.contact import (
    K_COMPLAINT,
    K_RESOLVE,
    Derived,
    Record,
    Sample,
    Targets,
    derive,
    insert,
    record,
)
from wallboard.engine.figures import EMPTY, agent_figures, queue_figures
from wallboard.engine.snapshot import SlSettings, Snapshot, Staffing, WindowFigures
from wallboard.engine.timeline import Timeline, agent_weights, service_weights
from wallboard.engine.windows import Window
from wallboard.events import Event
from wallboard.timeutil import US, local_midnight_us

_HOUR = 3600 * US
_ID_BUCKET = _HOUR  # event ids are forgotten an hour-bucket at a time
_NEVER = -(2**62)


def _ts(rec: Record) -> int:
    return rec[0]


class _Contact:
    """A contact's records, what they derive to, and the samples it has emitted."""

    __slots__ = ("derived", "heap_min", "records", "samples")

    def __init__(self, ts: int) -> None:
        self.records: list[Record] = []
        self.derived: Derived = _NOTHING
        self.samples: list[Sample] = []
        self.heap_min = ts


_NOTHING = Derived()


class Engine:
    """Incremental SPEC section 3 metrics for every configured window.

    Feed it with :meth:`add` (any order; a repeated id is ignored, the first
    received wins) and ask :meth:`snapshot` at any instant not before the last
    one asked. Events with a ts after the clock are held until the clock
    reaches them. Pure Python, no I/O but :meth:`restore`.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config if config is not None else Config()
        cfg = self.config
        self._zone = cfg.zone()
        self._formula = cfg.sl_formula
        self._lookback = cfg.lookback_us()
        self._fcr_us = cfg.fcr_us()
        self._gap_threshold = cfg.gap_threshold
        self._windows: list[Window] = [Window(n, length) for n, length in cfg.window_specs()]
        self._hidden: list[Window] = []
        self._staffing_window = self._window_of(_HOUR)
        self._gap_window = self._window_of(cfg.gap_window_us())
        self._all_windows = self._windows + self._hidden
        self._team_of_queue = cfg.team_queues()
        self._team_of_agent = {a: t.name or tid for tid, t in cfg.teams.items() for a in t.agents}
        self._contact_targets: dict[str, Targets] = {}
        self._queue_sl: dict[str, SlSettings] = {}

        self._clock: int | None = None
        self._final = False
        self._midnight = _NEVER
        self._next_midnight = _NEVER
        self._horizon = _NEVER
        self._pending: list[tuple[int, int, Event]] = []
        self._seq = 0
        self._ids: set[str] = set()
        self._id_buckets: dict[int, list[str]] = {}

        self._contacts: dict[str, _Contact] = {}
        self._evict_heap: list[tuple[int, str]] = []
        self._waiting: dict[str, SortedList] = {}  # queue -> (since, contact)
        self._waiting_all: SortedList = SortedList()
        self._cust_queued: dict[str, SortedList] = {}  # customer -> (queued ts, contact)
        self._cust_resolved: dict[str, SortedList] = {}  # customer -> (resolution ts, contact)
        self._agents: dict[str, int] = {}  # agent -> latest ts of an event naming it
        self._queues: dict[str, int] = {}  # queue -> latest ts of a contact.queued naming it
        self._agent_lines: dict[str, Timeline] = {}
        self._services: dict[str, Timeline] = {}
        self._label_cache: dict[str, tuple[str | None, str | None]] = {}

        self.quarantined = 0
        """Lines refused upstream; the caller sets it, the snapshot carries it."""
        self.duplicates = 0
        """Events ignored because their id was already seen."""
        self.too_old = 0
        """Events ignored because their ts is before the horizon."""

    def _window_of(self, length: int) -> Window:
        """The window of that length, added hidden when none is configured."""
        for w in self._windows + self._hidden:
            if w.length == length:
                break
        else:
            w = Window(f"_{length}", length, hidden=True)
            self._hidden.append(w)
        w.enable_detail()
        return w

    # ------------------------------------------------------------------ input

    def add(self, ev: Event) -> None:
        """Take one event, in any order; O(log n) plus its contact's size."""
        eid = ev.id
        if eid in self._ids:
            self.duplicates += 1
            return
        self._ids.add(eid)
        bucket = self._id_buckets.get(ev.ts // _ID_BUCKET)
        if bucket is None:
            self._id_buckets[ev.ts // _ID_BUCKET] = [eid]
        else:
            bucket.append(eid)
        clock = self._clock
        if clock is None or ev.ts > clock:
            if not self._final:
                self._seq += 1
                heapq.heappush(self._pending, (ev.ts, self._seq, ev))
            return
        if ev.ts < self._horizon:
            self.too_old += 1
            return
        self._apply(ev)

    def add_many(self, events: Iterable[Event]) -> None:
        """:meth:`add` each event."""
        add = self.add
        for ev in events:
            add(ev)

    def _apply(self, ev: Event) -> None:
        ts = ev.ts
        agents = self._agents
        if ev.agent is not None and agents.get(ev.agent, _NEVER) < ts:
            agents[ev.agent] = ts
        if ev.to_agent is not None and agents.get(ev.to_agent, _NEVER) < ts:
            agents[ev.to_agent] = ts
        t = ev.type
        if t == "agent.state":
            line = self._agent_lines.get(ev.agent)  # type: ignore[arg-type]
            if line is None:
                line = self._agent_lines[ev.agent] = Timeline()  # type: ignore[index]
            info = (ev.name, ev.team) if ev.name is not None or ev.team is not None else None
            line.insert(ts, ev.state, agent_weights(ev.state), info)  # type: ignore[arg-type]
            self._label_cache.pop(ev.agent, None)  # type: ignore[arg-type]
            return
        if t == "service.status":
            line = self._services.get(ev.service)  # type: ignore[arg-type]
            if line is None:
                line = self._services[ev.service] = Timeline()  # type: ignore[index]
            line.insert(ts, "up" if ev.up else "down", service_weights(bool(ev.up)))
            return
        cid = ev.contact
        if cid is None:  # a complaint about an agent, naming no contact
            sample = (K_COMPLAINT, ts, ev.id, None, ev.agent)
            for w in self._all_windows:
                w.add(sample)
            return
        if t == "contact.queued" and self._queues.get(ev.queue, _NEVER) < ts:  # type: ignore[arg-type]
            self._queues[ev.queue] = ts  # type: ignore[index]
        c = self._contacts.get(cid)
        if c is None:
            c = self._contacts[cid] = _Contact(ts)
            heapq.heappush(self._evict_heap, (ts, cid))
        elif ts < c.heap_min:
            c.heap_min = ts
            heapq.heappush(self._evict_heap, (ts, cid))
        insert(c.records, record(ev))
        self._refresh(cid, c)

    # --------------------------------------------------------------- contacts

    def _targets_of(self, queue: str) -> Targets:
        t = self._contact_targets.get(queue)
        if t is None:
            ct = self.config.targets(queue)
            t = self._contact_targets[queue] = Targets(ct.sl_threshold_us, ct.short_abandon_us)
        return t

    def _refresh(self, cid: str, c: _Contact) -> None:
        """Derive a changed contact again and replace what changed."""
        old = c.derived
        d = derive(c.records, self._targets_of) if c.records else _NOTHING
        c.derived = d
        if old.waiting != d.waiting:
            if old.waiting is not None:
                self._waiting[old.waiting[0]].remove((old.waiting[1], cid))
                self._waiting_all.remove((old.waiting[1], cid))
            if d.waiting is not None:
                self._waiting.setdefault(d.waiting[0], SortedList()).add((d.waiting[1], cid))
                self._waiting_all.add((d.waiting[1], cid))
        affected: set[str] = set()
        if old.customer != d.customer or old.queued_ts != d.queued_ts:
            if old.customer is not None:
                self._cust_queued[old.customer].remove((old.queued_ts, cid))
                self._repeat_affected(old.customer, old.queued_ts, affected)  # type: ignore[arg-type]
            if d.customer is not None:
                self._cust_queued.setdefault(d.customer, SortedList()).add((d.queued_ts, cid))
                self._repeat_affected(d.customer, d.queued_ts, affected)  # type: ignore[arg-type]
        old_r = (old.customer, old.resolve[0]) if old.resolve else None
        new_r = (d.customer, d.resolve[0]) if d.resolve else None
        if old_r != new_r:
            if old_r is not None and old_r[0] is not None:
                self._cust_resolved[old_r[0]].remove((old_r[1], cid))
            if new_r is not None and new_r[0] is not None:
                self._cust_resolved.setdefault(new_r[0], SortedList()).add((new_r[1], cid))
        self._emit(cid, c)
        affected.discard(cid)
        for other in affected:
            self._emit(other, self._contacts[other])

    def _repeat_affected(self, customer: str, queued_ts: int, out: set[str]) -> None:
        """Contacts whose FCR may change when ``customer`` gets or loses a contact at ``queued_ts``."""
        resolved = self._cust_resolved.get(customer)
        if resolved:
            lo = queued_ts - self._fcr_us
            for _, other in resolved.irange((lo,), (queued_ts,), inclusive=(True, False)):
                out.add(other)

    def _is_repeat(self, customer: str | None, r_ts: int, cid: str) -> bool:
        """Whether the customer has another contact queued in (r_ts, r_ts + fcr_days]."""
        if customer is None:
            return False
        queued = self._cust_queued.get(customer)
        if not queued:
            return False
        hi = r_ts + self._fcr_us
        return any(
            other != cid
            for _, other in queued.irange((r_ts + 1,), (hi + 1,), inclusive=(True, False))
        )

    def _emit(self, cid: str, c: _Contact) -> None:
        d = c.derived
        new = d.samples
        if d.resolve is not None:
            r_ts, agent, value, clean = d.resolve
            fcr = clean and not self._is_repeat(d.customer, r_ts, cid)
            new = [*new, (K_RESOLVE, r_ts, "", d.queue, agent, value, fcr)]
        old = c.samples
        if old == new:
            return
        windows = self._all_windows
        if old:
            new_set = set(new)
            old_set = set(old)
            for s in old:
                if s not in new_set:
                    for w in windows:
                        w.remove(s)
            for s in new:
                if s not in old_set:
                    for w in windows:
                        w.add(s)
        else:
            for s in new:
                for w in windows:
                    w.add(s)
        c.samples = new

    # ------------------------------------------------------------- the clock

    def horizon_us(self, now_us: int) -> int:
        """The earliest ts the engine needs at ``now_us``: what a restart loads."""
        los = [self._lo(w, now_us) for w in self._all_windows]
        return min(los) - self._lookback

    def _lo(self, w: Window, now_us: int) -> int:
        if w.length is None:
            return local_midnight_us(now_us, self._zone)
        return now_us - w.length + 1

    @property
    def clock_us(self) -> int | None:
        """The instant the engine has been advanced to (None before the first)."""
        return self._clock

    def advance(self, now_us: int, *, final: bool = False) -> None:
        """Move the clock to ``now_us``: windows slide, old state goes, held events count.

        The clock never moves back: an earlier instant leaves it where it is.
        With ``final`` the clock will not move again (a report): later events
        with a ts after it are only remembered for duplicate detection.
        """
        if self._final and now_us > (self._clock or 0):
            raise ValueError("the engine's clock was declared final")
        self._final = self._final or final
        if self._clock is not None and now_us <= self._clock:
            return
        self._clock = now_us
        if now_us >= self._next_midnight:
            self._midnight = local_midnight_us(now_us, self._zone)
            self._next_midnight = local_midnight_us(self._midnight + 25 * _HOUR, self._zone)
            if self._next_midnight <= now_us:  # a zone that skipped a whole day
                self._next_midnight = now_us + 1
        for w in self._all_windows:
            if w.length is None:
                if w.lo != self._midnight:
                    w.reset(self._midnight)
            else:
                w.slide(now_us - w.length + 1)
        horizon = min(w.lo for w in self._all_windows) - self._lookback
        if horizon > self._horizon:
            self._horizon = horizon
            self._evict(horizon)
        pending = self._pending
        while pending and pending[0][0] <= now_us:
            ev = heapq.heappop(pending)[2]
            if ev.ts < horizon:
                self.too_old += 1
            else:
                self._apply(ev)

    def _evict(self, horizon: int) -> None:
        """Forget every event with ts < horizon, and what only they implied."""
        heap = self._evict_heap
        contacts = self._contacts
        while heap and heap[0][0] < horizon:
            m, cid = heapq.heappop(heap)
            c = contacts.get(cid)
            if c is None or c.heap_min != m:
                continue  # stale entry
            del c.records[: bisect_left(c.records, horizon, key=_ts)]
            self._refresh(cid, c)
            if c.records:
                c.heap_min = c.records[0][0]
                heapq.heappush(heap, (c.heap_min, cid))
            else:
                del contacts[cid]
        for registry in (self._agents, self._queues):
            for name in [n for n, t in registry.items() if t < horizon]:
                del registry[name]
        for lines in (self._agent_lines, self._services):
            for name, line in list(lines.items()):
                if line.trim(horizon):
                    self._label_cache.pop(name, None)
                    if not line.ts:
                        del lines[name]
        for b in [b for b in self._id_buckets if (b + 1) * _ID_BUCKET <= horizon]:
            self._ids.difference_update(self._id_buckets.pop(b))

    # --------------------------------------------------------------- restart

    @classmethod
    def restore(cls, db_path: str | Path, now_us: int, config: Config | None = None) -> Engine:
        """An engine rebuilt from a store at ``now_us``: loads only from the horizon on."""
        from wallboard.store import iter_events, quarantined_count

        engine = cls(config)
        engine.advance(now_us)
        engine.add_many(iter_events(db_path, since_us=engine.horizon_us(now_us)))
        engine.quarantined = quarantined_count(db_path)
        return engine

    # -------------------------------------------------------------- snapshot

    def snapshot(self, now_us: int) -> Snapshot:
        """Every figure at ``now_us`` (the clock if that is earlier): an immutable value."""
        self.advance(now_us)
        now = self._clock
        assert now is not None
        waiting = self._waiting
        queues = list(self._queues)
        agents = list(self._agents)
        lines = self._agent_lines

        # "Now" values shared by every window.
        queue_now: dict[str, tuple[int, float | None]] = {}
        for q in queues:
            wl = waiting.get(q)
            queue_now[q] = (len(wl), (now - wl[0][0]) / US) if wl else (0, None)
        overall_now = (
            len(self._waiting_all),
            (now - self._waiting_all[0][0]) / US if self._waiting_all else None,
        )
        agent_now: dict[str, tuple[Timeline | None, str | None, int | None, int, int]] = {}
        for a in agents:
            line = lines.get(a)
            if line is None:
                agent_now[a] = (None, None, None, 0, 0)
            else:
                st = line.state_since()
                num, den = line.integrals(now)
                agent_now[a] = (line, st[0] if st else None, st[1] if st else None, num, den)

        windows: dict[str, WindowFigures] = {}
        for w in self._windows:
            start = w.lo if w.length is None else now - w.length
            windows[w.name] = self._window_figures(
                w, start, queues, agents, queue_now, overall_now, agent_now
            )
        return Snapshot(
            at_us=now,
            sl_formula=self._formula,
            windows=MappingProxyType(windows),
            quarantined=self.quarantined,
            staffing=MappingProxyType(self._staffing(queues, agent_now, now)),
            queue_sl=MappingProxyType({q: self._sl_settings(q) for q in queues}),
            gaps=MappingProxyType(self._gaps()),
            agent_names=MappingProxyType(self._names(agents)),
            agent_teams=MappingProxyType(self._teams(agents)),
            queue_names=MappingProxyType(
                {q: qc.name for q, qc in self.config.queues.items() if qc.name}
            ),
        )

    def _window_figures(
        self,
        w: Window,
        start: int,
        queues: list[str],
        agents: list[str],
        queue_now: dict[str, tuple[int, float | None]],
        overall_now: tuple[int, float | None],
        agent_now: dict[str, tuple[Timeline | None, str | None, int | None, int, int]],
    ) -> WindowFigures:
        if w.dirty_overall or w.cache_overall is None:
            w.cache_overall = queue_figures(w.overall, self._formula)
            w.dirty_overall = False
        overall = dict(w.cache_overall)
        overall["waiting"], overall["longest_wait"] = overall_now

        cache_q = w.cache_queues
        for q in w.dirty_queues:
            cache_q.pop(q, None)
        w.dirty_queues.clear()
        queue_figs: dict[str, dict[str, Any]] = {}
        for q in queues:
            cached = cache_q.get(q)
            if cached is None:
                cached = cache_q[q] = queue_figures(
                    w.queues.get(q, EMPTY), self._sl_settings(q).sl_formula
                )
            fig = dict(cached)
            fig["waiting"], fig["longest_wait"] = queue_now[q]
            queue_figs[q] = fig

        cache_a = w.cache_agents
        for a in w.dirty_agents:
            cache_a.pop(a, None)
        w.dirty_agents.clear()
        agent_figs: dict[str, dict[str, Any]] = {}
        busy_total = on_total = 0
        for a in agents:
            cached = cache_a.get(a)
            if cached is None:
                cached = cache_a[a] = agent_figures(w.agents.get(a, EMPTY))
            fig = dict(cached)
            line, state, since, num, den = agent_now[a]
            if line is not None:
                num0, den0 = line.integrals(start)
                busy, on = num - num0, den - den0
                busy_total += busy
                on_total += on
                fig["occupancy"] = busy / on if on else None
            else:
                fig["occupancy"] = None
            fig["state"] = state
            fig["state_since"] = since
            agent_figs[a] = fig
        overall["occupancy"] = busy_total / on_total if on_total else None

        services: dict[str, dict[str, Any]] = {}
        now = self._clock
        assert now is not None
        for name, line in self._services.items():
            up, known = line.between(start, now)
            services[name] = {"uptime": up / known if known else None}
        return WindowFigures(
            window=w.name,
            start_us=start,
            overall=overall,
            queues=MappingProxyType(queue_figs),
            agents=MappingProxyType(agent_figs),
            services=MappingProxyType(services),
        )

    def _sl_settings(self, queue: str) -> SlSettings:
        s = self._queue_sl.get(queue)
        if s is None:
            t = self.config.targets(queue)
            s = self._queue_sl[queue] = SlSettings(
                t.sl_threshold_us / US, t.sl_target, t.short_abandon_us / US, t.sl_formula
            )
        return s

    def _staffing(
        self,
        queues: list[str],
        agent_now: dict[str, tuple[Timeline | None, str | None, int | None, int, int]],
        now: int,
    ) -> dict[str, Staffing]:
        w = self._staffing_window
        assert w.queue_agents is not None
        hours = (w.length or _HOUR) / _HOUR
        out: dict[str, Staffing] = {}
        for q in queues:
            st = w.queues.get(q, EMPTY)
            serving = set(w.queue_agents.get(q, ())) | self._team_of_queue.get(q, set())
            logged_in = sum(
                1 for a in serving if a in agent_now and agent_now[a][1] not in (None, "offline")
            )
            rate = st.arrivals / hours
            aht = st.handle_sum / st.handle_n / US if st.handle_n else None
            settings = self._sl_settings(q)
            if aht is None or aht <= 0:
                traffic = 0.0 if rate == 0 else None
                need = erlang.agents_needed(0.0, 1.0, 1.0, 1.0) if rate == 0 else None
            else:
                traffic = rate * aht / 3600.0
                need = erlang.agents_needed(
                    traffic, aht, settings.sl_threshold_s, settings.sl_target
                )
            out[q] = Staffing(
                queue=q,
                arrival_rate_per_h=rate,
                aht_s=aht,
                traffic_erlangs=traffic,
                agents_needed=need.agents if need else None,
                p_wait=need.p_wait if need else None,
                expected_asa_s=need.asa_s if need else None,
                agents_logged_in=logged_in,
                service_level=need.service_level if need else None,
            )
        return out

    def _gaps(self) -> dict[str, int]:
        cats = self._gap_window.categories
        assert cats is not None
        return {c: n for c, n in cats.items() if n >= self._gap_threshold}

    def _labels(self, agent: str) -> tuple[str | None, str | None]:
        label = self._label_cache.get(agent)
        if label is None:
            line = self._agent_lines.get(agent)
            label = self._label_cache[agent] = line.latest_info() if line else (None, None)
        return label

    def _names(self, agents: list[str]) -> dict[str, str]:
        configured = self.config.agents
        out: dict[str, str] = {}
        for a in agents:
            ac = configured.get(a)
            name = ac.name if ac is not None and ac.name else self._labels(a)[0]
            if name:
                out[a] = name
        return out

    def _teams(self, agents: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for a in agents:
            team = self._team_of_agent.get(a) or self._labels(a)[1]
            if team:
                out[a] = team
        return out

    # ------------------------------------------------------------ inspection

    @property
    def pending_count(self) -> int:
        """Events held until the clock reaches their ts."""
        return len(self._pending)

    @property
    def contact_count(self) -> int:
        """Contacts held (today's, and the look-back's)."""
        return len(self._contacts)


__all__ = ["TODAY", "Engine"]
