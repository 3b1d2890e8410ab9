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

import gc
import heapq
from array import array
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from sys import intern
from types import MappingProxyType
from typing import Any, Final

from sortedcontainers import SortedList

from wallboard import erlang
from wallboard.config import TODAY, Config
from wallboard.engine.contact import (
    K_COMPLAINT,
    K_RESOLVE,
    Derived,
    Keys,
    Rest,
    Sample,
    Targets,
    copy_derived,
    derive,
    derive_append,
    drop_before,
    first_ts,
    insert,
    last_ts,
    record,
)
from wallboard.engine.figures import agent_figures, queue_figures
from wallboard.engine.snapshot import (
    AgentsView,
    SlSettings,
    Snapshot,
    Staffing,
    WindowFigures,
)
from wallboard.engine.timeline import Timeline, agent_weights, service_weights
from wallboard.engine.windows import (
    ARRIVALS,
    EMPTY,
    HANDLE_N,
    HANDLE_SUM,
    Window,
    Windows,
)
from wallboard.events import Event
from wallboard.timeutil import US, local_midnight_us

_AGENT_STATES: Final = {
    state: (intern(state), agent_weights(state))
    for state in ("available", "busy", "wrap_up", "away", "offline")
}
_HOUR = 3600 * US
_ID_BUCKET = _HOUR  # event ids are forgotten an hour-bucket at a time
_NEVER = -(2**62)
_SETTLE_GC_CONTACTS = 5_000  # below that, the collector's passes are short anyway


_Entry = tuple[int, str]
_Entries = _Entry | list[_Entry]
"""A customer index's value: one ``(ts, contact)``, or a sorted list of two or more
(most customers have one contact: no list for them)."""


def _index_add(index: dict[str, _Entries], key: str, item: _Entry) -> None:
    cur = index.get(key)
    if cur is None:
        index[key] = item
    elif type(cur) is tuple:
        index[key] = sorted([cur, item])
    else:
        insort(cur, item)  # type: ignore[arg-type]


def _index_remove(index: dict[str, _Entries], key: str, item: _Entry) -> None:
    cur = index[key]
    if type(cur) is tuple:
        del index[key]
    else:
        cur.remove(item)  # type: ignore[union-attr]
        if len(cur) == 1:
            index[key] = cur[0]  # type: ignore[index]


def _index_get(index: dict[str, _Entries], key: str) -> list[_Entry] | tuple[_Entry, ...]:
    cur = index.get(key)
    if cur is None:
        return ()
    return (cur,) if type(cur) is tuple else cur  # type: ignore[return-value]


def _bulk_add(index: dict[str, _Entries], key: str, item: _Entry, touched: set[str]) -> None:
    """:func:`_index_add` without sorting: the keys in ``touched`` are sorted after."""
    cur = index.get(key)
    if cur is None:
        index[key] = item
    elif type(cur) is tuple:
        index[key] = [cur, item]
        touched.add(key)
    else:
        cur.append(item)  # type: ignore[union-attr]
        touched.add(key)


def _settle_gc() -> None:
    """Collect what is not frozen yet, then freeze what survives (once an hour of clock).

    The engine's state is millions of long-lived objects with no reference cycles.
    Left to itself, the cyclic collector makes a full pass over all of them each
    time the heap grows by a quarter: a pause of up to a second in the middle of
    a snapshot. Frozen objects are skipped by every pass but are still freed by
    reference counting when dropped (all the engine's are), so the collector's
    passes cover at most an hour's new objects. The collection before the freeze
    reclaims the cyclic garbage that exists at that moment; what the rest of the
    program builds in cycles, freezes, then drops would stay until
    ``gc.unfreeze()``.
    """
    gc.collect()
    gc.freeze()


class _Contact(Derived):
    """A contact's records and what they derive to.

    The samples it counts are not kept: they are what its records derive to
    (with the FCR flag its resolution was counted with, ``fcr``), so
    they are derived again when they must be retracted.
    """

    __slots__ = ("cid", "keys", "rest")

    def __init__(self, cid: str) -> None:
        self.cid = cid
        """Its id: the one str the engine's structures refer to it by (each event
        brings its own copy)."""
        self.keys: Keys = array("q")
        self.rest: Rest = []
        super().__init__()


_NOTHING = Derived()


_PACKED = ("cid", *Derived.__slots__)
_CHUNK = 8_192


class _Chunk(list):  # type: ignore[type-arg]
    """Contacts as a checkpoint holds them: in columns, a chunk at a time.

    Pickled one by one, each contact would leave its slots' dict and its
    arrays' bytes in the unpickler's memo until the end (for a day, some
    150 MB on top of the state). A chunk is rebuilt as soon as it is read, and
    empties the columns it was read from (the memo keeps them, empty).
    """

    __slots__ = ()

    def __new__(cls, *packed: Any) -> _Chunk:
        chunk = super().__new__(cls)
        if packed:
            chunk += _unpack_contacts(*packed)
        return chunk

    def __init__(self, *_: Any) -> None:
        pass  # list.__init__ would empty what __new__ filled

    def __reduce__(self) -> tuple[Any, ...]:
        cs: list[_Contact] = list(self)
        lengths = bytearray(array("q", [len(c.keys) for c in cs]).tobytes())
        keys = bytearray(b"".join(c.keys.tobytes() for c in cs))
        rest = [x for c in cs for x in c.rest]
        return _Chunk, (lengths, keys, rest, [[getattr(c, f) for c in cs] for f in _PACKED])


def _pack_contacts(contacts: dict[str, _Contact]) -> list[_Chunk]:
    cs = list(contacts.values())
    chunks = []
    for at in range(0, len(cs), _CHUNK):
        chunk = _Chunk()
        chunk += cs[at : at + _CHUNK]
        chunks.append(chunk)
    return chunks


def _unpack_contacts(
    lengths_raw: bytearray, keys_raw: bytearray, rest: list[Any], columns: list[list[Any]]
) -> list[_Contact]:
    lengths = array("q")
    lengths.frombytes(lengths_raw)
    keys = array("q")
    keys.frombytes(keys_raw)
    cs = [_Contact.__new__(_Contact) for _ in lengths]
    for name, column in zip(_PACKED, columns, strict=True):
        put = getattr(_Contact, name).__set__  # the slot's descriptor
        for c, value in zip(cs, column, strict=True):
            put(c, value)
    at = 0
    for c, n in zip(cs, lengths, strict=True):
        c.keys = keys[at : at + n]
        c.rest = rest[2 * at : 2 * (at + n)]
        at += n
    for emptied in (lengths_raw, keys_raw, rest, *columns):
        emptied.clear()
    return cs


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
        specs: list[tuple[str, int | None, bool]] = [(n, ln, False) for n, ln in cfg.window_specs()]
        lengths = [ln for _, ln, _ in specs]
        for length in (_HOUR, cfg.gap_window_us()):  # staffing; product gaps
            if length not in lengths:
                specs.append((f"_{length}", length, True))
                lengths.append(length)
        self._win = Windows(specs)
        self._windows = [w for w in self._win.list if not w.hidden]
        self._staffing_window = self._win.list[lengths.index(_HOUR)]
        self._gap_window = self._win.list[lengths.index(cfg.gap_window_us())]
        self._win.enable_detail(self._staffing_window)
        self._win.enable_detail(self._gap_window)
        # Figures already built from unchanged sums, per window index.
        self._cache_overall: list[dict[str, Any] | None] = [None] * self._win.n
        self._cache_queues: list[dict[str, dict[str, Any]]] = [{} for _ in self._win.list]
        self._cache_agents: list[dict[str, dict[str, Any]]] = [{} for _ in self._win.list]
        self._team_of_queue = cfg.team_queues()
        self._team_of_agent = {a: t.name or tid for tid, t in cfg.teams.items() for a in t.agents}
        self._queues_of_agent: dict[str, set[str]] = {}
        for q, members in self._team_of_queue.items():
            for a in members:
                self._queues_of_agent.setdefault(a, set()).add(q)
        self._agent_queues_key = -1
        self._agent_queues_built: Any = MappingProxyType({})
        self._contact_targets: dict[str, Targets] = {}
        self._queue_sl: dict[str, SlSettings] = {}

        self._clock: int | None = None
        self._final = False
        self._midnight = _NEVER
        self._next_midnight = _NEVER
        self._horizon = _NEVER
        self._pending: list[tuple[int, int, Event]] = []
        self._seq = 0
        self._gc_hour = _NEVER
        # Event ids as UTF-8 bytes: 16 bytes less a str each, for a million a day.
        self._ids: set[bytes] = set()
        self._id_buckets: dict[int, list[bytes]] = {}

        self._contacts: dict[str, _Contact] = {}
        self._stale: dict[str, tuple[_Contact, list[Sample]]] | None = None
        """During :meth:`add_many`: contacts to derive again at the end of the batch,
        with the samples they counted before it."""
        self._bulk = False
        """During :meth:`add_many` with no contact held: every contact is derived at the end."""
        self._evict_hours: dict[int, list[str]] = {}
        """Contacts by the hour of their earliest record (an entry whose contact has
        since gained an earlier record is stale, and skipped)."""
        self._waiting: dict[str, SortedList] = {}  # queue -> (since, contact)
        # customer -> sorted [(queued ts, contact)] and [(resolution ts, contact)]
        self._cust_queued: dict[str, _Entries] = {}
        self._cust_resolved: dict[str, _Entries] = {}
        self._agents: dict[str, int] = {}  # agent -> latest ts of an event naming it
        self._queues: dict[str, int] = {}  # queue -> latest ts of a contact.queued naming it
        self._agent_lines: dict[str, Timeline] = {}
        self._services: dict[str, Timeline] = {}
        self._label_cache: dict[str, tuple[str | None, str | None]] = {}
        self._labels_key: tuple[int, int] | None = None  # (label changes, agents) when built
        self._labels_changed = 0
        self._labels_built: tuple[Any, Any] = ({}, {})
        self._infos: dict[tuple[str | None, str | None], tuple[str | None, str | None]] = {}
        self._empty_agent = agent_figures(EMPTY)
        self._midnight_integrals: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}

        self.quarantined = 0
        """Lines refused upstream; the caller sets it, the snapshot carries it."""
        self.duplicates = 0
        """Events ignored because their id was already seen."""
        self.too_old = 0
        """Events ignored because their ts is before the horizon."""

    # ------------------------------------------------------------------ input

    def add(self, ev: Event) -> None:
        """Take one event, in any order; O(log n) plus its contact's size."""
        eid = ev.id.encode("utf-8", "surrogatepass")
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
        """:meth:`add` each event, deriving each contact they touch once at the end.

        The same numbers as adding them one by one (a contact's figures depend on
        its records only), for one derivation per contact per batch instead of
        one per event. The cyclic garbage collector is held off meanwhile: the
        batch makes many small containers and no cycles.
        """
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            self._stale = stale = {}
            # No contact held yet (a restart, a first batch): every contact the batch
            # touches is new, so they are derived first and counted all at once.
            bulk = self._bulk = not self._contacts
            ids = self._ids
            id_buckets = self._id_buckets
            apply = self._apply
            clock = self._clock
            horizon = self._horizon
            for ev in events:  # add(), inlined
                eid = ev.id.encode("utf-8", "surrogatepass")
                if eid in ids:
                    self.duplicates += 1
                    continue
                ids.add(eid)
                ts = ev.ts
                bucket = id_buckets.get(ts // _ID_BUCKET)
                if bucket is None:
                    id_buckets[ts // _ID_BUCKET] = [eid]
                else:
                    bucket.append(eid)
                if clock is None or ts > clock:
                    if not self._final:
                        self._seq += 1
                        heapq.heappush(self._pending, (ts, self._seq, ev))
                elif ts < horizon:
                    self.too_old += 1
                else:
                    apply(ev)
            self._bulk = False
            if bulk:
                self._stale = None
                self._refresh_bulk(stale)
            else:
                # Still marked stale until refreshed: _reflag leaves them alone.
                refresh = self._refresh
                while stale:
                    cid, (c, old) = stale.popitem()
                    refresh(cid, c, old)
        finally:
            self._stale = None
            self._bulk = False
            if gc_was_on:
                gc.enable()

    def _apply(self, ev: Event) -> None:
        ts = ev.ts
        agents = self._agents
        if ev.agent is not None and agents.get(ev.agent, _NEVER) < ts:
            agents[ev.agent] = ts
        if ev.to_agent is not None and agents.get(ev.to_agent, _NEVER) < ts:
            agents[ev.to_agent] = ts
        t = ev.type
        if t == "agent.state":
            agent: str = ev.agent  # type: ignore[assignment]
            line = self._agent_lines.get(agent)
            if line is None:
                line = self._agent_lines[agent] = Timeline()
            info = None
            if ev.name is not None or ev.team is not None:
                key = (ev.name, ev.team)
                info = self._infos.get(key)
                if info is None:
                    info = self._infos[key] = key
            latest = not line.ts or line.ts[-1] <= ts
            state, weights = _AGENT_STATES[ev.state]  # type: ignore[index]
            line.insert(ts, state, weights, info)
            # The label (latest name and team) changes only with a new one, or a late one.
            label = self._label_cache.get(agent)
            if label is None or (info is not None and (label != info or not latest)):
                self._label_cache.pop(agent, None)
                self._labels_changed += 1
            return
        if t == "service.status":
            line = self._services.get(ev.service)  # type: ignore[arg-type]
            if line is None:
                line = self._services[ev.service] = Timeline()  # type: ignore[index]
            line.insert(ts, "up" if ev.up else "down", service_weights(bool(ev.up)))
            return
        cid = ev.contact
        if cid is None:  # a complaint about an agent, naming no contact
            self._win.add((K_COMPLAINT, ts, ev.id, None, ev.agent))
            return
        if t == "contact.queued" and self._queues.get(ev.queue, _NEVER) < ts:  # type: ignore[arg-type]
            self._queues[ev.queue] = ts  # type: ignore[index]
        c = self._contacts.get(cid)
        if c is None:
            c = self._contacts[cid] = _Contact(cid)
            self._file(cid, ts)
        else:
            cid = c.cid
            if ts // _HOUR < first_ts(c.keys) // _HOUR:  # now earlier: filed earlier too
                self._file(cid, ts)
        rec = record(ev)
        keys = c.keys
        stale = self._stale
        if stale is not None and (cid in stale or self._bulk):  # derived at the batch's end
            insert(keys, c.rest, rec)
            if cid not in stale:
                stale[cid] = (c, [])  # a bulk load: nothing counted yet
            return
        last = last_ts(keys) if keys else None
        if last is None or ts >= last:  # appended: a tie goes after (order received)
            first = last is None
            old_waiting, old_resolve = c.waiting, c.resolve
            new = derive_append(c, rec, cid, self._targets_of, first, ts == last)
            if new is not None:  # the common case: nothing before it changes
                insert(keys, c.rest, rec)
                self._appended(cid, c, new, old_waiting, old_resolve, first)
                return
        old = self._counted(cid, c)
        insert(keys, c.rest, rec)
        if stale is not None:
            stale[cid] = (c, old)
        else:
            self._refresh(cid, c, old)

    # --------------------------------------------------------------- contacts

    def _targets_of(self, queue: str) -> Targets:
        t = self._contact_targets.get(queue)
        if t is None:
            ct = self.config.targets(queue)
            t = self._contact_targets[queue] = Targets(ct.sl_threshold_us, ct.short_abandon_us)
        return t

    def _appended(
        self,
        cid: str,
        c: _Contact,
        new: tuple[Sample, ...],
        old_waiting: tuple[str, int] | None,
        old_resolve: tuple[int, str | None, bool] | None,
        first: bool,
    ) -> None:
        """What :func:`derive_append` changed: the new samples, and the indexes."""
        d = c
        add = self._win.add
        for sample in new:
            add(sample)
        if d.waiting != old_waiting:
            self._move_waiting(cid, old_waiting, d.waiting)
        customer = d.customer
        if first and customer is not None:  # a new contact of a customer: others' FCR
            _index_add(self._cust_queued, customer, (d.queued_ts, cid))  # type: ignore[arg-type]
            affected: set[str] = set()
            self._repeat_affected(customer, d.queued_ts, affected)  # type: ignore[arg-type]
            for other in affected:
                self._reflag(other)
        resolve = d.resolve
        if resolve is not None and old_resolve is None:
            if customer is not None:
                _index_add(self._cust_resolved, customer, (resolve[0], cid))
            add(self._resolution_sample(cid, d))

    def _move_waiting(
        self, cid: str, old: tuple[str, int] | None, new: tuple[str, int] | None
    ) -> None:
        if old is not None:
            self._waiting[old[0]].remove((old[1], cid))
        if new is not None:
            wl = self._waiting.get(new[0])
            if wl is None:
                wl = self._waiting[new[0]] = SortedList()
            wl.add((new[1], cid))

    def _counted(self, cid: str, c: _Contact) -> list[Sample]:
        """The samples the contact counts now: what its records derive to, and its
        resolution with the FCR flag it was counted with."""
        if not c.keys:
            return []
        d, out = derive(c.keys, c.rest, self._targets_of, cid)
        if d.resolve is not None:
            out.append(self._resolution_sample(cid, d, c.fcr))
        return out

    def _refresh(self, cid: str, c: _Contact, counted: list[Sample]) -> None:
        """Derive a changed contact again and replace what changed (``counted``: the
        samples it counted before the change)."""
        old_waiting, old_customer, old_qts, old_resolve = (
            c.waiting,
            c.customer,
            c.queued_ts,
            c.resolve,
        )
        fresh, new = derive(c.keys, c.rest, self._targets_of, cid) if c.keys else (_NOTHING, [])
        copy_derived(fresh, c)
        d = c
        if old_waiting != d.waiting:
            self._move_waiting(cid, old_waiting, d.waiting)
        affected: set[str] = set()
        if old_customer != d.customer or old_qts != d.queued_ts:
            if old_customer is not None:
                _index_remove(self._cust_queued, old_customer, (old_qts, cid))  # type: ignore[arg-type]
                self._repeat_affected(old_customer, old_qts, affected)  # type: ignore[arg-type]
            if d.customer is not None:
                _index_add(self._cust_queued, d.customer, (d.queued_ts, cid))  # type: ignore[arg-type]
                self._repeat_affected(d.customer, d.queued_ts, affected)  # type: ignore[arg-type]
        old_r = (old_customer, old_resolve[0]) if old_resolve else None
        new_r = (d.customer, d.resolve[0]) if d.resolve else None
        if old_r != new_r:
            if old_r is not None and old_r[0] is not None:
                _index_remove(self._cust_resolved, old_r[0], (old_r[1], cid))
            if new_r is not None and new_r[0] is not None:
                _index_add(self._cust_resolved, new_r[0], (new_r[1], cid))
        if d.resolve is not None:
            new.append(self._resolution_sample(cid, d))
        self._replace(counted, new)
        affected.discard(cid)
        for other in affected:
            self._reflag(other)

    def _repeat_affected(self, customer: str, queued_ts: int, out: set[str]) -> None:
        """Contacts whose FCR may change when ``customer`` gains or loses ``queued_ts``."""
        resolved = _index_get(self._cust_resolved, customer)
        if resolved:
            k = bisect_left(resolved, (queued_ts - self._fcr_us,))
            while k < len(resolved) and resolved[k][0] < queued_ts:
                out.add(resolved[k][1])
                k += 1

    def _is_repeat(self, customer: str | None, r_ts: int, cid: str) -> bool:
        """Whether the customer has another contact queued in (r_ts, r_ts + fcr_days]."""
        if customer is None:
            return False
        queued = _index_get(self._cust_queued, customer)
        if not queued:
            return False
        hi = r_ts + self._fcr_us
        k = bisect_left(queued, (r_ts + 1,))
        while k < len(queued) and queued[k][0] <= hi:
            if queued[k][1] != cid:
                return True
            k += 1
        return False

    def _refresh_bulk(self, stale: dict[str, tuple[_Contact, list[Sample]]]) -> None:
        """:meth:`_refresh` of contacts never derived, at once: every contact is
        derived and indexed first, then the samples are counted in one pass
        (:meth:`Windows.add_many`), with sorted building instead of insertions."""
        targets_of = self._targets_of
        waiting: dict[str, list[tuple[int, str]]] = {}
        cust_queued = self._cust_queued
        cust_resolved = self._cust_resolved
        touched_q: set[str] = set()
        touched_r: set[str] = set()
        out: list[Sample] = []
        for cid, (c, _) in stale.items():
            if c.keys:
                out += derive(c.keys, c.rest, targets_of, cid, into=c)[1]  # new: as made
            d = c
            if d.waiting is not None:
                q, since = d.waiting
                lst = waiting.get(q)
                if lst is None:
                    waiting[q] = [(since, cid)]
                else:
                    lst.append((since, cid))
            customer = d.customer
            if customer is not None:
                _bulk_add(cust_queued, customer, (d.queued_ts, cid), touched_q)  # type: ignore[arg-type]
                if d.resolve is not None:
                    _bulk_add(cust_resolved, customer, (d.resolve[0], cid), touched_r)
        for index, touched in ((cust_queued, touched_q), (cust_resolved, touched_r)):
            for customer in touched:
                index[customer].sort()  # type: ignore[union-attr]
        for q, items in waiting.items():
            wl = self._waiting.get(q)
            if wl is None:
                self._waiting[q] = SortedList(items)
            else:
                wl.update(items)
        resolution_sample = self._resolution_sample
        for cid, (d, _) in stale.items():  # once every index is built
            if d.resolve is not None:
                out.append(resolution_sample(cid, d))
        self._win.add_many(out)

    def _resolution_sample(self, cid: str, d: Derived, fcr: bool | None = None) -> Sample:
        """A resolved contact's resolution sample. Its FCR flag needs the other contacts
        of its customer: computed now and kept in ``d.fcr``, unless given."""
        assert d.resolve is not None
        r_ts, agent, clean = d.resolve
        value = r_ts - d.queued_ts  # type: ignore[operator]
        if fcr is None:
            fcr = d.fcr = clean and not self._is_repeat(d.customer, r_ts, cid)
        return (K_RESOLVE, r_ts, cid, d.queue, agent, value, fcr)

    def _reflag(self, cid: str) -> None:
        """Another contact of the customer came or went: this one's FCR may flip."""
        if self._stale is not None and cid in self._stale:
            return  # its counted samples are those of before the batch: refreshed later
        d = self._contacts[cid]
        if d.resolve is None:
            return
        before = self._resolution_sample(cid, d, d.fcr)
        after = self._resolution_sample(cid, d)
        if after != before:
            self._win.remove(before)
            self._win.add(after)

    def _replace(self, old: list[Sample], new: list[Sample]) -> None:
        """Count ``new`` instead of ``old`` (a contact's samples, before and after)."""
        if old == new:
            return
        win = self._win
        if old:
            # Multisets: two samples of a contact can be equal.
            diff = Counter(old)
            diff.subtract(new)
            for s, n in diff.items():
                for _ in range(n):
                    win.remove(s)
            for s, n in diff.items():
                for _ in range(-n):
                    win.add(s)
        else:
            for s in new:
                win.add(s)

    # ------------------------------------------------------------- the clock

    def horizon_us(self, now_us: int) -> int:
        """The earliest ts the engine needs at ``now_us``: what a restart loads."""
        los = [self._lo(w, now_us) for w in self._win.list]
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
        if now_us // _HOUR != self._gc_hour:
            self._gc_hour = now_us // _HOUR
            if len(self._contacts) >= _SETTLE_GC_CONTACTS:
                _settle_gc()
        if now_us >= self._next_midnight:
            self._midnight = local_midnight_us(now_us, self._zone)
            self._next_midnight = local_midnight_us(self._midnight + 25 * _HOUR, self._zone)
            if self._next_midnight <= now_us:  # a zone that skipped a whole day
                self._next_midnight = now_us + 1
        self._win.move(now_us, self._midnight)
        horizon = min(w.lo for w in self._win.list) - self._lookback
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

    def _file(self, cid: str, ts: int) -> None:
        """File a contact under the hour of its earliest record, ``ts``."""
        filed = self._evict_hours.get(ts // _HOUR)
        if filed is None:
            self._evict_hours[ts // _HOUR] = [cid]
        else:
            filed.append(cid)

    def _evict(self, horizon: int) -> None:
        """Forget every event with ts < horizon, and what only they implied."""
        contacts = self._contacts
        hours = self._evict_hours
        for hour in sorted(h for h in hours if h <= horizon // _HOUR):
            seen: set[str] = set()
            for cid in hours.pop(hour):
                c = contacts.get(cid)
                if c is None or cid in seen or first_ts(c.keys) // _HOUR != hour:
                    continue  # gone, or filed under another hour now
                seen.add(cid)
                if first_ts(c.keys) >= horizon:  # the hour the horizon is in
                    self._file(cid, first_ts(c.keys))
                    continue
                counted = self._counted(cid, c)
                drop_before(c.keys, c.rest, horizon)
                self._refresh(cid, c, counted)
                if c.keys:
                    self._file(cid, first_ts(c.keys))
                else:
                    del contacts[cid]
        for registry in (self._agents, self._queues):
            for name in [n for n, t in registry.items() if t < horizon]:
                del registry[name]
                self._labels_changed += 1
        for lines in (self._agent_lines, self._services):
            for name, line in list(lines.items()):
                if line.trim(horizon):
                    self._label_cache.pop(name, None)
                    self._labels_changed += 1
                    if not line.ts:
                        del lines[name]
        for b in [b for b in self._id_buckets if (b + 1) * _ID_BUCKET <= horizon]:
            self._ids.difference_update(self._id_buckets.pop(b))

    # --------------------------------------------------------------- restart

    @classmethod
    def restore(cls, db_path: str | Path, now_us: int, config: Config | None = None) -> Engine:
        """An engine rebuilt from a store at ``now_us``.

        From the newest usable checkpoint (``wallboard/engine/checkpoint.py``: its
        clock not after ``now_us``, same config and engine code) plus every event
        stored after it, whatever its ts (late ones too; one the checkpoint already
        holds is ignored by id). Without one, from the events since the horizon.
        Both reach the same numbers; the first skips replaying the day.
        """
        from wallboard.engine.checkpoint import load_state
        from wallboard.store import iter_events, quarantined_count

        config = config if config is not None else Config()
        loaded = load_state(db_path, now_us, config)
        if loaded is not None:
            engine, last_seq = loaded
            # The clock first, as a rebuild does: the tail's contacts are then
            # derived once each (add_many), not one held event at a time.
            engine.advance(now_us)
            engine.load(iter_events(db_path, after_seq=last_seq))
        else:
            engine = cls(config)
            engine.advance(now_us)
            engine.load(iter_events(db_path, since_us=engine.horizon_us(now_us)))
        engine.quarantined = quarantined_count(db_path)
        return engine

    # Left out of a checkpoint, and made again by __init__ from the config alone:
    # caches (of figures, labels, per-queue settings; some are MappingProxyType,
    # which cannot be pickled) and the zone. Every other attribute is state.
    _NOT_SAVED = frozenset(
        {
            "_cache_overall",
            "_cache_queues",
            "_cache_agents",
            "_agent_queues_key",
            "_agent_queues_built",
            "_contact_targets",
            "_queue_sl",
            "_label_cache",
            "_labels_key",
            "_labels_built",
            "_empty_agent",
            "_midnight_integrals",
            "_stale",
            "_zone",
        }
    )

    def __getstate__(self) -> dict[str, Any]:
        """What a checkpoint pickles: every attribute but the caches; the contacts in
        columns (see :func:`_pack_contacts`)."""
        state = {k: v for k, v in self.__dict__.items() if k not in self._NOT_SAVED}
        state["_contacts"] = _pack_contacts(self._contacts)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__init__(self, state["config"])  # empty caches, the zone
        self.__dict__.update(state)
        chunks = state["_contacts"]
        self._contacts = {c.cid: c for chunk in chunks for c in chunk}
        for chunk in chunks:
            chunk.clear()  # the unpickler's memo holds them until it ends

    def load(self, events: Iterable[Event]) -> None:
        """:meth:`add_many` for a restart: the state it builds (millions of long-lived
        objects) is then left out of the cyclic collector's passes (``gc.freeze``;
        a full pass over it would cost about a second, and it holds no cycles)."""
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            self.add_many(events)
        finally:
            gc.freeze()  # before the collector runs again, so no full pass in between
            if gc_was_on:
                gc.enable()

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
        heads = [wl[0][0] for wl in waiting.values() if wl]
        overall_now = (
            sum(len(wl) for wl in waiting.values()),
            (now - min(heads)) / US if heads else None,
        )
        agent_states: dict[str, tuple[str | None, int | None]] = {}
        lines_now: dict[str, tuple[Timeline, int, int]] = {}
        for a in agents:
            line = lines.get(a)
            if line is None:
                agent_states[a] = (None, None)
            else:
                agent_states[a] = line.state_since() or (None, None)
                lines_now[a] = (line, *line.integrals(now))

        win = self._win
        for i in range(win.n):
            cq, ca = self._cache_queues[i], self._cache_agents[i]
            for q in win.dirty_queues:
                cq.pop(q, None)
            for a in win.dirty_agents:
                ca.pop(a, None)
            if win.dirty_overall:
                self._cache_overall[i] = None
        win.dirty_queues.clear()
        win.dirty_agents.clear()
        win.dirty_overall = False
        windows: dict[str, WindowFigures] = {}
        for w in self._windows:
            start = w.lo if w.length is None else now - w.length
            windows[w.name] = self._window_figures(
                w, start, queues, queue_now, overall_now, agent_states, lines_now
            )
        return Snapshot(
            at_us=now,
            sl_formula=self._formula,
            windows=MappingProxyType(windows),
            quarantined=self.quarantined,
            staffing=MappingProxyType(self._staffing(queues, agent_states)),
            queue_sl=MappingProxyType({q: self._sl_settings(q) for q in queues}),
            gaps=MappingProxyType(self._gaps()),
            agent_names=self._agent_labels(agents)[0],
            agent_teams=self._agent_labels(agents)[1],
            queue_names=MappingProxyType(
                {q: qc.name for q, qc in self.config.queues.items() if qc.name}
            ),
            services_now=MappingProxyType(
                {
                    name: MappingProxyType({"status": status, "status_since": since})
                    for name, (status, since) in self.services_now().items()
                }
            ),
            agent_queues=self._agent_queues(),
        )

    def services_now(self) -> dict[str, tuple[str, int]]:
        """Service -> (latest status "up"/"down", since when), at the clock."""
        out = {}
        for name, line in self._services.items():
            st = line.state_since()
            if st is not None:
                out[name] = st
        return out

    def _agent_queues(self) -> Any:
        """Agent -> queues served (teams, and first responses within the hour); cached."""
        key = self._win.qa_version
        if key != self._agent_queues_key:
            served = {a: set(qs) for a, qs in self._queues_of_agent.items()}
            queue_agents = self._win.queue_agents[self._staffing_window.index]
            assert queue_agents is not None
            for q, per in queue_agents.items():
                for a in per:
                    s = served.get(a)
                    if s is None:
                        served[a] = {q}
                    else:
                        s.add(q)
            self._agent_queues_key = key
            self._agent_queues_built = MappingProxyType(
                {a: frozenset(qs) for a, qs in served.items()}
            )
        return self._agent_queues_built

    def _window_figures(
        self,
        w: Window,
        start: int,
        queues: list[str],
        queue_now: dict[str, tuple[int, float | None]],
        overall_now: tuple[int, float | None],
        agent_states: dict[str, tuple[str | None, int | None]],
        lines_now: dict[str, tuple[Timeline, int, int]],
    ) -> WindowFigures:
        i = w.index
        win = self._win
        cache_overall = self._cache_overall[i]
        if cache_overall is None:
            st = win.stats(win.overall, i)
            cache_overall = self._cache_overall[i] = queue_figures(st, self._formula)
        overall = dict(cache_overall)
        overall["waiting"], overall["longest_wait"] = overall_now

        cache_q = self._cache_queues[i]
        queue_stats = win.queues
        queue_figs: dict[str, dict[str, Any]] = {}
        for q in queues:
            cached = cache_q.get(q)
            if cached is None:
                st = win.stats(queue_stats.get(q), i)
                cached = cache_q[q] = queue_figures(st, self._sl_settings(q).sl_formula)
            fig = dict(cached)
            fig["waiting"], fig["longest_wait"] = queue_now[q]
            queue_figs[q] = fig

        cache_a = self._cache_agents[i]
        agent_stats = win.agents
        for a in agent_stats:  # agents whose sums changed since the last snapshot
            if a not in cache_a:
                cache_a[a] = agent_figures(win.stats(agent_stats[a], i))
        occupancy: dict[str, float | None] = {}
        busy_total = on_total = 0
        fixed = w.length is None  # today: the integrals at midnight are cached
        start_cache = self._midnight_integrals
        for a, (line, num, den) in lines_now.items():
            if fixed:
                key = (line.version, start)
                hit = start_cache.get(a)
                if hit is None or hit[0] != key:
                    hit = start_cache[a] = (key, line.integrals(start))
                num0, den0 = hit[1]
            else:
                num0, den0 = line.integrals(start)
            busy, on = num - num0, den - den0
            busy_total += busy
            on_total += on
            occupancy[a] = busy / on if on else None
        agents_view = AgentsView(dict(cache_a), self._empty_agent, occupancy, agent_states)
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
            agents=agents_view,
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
        agent_states: dict[str, tuple[str | None, int | None]],
    ) -> dict[str, Staffing]:
        w = self._staffing_window
        queue_agents = self._win.queue_agents[w.index]
        assert queue_agents is not None
        hours = (w.length or _HOUR) / _HOUR
        out: dict[str, Staffing] = {}
        for q in queues:
            st = self._win.stats(self._win.queues.get(q), w.index, values=False)
            serving = set(queue_agents.get(q, ())) | self._team_of_queue.get(q, set())
            logged_in = sum(
                1 for a in serving if agent_states.get(a, (None,))[0] not in (None, "offline")
            )
            rate = st[ARRIVALS] / hours
            aht = st[HANDLE_SUM] / st[HANDLE_N] / US if st[HANDLE_N] else None
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
        cats = self._win.categories[self._gap_window.index]
        assert cats is not None
        return {c: n for c, n in cats.items() if n >= self._gap_threshold}

    def _labels(self, agent: str) -> tuple[str | None, str | None]:
        label = self._label_cache.get(agent)
        if label is None:
            line = self._agent_lines.get(agent)
            label = self._label_cache[agent] = line.latest_info() if line else (None, None)
        return label

    def _agent_labels(self, agents: list[str]) -> tuple[Any, Any]:
        """Names and teams, rebuilt only when an agent or a label changed."""
        key = (self._labels_changed, len(agents))
        if key != self._labels_key:
            self._labels_key = key
            self._labels_built = (
                MappingProxyType(self._names(agents)),
                MappingProxyType(self._teams(agents)),
            )
        return self._labels_built

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
