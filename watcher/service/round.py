"""One check round: ask the registries, rank tags, decide what changed, record it.

The rules about images live in ``core``: ``core.changes`` decides what changed,
``core.round`` tells a failing registry from vanished tags, ``core.tags`` ranks. This module
holds the rules of running a round: registry I/O runs concurrently (the client bounds it per
registry, and a check starts only when it gets one of its registry's slots); a repository's
tags are listed once per round for all its images, and ranked again only when the list, the
tag, the tag policy or the ranking rules changed (the fingerprint); "not found" answers wait
for the round's end; anything unexpected fails one image, not the round. One writer task
applies the decisions to the database in the order they arrive, a batch per transaction
(group commit), each decided against the state stored at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from watcher.config import Config, TrackedImage
from watcher.core.changes import (
    CheckDecision,
    CheckState,
    ImageState,
    NewerVersions,
    Observation,
    WatchPolicy,
    decide,
    superseded,
)
from watcher.core.delivery import Route
from watcher.core.observation import ManifestObservation
from watcher.core.reference import ImageReference, parse_reference
from watcher.core.round import RoundItem, registry_failed, tracked, vanished_registries
from watcher.core.schedule import slot_offset
from watcher.core.tags import RULES_VERSION, TagPolicy, rank_tags
from watcher.errors import NotFound, RegistryError
from watcher.logs import get_logger
from watcher.registry import RegistryClient
from watcher.service.inside import explain_change
from watcher.service.registries import registry_settings
from watcher.service.report import ImageCheck, RoundReport
from watcher.service.summary import log_round
from watcher.store import Recording, RegistryBudget, Store, TagListing

log = get_logger("watcher.service")

Clock = Callable[[], datetime]
Progress = Callable[[ImageCheck], None]
WRITE_BATCH = 500  # checks recorded per transaction, at most


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


def watch_policy(image: TrackedImage) -> WatchPolicy:
    return WatchPolicy(
        platforms=image.platforms,
        notify_on_first_check=image.notify_on_first_check,
        tags=image.tags,
    )


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
        self._progress = progress
        self._tag_lists: dict[tuple[str, str], asyncio.Task[tuple[list[str], str]]] = {}
        self._tags_interval = None if list_tags else tags_interval
        self._listings: dict[tuple[str, str], TagListing] = {}
        self._unrecorded: list[TagListing] = []  # listings the writer has yet to record
        self._spread = spread
        self._routes = tuple(routes)
        self._soak = soak
        self.round_id = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"

    async def run(self, images: Iterable[TrackedImage]) -> RoundReport:
        started = time.monotonic()
        with self._client.count_requests() as requests:
            report = await self._run(list(images))
        return replace(report, round_id=self.round_id, duration=time.monotonic() - started,
                       requests=requests.sent)

    async def _run(self, images: list[TrackedImage]) -> RoundReport:
        # Inactive images too: one checked by name continues from its stored state.
        states = self._store.load_states([str(i.ref) for i in images], include_inactive=True)
        if self._tags_interval is not None:
            self._listings = self._store.tag_listings(
                (i.ref.registry, i.ref.repository) for i in images if i.list_tags)
        queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        writer = asyncio.create_task(self._write(queue))
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
            if self._unrecorded:
                listings, self._unrecorded = self._unrecorded, []
                await asyncio.to_thread(self._store.record_tag_listings, listings)
        started = [p for p in pending if p is not None]
        return RoundReport(
            tuple(p.done.result() for p in started), not_started=len(pending) - len(started)
        )

    async def _write(self, queue: asyncio.Queue[_Pending | None]) -> None:
        """The one writer: records the decisions in the order they arrive, a batch of them
        per transaction (group commit: whatever arrived while the last batch was written,
        up to ``WRITE_BATCH``), so a crash loses at most the batch in flight.

        Each decision is made inside that transaction, against the state stored at that
        moment: another process may have recorded a check of the same image meanwhile.
        """
        finished = False
        while not finished:
            item = await queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < WRITE_BATCH and not queue.empty():
                more = queue.get_nowait()
                if more is None:
                    finished = True
                    break
                batch.append(more)
            listings, self._unrecorded = self._unrecorded, []
            checks = await asyncio.to_thread(self._record, batch, listings)
            for pending, check in zip(batch, checks, strict=True):
                _log_check(check)
                pending.done.set_result(check)
                if self._progress is not None:
                    self._progress(check)

    def _record(
        self, batch: Sequence[_Pending], listings: Sequence[TagListing] = ()
    ) -> list[ImageCheck]:
        """Record the batch; first the tag listings made since the last one (with the same
        thread hop, in a transaction of their own)."""
        if listings:
            self._store.record_tag_listings(listings)
        stored: list[ImageState] = []
        recordings = [self._recording(item, stored) for item in batch]
        decisions = self._store.record_many(recordings, routes=self._routes,
                                            round_id=self.round_id)
        checks = []
        for item, against, decision in zip(batch, stored, decisions, strict=True):
            if decision is None:
                log.info("newer check recorded meanwhile; this one is dropped",
                         image=str(item.image.ref))
                unchanged = CheckDecision(CheckState.UNCHANGED, against)
                checks.append(ImageCheck(item.image, against, item.observation, unchanged,
                                         superseded=True))
            else:
                checks.append(ImageCheck(item.image, against, item.observation, decision))
        return checks

    def _recording(self, item: _Pending, stored: list[ImageState]) -> Recording:
        """What the store needs to record ``item``; the state it is decided against is
        appended to ``stored``."""
        observation, policy = item.observation, watch_policy(item.image)

        def decide_now(state: ImageState) -> CheckDecision | None:
            stored.append(state)
            if superseded(state, observation):
                return None
            try:
                return decide(state, observation, policy)
            except Exception as exc:
                # Anything the typed errors do not cover fails this image only: the rest of
                # the round goes on, and it keeps its last good state like any failed check.
                log.exception("check failed unexpectedly", image=str(item.image.ref))
                failed = Observation(observation.checked_at, error=_unexpected(item.image.ref, exc))
                return decide(state, failed, policy)

        soak = self._soak if item.image.soak is None else item.image.soak
        return Recording(str(item.image.ref), decide_now, soak=soak, now=observation.checked_at)

    async def _check(
        self,
        image: TrackedImage,
        previous: ImageState | None,
        queue: asyncio.Queue[_Pending | None],
    ) -> _Pending | None:
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
        queue: asyncio.Queue[_Pending | None],
    ) -> _Pending:
        try:
            with self._client.retry_budget(image.ref):
                observation = await self._observe(image, previous)
        except Exception as exc:
            log.exception("check failed unexpectedly", image=str(image.ref))
            observation = Observation(self._clock(), error=_unexpected(image.ref, exc))
        item = _Pending(image, previous, observation, asyncio.get_running_loop().create_future(),
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
        if image.list_tags and ref.tag is not None and not self._listed_recently(image, previous):
            # The repository's listing goes out beside the manifest request, not after it:
            # far from the registry that is one round trip per check instead of two.
            self._list_tags_soon(ref)
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
                (lambda: self._listed_tags(image.ref)) if image.list_tags else None)
        newer, fingerprint, tags_error = await self._newer_versions(image, previous)
        return Observation(
            self._clock(),
            manifest=manifest,
            newer=newer,
            tags_fingerprint=fingerprint,
            tags_error=tags_error,
            explanation=explanation,
        )

    async def _newer_versions(
        self, image: TrackedImage, previous: ImageState | None
    ) -> tuple[NewerVersions | None, str | None, str | None]:
        """Rank the repository's tags: (answers, fingerprint, why listing failed).

        The answers are None when not wanted or when listing failed (the previous ones stand);
        the failure is recorded in the image's state and shown by ``check`` and ``status``.
        """
        ref = image.ref
        if not image.list_tags or ref.tag is None:
            return None, None, None
        policy = image.tags
        reused = self._listed_recently(image, previous)
        if reused is not None:
            return previous.newer if previous else None, reused, None
        try:
            tags, listed = await self._list_tags(ref)
        except RegistryError as exc:
            log.debug("tag listing failed", image=str(ref), error=exc.message)
            return None, None, f"tag listing failed: {exc.message}"
        except Exception as exc:
            log.exception("tag listing failed unexpectedly", image=str(ref))
            return None, None, f"tag listing failed: {_unexpected(ref, exc)}"
        fingerprint = _fingerprint(ref.tag, policy, listed)
        if previous is not None and previous.tags_fingerprint == fingerprint:
            return previous.newer, fingerprint, None
        try:
            answer = rank_tags(ref.tag, tags, policy)
        except Exception as exc:
            log.exception("tag ranking failed", image=str(ref))
            return None, None, f"tag ranking failed: {type(exc).__name__}: {exc}"
        return NewerVersions(answer.same_line, answer.newest), fingerprint, None

    def _listed_recently(self, image: TrackedImage, previous: ImageState | None) -> str | None:
        """The image's fingerprint when its ranking stands without listing: its repository
        was listed within its ``tags_interval``, and that listing ranked it as it is now."""
        if self._tags_interval is None or previous is None or previous.tags_error:
            return None
        listing = self._listings.get((image.ref.registry, image.ref.repository))
        if listing is None or image.ref.tag is None:
            return None
        age = (self._clock() - listing.listed_at).total_seconds()
        if not 0 <= age < self._tags_interval(image):
            return None
        fingerprint = _fingerprint(image.ref.tag, image.tags, listing.list_digest)
        return fingerprint if fingerprint == previous.tags_fingerprint else None

    async def _list_tags(self, ref: ImageReference) -> tuple[list[str], str]:
        """One tag listing per repository per round, shared by every image of it, with a
        digest of the list (computed once: a repository may have thousands of tags)."""
        return await asyncio.shield(self._list_tags_soon(ref))

    def _list_tags_soon(self, ref: ImageReference) -> asyncio.Task[tuple[list[str], str]]:
        """The repository's listing task, started if it was not yet."""
        key = (ref.registry, ref.repository)
        task = self._tag_lists.get(key)
        if task is None:
            task = self._tag_lists[key] = asyncio.ensure_future(self._fetch_tag_list(ref))
            # Started early, it may end with no image waiting for it (their manifest
            # requests failed): its failure is then theirs to report, not asyncio's.
            task.add_done_callback(_retrieved)
        return task

    async def _listed_tags(self, ref: ImageReference) -> list[str]:
        tags, _ = await self._list_tags(ref)
        return tags

    async def _fetch_tag_list(self, ref: ImageReference) -> tuple[list[str], str]:
        listed_at = self._clock()
        tags = await self._client.list_tags(ref)
        digest = hashlib.sha256("\n".join(sorted(tags)).encode()).hexdigest()
        listing = TagListing(ref.registry, ref.repository, listed_at, digest, len(tags))
        self._listings[(ref.registry, ref.repository)] = listing
        self._unrecorded.append(listing)  # recorded by the writer: one transaction for many
        return tags, digest


@dataclass
class _Pending:
    """An image observed, on its way to the writer; ``done`` gets its ImageCheck."""

    image: TrackedImage
    previous: ImageState | None
    observation: Observation
    done: asyncio.Future[ImageCheck]
    held: bool = False  # a tag reported missing, held until the round's end


def _registry_vanished(pending: Sequence[_Pending], held: Sequence[_Pending]) -> list[_Pending]:
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


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _known_manifest(previous: ImageState | None) -> ManifestObservation | None:
    if previous is None or previous.digest is None or previous.media_type is None:
        return None
    return ManifestObservation(previous.digest, previous.media_type, previous.platforms)


def _unexpected(ref: ImageReference, exc: Exception) -> str:
    return f"{ref} on {ref.registry}: unexpected error: {type(exc).__name__}: {exc}"


def _fingerprint(current: str, policy: TagPolicy, tag_list: str) -> str:
    """Changes when the tag list, the tracked tag, the tag policy or the rules change: rank
    again."""
    text = f"{current}\x00{policy!r}\x00{RULES_VERSION}\x00{tag_list}"
    return hashlib.sha256(text.encode()).hexdigest()


def _budgets(client: RegistryClient, now: datetime) -> list[RegistryBudget]:
    return [
        RegistryBudget(
            seen.registry, now, seen.limit, seen.remaining, seen.window, seen.backoffs,
            datetime.fromtimestamp(seen.paused_until, UTC) if seen.paused_until else None)
        for seen in client.budgets()
    ]


def _log_check(check: ImageCheck) -> None:
    decision = check.decision
    if decision.state is CheckState.ERROR:  # folded per registry in the round's summary
        log.debug("check failed", image=check.ref, error=check.observation.error)
    elif decision.events:
        log.info("image changed", image=check.ref, events=[e.kind.value for e in decision.events])


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
