"""Piecewise-constant states over time: agent states (occupancy) and service status (uptime).

A timeline holds its state changes in ts order (ties in the order received)
with running integrals of two indicator functions, so the time spent in a
set of states between any two instants costs two binary searches. Before
the first change the state is unknown and counts in neither integral.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from itertools import count
from typing import Final

# Agent states: (counts as occupied, counts as logged-in working time).
_AGENT_WEIGHTS: Final[dict[str, tuple[int, int]]] = {
    "available": (0, 1),
    "busy": (1, 1),
    "wrap_up": (1, 1),
    "away": (0, 0),
    "offline": (0, 0),
}

_versions = count()


def _version_after(restored: int) -> int:
    """A new version, above ``restored`` and every version given out so far.

    A checkpoint (wallboard/engine/checkpoint.py) brings back timelines whose
    versions another process's counter gave: this one must move past them, or a
    new version could equal a restored one and hit a stale cache entry.
    """
    global _versions
    version = next(_versions)
    if version <= restored:
        version = restored + 1
        _versions = count(version + 1)
    return version


class Timeline:
    """State changes with running integrals ``num`` and ``den`` (microseconds)."""

    __slots__ = ("_den", "_num", "cum_den", "cum_num", "info", "states", "ts", "version")

    def __init__(self) -> None:
        # Machine-integer arrays (8 bytes a value, no int objects): an agent's day
        # holds a state change every few minutes, for thousands of agents.
        self.ts = array("q")
        self.states: list[str] = []
        self.info: list[tuple[str | None, str | None] | None] = []
        """Per change: ``(name, team)`` an agent event carried, or None."""
        self._num = array("b")  # indicator of each state
        self._den = array("b")
        self.cum_num = array("q")  # integral from ts[0] to ts[i]
        self.cum_den = array("q")
        self.version = next(_versions)
        """Changes on every insert or trim (for caches of integrals); never the same for
        two timelines either (an agent's line can be dropped and made again)."""

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        # The default pickling of a class with __slots__: (None, {slot: value}).
        for name, value in state[1].items():
            setattr(self, name, value)
        restored = state[1].get("version")
        self.version = _version_after(restored if isinstance(restored, int) else -1)

    def insert(
        self,
        ts: int,
        state: str,
        weights: tuple[int, int],
        info: tuple[str | None, str | None] | None = None,
    ) -> None:
        """Add a change; a late one recomputes the integrals after it."""
        times = self.ts
        self.version = next(_versions)
        if not times or times[-1] <= ts:  # the usual case: a change after the others
            if times:
                dt = ts - times[-1]
                self.cum_num.append(self.cum_num[-1] + dt * self._num[-1])
                self.cum_den.append(self.cum_den[-1] + dt * self._den[-1])
            else:
                self.cum_num.append(0)
                self.cum_den.append(0)
            times.append(ts)
            self.states.append(state)
            self.info.append(info)
            self._num.append(weights[0])
            self._den.append(weights[1])
            return
        i = bisect_right(times, ts)
        times.insert(i, ts)
        self.states.insert(i, state)
        self.info.insert(i, info)
        self._num.insert(i, weights[0])
        self._den.insert(i, weights[1])
        self.cum_num.insert(i, 0)
        self.cum_den.insert(i, 0)
        self._recompute(i)

    def _recompute(self, start: int) -> None:
        times, num, den, cn, cd = self.ts, self._num, self._den, self.cum_num, self.cum_den
        for i in range(max(start, 0), len(times)):
            if i == 0:
                cn[0] = cd[0] = 0
            else:
                dt = times[i] - times[i - 1]
                cn[i] = cn[i - 1] + dt * num[i - 1]
                cd[i] = cd[i - 1] + dt * den[i - 1]

    def trim(self, before: int) -> bool:
        """Forget changes with ts < ``before``; True when something was dropped."""
        k = bisect_right(self.ts, before - 1)
        if not k:
            return False
        for lst in (self.ts, self.states, self.info, self._num, self._den):
            del lst[:k]
        del self.cum_num[:k]
        del self.cum_den[:k]
        self._recompute(0)
        self.version = next(_versions)
        return True

    def integrals(self, t: int) -> tuple[int, int]:
        """``(num, den)`` integrated from the first change to ``t``."""
        times = self.ts
        i = bisect_right(times, t) - 1
        if i < 0:
            return 0, 0
        dt = t - times[i]
        return self.cum_num[i] + dt * self._num[i], self.cum_den[i] + dt * self._den[i]

    def between(self, a: int, b: int) -> tuple[int, int]:
        """``(num, den)`` integrated over ``[a, b]``."""
        n1, d1 = self.integrals(b)
        n0, d0 = self.integrals(a)
        return n1 - n0, d1 - d0

    def state_since(self) -> tuple[str, int] | None:
        """The latest state and when it was entered (a repeat does not move it)."""
        if not self.ts:
            return None
        states = self.states
        last = states[-1]
        i = len(states) - 1
        while i > 0 and states[i - 1] == last:
            i -= 1
        return last, self.ts[i]

    def latest_info(self) -> tuple[str | None, str | None]:
        """The latest name and team carried by an agent's events."""
        name = team = None
        for info in reversed(self.info):
            if info is None:
                continue
            if name is None:
                name = info[0]
            if team is None:
                team = info[1]
            if name is not None and team is not None:
                break
        return name, team


def agent_weights(state: str) -> tuple[int, int]:
    """Occupied and working indicators of an agent state."""
    return _AGENT_WEIGHTS[state]


def service_weights(up: bool) -> tuple[int, int]:
    """Up and known indicators of a service status."""
    return (1 if up else 0, 1)
