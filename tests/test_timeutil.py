"""Time helpers: exact microseconds, the timestamp cache, durations, local midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallboard.timeutil import (
    TimeFormatError,
    format_duration,
    local_midnight_us,
    parse_duration,
    parse_rfc3339,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def reference(text: str) -> int:
    return (datetime.fromisoformat(text) - EPOCH) // timedelta(microseconds=1)


@given(
    us=st.integers(min_value=0, max_value=4_000_000_000 * 10**6),
    offset_min=st.sampled_from([0, 60, -330, 345, -720]),
    digits=st.sampled_from([0, 3, 6]),
)
def test_parse_matches_fromisoformat_also_from_the_cache(
    us: int, offset_min: int, digits: int
) -> None:
    dt = (EPOCH + timedelta(microseconds=us)).astimezone(timezone(timedelta(minutes=offset_min)))
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{dt.microsecond:06d}"[:digits]
    text += "Z" if offset_min == 0 else dt.strftime("%z")[:3] + ":" + dt.strftime("%z")[3:]
    expected = reference(text)
    assert parse_rfc3339(text) == expected
    assert parse_rfc3339(text) == expected  # the second time comes from the cache


def test_cache_keeps_checking_the_fraction() -> None:
    base = parse_rfc3339("2026-03-01T09:00:00Z")
    assert parse_rfc3339("2026-03-01T09:00:00.5Z") == base + 500_000
    assert parse_rfc3339("2026-03-01T09:00:00.123456789Z") == base + 123_456
    for bad in ("2026-03-01T09:00:00.1a2Z", "2026-03-01T09:00:00.\u0661\u0662Z"):
        with pytest.raises(TimeFormatError):
            parse_rfc3339(bad)


def test_durations() -> None:
    assert parse_duration("90s") == 90_000_000
    assert parse_duration("15m") == 900_000_000
    assert format_duration(parse_duration("7d")) == "7d"
    for bad in ("", "15", "m15", "-5m", "0s"):
        with pytest.raises(TimeFormatError):
            parse_duration(bad)


def test_local_midnight_across_dst() -> None:
    london = ZoneInfo("Europe/London")
    # 2026-03-29: clocks go forward at 01:00 UTC; midnight is still 00:00 GMT.
    noon = parse_rfc3339("2026-03-29T12:00:00Z")
    assert local_midnight_us(noon, london) == parse_rfc3339("2026-03-29T00:00:00Z")
    # The day after, midnight is 00:00 BST = 23:00 UTC the day before.
    assert local_midnight_us(noon + 86400 * 10**6, london) == parse_rfc3339("2026-03-29T23:00:00Z")
