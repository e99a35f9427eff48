"""The read-only status page: ``/``, ``/images/<ref>``, ``/deliveries``, ``/api/status``,
``/api/images/<ref>`` and its stylesheet. ``page_routes`` gives the routes to mount."""

from watcher.web.pages.routes import page_routes as page_routes
from watcher.web.pages.source import PageSource as PageSource
