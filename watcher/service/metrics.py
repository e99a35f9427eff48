"""What ``/metrics`` shows, in Prometheus' text format (``prometheus-client``).

Counters and the latency histogram are updated as things happen (each check, each registry
request); what lives in the database (images needing attention, deliveries per channel) is
read at most every ``REFRESH`` seconds, in a thread, when scraped. A shared replica's fleet
gauges are set by its heartbeat (``observe_fleet``, at most every ``REFRESH`` seconds), never
by a scrape, so a slow database does not slow ``/metrics``. A registry of its own, never the
library's global one, so that nothing else ends up in the output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import generate_latest

from watcher import __version__
from watcher.core.changes import CheckState
from watcher.core.status import Concern, concerns
from watcher.service.report import RoundReport
from watcher.store import FleetCounts, Store

REFRESH = 15.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _outcome(state: CheckState, failed: bool) -> str:
    if failed:
        return "failed"
    return {CheckState.CHANGED: "changed", CheckState.ERROR: "failed"}.get(state, "unchanged")


@dataclass
class _Cached:
    at: float = -REFRESH
    images: dict[str, int] = field(default_factory=dict)
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)


class _FleetGauges:
    """The ``watcher_fleet_*`` gauges, registered only once a shared replica sets them (a
    single process shows none, rather than zeros that would mean an empty fleet)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.replicas = Gauge("watcher_fleet_replicas", "Shared replicas by state (alive: a "
                              "recent heartbeat; gone: none for a lease).", ["state"],
                              registry=registry)
        self.leases = Gauge("watcher_fleet_leases", "Images this replica holds leased "
                            "(claimed, being checked).", registry=registry)
        self.due = Gauge("watcher_fleet_images_due", "Active images due fleet-wide (never "
                         "checked, or their time has come).", registry=registry)
        self.overdue = Gauge("watcher_fleet_images_overdue", "Active images due for longer "
                             "than a lease fleet-wide (no replica got to them).",
                             registry=registry)
        self.claims = Gauge("watcher_fleet_claims_per_minute", "Images this replica claimed "
                            "in the last minute.", registry=registry)
        self.checks = Gauge("watcher_fleet_checks_per_minute", "Checks per minute of the live "
                            "replicas together, as their heartbeats said.", registry=registry)
        self.version = Gauge("watcher_fleet_image_set_version", "The image set version this "
                             "replica follows, and the newest in the database.", ["which"],
                             registry=registry)


class Metrics:
    """The daemon's metrics; ``observe_request`` is the registry client's observer."""

    def __init__(self, instance: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._clock = clock
        self._cached = _Cached()
        own = self.registry
        info = Info("watcher", "This process: its instance name and version.", registry=own)
        info.info({"instance": instance, "version": __version__})
        self.checks = Counter("watcher_checks", "Image checks, by registry and outcome.",
                              ["registry", "outcome"], registry=own)
        self.requests = Histogram(
            "watcher_registry_request_duration_seconds",
            "Registry requests: time to the response headers, by registry and method.",
            ["registry", "method"], buckets=LATENCY_BUCKETS, registry=own)
        self.responses = Counter("watcher_registry_responses",
                                 "Registry responses by status code (0: no answer).",
                                 ["registry", "code"], registry=own)
        self.images = Gauge("watcher_images", "Tracked images needing attention, by concern "
                            "(rebuild, newer, failing), and all of them (total).",
                            ["concern"], registry=own)
        self.deliveries = Gauge("watcher_deliveries", "Deliveries by channel and state "
                                "(pending, failed, ...).", ["channel", "state"], registry=own)
        self.last_round_time = Gauge("watcher_last_round_timestamp_seconds",
                                     "When the last check round ended (Unix time).", registry=own)
        self.last_round_duration = Gauge("watcher_last_round_duration_seconds",
                                         "How long the last check round took.", registry=own)
        self.rounds = Counter("watcher_rounds", "Check rounds finished.", registry=own)
        self.budget = Gauge("watcher_registry_budget_remaining",
                            "Requests left in the registry's rate-limit window, as its last "
                            "answer said (Docker Hub's RateLimit-Remaining).",
                            ["registry"], registry=own)

        self._fleet: _FleetGauges | None = None  # shared replicas only: made when first set
        self._fleet_at = -REFRESH

    def observe_request(self, registry: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(registry, method).observe(seconds)
        self.responses.labels(registry, str(status)).inc()

    def observe_round(self, report: RoundReport, duration: float) -> None:
        for check in report.checks:
            self.checks.labels(check.image.ref.registry,
                               _outcome(check.decision.state, check.failed)).inc()
        self.rounds.inc()
        self.last_round_time.set(time.time())
        self.last_round_duration.set(duration)

    def observe_budgets(self, budgets: Iterable[tuple[str, int]]) -> None:
        for registry, remaining in budgets:
            self.budget.labels(registry).set(remaining)

    def fleet_stale(self) -> bool:
        """Whether the fleet gauges were set ``REFRESH`` seconds ago or more."""
        return self._clock() - self._fleet_at >= REFRESH

    def observe_fleet(self, counts: FleetCounts, *, replica: str, follows: int | None,
                      claims_per_minute: float) -> None:
        """A shared replica's view of the fleet (``Store.fleet_counts``), from its heartbeat."""
        self._fleet_at = self._clock()
        if self._fleet is None:
            self._fleet = _FleetGauges(self.registry)
        gauges = self._fleet
        gauges.replicas.labels("alive").set(counts.alive)
        gauges.replicas.labels("gone").set(counts.gone)
        gauges.leases.set(counts.leases.get(replica, 0))
        gauges.due.set(counts.due)
        gauges.overdue.set(counts.overdue)
        gauges.claims.set(claims_per_minute)
        gauges.checks.set(counts.checks_per_minute)
        if follows is not None:
            gauges.version.labels("followed").set(follows)
        if counts.image_set_version is not None:
            gauges.version.labels("newest").set(counts.image_set_version)

    def refresh(self, store: Store) -> None:
        """Read what the database holds, unless read less than ``REFRESH`` seconds ago.
        Blocking: call it in a thread."""
        now = self._clock()
        if now - self._cached.at < REFRESH:
            return
        statuses = store.statuses()
        counts = {str(concern): 0 for concern in Concern}
        for item in statuses:
            for found in concerns(item.state, [p.kind for p in item.pending]):
                counts[str(found)] += 1
        counts["total"] = len(statuses)
        deliveries = {(channel, state.value): n
                      for channel, states in store.delivery_counts().items()
                      for state, n in states.items()}
        for concern, n in counts.items():
            self.images.labels(concern).set(n)
        for key in set(self._cached.deliveries) - set(deliveries):
            self.deliveries.labels(*key).set(0)
        for key, n in deliveries.items():
            self.deliveries.labels(*key).set(n)
        self._cached = _Cached(now, counts, deliveries)

    def render(self) -> bytes:
        return generate_latest(self.registry)
