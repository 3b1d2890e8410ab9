"""Asterisk ``queue_log`` lines -> canonical event lines (SPEC section 1).

This module owns the queue_log format adapter: reading one
``epoch|callid|queuename|agent|event|data1|data2|...`` line, remembering what
earlier lines said about each call and agent, and writing the canonical JSON
events (bytes, no newline) that :func:`wallboard.events.parse_event` accepts.
It knows nothing of metrics, feeds or storage.

Mapping (``*`` = the line's agent field, ``NONE`` meaning "no agent"):

==========================  =====================================================================
queue_log event             canonical events
==========================  =====================================================================
ENTERQUEUE                  ``contact.queued`` (queue; ``customer`` = data2, the caller id, when
                            it is a real number, not empty/unknown/anonymous). A callid that
                            enters a queue again starts a new queue visit (see "Contacts").
CONNECT                     ``contact.answered`` at the line's epoch (agent; ``hold_s`` = data1,
                            Asterisk's own wait); ``agent.state`` busy
COMPLETEAGENT,              ``contact.ended`` (``ended_by`` agent/caller, ``talk_s`` = data2,
COMPLETECALLER              ``hold_s`` = data1) + ``contact.resolved`` (``inferred: true``);
                            ``agent.state`` available (away when paused)
TRANSFER, BLINDTRANSFER,    ``contact.transferred`` (agent; ``to_extension``/``to_context`` for
ATTENDEDTRANSFER            (BLIND)TRANSFER, ``method`` for ATTENDEDTRANSFER) + ``contact.ended``
                            (``ended_by: transfer``, ``talk_s`` from data4, or data5 for the
                            ``LINK`` form); ``agent.state`` available. Not resolved.
ABANDON, EXITWITHTIMEOUT,   ``contact.abandoned`` with ``exit`` = abandon / timeout / empty / key
EXITEMPTY, EXITWITHKEY      and ``wait_s`` (Asterisk's wait, when the field is a number; absent,
                            never 0, when it is empty). EXITWITHKEY also carries ``key``.
ADDMEMBER                   ``agent.state`` available (member of one more queue)
REMOVEMEMBER                ``agent.state`` offline once the agent is in no queue it was seen
                            added to and not logged in by AGENT(CALLBACK)LOGIN
AGENTLOGIN,                 ``agent.state`` available
AGENTCALLBACKLOGIN
AGENTLOGOFF,                ``agent.state`` offline (``reason`` = data3 when given). For an agent
AGENTCALLBACKLOGOFF         this adapter has never seen, data2 (session length) also gives an
                            ``available`` at epoch - data2, so a log that starts mid-session
                            still shows that session.
PAUSE, PAUSEALL             ``agent.state`` away (``reason`` = data1, or ``paused``); busy stays
                            busy until the call ends
UNPAUSE, UNPAUSEALL         ``agent.state`` available (busy while on a call)
WRAPUPSTART (Wazo)          ``agent.state`` wrap_up now, and the state after it (available/away)
                            at epoch + data1 seconds (see "Agent states")
QUEUESTART, CONFIGRELOAD,   nothing (known, carry no contact or agent fact)
RINGNOANSWER, RINGCANCELED,
DID, PENALTY, SYSCOMPAT,
AGENTDUMP
anything else               nothing; counted in :attr:`QueueLogAdapter.unknown_events` by name, so
                            the operator can be told (e.g. the site-specific ``OUT*`` outbound
                            rows, Wazo's ``CLOSED``/``JOINEMPTY``/``FULL``/``DIVERT_*``)
==========================  =====================================================================

Decisions:

- **Resolution.** A call that completes (COMPLETEAGENT/COMPLETECALLER) is, on a voice
  wallboard, a handled call: nothing later in queue_log can say otherwise. So it is also
  ``contact.resolved`` with ``inferred: true``; ``resolution_rate`` is then the share of
  calls completed, ``art`` the time from queueing to hang-up, and ``fcr`` the usual voice
  measure (no transfer, and no other call from the same caller id within ``fcr_days``).
  Pass ``resolve_on_complete=False`` to emit no resolutions (those figures are then null).
  Transferred calls are not resolved: their outcome is decided elsewhere.
- **Exits without an answer.** EXITWITHTIMEOUT, EXITEMPTY and EXITWITHKEY are customers who
  left the queue unanswered, so they count as abandoned; ``exit`` says which, so a screen or
  a later rule can tell "hung up" from "pushed out".
- **Timestamps.** ``ts`` is the line's epoch as RFC 3339 UTC (``Z``), exact to the
  microsecond (digits past the sixth are dropped). The answered ``ts`` is the CONNECT
  line's epoch, never ENTERQUEUE + hold: Asterisk's ``hold_s``/``wait_s`` may differ from
  the epoch difference by a second, and are kept as extra fields for whoever wants them.
- **Contacts.** A queue visit is one contact. The first ENTERQUEUE of a callid gives the
  contact id ``<callid>``; each later ENTERQUEUE of the same callid (a transfer or overflow
  to another queue) starts the contact ``<callid>#<k>`` and sends a ``contact.transferred``
  (``to_queue``) for the previous visit unless that visit already had one. So every queue
  counts the calls that entered it, and its agents the calls they answered there, as
  Asterisk's own reports do; a call that visits two queues arrives twice overall. A call
  line whose queue is not the callid's current visit queue (a log that lost the
  ENTERQUEUE) goes to ``<callid>@<queue>``, a contact without ``contact.queued``, which the
  engine keeps but does not count. Lines of a callid never queued use ``<callid>``.
- **Agents.** The agent field is the agent id, as written (``SIP/1001``, ``Agent/1127``,
  ``Local/1127@callback-agent``): this adapter does not guess that two interfaces are one
  person. A CONNECT with agent ``NONE`` still answers the call (agent ``NONE``) but no
  ``agent.state`` is ever sent for ``NONE``; agent lines with agent ``NONE`` give nothing.
- **Agent states.** The state is computed, not copied: offline (logged off or removed from
  every known queue) > busy (on a call) > wrap_up (WRAPUPSTART) > away (paused) >
  available, and an ``agent.state`` is sent only when it changes. Stock Asterisk logs no
  wrap-up, so after a call the agent is available. A pause in one queue counts as a pause.
  WRAPUPSTART's end is sent at once with its future ``ts``; a later line that changes the
  plan (a second wrap-up, a pause, a call) re-sends the state at that same ``ts``, which wins
  the tie because it is received later (SPEC section 3).
- **Event ids** are ``ql|<epoch>|<callid>|<queue>|<agent>|<event>|<n>|<type>``: the line's five
  header fields as written, ``n`` = how many earlier lines had the same five, and the output
  type (``#k`` when a line sends that type more than once). Re-reading a log from its start
  gives the same ids; ids longer than 128 characters become ``ql#<sha256 prefix>``.
- **Bad lines** (not UTF-8, fewer than five fields, an epoch that is not a non-negative
  number, no event name, a call event without a callid, ENTERQUEUE without a queue) return a
  reason string for the quarantine. Blank lines return ``[]``. ``convert`` never raises.
- **Memory.** Per-callid and id-counter state is pruned (calls idle for a day, counters of
  lines older than an hour) so a tail can run for months.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from wallboard.timeutil import US, format_ts

NONE: Final = "NONE"
"""What queue_log writes for an absent callid, queue or agent."""

_EPOCH = re.compile(r"(\d{1,12})(?:\.(\d*))?")
_MAX_US: Final = 253_402_300_799 * US  # 9999-12-31T23:59:59Z, the last instant RFC 3339 can name
_MAX_ID: Final = 128
_ANONYMOUS: Final = frozenset(
    {"", "unknown", "<unknown>", "anonymous", "private", "restricted", "unavailable", "none"}
)
_IGNORED: Final = frozenset(
    {
        "QUEUESTART",
        "CONFIGRELOAD",
        "RINGNOANSWER",
        "RINGCANCELED",
        "DID",
        "PENALTY",
        "SYSCOMPAT",
        "AGENTDUMP",
    }
)
_EXITS: Final[dict[str, tuple[str, int]]] = {
    # event -> (exit kind, 1-based data field holding the wait)
    "ABANDON": ("abandon", 3),
    "EXITWITHTIMEOUT": ("timeout", 3),
    "EXITEMPTY": ("empty", 3),
    "EXITWITHKEY": ("key", 4),
}
_PRUNE_EVERY: Final = 50_000  # lines
_CALL_IDLE_US: Final = 86_400 * US
_ID_KEY_KEEP_US: Final = 3_600 * US

State = tuple[str, str | None]
"""An agent state with its reason."""


@dataclass(slots=True)
class _Call:
    """What earlier lines said about one callid's current queue visit."""

    contact: str
    queue: str | None
    visits: int
    last_us: int
    agent: str | None = None
    transferred: bool = False


@dataclass(slots=True)
class _Agent:
    """One agent's known situation, and the states already sent for it."""

    offline: bool = False
    off_reason: str | None = None
    logged_in: bool = False
    queues: set[str] = field(default_factory=set)
    paused: bool = False
    pause_reason: str | None = None
    calls: set[str] = field(default_factory=set)
    wrap_until: int | None = None
    shown: State | None = None
    """The state the sent events give at the latest line's time."""
    future: list[tuple[int, State]] = field(default_factory=list)
    """States already sent with a ``ts`` later than the latest line, by ``ts``."""


class _Out:
    """The canonical lines one queue_log line produces, with their ids."""

    __slots__ = ("lines", "prefix", "used")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.lines: list[bytes] = []
        self.used: Counter[str] = Counter()

    def emit(self, type_: str, ts_us: int, **fields: Any) -> None:
        k = self.used[type_]
        self.used[type_] += 1
        event_id = f"{self.prefix}|{type_}" + (f"#{k}" if k else "")
        if len(event_id) > _MAX_ID:
            event_id = "ql#" + hashlib.sha256(event_id.encode()).hexdigest()[:40]
        body: dict[str, Any] = {"id": event_id, "ts": format_ts(ts_us), "type": type_}
        body.update((name, value) for name, value in fields.items() if value is not None)
        self.lines.append(msgspec.json.encode(body))


@dataclass(slots=True)
class _Line:
    """One queue_log line, split and checked."""

    ts: int
    callid: str
    queue: str
    agent: str
    event: str
    data: list[str]
    out: _Out

    def d(self, n: int) -> str:
        """Data field ``n`` (1-based), ``""`` when absent."""
        return self.data[n - 1].strip() if len(self.data) >= n else ""


class QueueLogAdapter:
    """Stateful: remembers each callid's queue and agent across lines."""

    def __init__(self, *, resolve_on_complete: bool = True) -> None:
        """Args:
        resolve_on_complete: send ``contact.resolved`` when a call completes (see the
            module docstring); False sends no resolutions.
        """
        self.resolve_on_complete = resolve_on_complete
        self.unknown_events: Counter[str] = Counter()
        """Lines whose event name this adapter does not map, by event name."""
        self._calls: dict[str, _Call] = {}
        self._orphans: dict[tuple[str, str], _Call] = {}
        self._agents: dict[str, _Agent] = {}
        self._id_counts: dict[tuple[str, ...], tuple[int, int]] = {}
        self._latest_us = 0
        self._lines = 0
        self._handlers: Mapping[str, Callable[[_Line], str | None]] = {
            "ENTERQUEUE": self._enterqueue,
            "CONNECT": self._connect,
            "COMPLETEAGENT": self._complete,
            "COMPLETECALLER": self._complete,
            "TRANSFER": self._transfer,
            "BLINDTRANSFER": self._transfer,
            "ATTENDEDTRANSFER": self._transfer,
            **dict.fromkeys(_EXITS, self._exit),
            "ADDMEMBER": self._agent_line,
            "REMOVEMEMBER": self._agent_line,
            "AGENTLOGIN": self._agent_line,
            "AGENTCALLBACKLOGIN": self._agent_line,
            "AGENTLOGOFF": self._agent_line,
            "AGENTCALLBACKLOGOFF": self._agent_line,
            "PAUSE": self._agent_line,
            "PAUSEALL": self._agent_line,
            "UNPAUSE": self._agent_line,
            "UNPAUSEALL": self._agent_line,
            "WRAPUPSTART": self._agent_line,
        }

    def convert(self, line: bytes) -> list[bytes] | str:
        """Canonical JSON lines for one queue_log line (possibly none), or a reason string
        when the line cannot be read (it then goes to the quarantine)."""
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return "not valid UTF-8"
        text = text.rstrip("\r\n")
        if not text.strip():
            return []
        fields = text.split("|")
        if len(fields) < 5:
            return (
                f"not a queue_log line: {len(fields)} field(s), "
                "expected epoch|callid|queue|agent|event[|data...]"
            )
        epoch, callid, queue, agent, event = (f.strip() for f in fields[:5])
        ts = _epoch_us(epoch)
        if ts is None:
            return f"queue_log epoch is not a number of seconds: {epoch[:40]!r}"
        if not event:
            return "queue_log line without an event name"
        handler = self._handlers.get(event)
        if handler is None:
            if event not in _IGNORED:
                self.unknown_events[event] += 1
            return []
        self._lines += 1
        self._latest_us = max(self._latest_us, ts)
        if self._lines % _PRUNE_EVERY == 0:
            self._prune()
        header = (epoch, callid, queue, agent, event)
        n = self._id_counts.get(header, (0, ts))[0]
        self._id_counts[header] = (n + 1, ts)
        out = _Out("ql|" + "|".join(header) + f"|{n}")
        reason = handler(_Line(ts, callid, queue, agent, event, fields[5:], out))
        return reason if reason is not None else out.lines

    # Calls ---------------------------------------------------------------------------

    def _enterqueue(self, ln: _Line) -> str | None:
        if _absent(ln.callid):
            return "ENTERQUEUE without a callid"
        if _absent(ln.queue):
            return "ENTERQUEUE without a queue"
        prev = self._calls.get(ln.callid)
        if prev is None or prev.visits == 0:
            call = _Call(contact=ln.callid, queue=ln.queue, visits=1, last_us=ln.ts)
        else:
            call = _Call(
                contact=f"{ln.callid}#{prev.visits + 1}",
                queue=ln.queue,
                visits=prev.visits + 1,
                last_us=ln.ts,
            )
            if not prev.transferred:
                ln.out.emit(
                    "contact.transferred",
                    ln.ts,
                    contact=prev.contact,
                    agent=prev.agent,
                    queue=prev.queue,
                    to_queue=ln.queue,
                )
            if prev.agent is not None:
                self._agent_call_over(ln, prev.agent, prev.contact)
        self._calls[ln.callid] = call
        customer = ln.d(2)
        ln.out.emit(
            "contact.queued",
            ln.ts,
            contact=call.contact,
            queue=ln.queue,
            customer=None if customer.lower() in _ANONYMOUS else customer,
        )
        return None

    def _connect(self, ln: _Line) -> str | None:
        call = self._call(ln)
        if call is None:
            return "CONNECT without a callid"
        call.agent = ln.agent or NONE
        ln.out.emit(
            "contact.answered",
            ln.ts,
            contact=call.contact,
            agent=call.agent,
            queue=call.queue,
            hold_s=_number(ln.d(1)),
        )
        if not _absent(ln.agent):
            agent = self._agent(ln.agent)
            agent.offline = False
            agent.calls.add(call.contact)
            self._agent_update(ln, ln.agent, agent)
        return None

    def _complete(self, ln: _Line) -> str | None:
        call = self._call(ln)
        if call is None:
            return f"{ln.event} without a callid"
        agent = call.agent if _absent(ln.agent) else ln.agent
        ln.out.emit(
            "contact.ended",
            ln.ts,
            contact=call.contact,
            agent=agent,
            queue=call.queue,
            ended_by="agent" if ln.event == "COMPLETEAGENT" else "caller",
            hold_s=_number(ln.d(1)),
            talk_s=_number(ln.d(2)),
        )
        if self.resolve_on_complete:
            ln.out.emit("contact.resolved", ln.ts, contact=call.contact, agent=agent, inferred=True)
        if agent is not None:
            self._agent_call_over(ln, agent, call.contact)
        return None

    def _transfer(self, ln: _Line) -> str | None:
        call = self._call(ln)
        if call is None:
            return f"{ln.event} without a callid"
        agent = call.agent if _absent(ln.agent) else ln.agent
        extra: dict[str, Any] = {}
        if ln.event == "ATTENDEDTRANSFER":
            method = ln.d(1)
            extra["method"] = method or None
            hold, talk = (ln.d(4), ln.d(5)) if method == "LINK" else (ln.d(3), ln.d(4))
        else:
            extra["to_extension"] = ln.d(1) or None
            extra["to_context"] = ln.d(2) or None
            hold, talk = ln.d(3), ln.d(4)
        ln.out.emit(
            "contact.transferred",
            ln.ts,
            contact=call.contact,
            agent=agent,
            queue=call.queue,
            **extra,
        )
        ln.out.emit(
            "contact.ended",
            ln.ts,
            contact=call.contact,
            agent=agent,
            queue=call.queue,
            ended_by="transfer",
            hold_s=_number(hold),
            talk_s=_number(talk),
        )
        call.transferred = True
        if agent is not None:
            self._agent_call_over(ln, agent, call.contact)
        return None

    def _exit(self, ln: _Line) -> str | None:
        call = self._call(ln)
        if call is None:
            return f"{ln.event} without a callid"
        kind, wait_field = _EXITS[ln.event]
        ln.out.emit(
            "contact.abandoned",
            ln.ts,
            contact=call.contact,
            queue=call.queue,
            exit=kind,
            wait_s=_number(ln.d(wait_field)),
            key=(ln.d(1) or None) if kind == "key" else None,
        )
        return None

    def _call(self, ln: _Line) -> _Call | None:
        """The call (queue visit) a non-ENTERQUEUE call line belongs to."""
        if _absent(ln.callid):
            return None
        call = self._calls.get(ln.callid)
        if call is None:
            queue = None if _absent(ln.queue) else ln.queue
            call = _Call(contact=ln.callid, queue=queue, visits=0, last_us=ln.ts)
            self._calls[ln.callid] = call
        elif not _absent(ln.queue) and call.queue is not None and ln.queue != call.queue:
            # Its ENTERQUEUE in this queue was not seen: a contact of its own, never queued.
            key = (ln.callid, ln.queue)
            call = self._orphans.get(key)
            if call is None:
                contact = f"{ln.callid}@{ln.queue}"
                call = _Call(contact=contact, queue=ln.queue, visits=0, last_us=ln.ts)
                self._orphans[key] = call
        call.last_us = max(call.last_us, ln.ts)
        return call

    # Agents --------------------------------------------------------------------------

    def _agent(self, name: str) -> _Agent:
        agent = self._agents.get(name)
        if agent is None:
            agent = self._agents[name] = _Agent()
        return agent

    def _agent_call_over(self, ln: _Line, name: str, contact: str) -> None:
        if _absent(name):
            return
        agent = self._agent(name)
        agent.calls.discard(contact)
        self._agent_update(ln, name, agent)

    def _agent_line(self, ln: _Line) -> str | None:
        if _absent(ln.agent):
            return None
        is_new = ln.agent not in self._agents
        agent = self._agent(ln.agent)
        event = ln.event
        if event == "ADDMEMBER":
            agent.offline = False
            if not _absent(ln.queue):
                agent.queues.add(ln.queue)
        elif event == "REMOVEMEMBER":
            agent.queues.discard(ln.queue)
            if not agent.queues and not agent.logged_in:
                agent.offline, agent.off_reason = True, None
        elif event in ("AGENTLOGIN", "AGENTCALLBACKLOGIN"):
            agent.offline, agent.logged_in = False, True
        elif event in ("AGENTLOGOFF", "AGENTCALLBACKLOGOFF"):
            session = _number(ln.d(2))
            if is_new and session is not None and session > 0 and ln.ts - session * US >= 0:
                ln.out.emit(
                    "agent.state", round(ln.ts - session * US), agent=ln.agent, state="available"
                )
            agent.offline, agent.logged_in = True, False
            agent.off_reason = ln.d(3) or None
            agent.queues.clear()
        elif event in ("PAUSE", "PAUSEALL"):
            agent.offline = False
            agent.paused, agent.pause_reason = True, ln.d(1) or "paused"
        elif event in ("UNPAUSE", "UNPAUSEALL"):
            agent.offline = False
            agent.paused, agent.pause_reason = False, None
        elif event == "WRAPUPSTART":
            length = _number(ln.d(1))
            if length is None or length <= 0:
                return None
            agent.offline = False
            end = ln.ts + round(length * US)
            agent.wrap_until = max(end, agent.wrap_until or 0)
        self._agent_update(ln, ln.agent, agent)
        return None

    def _agent_update(self, ln: _Line, name: str, agent: _Agent) -> None:
        """Send the agent's state at this line, and fix states already sent for later."""
        ts = ln.ts
        while agent.future and agent.future[0][0] <= ts:
            agent.shown = agent.future.pop(0)[1]
        if agent.wrap_until is not None and agent.wrap_until <= ts:
            agent.wrap_until = None
        base = _base_state(agent)
        if base[0] in ("busy", "offline"):
            agent.wrap_until = None
        wrap_until = agent.wrap_until

        def planned(t: int) -> State:
            return ("wrap_up", None) if wrap_until is not None and t < wrap_until else base

        now = planned(ts)
        if now != agent.shown:
            ln.out.emit("agent.state", ts, agent=name, state=now[0], reason=now[1])
            agent.shown = now
        for i, (t, sent) in enumerate(agent.future):
            want = planned(t)
            if want != sent:
                ln.out.emit("agent.state", t, agent=name, state=want[0], reason=want[1])
                agent.future[i] = (t, want)
        if wrap_until is not None and all(t != wrap_until for t, _ in agent.future):
            ln.out.emit("agent.state", wrap_until, agent=name, state=base[0], reason=base[1])
            agent.future.append((wrap_until, base))
            agent.future.sort(key=lambda item: item[0])

    # Housekeeping --------------------------------------------------------------------

    def _prune(self) -> None:
        calls_before = self._latest_us - _CALL_IDLE_US
        self._calls = {k: c for k, c in self._calls.items() if c.last_us >= calls_before}
        self._orphans = {k: c for k, c in self._orphans.items() if c.last_us >= calls_before}
        ids_before = self._latest_us - _ID_KEY_KEEP_US
        self._id_counts = {k: v for k, v in self._id_counts.items() if v[1] >= ids_before}


def _base_state(agent: _Agent) -> State:
    """The agent's state leaving wrap-up aside."""
    if agent.offline:
        return ("offline", agent.off_reason)
    if agent.calls:
        return ("busy", None)
    if agent.paused:
        return ("away", agent.pause_reason)
    return ("available", None)


def _absent(value: str) -> bool:
    return value in ("", NONE)


def _epoch_us(text: str) -> int | None:
    """Unix seconds (digits, optional fraction) to integer microseconds, exactly."""
    m = _EPOCH.fullmatch(text)
    if m is None:
        return None
    us = int(m.group(1)) * US + int(((m.group(2) or "") + "000000")[:6])
    return us if us <= _MAX_US else None


def _number(text: str) -> int | float | None:
    """A data field as a number of seconds, or None when it is empty or not a number."""
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None
