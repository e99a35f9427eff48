"""Receivers on loopback for the notification channels, and notices to send them.

    with HookReceiver(lambda hit: (200, {}, b"ok")) as hook:
        hook.url, hook.hits          # hits: every POST with its headers and raw body
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from watcher.notify import Batch, Notice

OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64


def notice(image: str = "python:3.12-slim", *, kind: str = "digest_changed",
           event_id: str | None = None, **payload: Any) -> Notice:
    tag = image.rpartition(":")[2]
    facts: dict[str, Any] = {"tag": tag, "old_digest": OLD, "new_digest": NEW,
                             "changed_platforms": {"linux/amd64": "changed",
                                                   "linux/arm64": "added"},
                             "newer_versions": ["3.13-slim"]}
    facts.update(payload)
    return Notice(
        event_id=event_id or f"evt-{image}-{kind}",
        kind=kind,
        image=image,
        time=datetime(2026, 12, 2, 14, 0, 5, tzinfo=UTC),
        summary=f"{image} points to a new digest",
        payload=facts,
        details=("rebuilt upstream for a security fix",),
    )


def three() -> Batch:
    return Batch.of([notice("python:3.12-slim"), notice("node:20"), notice("redis:7"),
                     notice("node:20", event_id="evt-dup")])


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]  # lowercase names
    body: bytes


Answer = tuple[int, dict[str, str], bytes]


class HookReceiver:
    """A threaded HTTP server that records each POST and answers with ``handler(hit)``."""

    def __init__(self, handler: Callable[[Hit], Answer]) -> None:
        self.handler = handler
        self.hits: list[Hit] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hit = Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                owner.hits.append(hit)
                status, headers, reply = owner.handler(hit)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
