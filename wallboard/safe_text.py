"""Makes raw input safe to print in the command line's output, exactly.

For operators' listings (the quarantine, alert history): every control
character becomes a visible escape, so what a producer sent can be read
byte for byte. The screens use ``wallboard.widgets.sanitize.clean``, which
shortens names and shows such characters as U+FFFD.

Agent and queue names, reasons and raw lines are data, never instructions:
an ESC, another C0/C1 control or a bidi override cannot move the cursor,
change colours or reorder a line. Show the result as a ``rich.text.Text``
(never as a markup string), so ``[red]`` shows literally.
"""

from __future__ import annotations

import re

# C0 controls but tab, DEL, C1 controls, bidi embeddings/overrides/isolates.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control or bidi-control character shown as an escape."""
    return _UNSAFE.sub(_escape, text.replace("\t", " "))


def printable_bytes(raw: bytes) -> str:
    """Raw bytes (possibly not UTF-8) as safe text."""
    return printable(raw.decode("utf-8", errors="backslashreplace"))
