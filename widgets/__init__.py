"""Textual widgets: they only read engine snapshots."""
