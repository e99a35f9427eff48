"""Text for a terminal: what a registry or the database supplied, made harmless."""

from __future__ import annotations

import unicodedata


def printable(text: object) -> str:
    """``text`` safe for a terminal: control characters (and so ANSI escape sequences) and
    bidirectional overrides spelled out as ``\\x1b``, ``\\n``, ``\\u202e``.

    Every text renderer passes what a registry or the database supplied through here; colour
    is added afterwards, by watcher itself. JSON output needs none of it (JSON escapes).
    """
    value = str(text)
    if value.isprintable():
        return value
    return "".join(_escape(ch) for ch in value)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch.isprintable() or unicodedata.category(ch) == "Zs":  # Zs: no-break and other spaces
        return ch
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
