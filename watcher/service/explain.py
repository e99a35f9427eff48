"""Everything watcher knows about one image, for ``watcher explain``: the stored state, its
history, pending events and deliveries, its dependents, the registry settings and
credentials it is asked with, and (unless offline) a live look: its digests now, the
repository's tags ranked with the orderer's reasons, the precise tag it equals and a
rebase target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from watcher.config import Config, TrackedImage, docker_credentials
from watcher.core.changes import HistoryEntry, HistoryKind, ImageState
from watcher.core.observation import ManifestObservation
from watcher.core.rebuild import dependent_document
from watcher.core.tags import TagAnswer, rank_tags
from watcher.core.tags.lines import rebase_targets
from watcher.errors import ConfigError, RegistryError
from watcher.registry import RegistryClient
from watcher.service.inside import precise_tag
from watcher.service.registries import registry_settings
from watcher.store import Delivery, Dependent, Store, StoredEvent


@dataclass(frozen=True)
class ImageFacts:
    image: TrackedImage
    configured: bool
    registry: dict[str, Any]
    state: ImageState | None = None
    history: Sequence[HistoryEntry] = ()
    last_change: HistoryEntry | None = None
    events: Sequence[StoredEvent] = ()
    deliveries: Sequence[Delivery] = ()
    dependents: list[dict[str, Any]] | None = None
    live: ManifestObservation | None = None
    answer: TagAnswer | None = None
    precise: str | None = None
    rebase: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def tracked_image(config: Config, ref: TrackedImage) -> tuple[TrackedImage, bool]:
    configured = {str(i.ref): i for i in config.images}
    found = configured.get(str(ref.ref))
    return (found, True) if found is not None else (ref, False)


def registry_facts(config: Config, image: TrackedImage) -> dict[str, Any]:
    """The registry host, how it is reached and with which credentials (never a secret)."""
    host = image.ref.registry
    entry = config.registry(host)
    facts: dict[str, Any] = {"host": host, "api_host": image.ref.api_host,
                             "configured": entry is not None,
                             "insecure": bool(entry and entry.insecure)}
    if entry is not None and entry.token is not None:
        facts["auth"] = "bearer token from the config file"
    elif entry is not None and entry.username is not None:
        facts["auth"] = f"username {entry.username} from the config file"
    else:
        try:
            credentials = docker_credentials(host, config.docker_config)
        except ConfigError as exc:
            facts["auth"] = f"Docker's config.json fails: {exc.message}"
        else:
            if credentials is None:
                facts["auth"] = "anonymous"
            elif credentials.username:
                facts["auth"] = f"username {credentials.username} from Docker's config.json"
            else:
                facts["auth"] = "a token from Docker's config.json"
    return facts


def stored_facts(store: Store, image: TrackedImage) -> dict[str, Any]:
    ref = str(image.ref)
    history = store.history(ref)
    last = next((e for e in reversed(history) if e.kind is HistoryKind.DIGEST_CHANGED), None)
    return {
        "state": store.load_state(ref),
        "history": history,
        "last_change": last,
        "events": store.events(ref),
        "deliveries": [d for d in store.deliveries(ref=ref, states=("pending",))],
        "dependents": [dependent_facts(d) for d in store.dependents([ref]).get(ref, [])],
    }


def dependent_facts(dependent: Dependent) -> dict[str, Any]:
    """One dependent as ``explain`` shows it: what and where (as notices carry it), the
    link's details, and when its source first and last reported it."""
    return {
        **dependent_document(dependent.source_kind, dependent.source_name, dependent.locator,
                             dependent.label, dependent.details),
        "details": dict(dependent.details),
        "first_seen_at": iso(dependent.first_seen_at),
        "last_seen_at": iso(dependent.last_seen_at),
    }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def live_facts(config: Config, image: TrackedImage) -> dict[str, Any]:
    """Asked of the registry now; each failure is a problem in the answer, not an error."""
    problems: list[str] = []
    result: dict[str, Any] = {"problems": problems}
    settings, default = registry_settings(config, [image])
    async with RegistryClient(settings, default=default) as client:
        try:
            result["live"] = live = await client.resolve(image.ref)
        except RegistryError as exc:
            problems.append(f"resolving: {exc.message}")
            return result
        if image.ref.tag is None or not image.list_tags:
            return result
        try:
            tags = await client.list_tags(image.ref)
        except RegistryError as exc:
            problems.append(f"tag listing: {exc.message}")
            return result
        result["answer"] = rank_tags(image.ref.tag, tags, image.tags)
        precise = await precise_tag(client, image, live.digest, tags)
        result["precise"] = precise
        result["rebase"] = (rebase_targets(image.ref.tag, tags, image.tags)
                            or (rebase_targets(precise, tags, image.tags) if precise else []))
    return result


async def image_facts(config: Config, store: Store | None, image: TrackedImage, *,
                      live: bool) -> ImageFacts:
    image, configured = tracked_image(config, image)
    facts: dict[str, Any] = {}
    problems = [] if store is not None else ["no database yet: nothing recorded (run watcher "
                                             "check)"]
    if store is not None:
        facts.update(stored_facts(store, image))
    if live:
        found = await live_facts(config, image)
        problems += found.pop("problems")
        facts.update(found)
    return ImageFacts(image=image, configured=configured,
                      registry=registry_facts(config, image), problems=problems, **facts)
