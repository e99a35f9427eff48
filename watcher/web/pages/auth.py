"""The optional token for the page and the API: ``Authorization: Bearer TOKEN``, or basic
auth with any user name and TOKEN as the password (what a browser's login prompt sends)."""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

REALM = 'Basic realm="watcher", charset="UTF-8"'


def presented_token(header: str | None) -> str | None:
    """The token in an ``Authorization`` header value, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, sep, password = decoded.partition(":")
        return password if sep else None
    return None


def authorized(request: web.Request, token: str | None) -> bool:
    """True when no token is configured, or the request presents it (compared in constant
    time)."""
    if token is None:
        return True
    given = presented_token(request.headers.get("Authorization"))
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def refuse() -> web.Response:
    return web.Response(status=401, text="401: this page needs the token from [http] "
                        "auth_token_env\n", headers={"WWW-Authenticate": REALM})
