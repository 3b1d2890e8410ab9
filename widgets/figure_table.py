"""A fast table of figures for the supervisor: Line API, lazy rows, cached lines.

``DataTable`` renders every column of every visible row again whenever a
cell changes, and wants every cell of every row up front: at 2,000 agents
that is most of a second per refresh. :class:`FigureTable` instead is given
the row keys in order and a function that formats one row; it formats only
the rows on screen, caches each drawn line by its content, and repaints
only when what is on screen changed.

Cells are ``(text, style)`` pairs: ``text`` already cleaned (see
:mod:`wallboard.widgets.sanitize`), ``style`` one of :data:`CELL_STYLES`
(resolved from the theme through component classes), so nothing is ever
parsed as markup. Keys: arrows, page up/down, home/end move the cursor;
``Enter`` (or a click) posts :class:`FigureTable.Selected`; a click on a
heading posts :class:`FigureTable.HeaderClicked`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from wallboard.widgets.sanitize import fit

Cell = tuple[str, str]
"""(clean text, style name): the style is one of :data:`CELL_STYLES` or ``""``."""

CELL_STYLES = ("bold", "dim", "good", "near", "bad", "warn", "crit")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its key, heading, width in cells and alignment."""

    key: str
    label: str
    width: int
    right: bool = True


class FigureTable(ScrollView, can_focus=True):
    """Rows of figures with a fixed header, fixed leading columns and a cell cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1, 0)", "Up", show=False, id="table.up"),
        Binding("down", "cursor(1, 0)", "Down", show=False, id="table.down"),
        Binding("left", "cursor(0, -1)", "Left", show=False, id="table.left"),
        Binding("right", "cursor(0, 1)", "Right", show=False, id="table.right"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home", "edge(-1)", "First", show=False, id="table.home"),
        Binding("end", "edge(1)", "Last", show=False, id="table.end"),
        Binding("enter", "select", "Details", id="table.select"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "figure-table--header",
        "figure-table--cursor",
        "figure-table--cursor-row",
        "figure-table--zebra",
        *(f"figure-table--{name}" for name in CELL_STYLES),
    }

    DEFAULT_CSS = """
    FigureTable { height: 1fr; background: $surface; }
    FigureTable > .figure-table--header { background: $panel; text-style: bold; }
    FigureTable > .figure-table--zebra { background: $surface-lighten-1; }
    FigureTable > .figure-table--cursor-row { background: $boost; }
    FigureTable > .figure-table--cursor { background: $primary 40%; text-style: bold; }
    FigureTable:focus > .figure-table--cursor { background: $primary; color: $text; }
    FigureTable > .figure-table--bold { text-style: bold; }
    FigureTable > .figure-table--dim { color: $foreground-muted; }
    FigureTable > .figure-table--good { color: $success; }
    FigureTable > .figure-table--near { color: $warning; }
    FigureTable > .figure-table--bad { color: $error; text-style: bold; }
    FigureTable > .figure-table--warn { color: $warning; text-style: bold; }
    FigureTable > .figure-table--crit { color: $error; text-style: bold reverse; }
    """

    class Selected(Message):
        """Enter or a click on a row."""

        def __init__(self, table: FigureTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> FigureTable:
            """The table."""
            return self.table

    class HeaderClicked(Message):
        """A click on a column heading."""

        def __init__(self, table: FigureTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> FigureTable:
            """The table."""
            return self.table

    def __init__(self, *, fixed_columns: int = 1, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fixed_columns = fixed_columns
        self.cursor_row = 0
        self.cursor_column = 0
        self.sort_key: str | None = None
        self.sort_reverse = False
        self._columns: tuple[Column, ...] = ()
        self._keys: list[str] = []
        self._row_fn: Callable[[str], Sequence[Cell]] = lambda key: ()
        self._rows: dict[str, tuple[Cell, ...]] = {}
        self._shown: dict[int, tuple[str, tuple[Cell, ...]]] = {}
        self._line_cache: dict[tuple[object, ...], Strip] = {}
        self._styles: dict[str, Style] = {}
        self._pad_cache: dict[tuple[str, int, bool], str] = {}
        self._base_style: Style | None = None
        self.formatted_rows = 0
        """Rows formatted by the last refresh (only those on screen)."""

    # -- data ------------------------------------------------------------

    @property
    def column_keys(self) -> tuple[str, ...]:
        """The keys of the columns, in order."""
        return tuple(c.key for c in self._columns)

    @property
    def row_order(self) -> list[str]:
        """The row keys, top to bottom."""
        return list(self._keys)

    @property
    def row_count(self) -> int:
        """How many rows (after any filter)."""
        return len(self._keys)

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor."""
        if 0 <= self.cursor_row < len(self._keys):
            return self._keys[self.cursor_row]
        return None

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Set the columns (a no-op when unchanged)."""
        columns = tuple(columns)
        if columns != self._columns:
            self._columns = columns
            self.cursor_column = min(self.cursor_column, max(len(columns) - 1, 0))
            self._line_cache.clear()
            self._resize()
            self.refresh()

    def set_sort(self, key: str | None, reverse: bool) -> None:
        """Mark the sort column in the header (the caller sorts the rows)."""
        if (key, reverse) != (self.sort_key, self.sort_reverse):
            self.sort_key, self.sort_reverse = key, reverse
            self.refresh_lines(0)

    def set_rows(self, keys: Sequence[str], row: Callable[[str], Sequence[Cell]]) -> None:
        """Show these rows in this order; ``row(key)`` formats one, only when shown.

        The cursor stays on the same row key when it is still there.
        """
        old_key = self.cursor_key
        keys = list(keys)
        changed_order = keys != self._keys
        self._keys = keys
        self._row_fn = row
        self._rows = {}
        if changed_order:
            if old_key is not None and old_key in keys:
                self.cursor_row = keys.index(old_key)
            self.cursor_row = min(self.cursor_row, max(len(keys) - 1, 0))
            self._resize()
        # Repaint only the rows on screen whose cells changed.
        top = int(self.scroll_offset.y)
        height = max(self.size.height - 1, 0)
        shown: dict[int, tuple[str, tuple[Cell, ...]]] = {}
        dirty = False
        for index in range(top, min(top + height, len(keys))):
            key = keys[index]
            cells = self._cells(key)
            shown[index] = (key, cells)
            if self._shown.get(index) != (key, cells):
                dirty = True
        if len(shown) != len(self._shown) or changed_order:
            dirty = True
        self._shown = shown
        self.formatted_rows = len(self._rows)
        if len(self._line_cache) > 4096:
            self._line_cache.clear()
        if dirty:
            self.refresh()

    def _cells(self, key: str) -> tuple[Cell, ...]:
        cells = self._rows.get(key)
        if cells is None:
            cells = self._rows[key] = tuple(self._row_fn(key))
        return cells

    def _resize(self) -> None:
        width = sum(c.width + 1 for c in self._columns)
        self.virtual_size = Size(width, len(self._keys) + 1)

    # -- cursor ----------------------------------------------------------

    def move_cursor(self, row: int | None = None, column: int | None = None) -> None:
        """Put the cursor on ``row`` / ``column`` (clamped) and bring it into view."""
        if row is not None:
            self.cursor_row = max(0, min(row, len(self._keys) - 1))
        if column is not None:
            self.cursor_column = max(0, min(column, len(self._columns) - 1))
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        body = max(self.size.height - 1, 1)
        top = int(self.scroll_offset.y)
        y = top
        if self.cursor_row < top:
            y = self.cursor_row
        elif self.cursor_row >= top + body:
            y = self.cursor_row - body + 1
        x = int(self.scroll_offset.x)
        if self.cursor_column >= self.fixed_columns and self._columns:
            fixed_w = sum(c.width + 1 for c in self._columns[: self.fixed_columns])
            start = sum(c.width + 1 for c in self._columns[: self.cursor_column]) - fixed_w
            end = start + self._columns[self.cursor_column].width + 1
            view = max(self.size.width - fixed_w, 1)
            if start < x:
                x = start
            elif end > x + view:
                x = end - view
        self.scroll_to(x=x, y=y, animate=False, immediate=True)

    def action_cursor(self, rows: int, columns: int) -> None:
        """Move the cursor by rows and columns."""
        self.move_cursor(self.cursor_row + rows, self.cursor_column + columns)

    def action_page(self, direction: int) -> None:
        """Move the cursor a screenful."""
        self.move_cursor(self.cursor_row + direction * max(self.size.height - 2, 1))

    def action_edge(self, direction: int) -> None:
        """First or last row."""
        self.move_cursor(0 if direction < 0 else len(self._keys) - 1)

    def action_select(self) -> None:
        """Open the row under the cursor."""
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        """A click on a heading sorts; on a row moves the cursor there (twice: opens)."""
        column = self._column_at(event.x)
        if event.y == 0:
            if column is not None:
                self.cursor_column = column
                self.post_message(self.HeaderClicked(self, self._columns[column].key))
            return
        row = int(self.scroll_offset.y) + event.y - 1
        if 0 <= row < len(self._keys):
            again = row == self.cursor_row
            self.move_cursor(row, column)
            if again or event.chain > 1:
                self.action_select()

    def _column_at(self, x: int) -> int | None:
        fixed_w = sum(c.width + 1 for c in self._columns[: self.fixed_columns])
        pos = x if x < fixed_w else x + int(self.scroll_offset.x)
        edge = 0
        for i, column in enumerate(self._columns):
            edge += column.width + 1
            if pos < edge:
                return i
        return None

    # -- drawing ---------------------------------------------------------

    def notify_style_update(self) -> None:
        """The theme changed: resolve the styles again."""
        super().notify_style_update()
        self._styles = {}
        self._line_cache = {}
        self._base_style = None
        self.refresh()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = (
                self.get_component_rich_style(f"figure-table--{name}", partial=True)
                if name
                else Style()
            )
        return style

    def _line(self, cells: Sequence[Cell], base: Style, cursor: int) -> Strip:
        segments: list[Segment] = []
        width = 0
        cursor_style = self._style("cursor")
        pad_cache = self._pad_cache
        if len(pad_cache) > 20_000:
            pad_cache.clear()
        for i, column in enumerate(self._columns):
            text, style_name = cells[i] if i < len(cells) else ("", "")
            pad_key = (text, column.width, column.right)
            padded = pad_cache.get(pad_key)
            if padded is None:
                size = cell_len(text)
                if size > column.width:
                    padded = fit(text, column.width)
                elif column.right:
                    padded = " " * (column.width - size) + text
                else:
                    padded = text + " " * (column.width - size)
                pad_cache[pad_key] = padded
            text = padded
            style = base + self._style(style_name) if style_name else base
            if i == cursor:
                style = style + cursor_style
            segments.append(Segment(" ", base))
            segments.append(Segment(text, style))
            width += column.width + 1
        return Strip(segments, width)

    def _header_cells(self) -> list[Cell]:
        cells: list[Cell] = []
        for column in self._columns:
            label = column.label
            if column.key == self.sort_key:
                label = f"{label} {'▼' if self.sort_reverse else '▲'}"
            cells.append((label, ""))
        return cells

    def render_line(self, y: int) -> Strip:
        """The header, or one row: fixed columns, then the rest scrolled sideways."""
        width = self.size.width
        base = self._base_style
        if base is None:
            base = self._base_style = self.rich_style
        if y == 0:
            header = base + self._style("header")
            key: tuple[object, ...] = (
                "header",
                tuple(self._header_cells()),
                int(self.scroll_offset.x),
                width,
                header,
            )
            strip = self._line_cache.get(key)
            if strip is None:
                full = self._line(self._header_cells(), header, -1)
                strip = self._line_cache[key] = self._scrolled(full, width, header)
            return strip
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self._keys):
            return Strip.blank(width, base)
        row_key = self._keys[index]
        cells = self._cells(row_key)
        on_cursor = index == self.cursor_row
        row_base = base + (self._style("cursor-row") if on_cursor else Style())
        if not on_cursor and index % 2:
            row_base = row_base + self._style("zebra")
        cursor = self.cursor_column if on_cursor and self.has_focus else -1
        if on_cursor and not self.has_focus:
            cursor = -1
        key = (cells, row_base, cursor, int(self.scroll_offset.x), width)
        strip = self._line_cache.get(key)
        if strip is None:
            full = self._line(cells, row_base, cursor)
            strip = self._line_cache[key] = self._scrolled(full, width, row_base)
        return strip

    def _scrolled(self, full: Strip, width: int, style: Style) -> Strip:
        fixed_w = sum(c.width + 1 for c in self._columns[: self.fixed_columns])
        x = int(self.scroll_offset.x)
        if x == 0 or fixed_w >= width:
            return full.crop_extend(0, width, style)
        left = full.crop(0, fixed_w)
        right = full.crop(fixed_w + x, fixed_w + x + width - fixed_w)
        return Strip.join([left, right]).crop_extend(0, width, style)

    def on_focus(self) -> None:
        """Show the cursor cell."""
        self.refresh()

    def on_blur(self) -> None:
        """Hide the cursor cell."""
        self.refresh()

    def watch_scroll_y(self, old: float, new: float) -> None:
        """Scrolled: the rows on screen are others."""
        super().watch_scroll_y(old, new)
        self.refresh()

    def watch_scroll_x(self, old: float, new: float) -> None:
        """Scrolled sideways."""
        super().watch_scroll_x(old, new)
        self.refresh()
