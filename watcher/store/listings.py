"""The Store's methods for what registries said: when each repository's tags were last
listed, and each registry's last stated rate-limit budget.

A mixin of :class:`~watcher.store.store.Store`, like the outbox methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from watcher.store.engine import reading
from watcher.store.guard import storage_errors
from watcher.store.parts import StoreParts
from watcher.store.schema import registry_budgets, tag_listings

Repository = tuple[str, str]  # (registry, repository)


@dataclass(frozen=True)
class TagListing:
    registry: str
    repository: str
    listed_at: datetime
    list_digest: str
    tag_count: int


@dataclass(frozen=True)
class RegistryBudget:
    """What a registry last said of its budget (``limit``/``remaining`` requests in a window
    of ``window_seconds``), and how often it asked to back off."""

    registry: str
    observed_at: datetime
    limit: int | None = None
    remaining: int | None = None
    window_seconds: float | None = None
    backoffs: int = 0
    paused_until: datetime | None = None


class ListingMethods(StoreParts):
    @storage_errors
    def tag_listings(self, repositories: Iterable[Repository]) -> dict[Repository, TagListing]:
        """The last listing of each of ``repositories`` that has one."""
        wanted = sorted(set(repositories))
        found: dict[Repository, TagListing] = {}
        with reading(self._engine) as connection:
            for start in range(0, len(wanted), 400):
                chunk = wanted[start : start + 400]
                rows = connection.execute(
                    select(tag_listings).where(
                        tuple_(tag_listings.c.registry, tag_listings.c.repository).in_(chunk)
                    )
                )
                for row in rows:
                    found[(row.registry, row.repository)] = TagListing(
                        row.registry, row.repository, row.listed_at, row.list_digest,
                        row.tag_count)
        return found

    def record_tag_listing(self, listing: TagListing) -> None:
        """Keep ``listing`` as its repository's last, unless a later one is stored already
        (another process listed meanwhile)."""
        self.record_tag_listings([listing])

    @storage_errors
    def record_tag_listings(self, listings: Iterable[TagListing]) -> None:
        """:meth:`record_tag_listing` for each of ``listings``, in one transaction."""
        wanted = list(listings)
        if not wanted:
            return
        with self._writing() as connection:
            for listing in wanted:
                _keep_listing(connection, listing)

    @storage_errors
    def record_registry_budgets(self, budgets: Iterable[RegistryBudget]) -> None:
        """Keep each registry's budget as its latest, in one transaction."""
        wanted = list(budgets)
        if not wanted:
            return
        table = registry_budgets
        with self._writing() as connection:
            for budget in wanted:
                values = {"observed_at": budget.observed_at, "limit": budget.limit,
                          "remaining": budget.remaining,
                          "window_seconds": budget.window_seconds,
                          "backoffs": budget.backoffs, "paused_until": budget.paused_until}
                changed = connection.execute(
                    update(table).where(table.c.registry == budget.registry).values(**values)
                ).rowcount
                if not changed:
                    try:
                        with connection.begin_nested():
                            connection.execute(
                                table.insert().values(registry=budget.registry, **values))
                    except IntegrityError:
                        pass  # another process recorded this registry just now

    @storage_errors
    def registry_budgets(self) -> list[RegistryBudget]:
        with reading(self._engine) as connection:
            rows = connection.execute(select(registry_budgets).order_by(
                registry_budgets.c.registry))
            return [RegistryBudget(r.registry, r.observed_at, r.limit, r.remaining,
                                   r.window_seconds, r.backoffs, r.paused_until) for r in rows]


def _keep_listing(connection: Connection, listing: TagListing) -> None:
    table = tag_listings
    key = (table.c.registry == listing.registry) & (table.c.repository == listing.repository)
    changed = connection.execute(
        update(table)
        .where(key & (table.c.listed_at <= listing.listed_at))
        .values(listed_at=listing.listed_at, list_digest=listing.list_digest,
                tag_count=listing.tag_count)
    ).rowcount
    if changed:
        return
    if connection.execute(select(table.c.id).where(key)).first() is not None:
        return  # a later listing is stored
    try:
        with connection.begin_nested():
            connection.execute(table.insert().values(
                registry=listing.registry, repository=listing.repository,
                listed_at=listing.listed_at, list_digest=listing.list_digest,
                tag_count=listing.tag_count))
    except IntegrityError:
        pass  # another process stored its listing first: it is as good as this one
