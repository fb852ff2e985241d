"""What text from people may hold, and how it is shown to others.

Names, titles, notes and comments are typed by one person and read by
another: in a terminal, where an escape sequence can clear the screen or
rewrite a line, and in a spreadsheet, where a cell that starts with '=' is a
formula.  This module defines, once, which characters are unsafe to show
raw, how they are shown instead, and how a spreadsheet cell is made inert.
It is pure (no Rich, no store) so that both the input checks
(mloop.store.checks) and the rendering (mloop.output) use the same sets.
"""

from __future__ import annotations

import re

# Characters that turn the text into something else on a screen: the C0
# controls (ESC, BEL, CR, LF, TAB ...), DEL, the C1 controls (U+0080-U+009F,
# CSI among them), and the bidirectional controls that reorder what is shown
# (embeddings and overrides, isolates, and the LRM, RLM and ALM marks).
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROLS = "\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_LINES = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # all but TAB (\x09) and LF (\x0a)
_UNSAFE = re.compile(f"[{_CONTROLS}{BIDI_CONTROLS}]")
_UNSAFE_BUT_LINES = re.compile(f"[{_CONTROLS_BUT_LINES}{BIDI_CONTROLS}]")

# The control characters proper (Unicode category Cc): refused in every piece
# of text, save newlines and tabs in free text.
_CONTROL = re.compile(f"[{_CONTROLS}]")
_CONTROL_BUT_LINES = re.compile(f"[{_CONTROLS_BUT_LINES}]")

# A spreadsheet reads a cell starting with one of these as a formula (OWASP's
# advice on CSV injection): such a cell gets a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` with every unsafe character shown as an escape: ESC as
    '\\x1b', a right-to-left override as '\\u202e'.  With ``lines`` a
    newline and a tab stay as they are (a message of several lines); in a
    table cell (the default) they too are escaped, so that a cell is always
    one line of plain characters."""
    pattern = _UNSAFE_BUT_LINES if lines else _UNSAFE
    return pattern.sub(_escape, text) if pattern.search(text) else text


def first_control(text: str, *, lines: bool = False) -> str | None:
    """The first control character of ``text`` (a newline or tab is allowed
    with ``lines``), or None."""
    found = (_CONTROL_BUT_LINES if lines else _CONTROL).search(text)
    return found.group() if found else None


def first_unsafe(text: str) -> str | None:
    """The first character of ``text`` that is unsafe to show (a control or bidi control), or None."""
    found = _UNSAFE.search(text)
    return found.group() if found else None


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell a spreadsheet will not run: one that starts like a formula gets a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
