"""A forwarding HTTP proxy on loopback that holds requests until told to let them go: a
registry made slow deterministically, for tests that must act while checks are in flight.

    with GatedProxy(registry.url, free=1) as proxy:
        ...                      # refs on proxy.host reach the registry through it
        wait_until(lambda: proxy.held == 2)
        proxy.release()          # the held requests, and every later one, go through

The first ``free`` requests go through at once; later ones wait in the proxy (each in its
own server thread) until :meth:`GatedProxy.release`.
"""

from __future__ import annotations

import threading
import time

import httpx

from tests.support.httpservers import HttpServer, Reply, Seen

_HOP_BY_HOP = {"host", "connection", "content-length", "transfer-encoding", "keep-alive",
               "content-encoding"}


class GatedProxy:
    def __init__(self, upstream: str, *, free: int, hold_at_most: float = 60.0) -> None:
        self._free = free
        self._hold_at_most = hold_at_most
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._arrived = 0
        self.held = 0  # requests waiting in the proxy now
        self.forwarding = 0  # requests on their way to the upstream now
        self._upstream = httpx.Client(base_url=upstream, timeout=30.0, trust_env=False)
        self._server = HttpServer(self._handle)

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def seen(self) -> list[Seen]:
        return list(self._server.seen)

    def release(self) -> None:
        self._released.set()

    def __enter__(self) -> GatedProxy:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.__exit__(*exc)
        deadline = time.monotonic() + 10
        while self.forwarding and time.monotonic() < deadline:  # let released requests end
            time.sleep(0.01)
        self._upstream.close()

    def _handle(self, seen: Seen) -> Reply:
        with self._lock:
            hold = self._arrived >= self._free
            self._arrived += 1
            if hold:
                self.held += 1
        if hold:
            self._released.wait(self._hold_at_most)
            with self._lock:
                self.held -= 1
        headers = {k: v for k, v in seen.headers.items() if k not in _HOP_BY_HOP}
        with self._lock:
            self.forwarding += 1
        try:
            response = self._upstream.request(seen.method, seen.path, headers=headers)
        except httpx.HTTPError as exc:
            return Reply(502, body=f"proxy: {exc}".encode())
        finally:
            with self._lock:
                self.forwarding -= 1
        return Reply(
            response.status_code,
            {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP},
            response.content,
        )
