"""What each SPEC section 3 figure measures: a share, seconds, or a count.

One list for every reader of snapshots (screens, `report`, alerts), so a
figure is never shown as a share in one place and a number in another.
"""

from __future__ import annotations

from typing import Final

SHARE_KEYS: Final = frozenset(
    {
        "service_level",
        "abandonment_rate",
        "resolution_rate",
        "fcr",
        "escalation_rate",
        "csat",
        "sales_conversion",
        "occupancy",
        "uptime",
    }
)
"""Shares between 0 and 1 (shown as percentages)."""

SECONDS_KEYS: Final = frozenset(
    {
        "asa",
        "first_response_p50",
        "first_response_p90",
        "reply_speed_mean",
        "reply_speed_p90",
        "longest_wait",
        "aht",
        "art",
    }
)
"""Durations, in seconds."""

COUNT_KEYS: Final = frozenset(
    {
        "arrivals",
        "answered",
        "abandoned",
        "short_abandoned",
        "answered_within",
        "waiting",
        "handled",
        "escalations",
        "complaints",
        "sales",
    }
)
"""Whole numbers of contacts or events."""
