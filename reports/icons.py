"""Icons for report.html, drawn as inline SVG in the text's colour: never emoji.

Emoji need a colour-emoji font, and a stock Debian Chromium (a CI runner, a headless screenshot)
has none: ✅ and ❌ come out as empty boxes. These shapes need no font and no file, print, and
follow the colour of the text around them. Texts meant for chat (the runbook's incident templates)
keep their emoji in report.md and the incident texts; in HTML `replace_emoji` swaps them for these.
"""

from __future__ import annotations

from markupsafe import Markup, escape

_WHITE_TICK = (
    '<path d="M4.5 8.3l2.3 2.3 4.7-5" fill="none" stroke="#fff" stroke-width="1.8"'
    ' stroke-linecap="round" stroke-linejoin="round"/>'
)
_DISC = '<circle cx="8" cy="8" r="7" fill="currentColor"/>'
_WARNING = (
    '<path d="M8 1.2L15.2 14H.8z" fill="currentColor" stroke="currentColor" stroke-width="1"'
    ' stroke-linejoin="round"/><path d="M8 5.8v3.9" stroke="#fff" stroke-width="1.8"'
    ' stroke-linecap="round"/><circle cx="8" cy="11.9" r="1" fill="#fff"/>'
)

SHAPES: dict[str, str] = {
    "met": _DISC + _WHITE_TICK,
    "recovered": _DISC + _WHITE_TICK,
    "missed": _DISC
    + '<path d="M5.3 5.3l5.4 5.4M10.7 5.3l-5.4 5.4" stroke="#fff" stroke-width="1.8"'
    ' stroke-linecap="round"/>',
    "aborted": '<path d="M5.1 1h5.8L15 5.1v5.8L10.9 15H5.1L1 10.9V5.1z" fill="currentColor"/>'
    '<path d="M4.8 8h6.4" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/>',
    "info": _DISC
    + '<circle cx="8" cy="4.9" r="1.1" fill="#fff"/><path d="M8 7.3v4.4" stroke="#fff"'
    ' stroke-width="1.8" stroke-linecap="round"/>',
    "fault": '<path d="M9.5 1L3 9h4l-1 6 6.5-8h-4z" fill="currentColor"/>',
    "detected": '<circle cx="6.5" cy="6.5" r="4.3" fill="none" stroke="currentColor"'
    ' stroke-width="2"/><path d="M9.7 9.7L14.5 14.5" stroke="currentColor" stroke-width="2.2"'
    ' stroke-linecap="round"/>',
    "warning": _WARNING,
    "unmeasured": _WARNING,
    "invalid": _WARNING,
    "loss": _WARNING,
    "alert": '<path d="M4 13V8a4 4 0 0 1 8 0v5z" fill="currentColor"/><path d="M2.5 13.5h11"'
    ' stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/><path d="M8 1v1.6M2.6'
    ' 3.2l1.1 1.1M13.4 3.2l-1.1 1.1" stroke="currentColor" stroke-width="1.4"'
    ' stroke-linecap="round"/>',
}

# emoji of the runbook's templates -> the icon that stands for them
EMOJI: dict[str, str] = {
    "\U0001f6a8": "alert",  # police car light
    "\u2705": "met",  # check mark button
    "\u274c": "missed",  # cross mark
    "\u26a0\ufe0f": "warning",
    "\u26a0": "warning",
}


def icon(name: str) -> Markup:
    """An inline `<svg>` icon (16 px, `currentColor`); unknown names draw the warning sign."""
    shape = SHAPES.get(name, _WARNING)
    return Markup(
        f'<svg class="icon icon-{escape(name)}" viewBox="0 0 16 16" width="16" height="16"'
        f' aria-hidden="true" focusable="false">{shape}</svg>'
    )


def replace_emoji(text: str) -> Markup:
    """`text` escaped for HTML, with the runbook's emoji drawn as icons instead."""
    out = str(escape(text))
    for emoji, name in EMOJI.items():
        out = out.replace(emoji, str(icon(name)))
    return Markup(out)
