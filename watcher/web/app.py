"""A web application that serves only the status page, for tests and ``watcher page``-less
setups; the daemon's own server adds the same ``page_routes`` to its application."""

from __future__ import annotations

from aiohttp import web

from watcher.web.pages import PageSource, page_routes


def make_page_app(source: PageSource, *, auth_token: str | None = None) -> web.Application:
    app = web.Application()
    app.add_routes(page_routes(source, auth_token=auth_token))
    return app
