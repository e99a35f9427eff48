"""``POST /hooks/registry``: a registry says something was pushed; check it now.

Authenticated by the shared ``[http] hook_token``: ``Authorization: Bearer TOKEN``, or
``?token=TOKEN``, or the path ``/hooks/registry/TOKEN`` (Docker Hub sets no headers),
compared in constant time. Refused with 401 and one log line otherwise (the token is never
logged); with no token configured, hooks are off (403).

A burst of pushes gives one check: pushes are collected for ``DEBOUNCE`` seconds from the
first of a burst, then the tracked tags of the pushed repositories are checked together.
Polling stays the source of truth: a hook only brings a check forward.
"""

from __future__ import annotations

import asyncio
import hmac
import json

from aiohttp import web

from watcher.core.hooks import HookError, Push, parse_pushes
from watcher.logs import get_logger
from watcher.service.runtime import Runtime

log = get_logger("watcher.hooks")

DEBOUNCE = 2.0
MAX_PENDING = 10_000


class PushHooks:
    MAX_BODY = 1024 * 1024

    def __init__(self, runtime: Runtime, token: str | None, debounce: float = DEBOUNCE) -> None:
        self._runtime = runtime
        self._token = token
        self._debounce = debounce
        self._pending: list[Push] = []
        self._timer: asyncio.TimerHandle | None = None
        self.received = 0

    async def handle(self, request: web.Request) -> web.Response:
        if self._token is None:
            return _error(403, "push hooks are off: set [http] hook_token")
        if not self._authorised(request):
            peer = request.remote or "?"
            log.warning("push hook refused: wrong or missing token", peer=peer)
            return _error(401, "a valid token is required")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"payload larger than {self.MAX_BODY} bytes")
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return _error(400, "the payload is not JSON")
        try:
            pushes = parse_pushes(document)
        except HookError as exc:
            return _error(400, str(exc))
        self.received += 1
        self._collect(pushes)
        return web.json_response({"accepted": len(pushes)}, status=202)

    def _authorised(self, request: web.Request) -> bool:
        assert self._token is not None
        given = request.match_info.get("token") or request.query.get("token")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        return given is not None and hmac.compare_digest(given.encode(), self._token.encode())

    def _collect(self, pushes: list[Push]) -> None:
        if not pushes:
            return
        self._pending.extend(pushes[: MAX_PENDING - len(self._pending)])
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._debounce, self._flush)

    def _flush(self) -> None:
        self._timer = None
        pushes, self._pending = self._pending, []
        chosen = self._runtime.request_pushed(pushes)
        log.info("push hook: checking now", pushes=len(pushes), images=len(chosen))

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
