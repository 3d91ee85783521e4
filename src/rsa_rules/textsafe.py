"""Text for a terminal: control characters in data are shown escaped, never obeyed.

A patient ``id`` (or any other string that reaches a text rendering) may hold escape
sequences that would move the cursor, recolour or clear the screen, retitle the window, or
reorder what is shown (bidirectional overrides). :func:`terminal_safe` writes each such
character as a visible escape (``\\x1b``, ``\\u202e``) and keeps line breaks.
"""

from __future__ import annotations

import re

__all__ = ["terminal_safe"]

# C0 controls except the line feed, DEL, C1 controls, and the bidirectional embedding,
# override and isolate controls.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character but the line feed written as an escape."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
