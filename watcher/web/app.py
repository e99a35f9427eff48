"""An application serving only the status page (the tests serve it so); the daemon's own
HTTP server adds the same ``page_routes`` to its application instead."""

from __future__ import annotations

from aiohttp import web

from watcher.web.pages import PageSource, page_routes


def make_page_app(source: PageSource, *, auth_token: str | None = None) -> web.Application:
    app = web.Application()
    app.add_routes(page_routes(source, auth_token=auth_token))
    return app
