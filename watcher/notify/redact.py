"""Make error texts safe to record and show: no secrets, no control characters, bounded.

    clean("550 rejected for p4ss", secrets=["p4ss"])  ->  "550 rejected for ***"

Order matters: secrets are removed before the text is cut, so a cut never leaves half a secret.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

MASK = "***"
ERROR_LIMIT = 500

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
_AUTH_HEADER = re.compile(
    r"((?:proxy-)?authorization|webhook-signature|x-api-key|api-key|cookie)(\s*[:=]\s*)[^\r\n,;]+",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` without userinfo and with every query value masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            key, sep, _value = pair.partition("=")
            pairs.append(f"{key}={MASK}" if sep else MASK)
        query = "&".join(pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask each secret (also percent-encoded), credentials in URLs and auth headers."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update({secret, quote(secret, safe=""), quote(secret)})
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    text = _AUTH_HEADER.sub(lambda match: f"{match.group(1)}{match.group(2)}{MASK}", text)
    return _BEARER.sub(lambda match: f"{match.group(1)} {MASK}", text)


def escape_controls(text: str) -> str:
    r"""Control characters (newlines included) written as ``\n``, ``\x1b``, ``\u2028``..."""
    out = []
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            escaped = char.encode("unicode_escape").decode("ascii")
            out.append(escaped if escaped != char else f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def bound(text: str, limit: int = ERROR_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def clean(text: str, secrets: Iterable[str | None] = (), limit: int = ERROR_LIMIT) -> str:
    """An error text fit to store and show: secrets masked, controls escaped, at most ``limit``."""
    return bound(escape_controls(scrub(text, secrets)), limit)
