"""Time: integer microseconds since the Unix epoch, durations and time zones.

Every timestamp inside wallboard is an ``int`` of microseconds (UTC), so that
waits are compared and subtracted exactly (SPEC section 2).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

US = 1_000_000
"""Microseconds in a second."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h|d|w)\s*$")
_UNIT_US = {
    "us": 1,
    "ms": 1_000,
    "s": US,
    "m": 60 * US,
    "h": 3600 * US,
    "d": 86400 * US,
    "w": 7 * 86400 * US,
}


class TimeFormatError(ValueError):
    """A timestamp or duration that cannot be read."""


def now_us() -> int:
    """The wall clock, in integer microseconds."""
    return time.time_ns() // 1000


_second_us: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS" (UTC) -> microseconds


def parse_rfc3339(text: str) -> int:
    """Read an RFC 3339 timestamp with an offset or ``Z`` into microseconds.

    A feed's timestamps share their second with their neighbours, so the
    common ``...SS[.ffffff]Z`` shape is answered from a small cache of whole
    seconds (twice as fast as ``fromisoformat`` on the ingest path).

    Raises:
        TimeFormatError: the text is not a timestamp, or has no offset.
    """
    if text[-1:] == "Z":
        base = _second_us.get(text[:19])
        if base is not None:
            frac = text[19:-1]
            if not frac:
                return base
            digits = frac[1:]
            if frac[0] == "." and 0 < len(digits) <= 9 and digits.isascii() and digits.isdigit():
                return base + int(digits[:6].ljust(6, "0"))
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimeFormatError(f"not an RFC 3339 timestamp: {text!r}") from exc
    if dt.tzinfo is None:
        raise TimeFormatError(f"timestamp has no UTC offset or 'Z': {text!r}")
    us = (dt - _EPOCH) // timedelta(microseconds=1)
    if text[-1:] == "Z" and len(text) >= 20 and text[10] == "T":
        if len(_second_us) >= 4096:
            _second_us.clear()
        _second_us[text[:19]] = us - dt.microsecond
    return us


def seconds_to_us(value: float | int) -> int:
    """Unix seconds (int or float) to integer microseconds, rounded to the nearest."""
    if isinstance(value, int):
        return value * US
    return round(value * US)


def to_datetime(ts_us: int, tz: ZoneInfo | None = None) -> datetime:
    """Microseconds to an aware datetime (UTC unless a zone is given)."""
    dt = _EPOCH + timedelta(microseconds=ts_us)
    return dt.astimezone(tz) if tz is not None else dt


def format_ts(ts_us: int, tz: ZoneInfo | None = None) -> str:
    """Microseconds to RFC 3339 text (``Z`` for UTC), keeping the microseconds when set."""
    dt = to_datetime(ts_us, tz)
    text = dt.isoformat(timespec="microseconds" if dt.microsecond else "seconds")
    return text.replace("+00:00", "Z") if tz is None else text


def parse_instant(text: str) -> int:
    """Read a command-line instant: RFC 3339 (with offset) or Unix seconds."""
    try:
        return seconds_to_us(float(text)) if _is_number(text) else parse_rfc3339(text)
    except TimeFormatError:
        raise
    except (ValueError, OverflowError) as exc:
        raise TimeFormatError(f"not a timestamp: {text!r}") from exc


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_duration(text: str) -> int:
    """Read ``90s``, ``15m``, ``1h``, ``7d`` (also ``ms``, ``w``) into microseconds.

    Raises:
        TimeFormatError: the text is not a positive duration.
    """
    m = _DURATION.match(text)
    if not m:
        raise TimeFormatError(
            f"not a duration: {text!r} (write it as a number and a unit: 90s, 15m, 1h, 7d)"
        )
    value = round(float(m.group(1)) * _UNIT_US[m.group(2)])
    if value <= 0:
        raise TimeFormatError(f"a duration must be more than zero: {text!r}")
    return value


def format_duration(us: int) -> str:
    """Microseconds to the shortest exact ``90s`` / ``15m`` / ``1h`` / ``7d`` form."""
    for unit in ("d", "h", "m", "s", "ms"):
        if us % _UNIT_US[unit] == 0:
            return f"{us // _UNIT_US[unit]}{unit}"
    return f"{us}us"


def load_zone(name: str | None) -> ZoneInfo:
    """The named IANA zone, or the machine's own zone when no name is given.

    Raises:
        TimeFormatError: the name is not a known IANA zone.
    """
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise TimeFormatError(
                f"unknown time zone {name!r} (use an IANA name such as Europe/London)"
            ) from exc
    return local_zone()


def local_zone() -> ZoneInfo:
    """The machine's zone as a ZoneInfo (UTC when it cannot be named)."""
    import os

    tz_env = os.environ.get("TZ")
    if tz_env:
        try:
            return ZoneInfo(tz_env.lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        link = os.path.realpath("/etc/localtime")
        marker = "/zoneinfo/"
        if marker in link:
            return ZoneInfo(link.split(marker, 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return ZoneInfo("UTC")


def local_midnight_us(ts_us: int, tz: ZoneInfo) -> int:
    """The start of the local day (in ``tz``) that contains ``ts_us``.

    Right across DST: the local date is taken, then its midnight is resolved
    in the zone (a midnight that does not exist resolves forward).
    """
    local = to_datetime(ts_us, tz)
    day: date = local.date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    return (midnight.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
