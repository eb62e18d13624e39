"""Text that may enter OAuth parameters and form fields: no NUL, no controls, valid UTF-8.

PostgreSQL refuses NUL in text (a 500 if it got that far), control characters have
no business in an email, state or client_id, and invalid UTF-8 reaches us as
U+FFFD (aiohttp decodes with errors="replace") or as lone surrogates: all are a
400 naming the parameter, never silently altered or truncated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_BAD = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffd]")


def why_invalid(value: str) -> str | None:
    m = _BAD.search(value)
    if m is None:
        return None
    o = ord(m.group())
    if o == 0:
        return "contains a NUL character"
    if o < 0x20 or o == 0x7F:
        return f"contains a control character (U+{o:04X})"
    return "is not valid UTF-8 text"


def first_invalid(items: Iterable[tuple[str, str]]) -> str | None:
    """A message naming the first bad parameter (by name or value), or None when all are clean."""
    for name, value in items:
        if why_invalid(name) is not None:
            return "A parameter name is not valid text."
        why = why_invalid(value)
        if why is not None:
            return f"The parameter '{name}' {why}."
    return None
