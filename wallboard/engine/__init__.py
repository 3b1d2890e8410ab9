"""The metrics engine: pure, synchronous, incremental; no Textual.

Fed canonical events (in any order) and a clock, it answers immutable
snapshots of every SPEC section 3 metric, for each configured window.
"""
