"""One check round: ask the registries, rank tags, decide what changed, record it.

The rules about images live in ``core``: ``core.changes`` decides what changed,
``core.round`` tells a failing registry from vanished tags, ``core.tags`` ranks. This module
holds the flow of a round: registry I/O runs concurrently (the client bounds it per
registry, and a check starts only when it gets one of its registry's slots); "not found"
answers wait for the round's end; anything unexpected fails one image, not the round. The
tag listings are ``service.listing``'s (once per repository per round, ranked again only
when something changed); one writer task (``service.writer``) records the decisions.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from watcher.config import Config, TrackedImage
from watcher.core.changes import ImageState, Observation
from watcher.core.delivery import Route
from watcher.core.observation import ManifestObservation
from watcher.core.reference import ImageReference, parse_reference
from watcher.core.round import RoundItem, registry_failed, tracked, vanished_registries
from watcher.core.schedule import slot_offset
from watcher.errors import NotFound, RegistryError
from watcher.logs import get_logger
from watcher.registry import RegistryClient
from watcher.service.inside import explain_change
from watcher.service.listing import TagLister, unexpected
from watcher.service.registries import registry_settings
from watcher.service.report import RoundReport
from watcher.service.summary import log_round
from watcher.service.writer import Pending, Progress, RoundWriter, watch_policy
from watcher.store import RegistryBudget, Store

log = get_logger("watcher.service")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def images_to_check(config: Config, refs: Sequence[str] = ()) -> list[TrackedImage]:
    """The configured images, or the given references (configured settings kept where known)."""
    if not refs:
        return list(config.images)
    configured = {str(image.ref): image for image in config.images}
    chosen = []
    for text in refs:
        ref = parse_reference(text)
        chosen.append(
            configured.get(str(ref)) or TrackedImage(ref=ref, list_tags=ref.digest is None)
        )
    return chosen


class CheckRound:
    """Checks a set of images once against one registry client and one store."""

    def __init__(
        self,
        client: RegistryClient,
        store: Store,
        *,
        clock: Clock = utcnow,
        progress: Progress | None = None,
        unusable: Mapping[str, str] | None = None,
        stop: asyncio.Event | None = None,
        routes: Sequence[Route] = (),
        soak: float = 0.0,
        tags_interval: Callable[[TrackedImage], float] | None = None,
        list_tags: bool = False,
        spread: float = 0.0,
    ) -> None:
        """``unusable`` maps registries that cannot be asked (no credentials) to the reason.

        ``routes`` are the channels' subscriptions: each event recorded gets its deliveries in
        the same transaction, tagged with this round's id; ``soak`` is the global soak window
        (an image's own wins).

        ``tags_interval`` gives each image's tag-listing interval: between listings, its
        ranking is reused without a request (each repository's last listing is stored);
        None, or ``list_tags``, lists every repository in this round.

        ``spread`` (seconds, the schedule's jitter) delays each repository's checks by a
        stable offset within it, so that a large fleet does not fire at once.

        Once ``stop`` is set, checks not yet started are not started (they are left out of
        the report and the database); checks already started finish and are recorded. A
        check starts when it gets one of its registry's ``max_concurrency`` slots.
        """
        self._client = client
        self._stop = stop
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._unusable = dict(unusable or {})
        self._store = store
        self._clock = clock
        self._tags = TagLister(client, clock, None if list_tags else tags_interval)
        self._spread = spread
        self.round_id = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        self._writer = RoundWriter(store, round_id=self.round_id, routes=routes, soak=soak,
                                   progress=progress, unrecorded=self._tags.take_unrecorded)

    async def run(self, images: Iterable[TrackedImage]) -> RoundReport:
        started = time.monotonic()
        with self._client.count_requests() as requests:
            report = await self._run(list(images))
        return replace(report, round_id=self.round_id, duration=time.monotonic() - started,
                       requests=requests.sent)

    async def _run(self, images: list[TrackedImage]) -> RoundReport:
        # Inactive images too: one checked by name continues from its stored state.
        states = self._store.load_states([str(i.ref) for i in images], include_inactive=True)
        self._tags.load(self._store, images)
        queue: asyncio.Queue[Pending | None] = asyncio.Queue()
        writer = asyncio.create_task(self._writer.run(queue))
        try:
            pending = await asyncio.gather(
                *(self._check(image, states.get(str(image.ref)), queue) for image in images)
            )
            # Tags reported missing wait for the round's end: if every tracked tag of a
            # registry vanished at once, the registry failed (empty storage), no tag did.
            started = [p for p in pending if p is not None]
            held = [p for p in started if p.held]
            for item in _registry_vanished(started, held):
                await queue.put(item)
        finally:
            await queue.put(None)
            await writer
            listings = self._tags.take_unrecorded()
            if listings:
                await asyncio.to_thread(self._store.record_tag_listings, listings)
        started = [p for p in pending if p is not None]
        return RoundReport(
            tuple(p.done.result() for p in started), not_started=len(pending) - len(started)
        )

    async def _check(
        self,
        image: TrackedImage,
        previous: ImageState | None,
        queue: asyncio.Queue[Pending | None],
    ) -> Pending | None:
        ref = image.ref
        if self._spread > 0 and not await self._wait_for_slot(ref):
            return None
        slots = self._slots.get(ref.registry)
        if slots is None:
            limit = self._client.settings_for(ref).max_concurrency
            slots = self._slots[ref.registry] = asyncio.Semaphore(limit)
        async with slots:
            if self._stop is not None and self._stop.is_set():
                return None
            return await self._check_now(image, previous, queue)

    async def _wait_for_slot(self, ref: ImageReference) -> bool:
        """Wait for this repository's offset in the spread; False when told to stop."""
        delay = slot_offset(f"{ref.registry}/{ref.repository}", self._spread)
        if delay <= 0:
            return True
        if self._stop is None:
            await asyncio.sleep(delay)
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)
        return not self._stop.is_set()

    async def _check_now(
        self,
        image: TrackedImage,
        previous: ImageState | None,
        queue: asyncio.Queue[Pending | None],
    ) -> Pending:
        try:
            with self._client.retry_budget(image.ref):
                observation = await self._observe(image, previous)
        except Exception as exc:
            log.exception("check failed unexpectedly", image=str(image.ref))
            observation = Observation(self._clock(), error=unexpected(image.ref, exc))
        item = Pending(image, previous, observation, asyncio.get_running_loop().create_future(),
                        held=observation.not_found and tracked(previous))
        if not item.held:
            await queue.put(item)
        return item

    async def _observe(self, image: TrackedImage, previous: ImageState | None) -> Observation:
        ref = image.ref
        problem = self._unusable.get(ref.registry)
        if problem is not None:
            return Observation(self._clock(), error=f"{ref} on {ref.registry}: {problem}")
        known = _known_manifest(previous)
        self._tags.start_if_due(image, previous)
        try:
            manifest = await self._client.resolve(ref, known=known)
        except NotFound as exc:
            return Observation(self._clock(), error=exc.message, error_status=404, not_found=True)
        except RegistryError as exc:
            return Observation(self._clock(), error=exc.message, error_status=exc.status)
        explanation = None
        if previous is not None and previous.digest and manifest.digest != previous.digest:
            explanation = await explain_change(
                self._client, image, previous, manifest,
                (lambda: self._tags.listed_tags(image.ref)) if image.list_tags else None)
        newer, fingerprint, tags_error = await self._tags.newer_versions(image, previous)
        return Observation(
            self._clock(),
            manifest=manifest,
            newer=newer,
            tags_fingerprint=fingerprint,
            tags_error=tags_error,
            explanation=explanation,
        )

def _registry_vanished(pending: Sequence[Pending], held: Sequence[Pending]) -> list[Pending]:
    """The held items, their "not found" turned into a registry failure where every tracked
    tag of that registry vanished in this round (``core.round``)."""
    items = {id(p): RoundItem(str(p.image.ref), p.image.ref.registry, p.previous, p.observation)
             for p in pending}
    vanished = vanished_registries(list(items.values()))
    for host, count in vanished.items():
        log.warning("every tracked tag of a registry vanished", registry=host, images=count)
    result = []
    for item in held:
        host = item.image.ref.registry
        if host in vanished:
            item = replace(item, observation=registry_failed(items[id(item)], vanished[host]))
        result.append(item)
    return result


def _known_manifest(previous: ImageState | None) -> ManifestObservation | None:
    if previous is None or previous.digest is None or previous.media_type is None:
        return None
    return ManifestObservation(previous.digest, previous.media_type, previous.platforms)


def _budgets(client: RegistryClient, now: datetime) -> list[RegistryBudget]:
    return [
        RegistryBudget(
            seen.registry, now, seen.limit, seen.remaining, seen.window, seen.backoffs,
            datetime.fromtimestamp(seen.paused_until, UTC) if seen.paused_until else None)
        for seen in client.budgets()
    ]


async def check_images(
    config: Config,
    store: Store,
    images: Sequence[TrackedImage],
    *,
    clock: Clock = utcnow,
    progress: Progress | None = None,
    client: RegistryClient | None = None,
    unusable: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
    list_tags: bool = False,
    spread: float = 0.0,
) -> RoundReport:
    """Run one round over ``images``: with ``client`` (the caller owns it; ``unusable`` as
    for :class:`CheckRound`), else with a client built from ``config`` for this round.
    Tags are listed per the images' ``tags_interval``, or for every repository with
    ``list_tags``."""
    if client is None:
        # A credential helper failing for one registry fails that registry's images only.
        problems: dict[str, str] = {}
        settings, default = registry_settings(config, images, problems=problems)
        for host, problem in problems.items():
            log.warning("registry credentials unavailable", registry=host, error=problem)
        async with RegistryClient(settings, default=default) as own:
            return await check_images(config, store, images, clock=clock, progress=progress,
                                      client=own, unusable=problems, stop=stop,
                                      list_tags=list_tags, spread=spread)
    report = await CheckRound(
        client, store, clock=clock, progress=progress, unusable=unusable, stop=stop,
        routes=[channel.route for channel in config.channels], soak=config.soak,
        tags_interval=config.tags_interval_of, list_tags=list_tags, spread=spread,
    ).run(images)
    await asyncio.to_thread(store.record_registry_budgets, _budgets(client, utcnow()))
    log_round(report)
    return report


__all__ = [
    "CheckRound",
    "check_images",
    "images_to_check",
    "watch_policy",
]
