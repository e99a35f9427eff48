"""The page's routes: every handler reads through ``PageSource`` in a worker thread and
renders server-side with autoescaping Jinja2 templates."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from watcher.core.status import Attention
from watcher.views.activity import LABELS, SERIES
from watcher.views.dashboard import Filters
from watcher.web.pages.auth import authorized, refuse
from watcher.web.pages.source import PageSource

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REFRESH_SECONDS = 60
# No inline script or style runs: everything the page uses is served by these routes.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
                               "img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC = {"page.css": "text/css", "filter.js": "text/javascript"}


def image_path(ref: str) -> str:
    """The page of one image; the ref is its id (``/`` and ``:`` kept readable)."""
    return "/images/" + quote(ref, safe="/:@")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("watcher.web.pages", "templates"),
        autoescape=True,  # every value is text from registries or config: never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(image_path=image_path, states=list(Attention), series=SERIES,
                       series_labels=LABELS, refresh=REFRESH_SECONDS)
    return env


def page_routes(source: PageSource, *, auth_token: str | None = None) -> web.RouteTableDef:
    """The routes to add to the daemon's ``web.Application`` (``app.add_routes(...)``).

    ``auth_token``: from ``[http] auth_token_env``; when set, every route asks for it.
    """
    env = environment()
    routes = web.RouteTableDef()
    static = {name: resources.files("watcher.web.pages").joinpath("static", name).read_bytes()
              for name in STATIC}

    def guarded(handler: Handler) -> Handler:
        async def check(request: web.Request) -> web.StreamResponse:
            if not authorized(request, auth_token):
                return refuse()
            response = await handler(request)
            response.headers.update(SECURITY_HEADERS)
            return response
        return check

    async def render(name: str, status: int = 200, **context: Any) -> web.Response:
        text = await asyncio.to_thread(env.get_template(name).render, **context)
        return web.Response(text=text, status=status, content_type="text/html")

    def as_json(document: Any, status: int = 200) -> web.Response:
        return web.Response(text=json.dumps(document, indent=2, sort_keys=True) + "\n",
                            status=status, content_type="application/json")

    @routes.get("/")
    @guarded
    async def index(request: web.Request) -> web.StreamResponse:
        filters = Filters.parse(request.query.get("state"), request.query.get("q"))
        board, activity = await asyncio.to_thread(source.overview, filters)
        fleet = await asyncio.to_thread(source.fleet)
        return await render("index.html", board=board, chart=activity, fleet=fleet,
                            page="images")

    @routes.get("/images/{ref:.+}")
    @guarded
    async def image(request: web.Request) -> web.StreamResponse:
        ref = request.match_info["ref"]
        detail = await asyncio.to_thread(source.image, ref)
        if detail is None:
            return await render("missing.html", status=404, ref=ref, page="images")
        return await render("image.html", detail=detail, page="images")

    @routes.get("/deliveries")
    @guarded
    async def deliveries(request: web.Request) -> web.StreamResponse:
        data = await asyncio.to_thread(source.deliveries)
        return await render("deliveries.html", page="deliveries", **data)

    @routes.get("/api/status")
    @guarded
    async def api_status(request: web.Request) -> web.StreamResponse:
        return as_json(await asyncio.to_thread(source.status_document))

    @routes.get("/api/images/{ref:.+}")
    @guarded
    async def api_image(request: web.Request) -> web.StreamResponse:
        ref = request.match_info["ref"]
        document = await asyncio.to_thread(source.image_document, ref)
        if document is None:
            return as_json({"error": f"{ref} is not tracked"}, status=404)
        return as_json(document)

    @routes.get("/static/{name}")
    @guarded
    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in static:
            raise web.HTTPNotFound()
        return web.Response(body=static[name], content_type=STATIC[name])

    return routes
