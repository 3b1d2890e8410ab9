"""The one-line header (clock, window, SL formula, state) and the stale-feed banner."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from wallboard.widgets.sanitize import clean


class BoardHeader(Widget):
    """One line: title, clock, window in force, SL formula, paused, feed."""

    DEFAULT_CSS = """
    BoardHeader { height: 1; background: $panel; color: $foreground; }
    """

    def __init__(self, title: str = "WALLBOARD", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title_text = title
        self._text = Text(title, end="")

    def show(
        self,
        *,
        clock: str,
        window: str,
        formula: str,
        paused: bool = False,
        extra: str = "",
        quarantined: int = 0,
    ) -> None:
        """Set what the line says; repaints only if it changed.

        ``quarantined``: lines refused by the feed so far (shown when not 0).
        """
        text = Text(no_wrap=True, end="", overflow="ellipsis")
        text.append(f" {self.title_text} ", style="bold reverse")
        text.append(f" {clock} ", style="bold")
        text.append(" window ")
        text.append(clean(window, 20), style="bold")
        if paused:
            text.append("  ‖ PAUSED ", style="bold reverse")
        if quarantined:
            text.append(f"  ⚠ {quarantined:,} quarantined ", style="bold reverse")
        if extra:
            text.append(f"  {clean(extra, 120)}")
        text.append(f"  {formula}", style="dim")
        if text != self._text:
            self._text = text
            self.refresh()

    @property
    def plain(self) -> str:
        """What the header says, as plain text."""
        return self._text.plain

    def render(self) -> Text:
        """The header line."""
        return self._text


class StaleBanner(Widget):
    """A loud line that says the feed has been silent; hidden while it is not."""

    DEFAULT_CSS = """
    StaleBanner {
        height: 1; display: none;
        background: $stale-banner; color: $stale-banner-text; text-style: bold;
    }
    StaleBanner.-stale { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text("", end="")

    def show(self, message: str | None) -> None:
        """Show ``message`` (clean text), or hide the banner when None."""
        stale = message is not None
        self.set_class(stale, "-stale")
        text = Text(f" ⚠ {message} ", end="", no_wrap=True) if message else Text("", end="")
        if text != self._text:
            self._text = text
            self.refresh()

    @property
    def plain(self) -> str:
        """The banner's text ('' when hidden)."""
        return self._text.plain if self.has_class("-stale") else ""

    def render(self) -> Text:
        """The banner line."""
        return self._text
