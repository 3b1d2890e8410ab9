"""The built-in simulator as a feed: the live demo's events, through the real pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from wallboard.feeds.lines import Chunk, Sink
from wallboard.simulate import Simulator
from wallboard.timeutil import now_us


class SimulatorFeed:
    """Delivers what the simulator has produced up to the clock, a few times a second."""

    key = None  # regenerated on demand: nothing to resume
    description = "simulator"

    def __init__(
        self,
        simulator: Simulator,
        *,
        clock: Callable[[], int] = now_us,
        interval_s: float = 0.25,
    ) -> None:
        self.simulator = simulator
        self.clock = clock
        self.interval_s = interval_s
        self._position = 0

    async def start(self) -> None:
        """Nothing to check."""

    async def run(self, sink: Sink) -> None:
        """Play the simulation against the clock until cancelled or finished."""
        while not self.simulator.done:
            lines = self.simulator.until(self.clock())
            if lines:
                first = self._position
                self._position += len(lines)
                await sink(Chunk(self.description, list(enumerate(lines, first))))
            await asyncio.sleep(self.interval_s)
