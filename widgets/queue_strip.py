"""The TV's strip of queues: one line per queue with the headline figures.

Each figure carries its level glyph (✓ ▲ ✗ –) as well as its colour. When
the queues do not fit, they are paged like the agent tiles ("page 1/2").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from wallboard.widgets.format import Level, Targets, count, duration, level_of, pct
from wallboard.widgets.sanitize import clean, fit

_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("service_level", "SL", 8),
    ("waiting", "WAIT", 7),
    ("longest_wait", "LONGEST", 10),
    ("asa", "ASA", 8),
    ("abandonment_rate", "ABAND", 8),
    ("answered", "ANSWERED", 9),
    ("arrivals", "ARRIVED", 8),
)


def queue_cell(key: str, figures: Mapping[str, Any]) -> str:
    """One queue figure, formatted."""
    value = figures.get(key)
    if key == "service_level":
        return pct(value, 0)
    if key == "abandonment_rate":
        return pct(value, 1)
    if key in ("waiting", "answered", "arrivals"):
        return count(value)
    return duration(value)


_LEVELLED = frozenset({"service_level", "waiting", "longest_wait", "asa", "abandonment_rate"})


class QueueStrip(Widget):
    """Queues with their figures, paged to the height it is given."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "queue-strip--header",
        "queue-strip--good",
        "queue-strip--near",
        "queue-strip--bad",
        "queue-strip--none",
    }
    DEFAULT_CSS = """
    QueueStrip { height: auto; max-height: 30%; min-height: 2; }
    QueueStrip > .queue-strip--header { text-style: bold reverse; }
    QueueStrip > .queue-strip--good { color: $success; }
    QueueStrip > .queue-strip--near { color: $warning; }
    QueueStrip > .queue-strip--bad { color: $error; text-style: bold; }
    QueueStrip > .queue-strip--none { color: $foreground-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.page = 0
        self.page_count = 1
        self.targets = Targets()
        self._queues: Mapping[str, Mapping[str, Any]] = {}
        self._labels: Mapping[str, str] = {}
        self._key: object = None

    def update_queues(
        self,
        queues: Mapping[str, Mapping[str, Any]],
        targets: Targets,
        names: Mapping[str, str] | None = None,
    ) -> None:
        """Show these queues (``names``: queue -> display name); repaints only on change."""
        self._labels = names or {}
        key = (
            tuple(self._labels.items()),
            tuple(
                (
                    q,
                    tuple(queue_cell(c, f) for c, _, _ in _COLUMNS),
                    f.get("sl_target"),
                    f.get("sl_threshold"),
                )
                for q, f in queues.items()
            ),
            targets,
            self.page,
        )
        grew = len(queues) != len(self._queues)
        self._queues = queues
        self.targets = targets
        if key != self._key:
            self._key = key
            self.refresh(layout=grew)

    def set_page(self, page: int) -> None:
        """Turn to ``page`` (modulo the page count)."""
        if page != self.page:
            self.page = page
            self._key = None
            self.refresh()

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        """A header line and one line per queue (max-height pages the rest)."""
        return 1 + max(len(self._queues), 1)

    def render(self) -> Text:
        """The header and the queues of the page shown."""
        width = self.size.width
        per_page = max(self.size.height - 1, 1)
        labels = {q: clean(self._labels.get(q) or q, 40) for q in self._queues}
        names = sorted(self._queues, key=lambda q: (labels[q].casefold(), q))
        self.page_count = max(1, math.ceil(len(names) / per_page))
        page = self.page % self.page_count
        shown = names[page * per_page : (page + 1) * per_page]
        columns = list(_COLUMNS)
        name_w = max([cell_len(labels[q]) for q in names] + [5])
        name_w = min(name_w, 24)
        while columns and name_w + sum(w for _, _, w in columns) > width:
            columns.pop()
        if columns:  # spread spare width over the figures, for big screens
            spare = width - name_w - sum(w for _, _, w in columns)
            pad = max(0, min(6, spare // (len(columns) + 1)))
            columns = [(key, label, w + pad) for key, label, w in columns]
        name_w = max(min(width - sum(w for _, _, w in columns), 40), 1)
        text = Text(no_wrap=True, end="")
        header_style = self.get_component_rich_style("queue-strip--header")
        title = "QUEUES" if self.page_count == 1 else f"QUEUES {page + 1}/{self.page_count}"
        head = fit(title, name_w) + "".join(label.rjust(w) for _, label, w in columns)
        text.append(fit(head, width), style=header_style)
        styles: dict[str, Style] = {
            lvl.css: self.get_component_rich_style(f"queue-strip--{lvl.css}") for lvl in Level
        }
        for q in shown:
            figures = self._queues[q]
            text.append("\n")
            text.append(fit(labels[q], name_w), style="bold")
            for key, _, w in columns:
                value = queue_cell(key, figures)
                if key in _LEVELLED:
                    lvl = level_of(key, figures, self.targets)
                    shown = value if lvl is Level.NONE else f"{lvl.glyph} {value}"
                    text.append(shown.rjust(w), style=styles[lvl.css])
                else:
                    text.append(value.rjust(w))
        if not names:
            text.append("\n" + fit("no queues yet", width), style="dim")
        return text
