"""The canonical event (SPEC section 1) and the one function that reads it.

``parse_event`` turns one raw line into either an :class:`Event` or a
:class:`Rejection` with a reason an operator can read. Feeds, the store, the
engine's restart and ``report --events`` all go through it, so every path
accepts and refuses exactly the same lines.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

import msgspec

from wallboard.timeutil import TimeFormatError, parse_rfc3339, seconds_to_us

AgentState = Literal["available", "busy", "wrap_up", "away", "offline"]

# Fields each type must carry, besides id, ts and type (SPEC section 1).
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "contact.queued": ("contact", "queue"),
    "contact.answered": ("contact", "agent"),
    "contact.abandoned": ("contact",),
    "message": ("contact", "from_"),
    "contact.transferred": ("contact",),
    "contact.escalated": ("contact",),
    "contact.ended": ("contact",),
    "contact.resolved": ("contact",),
    "contact.reopened": ("contact",),
    "contact.rated": ("contact",),
    "contact.sale": ("contact", "agent", "amount"),
    "contact.complaint": ("agent",),
    "agent.state": ("agent", "state"),
    "service.status": ("service", "up"),
}
EVENT_TYPES: Final = frozenset(REQUIRED)


class Event(msgspec.Struct, kw_only=True):
    """One decoded event. ``ts`` is integer microseconds since the epoch (UTC).

    Unknown extra fields are not held here; the store keeps the original line.
    """

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    ts: int
    type: str
    contact: str | None = None
    queue: str | None = None
    agent: str | None = None
    channel: str = "voice"
    customer: str | None = None
    category: str | None = None
    tier: int = 1
    from_: Literal["customer", "agent"] | None = msgspec.field(default=None, name="from")
    to_queue: str | None = None
    to_agent: str | None = None
    to_tier: int | None = None
    resolved: bool = True
    csat: Annotated[int, msgspec.Meta(ge=1, le=5)] | None = None
    nps: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None
    amount: float | None = None
    currency: str | None = None
    text: str | None = None
    state: AgentState | None = None
    name: str | None = None
    team: str | None = None
    reason: str | None = None
    service: str | None = None
    up: bool | None = None


class _WireEvent(Event, kw_only=True):
    """The same fields as they arrive: ``ts`` as RFC 3339 text or Unix seconds."""

    ts: str | int | float  # type: ignore[assignment]


class Rejection(msgspec.Struct, frozen=True):
    """Why a line was refused; it goes to the quarantine with its source position."""

    reason: str


_decoder = msgspec.json.Decoder(_WireEvent)
_AT_FIELD = re.compile(r" - at `\$\.([^`\[]+)`")
_MISSING = re.compile(r"Object missing required field `([^`]+)`")
_FIELD_NAMES = {f: f for f in Event.__struct_fields__} | {"from_": "from"}


def parse_event(line: bytes) -> Event | Rejection:
    """Decode and check one line (without its newline)."""
    try:
        ev = _decoder.decode(line)
    except UnicodeDecodeError:
        return Rejection("not valid UTF-8")
    except msgspec.ValidationError as exc:
        return Rejection(_explain(str(exc)))
    except msgspec.DecodeError as exc:
        return Rejection(_not_json(line, str(exc)))
    required = REQUIRED.get(ev.type)
    if required is None:
        return Rejection(f"unknown type {ev.type!r}")
    for field in required:
        if getattr(ev, field) is None:
            return Rejection(f"missing field {_FIELD_NAMES[field]!r} (required by {ev.type})")
    problem = _type_rules(ev)
    if problem:
        return Rejection(problem)
    raw_ts = ev.ts
    try:
        if isinstance(raw_ts, str):
            ev.ts = parse_rfc3339(raw_ts)
        else:
            ev.ts = seconds_to_us(raw_ts)
    except (TimeFormatError, OverflowError, ValueError) as exc:
        return Rejection(f"bad 'ts': {exc}")
    return ev


def decode_stored(body: bytes, ts_us: int) -> Event:
    """An event the store accepted once, with its ts already in microseconds.

    Skips the checks and the timestamp parsing of :func:`parse_event` (the
    row's ``ts_us`` column holds the parsed ts): restart reads a day of
    events through here.
    """
    ev = _decoder.decode(body)
    ev.ts = ts_us
    return ev


def _type_rules(ev: Event) -> str | None:
    """Checks that depend on the type beyond plain presence."""
    if ev.type == "message" and ev.from_ == "agent" and ev.agent is None:
        return "missing field 'agent' (required by message from an agent)"
    if ev.type == "contact.rated" and ev.csat is None and ev.nps is None:
        return "missing field 'csat' or 'nps' (contact.rated needs at least one)"
    return None


def _explain(message: str) -> str:
    m = _MISSING.search(message)
    if m:
        return f"missing field {m.group(1)!r}"
    if message.startswith("Expected `object`"):
        return "not a JSON object"
    at = _AT_FIELD.search(message)
    detail = _AT_FIELD.sub("", message).replace("`", "")
    if at:
        kind = "wrong type" if ", got " in detail else "bad value"
        return f"{kind} for field {at.group(1)!r}: {detail[0].lower()}{detail[1:]}"
    return f"invalid event: {detail}"


def _not_json(line: bytes, message: str) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return "not valid UTF-8"
    return f"not JSON: {message.removeprefix('JSON is malformed: ')}"


def is_blank(line: bytes) -> bool:
    """Blank lines (only white space) are skipped, not quarantined."""
    return not line.strip()
