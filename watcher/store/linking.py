"""The Store's methods for dependents: what uses each tracked image.

A dependent is one place of one source that uses an image: a container of an engine source,
a line of a Dockerfile of a files source. Each time a source is read, its links are replaced
as a whole, in one transaction (:meth:`LinkingMethods.replace_links`): a container gone from
its host loses its link, while the image keeps its history. An image used by many
containers is one tracked image with many dependents.

A mixin of :class:`~watcher.store.store.Store`, like the outbox methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from watcher.store.codec import mapping
from watcher.store.engine import reading
from watcher.store.guard import storage_errors
from watcher.store.parts import StoreParts
from watcher.store.schema import dependents, images

_CHUNK = 500


@dataclass(frozen=True)
class Link:
    """One dependent as its source reports it now."""

    ref: str  # the tracked image it uses
    locator: str  # where: a container ID, a file path
    label: str  # what people call it: a container's name, ``path:line stage``
    details: Mapping[str, Any] = field(default_factory=dict)  # JSON: what the source knows


@dataclass(frozen=True)
class Dependent:
    """One dependent as stored, with when its source first and last reported it."""

    ref: str
    source_kind: str
    source_name: str
    locator: str
    label: str
    details: Mapping[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime


class LinkingMethods(StoreParts):
    @storage_errors
    def replace_links(
        self,
        source_kind: str,
        source_name: str,
        links: Sequence[Link],
        *,
        now: datetime | None = None,
    ) -> None:
        """Make ``links`` the whole of what one source says uses which image, atomically.

        A link already stored keeps its ``first_seen_at``; its label's details and
        ``last_seen_at`` are updated. Links of the source not given any more are removed.
        Every ``ref`` must be a tracked image already (``sync_images`` first).
        """
        now = now or datetime.now(UTC)
        with self._writing() as connection:
            refs = sorted({link.ref for link in links})
            ids: dict[str, int] = {}
            for start in range(0, len(refs), _CHUNK):
                chunk = refs[start : start + _CHUNK]
                ids.update((row.ref, row.id) for row in connection.execute(
                    select(images.c.ref, images.c.id).where(images.c.ref.in_(chunk))))
            unknown = [ref for ref in refs if ref not in ids]
            if unknown:
                raise ValueError(f"links to images not tracked: {', '.join(unknown[:5])}")
            stored = {
                (row.locator, row.label, row.image_id): row.id
                for row in connection.execute(
                    select(dependents.c.id, dependents.c.locator, dependents.c.label,
                           dependents.c.image_id)
                    .where(dependents.c.source_kind == source_kind)
                    .where(dependents.c.source_name == source_name)
                )
            }
            wanted: dict[tuple[str, str, int], Link] = {}
            for link in links:
                wanted[(link.locator, link.label, ids[link.ref])] = link
            gone = [row_id for key, row_id in stored.items() if key not in wanted]
            for start in range(0, len(gone), _CHUNK):
                connection.execute(
                    delete(dependents).where(dependents.c.id.in_(gone[start : start + _CHUNK])))
            for key, link in wanted.items():
                if key in stored:
                    connection.execute(
                        update(dependents).where(dependents.c.id == stored[key])
                        .values(details=dict(link.details), last_seen_at=now))
            new = [
                {"image_id": key[2], "source_kind": source_kind, "source_name": source_name,
                 "locator": link.locator, "label": link.label, "details": dict(link.details),
                 "first_seen_at": now, "last_seen_at": now}
                for key, link in wanted.items() if key not in stored
            ]
            if new:
                connection.execute(insert(dependents), new)

    @storage_errors
    def dependents(
        self, refs: Iterable[str] | None = None, *, source_kind: str | None = None
    ) -> dict[str, list[Dependent]]:
        """Each image's dependents (of every image that has some when ``refs`` is None),
        by source and label."""
        query = (
            select(dependents, images.c.ref)
            .join(images, images.c.id == dependents.c.image_id)
            .order_by(images.c.ref, dependents.c.source_kind, dependents.c.source_name,
                      dependents.c.label, dependents.c.locator)
        )
        if source_kind is not None:
            query = query.where(dependents.c.source_kind == source_kind)
        with reading(self._engine) as connection:
            if refs is None:
                rows = list(connection.execute(query))
            else:
                wanted = sorted(set(refs))
                rows = []
                for start in range(0, len(wanted), _CHUNK):
                    chunk = wanted[start : start + _CHUNK]
                    rows.extend(connection.execute(query.where(images.c.ref.in_(chunk))))
        found: dict[str, list[Dependent]] = {}
        for row in rows:
            found.setdefault(row.ref, []).append(Dependent(
                row.ref, row.source_kind, row.source_name, row.locator, row.label,
                mapping(row.details), row.first_seen_at, row.last_seen_at))
        return found

    @storage_errors
    def linked_refs(self, source_kind: str, source_name: str) -> set[str]:
        """The images one source's stored links use (kept while that source cannot be read)."""
        query = (
            select(images.c.ref).distinct()
            .join(dependents, images.c.id == dependents.c.image_id)
            .where(dependents.c.source_kind == source_kind)
            .where(dependents.c.source_name == source_name)
        )
        with reading(self._engine) as connection:
            return set(connection.scalars(query))
