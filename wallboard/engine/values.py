"""Timed values: a scope's first-response or reply times, in ts order, for percentiles.

Every window ends at the clock, so the values a window holds are a suffix of
the ts order: the ones with ``ts >= window start``. Adding a value is an
append (a late one, an insertion); percentiles sort that suffix when a
snapshot reads it. For big scopes (overall, queues) the sorted suffix is
kept between reads and brought up to date by the few values that entered
or left since, so a 1 Hz board pays for what changed, not for the window.
Values are machine integers (microseconds) in arrays: 16 bytes a value, and
8 more in a cached sorted suffix.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from itertools import chain

_FEW: int = 32
"""Up to this many changes (plus 1/64 of the suffix) a cached sorted suffix is
updated value by value; beyond, it is built again."""


class TimedValues:
    """Values with their ts, in ts order (ties in the order added)."""

    __slots__ = ("_cache", "_unsorted", "ts", "values", "version")

    def __init__(self, cached: bool) -> None:
        self.ts = array("q")
        self.values = array("q")
        self.version = 0
        """Changes when a value is inserted before the end or removed (cached sorted
        suffixes are then built again)."""
        # Per window: (version, start, end, the sorted values in machine integers).
        self._cache: dict[int, tuple[int, int, int, array[int]]] | None = {} if cached else None
        self._unsorted = False

    def add(self, ts: int, v: int) -> None:
        """Add a value; O(1) when it is the latest, else an insertion."""
        times = self.ts
        if not times or times[-1] <= ts:
            times.append(ts)
            self.values.append(v)
            return
        k = bisect_right(times, ts)
        times.insert(k, ts)
        self.values.insert(k, v)
        self.version += 1

    def add_unordered(self, ts: int, v: int) -> None:
        """Add a value without ordering it: :meth:`settle` must follow."""
        times = self.ts
        if times and times[-1] > ts:
            self._unsorted = True
        times.append(ts)
        self.values.append(v)

    def settle(self) -> None:
        """Order what :meth:`add_unordered` added (a stable sort: ties keep their order)."""
        if not self._unsorted:
            return
        order = sorted(range(len(self.ts)), key=self.ts.__getitem__)
        self.ts = array("q", [self.ts[k] for k in order])
        self.values = array("q", [self.values[k] for k in order])
        self._unsorted = False
        self.version += 1

    def remove(self, ts: int, v: int) -> None:
        """Remove one value added with this ts (it must be there)."""
        times, values = self.ts, self.values
        k = bisect_left(times, ts)
        while values[k] != v:
            k += 1
        del times[k]
        del values[k]
        self.version += 1

    def trim(self, before: int) -> None:
        """Forget the values with ts < ``before`` (no window reaches them any more)."""
        k = bisect_left(self.ts, before)
        if k:
            del self.ts[:k]
            del self.values[:k]
            self.version += 1

    def sorted_since(self, lo: int, key: int) -> Sequence[int]:
        """The values with ts >= ``lo``, sorted; ``key`` names the window (for the cache).

        The list returned may be the cached one: read it before the next change.
        """
        times = self.ts
        start = bisect_left(times, lo)
        end = len(times)
        cache = self._cache
        if cache is None:
            return sorted(self.values[start:end])
        hit = cache.get(key)
        if hit is not None and hit[0] == self.version and hit[1] <= start and hit[2] <= end:
            _, s0, e0, out = hit
            if s0 == start and e0 == end:
                return out
            values = self.values
            # Values in [s0, e0) were cached; those in [start, end) are wanted.
            gone = range(s0, min(start, e0))
            came = range(max(e0, start), end)
            if len(gone) + len(came) <= _FEW + len(out) // 64:
                for k in gone:
                    del out[bisect_left(out, values[k])]
                for k in came:
                    insort(out, values[k])
            elif not gone:  # only additions: sorting merges the two runs
                out = array("q", sorted(chain(out, values[came.start : end])))
            else:
                out = array("q", sorted(values[start:end]))
        else:
            out = array("q", sorted(self.values[start:end]))
        cache[key] = (self.version, start, end, out)
        return out
