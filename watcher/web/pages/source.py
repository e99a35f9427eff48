"""What the page reads, from the store's read API, in a worker thread.

Every method here is blocking (SQLAlchemy); the routes call them through ``asyncio.to_thread``
so the daemon's loop never waits on the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from watcher.store import EventState, Store
from watcher.views.activity import Chart, chart, per_day
from watcher.views.budgets import budget_document
from watcher.views.dashboard import Dashboard, Filters, dashboard
from watcher.views.events import FAILING_STATES, PENDING, by_event, plain_counts
from watcher.views.fleet import FleetPage, fleet_document, fleet_page
from watcher.views.image_detail import ImageDetail, image_api_document, image_detail
from watcher.views.status import StatusRow, status_document, status_rows

# Optional counted columns (``containers``, ``dependents``): ref -> count, read on each page.
Counter = Callable[[Store], Mapping[str, int]]
# Per registry host, what is left of its request budget (rows of words), read on each page.
Budgets = Callable[[Store], list[Mapping[str, str]]]
CHART_DAYS = 30


@dataclass
class PageSource:
    """The store the page reads, plus optional readers that later tables plug in.

    ``fleet_lease``: shared replicas' lease (``[watcher] lease``) when ``replicas =
    "shared"``; the page and ``/api/status`` then show the fleet. None: a single process."""

    store: Store
    counters: Mapping[str, Counter] = field(default_factory=dict)
    budgets: Budgets | None = None
    fleet_lease: float | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def _rows(self) -> list[StatusRow]:
        return status_rows(self.store.statuses())

    def _row(self, ref: str) -> StatusRow | None:
        found = [s for s in self.store.statuses(include_inactive=True) if s.state.ref == ref]
        return status_rows(found)[0] if found else None

    def overview(self, filters: Filters) -> tuple[Dashboard, Chart]:
        now = self.clock()
        counted = {name: counter(self.store) for name, counter in self.counters.items()}
        board = dashboard(self._rows(), filters, now, counted)
        since = datetime.combine((now - timedelta(days=CHART_DAYS - 1)).date(),
                                 datetime.min.time(), UTC)
        return board, chart(per_day(self.store.history_since(since), now, CHART_DAYS))

    def fleet(self) -> FleetPage | None:
        """The page's fleet section (None: not shared)."""
        if self.fleet_lease is None:
            return None
        now = self.clock()
        return fleet_page(self.store.replicas(now, self.fleet_lease),
                          self.store.image_set_version(), now)

    def status_document(self) -> dict[str, Any]:
        """What ``watcher status --json`` prints (without the config's warnings)."""
        document = {**status_document(self._rows(), self.store.delivery_counts(),
                                      self.store.dependents()),
                    "registries": [budget_document(b) for b in self.store.registry_budgets()]}
        if self.fleet_lease is not None:
            replicas = self.store.replicas(self.clock(), self.fleet_lease)
            document["fleet"] = fleet_document(replicas, self.store.image_set_version())
        return document

    def image(self, ref: str) -> ImageDetail | None:
        row = self._row(ref)
        if row is None:
            return None
        return image_detail(row, self.store.history(ref), self._events(ref),
                            self.store.deliveries(ref=ref), self.clock())

    def image_document(self, ref: str) -> dict[str, Any] | None:
        row = self._row(ref)
        if row is None:
            return None
        return image_api_document(row, self.store.history(ref), self._events(ref),
                                  self.store.deliveries(ref=ref), self.clock())

    def _events(self, ref: str) -> list[Any]:
        return self.store.events(ref, states=(EventState.PENDING, EventState.ACKNOWLEDGED))

    def deliveries(self) -> dict[str, Any]:
        wanted = {PENDING, *FAILING_STATES}
        groups = by_event(self.store.deliveries(states=wanted))
        budgets = self.budgets(self.store) if self.budgets else []
        return {"groups": groups, "counts": plain_counts(self.store.delivery_counts()),
                "budgets": budgets, "now": self.clock()}
