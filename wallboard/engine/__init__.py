"""The metrics engine: pure, synchronous, incremental; no Textual.

Fed canonical events (in any order) and a clock, it answers immutable
snapshots of every SPEC section 3 metric, for each configured window.
"""

from wallboard.engine.core import Engine
from wallboard.engine.figures import AGENT_KEYS, OVERALL_KEYS, QUEUE_KEYS, SERVICE_KEYS
from wallboard.engine.snapshot import SlSettings, Snapshot, Staffing, WindowFigures

__all__ = [
    "AGENT_KEYS",
    "OVERALL_KEYS",
    "QUEUE_KEYS",
    "SERVICE_KEYS",
    "Engine",
    "SlSettings",
    "Snapshot",
    "Staffing",
    "WindowFigures",
]
