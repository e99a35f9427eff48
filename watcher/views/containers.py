"""``watcher status --containers``: the containers of engine sources whose image is out of
date (stale: its tag moved for the container's platform) or has a newer version on offer,
with host, name, image, the digest running against the current one, and since when."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.core.changes import HistoryEntry, ImageState
from watcher.core.containers import Freshness, Verdict, judge, stale_since
from watcher.core.status import unacknowledged_newer
from watcher.store import Dependent, Store

ENGINE_KIND = "engine"


@dataclass(frozen=True)
class ContainerRow:
    host: str
    name: str
    container_id: str
    image: str  # the tracked reference
    state: str  # running, created, exited, ...
    platform: str | None
    verdict: Verdict
    since: datetime | None  # stale: when its tag moved to the current digest
    newer: tuple[str, ...]  # newer tags on offer, not acknowledged
    first_seen_at: datetime

    @property
    def stale(self) -> bool:
        return self.verdict.freshness is Freshness.STALE

    @property
    def needs_attention(self) -> bool:
        return self.stale or bool(self.newer)


def container_row(dependent: Dependent, state: ImageState | None,
                  history: Sequence[HistoryEntry] | None = None) -> ContainerRow:
    """One container; ``history`` (its image's) tells since when it is stale, else the
    tag's last change stands for it."""
    details = dependent.details
    running = [str(d) for d in details.get("running") or ()]
    platform = details.get("platform")
    pinned = details.get("pinned") and "@" in dependent.ref
    verdict = judge(
        running=running,
        platform=str(platform) if platform else None,
        platform_digest=details.get("platform_digest"),
        pinned=dependent.ref.split("@", 1)[1] if pinned else None,
        tag_digest=state.digest if state is not None else None,
        tag_platforms=state.platforms if state is not None else {},
    )
    stale = verdict.freshness is Freshness.STALE
    return ContainerRow(
        host=dependent.source_name,
        name=dependent.label,
        container_id=dependent.locator,
        image=dependent.ref,
        state=str(details.get("state") or "unknown"),
        platform=str(platform) if platform else None,
        verdict=verdict,
        since=_since(state, history, running, platform) if stale else None,
        newer=unacknowledged_newer(state) if state is not None and state.seen else (),
        first_seen_at=dependent.first_seen_at,
    )


def container_rows(
    dependents: Mapping[str, Sequence[Dependent]], states: Mapping[str, ImageState],
    *, everything: bool = False,
    histories: Mapping[str, Sequence[HistoryEntry]] | None = None,
) -> list[ContainerRow]:
    """The engine sources' containers needing attention (``everything``: all of them):
    stale first, then by host and name."""
    rows = [container_row(d, states.get(ref), (histories or {}).get(ref))
            for ref, items in dependents.items() for d in items if d.source_kind == ENGINE_KIND]
    if not everything:
        rows = [r for r in rows if r.needs_attention]
    return sorted(rows, key=lambda r: (not r.stale, r.host, r.name, r.image))


def container_document(row: ContainerRow) -> dict[str, Any]:
    return {
        "host": row.host,
        "name": row.name,
        "container_id": row.container_id,
        "image": row.image,
        "state": row.state,
        "platform": row.platform,
        "freshness": row.verdict.freshness.value,
        "stale": row.stale,
        "running_digest": row.verdict.running,
        "current_digest": row.verdict.current,
        "reason": row.verdict.reason,
        "since": _iso(row.since),
        "newer_versions": list(row.newer),
        "first_seen_at": _iso(row.first_seen_at),
    }


def containers_document(rows: Iterable[ContainerRow]) -> dict[str, Any]:
    listed = [container_document(r) for r in rows]
    return {"containers": listed, "stale": sum(1 for r in listed if r["stale"])}


def container_counts(store: Store) -> dict[str, int]:
    """How many containers of engine sources run each image (the page's column)."""
    return {ref: len(items) for ref, items in
            store.dependents(source_kind=ENGINE_KIND).items()}


def container_names(dependents: Iterable[Dependent]) -> list[str]:
    """``host/name`` of each container dependent, for notices."""
    return [f"{d.source_name}/{d.label}" for d in dependents if d.source_kind == ENGINE_KIND]


def _since(state: ImageState | None, history: Sequence[HistoryEntry] | None,
           running: Sequence[str], platform: object) -> datetime | None:
    if state is None:
        return None
    found = stale_since(history, running, str(platform) if platform else None) if history else None
    return found or state.last_changed_at


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
