"""Erlang C: agents needed to meet a service level, waiting probability, expected ASA.

Pure functions. The Erlang B recursion ``B(n) = A*B(n-1) / (n + A*B(n-1))``
is iterated instead of evaluating factorials and powers, so it stays exact
enough and never overflows at thousands of agents; Erlang C follows from B.
Checked against the worked examples in shared/data/erlang_c.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability with ``agents`` servers offered ``traffic`` Erlangs."""
    if agents < 0 or traffic < 0:
        raise ValueError("agents and traffic must not be negative")
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def _c_from_b(agents: int, traffic: float, b: float) -> float:
    if agents <= traffic:
        return 1.0
    return agents * b / (agents - traffic * (1.0 - b))


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a contact waits (1.0 when the agents cannot keep up)."""
    return _c_from_b(agents, traffic, erlang_b(agents, traffic))


def service_level(agents: int, traffic: float, aht_s: float, threshold_s: float) -> float:
    """Share answered within ``threshold_s``: ``1 - C * exp(-(N - A) * T / AHT)``."""
    if agents <= traffic:
        return 0.0
    c = erlang_c(agents, traffic)
    return 1.0 - c * math.exp(-(agents - traffic) * threshold_s / aht_s)


def asa(agents: int, traffic: float, aht_s: float) -> float:
    """Expected average speed of answer in seconds (``inf`` when N <= A)."""
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * aht_s / (agents - traffic)


@dataclass(frozen=True, slots=True)
class Staffing:
    """The smallest staffing meeting a target, and what it gives."""

    agents: int
    p_wait: float
    service_level: float
    asa_s: float
    occupancy: float


def agents_needed(
    traffic: float,
    aht_s: float,
    threshold_s: float,
    target: float,
    *,
    max_occupancy: float | None = None,
    max_agents: int = 100_000,
) -> Staffing | None:
    """The fewest agents whose SL reaches ``target`` (and occupancy <= ``max_occupancy``).

    One pass of the B recursion from 1 agent up, so O(answer). None when even
    ``max_agents`` do not suffice. No traffic needs no agents.
    """
    if traffic < 0 or aht_s <= 0:
        raise ValueError("traffic must not be negative and AHT must be positive")
    if traffic == 0:
        return Staffing(0, 0.0, 1.0, 0.0, 0.0)
    b = 1.0
    for n in range(1, max_agents + 1):
        b = traffic * b / (n + traffic * b)
        if n <= traffic:
            continue
        c = _c_from_b(n, traffic, b)
        sl = 1.0 - c * math.exp(-(n - traffic) * threshold_s / aht_s)
        occupancy = traffic / n
        if sl >= target and (max_occupancy is None or occupancy <= max_occupancy):
            return Staffing(n, c, sl, c * aht_s / (n - traffic), occupancy)
    return None


def scheduled(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that ``agents`` are productive after ``shrinkage``."""
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must be in [0, 1)")
    return math.ceil(agents / (1.0 - shrinkage) - 1e-9)
