"""Serving the status page from a database on loopback, in a thread with its own loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from tests.support import free_port
from watcher.store import Store
from watcher.web.app import make_page_app
from watcher.web.pages import PageSource


@dataclass(frozen=True)
class ServedPage:
    url: str
    store: Store


@contextmanager
def serve_page(database_url: str, *, auth_token: str | None = None) -> Iterator[ServedPage]:
    """The page over a read-only store of ``database_url``, at ``ServedPage.url``."""
    store = Store.open_existing(database_url, read_only=True)
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(make_page_app(PageSource(store), auth_token=auth_token))

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="page", daemon=True)
    thread.start()
    try:
        if not ready.wait(30):
            raise TimeoutError("the page server did not start within 30s")
        yield ServedPage(f"http://127.0.0.1:{port}", store)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
        store.close()
