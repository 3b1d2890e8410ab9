"""Colour themes for the screens, as Textual ``Theme`` objects.

Four are built in: ``dark``, ``light``, ``high-contrast`` (for TVs across a
room: pure black, saturated tiles, black or white text) and ``okabe-ito``
(the Okabe-Ito palette, distinguishable with the common colour-vision
deficiencies). Colour is never the only signal: every state also has a glyph
and a word, so ``NO_COLOR=1`` (which Textual turns into greys) still gives a
usable board.

Besides Textual's own variables ($success, $warning, $error...) the widgets
use the ``tile-*`` variables below; :data:`VARIABLE_DEFAULTS` supplies them
for any theme that lacks them (e.g. Textual's built-in themes chosen from
the command palette).
"""

from __future__ import annotations

from textual.theme import Theme

VARIABLE_DEFAULTS: dict[str, str] = {
    "tile-available": "#1f5f35",
    "tile-available-text": "#ffffff",
    "tile-busy": "#1d4a80",
    "tile-busy-text": "#ffffff",
    "tile-wrap-up": "#5a3f8f",
    "tile-wrap-up-text": "#ffffff",
    "tile-away": "#5b5f66",
    "tile-away-text": "#ffffff",
    "tile-offline": "#24282e",
    "tile-offline-text": "#9aa3ad",
    "tile-warning": "#d29922",
    "tile-warning-text": "#000000",
    "tile-critical": "#d1242f",
    "tile-critical-text": "#ffffff",
    "stale-banner": "#d1242f",
    "stale-banner-text": "#ffffff",
}
"""Every ``tile-*`` variable with a fallback (the dark theme's values)."""

DARK = Theme(
    name="dark",
    primary="#4fa3e0",
    secondary="#8b949e",
    accent="#e3b341",
    foreground="#e6edf3",
    background="#0d1117",
    surface="#161b22",
    panel="#1f2630",
    success="#3fb950",
    warning="#d29922",
    error="#f85149",
    dark=True,
    variables=dict(VARIABLE_DEFAULTS),
)

LIGHT = Theme(
    name="light",
    primary="#0969da",
    secondary="#57606a",
    accent="#8250df",
    foreground="#1f2328",
    background="#f6f8fa",
    surface="#ffffff",
    panel="#eaeef2",
    success="#1a7f37",
    warning="#9a6700",
    error="#cf222e",
    dark=False,
    variables={
        "tile-available": "#c9f0d3",
        "tile-available-text": "#0b3d1a",
        "tile-busy": "#cfe2ff",
        "tile-busy-text": "#0a2a5c",
        "tile-wrap-up": "#e4d8ff",
        "tile-wrap-up-text": "#3b1f73",
        "tile-away": "#e1e4e8",
        "tile-away-text": "#24292f",
        "tile-offline": "#f0f2f4",
        "tile-offline-text": "#6e7781",
        "tile-warning": "#ffd33d",
        "tile-warning-text": "#000000",
        "tile-critical": "#cf222e",
        "tile-critical-text": "#ffffff",
        "stale-banner": "#cf222e",
        "stale-banner-text": "#ffffff",
    },
)

HIGH_CONTRAST = Theme(
    name="high-contrast",
    primary="#00ffff",
    secondary="#ffffff",
    accent="#ffff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    success="#00ff00",
    warning="#ffff00",
    error="#ff3030",
    dark=True,
    text_alpha=1.0,
    variables={
        "tile-available": "#00c000",
        "tile-available-text": "#000000",
        "tile-busy": "#0050ff",
        "tile-busy-text": "#ffffff",
        "tile-wrap-up": "#b000ff",
        "tile-wrap-up-text": "#ffffff",
        "tile-away": "#c0c0c0",
        "tile-away-text": "#000000",
        "tile-offline": "#303030",
        "tile-offline-text": "#ffffff",
        "tile-warning": "#ffff00",
        "tile-warning-text": "#000000",
        "tile-critical": "#ff0000",
        "tile-critical-text": "#ffffff",
        "stale-banner": "#ff0000",
        "stale-banner-text": "#ffffff",
    },
)

# Okabe & Ito (2008): black, orange, sky blue, bluish green, yellow, blue,
# vermillion, reddish purple.
OKABE_ITO = Theme(
    name="okabe-ito",
    primary="#56b4e9",
    secondary="#999999",
    accent="#cc79a7",
    foreground="#f0f0f0",
    background="#000000",
    surface="#111111",
    panel="#222222",
    success="#009e73",
    warning="#e69f00",
    error="#d55e00",
    dark=True,
    variables={
        "tile-available": "#009e73",
        "tile-available-text": "#000000",
        "tile-busy": "#0072b2",
        "tile-busy-text": "#ffffff",
        "tile-wrap-up": "#56b4e9",
        "tile-wrap-up-text": "#000000",
        "tile-away": "#cc79a7",
        "tile-away-text": "#000000",
        "tile-offline": "#333333",
        "tile-offline-text": "#cccccc",
        "tile-warning": "#f0e442",
        "tile-warning-text": "#000000",
        "tile-critical": "#d55e00",
        "tile-critical-text": "#ffffff",
        "stale-banner": "#d55e00",
        "stale-banner-text": "#ffffff",
    },
)

THEMES: dict[str, Theme] = {t.name: t for t in (DARK, LIGHT, HIGH_CONTRAST, OKABE_ITO)}
"""The built-in themes by name, in the order menus list them."""

ALIASES: dict[str, str] = {
    "hc": "high-contrast",
    "tv": "high-contrast",
    "colour-blind": "okabe-ito",
    "color-blind": "okabe-ito",
    "cb": "okabe-ito",
}
"""Other names accepted by ``--theme`` and the config file."""

DEFAULT_THEME = "dark"


def resolve_theme(name: str | None, extra: tuple[str, ...] = ()) -> str:
    """The registered name for a user's theme name (case-insensitive).

    Args:
        name: What the user wrote (``None``: the default).
        extra: Other theme names that are acceptable as given (e.g. Textual's).

    Raises:
        ValueError: an unknown theme, with the names that are known.
    """
    if not name:
        return DEFAULT_THEME
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in THEMES or key in extra:
        return key
    known = ", ".join([*THEMES, *sorted(ALIASES)])
    raise ValueError(f"unknown theme {name!r} (known: {known})")
