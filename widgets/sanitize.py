"""The one place where event-derived strings are made safe to show.

Agent and queue names, reasons, categories and alert messages come from
events: anybody who can write to the feed writes them. Every one of them goes
through :func:`clean` before it reaches a screen, and is then shown as a
:class:`rich.text.Text` (never parsed as markup), so that:

- ``[red]x[/red]`` shows literally (the text is never interpreted as markup);
- ESC, the other C0 controls, DEL and the C1 controls (including CSI, OSC and
  the single-byte ST) are replaced, so nothing can move the cursor, change
  colours or set the window title;
- bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the
  line/paragraph separators are dropped, so a right-to-left name cannot
  reorder the text around it; right-to-left letters themselves are kept.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
"""What a control character is shown as (visible, so tampering shows)."""

ELLIPSIS = "…"

# C0 controls (tab and newline too: one line per name), DEL and C1 controls.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides, isolates, marks; line and paragraph separators;
# zero-width no-break space (BOM); interlinear annotation; Hangul fillers that
# render as nothing.
_INVISIBLE = re.compile(
    "[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\u2028\u2029\ufeff\ufff9-\ufffb]"
)


@lru_cache(maxsize=8192)
def clean(value: object, max_len: int = 200) -> str:
    """Event-derived value -> one printable line, safe for any terminal.

    Args:
        value: Anything (None gives ``""``); it is converted with ``str``.
        max_len: Longest result in characters; longer text ends with an ellipsis.

    Returns:
        Text with every control character replaced by U+FFFD and every bidi
        control removed. It is still to be shown as a ``Text``, not as markup.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable():
        return text if len(text) <= max_len else text[: max_len - 1] + ELLIPSIS
    text = _CONTROLS.sub(REPLACEMENT, text)
    text = _INVISIBLE.sub("", text)
    # Other format characters (category Cf) that are not joiners used by real
    # scripts (ZWJ/ZWNJ) are dropped too: they can hide text.
    text = "".join(
        ch for ch in text if ch in "\u200c\u200d" or unicodedata.category(ch) not in ("Cf", "Cs")
    )
    if len(text) > max_len:
        text = text[: max_len - 1] + ELLIPSIS
    return text


def safe_text(value: object, style: str | Style = "", max_len: int = 200) -> Text:
    """A :class:`Text` of the cleaned value (never parsed as markup)."""
    return Text(clean(value, max_len), style=style, end="", no_wrap=True)


def fit(text: str, width: int) -> str:
    """Cut or pad ``text`` (already clean) to exactly ``width`` cells, with an ellipsis."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + ELLIPSIS
