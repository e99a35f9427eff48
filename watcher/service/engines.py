"""Engine sources, wired: read each ``[[sources.engine]]``, track the images its containers
run (merged with the config's ``[[images]]``), and link each container to its image as a
dependent.

One image used by many containers is tracked once, with each container a dependent. An
engine that cannot be read is reported with its typed error and keeps its last links (and
so its images): the other engines and the config's images go on. Which image of an index a
container runs is read once from the registry when the engine does not say (Docker records
only the index it pulled; Podman records both) and kept in the link's details.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from watcher.config import Config, TrackedImage
from watcher.config.engines import EngineSourceConfig
from watcher.core.containers import SkippedContainer, WatchedContainer, classify
from watcher.core.platform import normalize_platform, normalize_platforms
from watcher.core.reference import ImageReference, parse_reference
from watcher.core.tags import TagPolicy
from watcher.errors import EngineError, InvalidReference, RegistryError, WatcherError
from watcher.logs import get_logger
from watcher.registry import RegistryClient
from watcher.service.file_links import FILES_KIND, FileSources, FilesReading
from watcher.service.registries import registry_settings
from watcher.sources.engine import EngineEndpoint, EngineScan, scan_engine
from watcher.store import Dependent, Link, Store

log = get_logger("watcher.engines")

ENGINE_KIND = "engine"


@dataclass(frozen=True)
class EngineReading:
    """One engine read once: what it runs, or why it could not be read."""

    source: EngineSourceConfig
    scan: EngineScan | None = None
    error: EngineError | None = None
    watched: tuple[WatchedContainer, ...] = ()
    skipped: tuple[SkippedContainer, ...] = ()


@dataclass(frozen=True)
class Discovery:
    """The images to check (the config's, then the engines', then the files sources'), and
    each source's reading."""

    images: tuple[TrackedImage, ...]
    readings: tuple[EngineReading, ...] = ()
    added: tuple[str, ...] = field(default=())  # the sources' images not in the config
    files: tuple[FilesReading, ...] = ()

    @property
    def errors(self) -> list[WatcherError]:
        errors: list[WatcherError] = [r.error for r in self.readings if r.error is not None]
        return errors + [r.error for r in self.files if r.error is not None]


def endpoint_for(source: EngineSourceConfig) -> EngineEndpoint:
    return EngineEndpoint(
        name=source.name, url=source.url, tls=source.tls, stopped=source.stopped,
        ca_file=str(source.ca_file) if source.ca_file else None,
        client_cert=str(source.client_cert) if source.client_cert else None,
        client_key=str(source.client_key) if source.client_key else None,
    )


async def read_engine(source: EngineSourceConfig) -> EngineReading:
    try:
        scan = await scan_engine(endpoint_for(source))
    except EngineError as exc:
        log.warning("engine unavailable; its last known containers are kept",
                    engine=source.name, error=exc.message)
        return EngineReading(source, error=exc)
    watched, skipped = [], []
    for container in scan.containers:
        verdict = classify(container, labelled_only=source.labelled_only)
        if isinstance(verdict, WatchedContainer):
            watched.append(verdict)
        else:
            skipped.append(verdict)
            log.debug("container skipped", engine=source.name, container=container.name,
                      reason=verdict.reason)
    return EngineReading(source, scan, None, tuple(watched), tuple(skipped))


async def discover(
    config: Config, store: Store, *, client: RegistryClient | None = None,
    files: FileSources | None = None,
) -> Discovery:
    """Read every source of ``config`` (the engines at once, the files sources in a
    thread); make the config's and the sources' images the tracked ones; replace each
    source's links. ``client`` reads which image of an index a container runs, when its
    engine does not say (one is opened when not given). ``files`` keeps the files sources'
    scanners from one reading to the next (only changed files are read again)."""
    if not config.sources.engines and not config.sources.files:
        await asyncio.to_thread(store.sync_images, [str(i.ref) for i in config.images])
        return Discovery(config.images)
    engines_read, files_read = await asyncio.gather(
        asyncio.gather(*(read_engine(s) for s in config.sources.engines)),
        (files or FileSources()).read_async(config))
    readings, file_readings = tuple(engines_read), tuple(files_read)
    kept: dict[str, set[str]] = {}
    for reading in readings:
        if reading.error is not None:
            kept[f"{ENGINE_KIND}/{reading.source.name}"] = await asyncio.to_thread(
                store.linked_refs, ENGINE_KIND, reading.source.name)
    for file_reading in file_readings:
        if file_reading.error is None:
            kept[f"{FILES_KIND}/{file_reading.source.name}"] = set(file_reading.refs)
        else:
            kept[f"{FILES_KIND}/{file_reading.source.name}"] = await asyncio.to_thread(
                store.linked_refs, FILES_KIND, file_reading.source.name)
    images = merge_images(config.images, readings, kept)
    configured = {str(i.ref) for i in config.images}
    await asyncio.to_thread(store.sync_images, [str(i.ref) for i in images])
    now = datetime.now(UTC)
    for file_reading in file_readings:
        if file_reading.error is None:
            await asyncio.to_thread(store.replace_links, FILES_KIND, file_reading.source.name,
                                    list(file_reading.links), now=now)
    if not config.sources.engines:
        added = tuple(str(i.ref) for i in images if str(i.ref) not in configured)
        return Discovery(images, (), added, file_readings)
    previous = await asyncio.to_thread(store.dependents, None, source_kind=ENGINE_KIND)
    known = _known_platform_digests(previous)
    if client is None:
        # A credential helper failing leaves that registry's lookups undone, not the rest.
        settings, default = registry_settings(config, list(images), problems={})
        async with RegistryClient(settings, default=default) as own:
            await _resolve_platform_digests(own, readings, known)
    else:
        await _resolve_platform_digests(client, readings, known)
    for reading in readings:
        if reading.error is None:
            links = [_link(reading.source.name, w, known) for w in reading.watched]
            await asyncio.to_thread(store.replace_links, ENGINE_KIND, reading.source.name,
                                    links, now=now)
    added = tuple(str(i.ref) for i in images if str(i.ref) not in configured)
    return Discovery(images, readings, added, file_readings)


def merge_images(
    configured: Sequence[TrackedImage],
    readings: Sequence[EngineReading],
    kept: Mapping[str, set[str]] | None = None,
) -> tuple[TrackedImage, ...]:
    """The config's images, then each image the engines' containers run that the config
    does not list: its platforms are the containers' (or their ``watcher.platforms``
    label), its tag patterns their labels' (the first container's, by engine and name);
    then the images of ``kept`` (by source: what the files sources use now, the last links
    of a source that cannot be read), with the defaults."""
    images: dict[str, TrackedImage] = {str(i.ref): i for i in configured}
    found: dict[str, list[WatchedContainer]] = {}
    for reading in readings:
        for watched in reading.watched:
            found.setdefault(str(watched.ref), []).append(watched)
    for ref, containers in sorted(found.items()):
        if ref not in images:
            images[ref] = _tracked(containers)
    for refs in (kept or {}).values():
        for ref in sorted(refs):
            if ref not in images:
                images[ref] = _default_image(parse_reference(ref))
    return tuple(images.values())


def _tracked(containers: Sequence[WatchedContainer]) -> TrackedImage:
    first = containers[0]
    platforms: set[str] = set()
    for watched in containers:
        if watched.platforms is not None:
            platforms |= watched.platforms
        elif watched.container.platform:
            platforms.add(normalize_platform(watched.container.platform))
    include = next((w.include for w in containers if w.include), None)
    exclude = next((w.exclude for w in containers if w.exclude), None)
    return replace(
        _default_image(first.ref),
        platforms=frozenset(platforms) or None,
        tags=TagPolicy(include=include, exclude=exclude),
    )


def _default_image(ref: ImageReference) -> TrackedImage:
    return TrackedImage(ref=ref, list_tags=ref.digest is None)


def _known_platform_digests(
    previous: Mapping[str, list[Dependent]],
) -> dict[tuple[str, str, str], str]:
    """(repository, running digest, platform) -> the platform's image, as links recorded."""
    known = {}
    for ref, dependents in previous.items():
        try:
            name = parse_reference(ref).name
        except InvalidReference:
            continue
        for dependent in dependents:
            details = dependent.details
            running, platform = details.get("running") or [], details.get("platform")
            digest = details.get("platform_digest")
            if running and platform and digest:
                known[(name, str(running[0]), str(platform))] = str(digest)
    return known


async def _resolve_platform_digests(
    client: RegistryClient, readings: Sequence[EngineReading],
    known: dict[tuple[str, str, str], str],
) -> None:
    """Fill ``known`` for the containers whose engine recorded one digest only: read that
    manifest; for an index, its entry for the container's platform."""
    wanted: dict[tuple[str, str, str], ImageReference] = {}
    for reading in readings:
        for watched in reading.watched:
            platform = watched.container.platform
            if watched.pinned or len(watched.running) != 1 or not platform:
                continue
            key = (watched.ref.name, watched.running[0], normalize_platform(platform))
            if key not in known:
                wanted[key] = replace(watched.ref, tag=None, digest=watched.running[0])

    async def resolve(key: tuple[str, str, str], ref: ImageReference) -> None:
        try:
            manifest = await client.resolve(ref)
        except (RegistryError, WatcherError) as exc:
            log.info("cannot read which image of its index a container runs",
                     image=str(ref), error=exc.message)
            return
        if not manifest.platforms:
            known[key] = manifest.digest
            return
        digest = normalize_platforms(manifest.platforms).get(key[2])
        if digest is not None:
            known[key] = digest

    await asyncio.gather(*(resolve(key, ref) for key, ref in wanted.items()))


def _link(host: str, watched: WatchedContainer, known: Mapping[tuple[str, str, str], str]
          ) -> Link:
    container = watched.container
    platform = normalize_platform(container.platform) if container.platform else None
    platform_digest = None
    if watched.running and platform:
        platform_digest = known.get((watched.ref.name, watched.running[0], platform))
    details: dict[str, Any] = {
        "host": host,
        "container_id": container.id,
        "name": container.name,
        "image": container.image,
        "image_id": container.image_id,
        "state": container.state,
        "running": list(watched.running),
        "platform": platform,
        "platform_digest": platform_digest,
        "pinned": watched.pinned,
        "created_at": _iso(container.created_at),
        "started_at": _iso(container.started_at),
    }
    return Link(str(watched.ref), container.id, container.name, details)


def engines_document(readings: Sequence[EngineReading]) -> list[dict[str, Any]]:
    """Each engine's reading for ``--json``: its containers watched and skipped, or its
    error."""
    return [
        {
            "name": r.source.name,
            "url": r.source.url,
            "error": r.error.message if r.error else None,
            "api_version": r.scan.api_version if r.scan else None,
            "watched": [{"name": w.container.name, "id": w.container.id, "image": str(w.ref)}
                        for w in r.watched],
            "skipped": [{"name": s.container.name, "id": s.container.id,
                         "image": s.container.image, "reason": s.reason} for s in r.skipped],
        }
        for r in readings
    ]


def engine_lines(readings: Sequence[EngineReading], *, skipped: bool = False) -> list[str]:
    """One line per engine read (``check``'s text); with ``skipped``, why each container
    that is not watched is not."""
    lines = []
    for r in readings:
        if r.scan is None:
            continue
        images = len({str(w.ref) for w in r.watched})
        lines.append(f"engine {r.source.name}: {len(r.watched)} containers watched "
                     f"({images} images), {len(r.skipped)} skipped")
        if skipped:
            lines.extend(f"  skipped {s.container.name}: {s.reason}" for s in r.skipped)
    return lines


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


__all__ = ["ENGINE_KIND", "Discovery", "EngineReading", "discover", "engine_lines",
           "engines_document", "merge_images", "read_engine"]
