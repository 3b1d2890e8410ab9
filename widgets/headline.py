"""Headline figures in big digits, coloured and marked by where they stand.

Each :class:`Headline` is a title, a ``Digits`` figure and a line with a
glyph and a word (on target / near / missing / no data), so the level is
never told by colour alone. A null figure shows as a dash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from wallboard.widgets.format import DASH, Level, Targets, count, duration, level_of, pct

HEADLINE_KEYS: tuple[tuple[str, str], ...] = (
    ("service_level", "SERVICE LEVEL"),
    ("waiting", "WAITING"),
    ("longest_wait", "LONGEST WAIT"),
    ("asa", "ASA"),
    ("abandonment_rate", "ABANDONED"),
)


def headline_value(key: str, value: object) -> str:
    """The figure as the big digits show it ('-' for null: Digits has no en dash)."""
    if key in ("service_level",):
        text = pct(value, 0)
    elif key == "abandonment_rate":
        text = pct(value, 1)
    elif key == "waiting":
        text = count(value)
    else:
        text = duration(value)
    return "-" if text == DASH else text


class Headline(Vertical):
    """Title, big figure, level line."""

    DEFAULT_CSS = """
    Headline { height: 5; width: 1fr; padding: 0 1; }
    Headline > .headline--title { height: 1; text-style: bold; color: $foreground-muted; }
    Headline > Digits { width: 100%; height: 3; }
    Headline > .headline--level { height: 1; }
    Headline.-good > Digits, Headline.-good > .headline--level { color: $success; }
    Headline.-near > Digits, Headline.-near > .headline--level { color: $warning; }
    Headline.-bad > Digits, Headline.-bad > .headline--level { color: $error; }
    Headline.-bad > .headline--level { text-style: bold; }
    Headline.-none > Digits, Headline.-none > .headline--level { color: $foreground-muted; }
    """

    def __init__(self, key: str, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id or f"headline-{key}")
        self.key = key
        self.title = title
        self.value_text = "-"
        self.level = Level.NONE

    def compose(self) -> ComposeResult:
        """Title, digits, level."""
        yield Static(Text(self.title, end=""), classes="headline--title")
        yield Digits("-")
        yield Static(
            Text(f"{Level.NONE.glyph} {Level.NONE.word}", end=""), classes="headline--level"
        )

    def show(self, value: object, level: Level) -> None:
        """Set the figure and its level."""
        text = headline_value(self.key, value)
        if text != self.value_text:
            self.value_text = text
            self.query_one(Digits).update(text)
        if level != self.level:
            self.remove_class(f"-{self.level.css}")
            self.level = level
            self.query_one(".headline--level", Static).update(
                Text(f"{level.glyph} {level.word}", end=""), layout=False
            )
        self.add_class(f"-{level.css}")


class Headlines(Horizontal):
    """The five headline figures side by side."""

    DEFAULT_CSS = """
    Headlines { height: 5; }
    """

    def compose(self) -> ComposeResult:
        """One :class:`Headline` per figure."""
        for key, title in HEADLINE_KEYS:
            yield Headline(key, title)

    def show(self, figures: Mapping[str, Any], targets: Targets) -> None:
        """Show the figures of one scope (overall, a queue...)."""
        for headline in self.query(Headline):
            headline.show(figures.get(headline.key), level_of(headline.key, figures, targets))
