"""The delivery worker against real receivers and a real SQLite outbox: outages, grouping,
permanent failures, a failing channel beside a healthy one, secrets kept out of errors."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from tests.support import wait_until
from tests.support.receivers import Hit, HookReceiver
from watcher.core.changes import CheckDecision, ImageState, Observation, WatchPolicy, decide
from watcher.core.delivery import Route
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.notify import Channel
from watcher.notify.email import EmailChannel, Security
from watcher.notify.webhook import WebhookChannel
from watcher.service.delivery import DeliveryWorker, notice_for
from watcher.store import DeliveryState, Store

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec_c2VjcmV0LWtleS1mb3ItdGhlLXRlc3Rz"


def digest(char: str) -> str:
    return "sha256:" + char * 64


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'watcher.db'}") as opened:
        yield opened


def record(store: Store, ref: str, char: str, at: datetime, routes: tuple[Route, ...],
           round_id: str) -> None:
    seen = ManifestObservation(digest(char), OCI_INDEX, {"linux/amd64": digest(char.upper())})

    def decide_now(state: ImageState) -> CheckDecision:
        return decide(state, Observation(at, manifest=seen), WatchPolicy())

    store.record(ref, decide_now, routes=routes, round_id=round_id, now=at)


def moved_images(store: Store, clock: Clock, refs: list[str], routes: tuple[Route, ...],
                 round_id: str, char: str) -> None:
    """One round in which every image in ``refs`` moved to ``char`` (baseline first)."""
    for ref in refs:
        if store.load_state(ref) is None:
            record(store, ref, "0", clock() - timedelta(hours=1), routes, "baseline")
        record(store, ref, char, clock(), routes, round_id)


def event_ids(hits: list[Hit]) -> list[str]:
    ids: list[str] = []
    for hit in hits:
        document = json.loads(hit.body)
        ids.extend(e["id"] for e in (document if isinstance(document, list) else [document]))
    return ids


def deliver(worker: DeliveryWorker) -> None:
    asyncio.run(worker.deliver_due(time.monotonic() + 20))


def test_receiver_down_while_events_are_produced_gets_every_event_once_back_up(
    store: Store,
) -> None:
    up = threading.Event()

    def answer(hit: Hit) -> tuple[int, dict[str, str], bytes]:
        return (204, {}, b"") if up.is_set() else (503, {"Retry-After": "60"}, b"down")

    route = Route("hook")
    clock = Clock()
    with HookReceiver(answer) as hook:
        worker = DeliveryWorker(store, {"hook": WebhookChannel(hook.url, name="hook")},
                                clock, random.Random(1))
        for n, char in enumerate("abc"):
            moved_images(store, clock, [f"ghcr.io/acme/img{n}:1", "ghcr.io/acme/all:1"],
                         (route,), f"r{n}", char)
            deliver(worker)
            clock.advance(minutes=5)
        assert event_ids(hook.hits)  # it was tried while down
        pending = store.deliveries(states=[DeliveryState.PENDING])
        assert len(pending) == 6
        assert all(d.last_error and "503" in d.last_error for d in pending)
        up.set()
        tried_while_down = len(hook.hits)
        clock.advance(hours=2)  # past every backoff
        deliver(worker)
        arrived = event_ids(hook.hits[tried_while_down:])
    assert sorted(arrived) == sorted(d.event.id for d in pending)
    assert len(arrived) == len(set(arrived))
    assert store.deliveries(states=[DeliveryState.PENDING]) == []


def test_a_connection_refused_is_retried_and_delivered_once_the_receiver_listens(
    store: Store,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    route = Route("hook")
    clock = Clock()
    channel = WebhookChannel(f"http://127.0.0.1:{port}/", name="hook", timeout=5)
    worker = DeliveryWorker(store, {"hook": channel}, clock, random.Random(2))
    moved_images(store, clock, ["ghcr.io/acme/a:1"], (route,), "r1", "a")
    deliver(worker)
    (waiting,) = store.deliveries()
    assert waiting.state is DeliveryState.PENDING
    assert waiting.last_error is not None
    assert "cannot connect" in waiting.last_error
    assert waiting.next_attempt_at is not None
    with HookReceiver(lambda hit: (200, {}, b"")) as hook:
        later = WebhookChannel(hook.url, name="hook")
        worker = DeliveryWorker(store, {"hook": later}, clock, random.Random(2))
        deliver(worker)
        assert hook.hits == []  # not due yet: the backoff holds
        clock.now = waiting.next_attempt_at
        deliver(worker)
        assert event_ids(hook.hits) == [waiting.event.id]


def test_one_rounds_events_for_a_channel_arrive_as_one_batch(store: Store) -> None:
    grouped, single = Route("grouped"), Route("single", grouped=False)
    clock = Clock()
    with HookReceiver(lambda hit: (200, {}, b"")) as a, \
            HookReceiver(lambda hit: (200, {}, b"")) as b:
        channels: dict[str, Channel] = {
            "grouped": WebhookChannel(a.url, name="grouped"),
            "single": WebhookChannel(b.url, name="single", grouped=False),
        }
        worker = DeliveryWorker(store, channels, clock, random.Random(3))
        refs = ["ghcr.io/acme/a:1", "ghcr.io/acme/b:1", "ghcr.io/acme/c:1"]
        moved_images(store, clock, refs, (grouped, single), "r1", "a")
        deliver(worker)
        assert len(a.hits) == 1
        assert a.hits[0].headers["content-type"] == "application/cloudevents-batch+json"
        batch = json.loads(a.hits[0].body)
        assert sorted(e["subject"] for e in batch) == refs
        assert len(b.hits) == 3
        assert {h.headers["content-type"] for h in b.hits} == {"application/cloudevents+json"}
        clock.advance(minutes=1)
        moved_images(store, clock, refs[:1], (grouped, single), "r2", "b")
        deliver(worker)
        assert len(a.hits) == 2  # the next round: a message of its own
    assert store.deliveries(states=[DeliveryState.PENDING]) == []


def test_an_image_listed_twice_in_a_round_appears_once(store: Store) -> None:
    """Two deliveries of one kind for one image in one round (recorded by two processes
    checking the same image): one entry in the message, both deliveries delivered."""
    route = Route("hook")
    clock = Clock()
    ref = "ghcr.io/acme/a:1"
    moved_images(store, clock, [ref], (route,), "r1", "a")
    clock.advance(seconds=1)
    record(store, ref, "b", clock(), (route,), "r1")
    with HookReceiver(lambda hit: (200, {}, b"")) as hook:
        worker = DeliveryWorker(store, {"hook": WebhookChannel(hook.url, name="hook")},
                                clock, random.Random(4))
        deliver(worker)
        (hit,) = hook.hits
    assert [e["subject"] for e in json.loads(hit.body)] == [ref]
    states = [d.state for d in store.deliveries()]
    assert states == [DeliveryState.DELIVERED, DeliveryState.DELIVERED]


def test_a_400_is_permanent_with_the_response_text(store: Store) -> None:
    clock = Clock()
    moved_images(store, clock, ["ghcr.io/acme/a:1"], (Route("hook"),), "r1", "a")
    with HookReceiver(lambda hit: (400, {}, b"schema mismatch: no field 'x'")) as hook:
        worker = DeliveryWorker(store, {"hook": WebhookChannel(hook.url, name="hook")},
                                clock, random.Random(5))
        deliver(worker)
        clock.advance(days=1)
        deliver(worker)
        assert len(hook.hits) == 1  # never tried again
    (failed,) = store.deliveries()
    assert failed.state is DeliveryState.FAILED
    assert failed.last_error is not None
    assert "400" in failed.last_error
    assert "schema mismatch: no field 'x'" in failed.last_error


def test_a_channel_failing_forever_never_blocks_a_healthy_one(store: Store) -> None:
    clock = Clock()
    routes = (Route("broken", retry_for=3600.0), Route("healthy"))
    with HookReceiver(lambda hit: (500, {}, b"boom")) as broken, \
            HookReceiver(lambda hit: (200, {}, b"")) as healthy:
        channels: dict[str, Channel] = {
            "broken": WebhookChannel(broken.url, name="broken"),
            "healthy": WebhookChannel(healthy.url, name="healthy"),
        }
        worker = DeliveryWorker(store, channels, clock, random.Random(6))
        for n in range(5):
            moved_images(store, clock, [f"ghcr.io/acme/i{n}:1"], routes, f"r{n}", "a")
            deliver(worker)
            assert len(event_ids(healthy.hits)) == n + 1
            clock.advance(minutes=30)
        clock.advance(hours=3)
        deliver(worker)
    counts = store.delivery_counts()
    assert counts["healthy"] == {DeliveryState.DELIVERED: 5}
    assert counts["broken"] == {DeliveryState.EXPIRED: 5}


def test_a_hanging_smtp_server_does_not_delay_the_webhook(store: Store) -> None:
    """SMTP accepts the connection and never answers; the webhook is delivered meanwhile."""
    clock = Clock()
    routes = (Route("mail"), Route("hook"))
    with socket.socket() as silent, HookReceiver(lambda hit: (200, {}, b"")) as hook:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mail = EmailChannel(host="127.0.0.1", port=silent.getsockname()[1], sender="w@x.test",
                            recipients=["o@x.test"], security=Security.NONE, timeout=4)
        channels: dict[str, Channel] = {
            "mail": mail, "hook": WebhookChannel(hook.url, name="hook")}
        worker = DeliveryWorker(store, channels, clock, random.Random(7))
        moved_images(store, clock, ["ghcr.io/acme/a:1"], routes, "r1", "a")
        outcome: list[object] = []
        thread = threading.Thread(target=lambda: outcome.append(
            asyncio.run(worker.deliver_due(time.monotonic() + 3))))
        started = time.monotonic()
        thread.start()
        wait_until(lambda: len(hook.hits) == 1, timeout=2.5, what="the webhook delivery")
        assert time.monotonic() - started < 2.5
        assert thread.is_alive()  # the mail is still hanging
        thread.join(timeout=20)
    states = {d.channel: d.state for d in store.deliveries()}
    assert states == {"mail": DeliveryState.PENDING, "hook": DeliveryState.DELIVERED}
    (report,) = outcome
    assert getattr(report, "left") == 1  # the mail waits for the next run  # noqa: B009


def test_secrets_never_reach_errors_or_logs(store: Store, capsys: pytest.CaptureFixture[str],
                                            ) -> None:
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(),
    )
    clock = Clock()
    token = "t0ken-in-the-query-string"
    moved_images(store, clock, ["ghcr.io/acme/a:1"], (Route("hook"),), "r1", "a")

    def echo(hit: Hit) -> tuple[int, dict[str, str], bytes]:
        reply = f"refused: {hit.path} {hit.headers.get('x-api-key')} " \
                f"{hit.headers.get('webhook-signature')}"
        return 500, {}, reply.encode()

    try:
        with HookReceiver(echo) as hook:
            channel = WebhookChannel(f"{hook.url}/in?token={token}", name="hook",
                                     secret=SECRET, headers={"X-Api-Key": "k3y-value-123"})
            worker = DeliveryWorker(store, {"hook": channel}, clock, random.Random(8))
            deliver(worker)
    finally:
        structlog.reset_defaults()
    (delivery,) = store.deliveries()
    captured = capsys.readouterr()
    for secret in (token, "k3y-value-123", SECRET, SECRET.removeprefix("whsec_")):
        assert delivery.last_error is not None
        assert secret not in delivery.last_error
        assert secret not in captured.out + captured.err
    assert "refused" in delivery.last_error


def test_a_notice_carries_the_stored_payload_keys_plus_tag_and_newer_versions() -> None:
    from watcher.core.changes import NewerVersions
    from watcher.core.events import DigestChanged, Event, payload_data

    event = Event("e1", "docker.io/library/python:3.12", T0,
                  DigestChanged(digest("a"), digest("b"), {"linux/amd64": "changed"}))
    state = ImageState(ref=event.ref, newer=NewerVersions("3.12.9", "3.13.1"))
    notice = notice_for(event, state)
    assert dict(notice.payload) == {**payload_data(event.payload), "tag": "3.12",
                                    "newer_versions": ["3.12.9", "3.13.1"],
                                    "dependents": [], "classes": []}
    assert notice.changed_platforms == ["linux/amd64"]
    assert notice.old_digest == digest("a")
    assert "containers" not in notice.payload


def test_a_notice_names_the_containers_that_run_the_image() -> None:
    from watcher.core.events import DigestChanged, Event
    from watcher.store import Dependent

    event = Event("e1", "docker.io/library/python:3.12", T0,
                  DigestChanged(digest("a"), digest("b"), {}))
    users = [Dependent(event.ref, "engine", "build-host", f"id{n}", name, {}, T0, T0)
             for n, name in enumerate(["web", "worker"])]
    notice = notice_for(event, None, users)
    assert notice.payload["containers"] == [
        {"host": "build-host", "name": "web", "id": "id0"},
        {"host": "build-host", "name": "worker", "id": "id1"},
    ]
    assert "containers: build-host/web, build-host/worker" in notice.details
    assert [d["label"] for d in notice.payload["dependents"]] == ["web", "worker"]
    assert "Recreate container `build-host/web`: base `docker.io/library/python:3.12` moved." \
        in notice.details


def test_in_the_daemon_a_hanging_channel_never_holds_back_another_channels_next_round(
    store: Store,
) -> None:
    clock = Clock()
    routes = (Route("mail"), Route("hook"))
    with socket.socket() as silent, HookReceiver(lambda hit: (200, {}, b"")) as hook:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mail = EmailChannel(host="127.0.0.1", port=silent.getsockname()[1], sender="w@x.test",
                            recipients=["o@x.test"], security=Security.NONE, timeout=6)
        channels: dict[str, Channel] = {
            "mail": mail, "hook": WebhookChannel(hook.url, name="hook")}
        worker = DeliveryWorker(store, channels, clock, random.Random(9))
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        thread = threading.Thread(target=lambda: loop.run_until_complete(worker.run(stop)))
        thread.start()
        try:
            moved_images(store, clock, ["ghcr.io/acme/a:1"], routes, "r1", "a")
            loop.call_soon_threadsafe(worker.wake)
            wait_until(lambda: len(hook.hits) == 1, timeout=3, what="round 1's webhook")
            started = time.monotonic()
            moved_images(store, clock, ["ghcr.io/acme/a:1"], routes, "r2", "b")
            loop.call_soon_threadsafe(worker.wake)
            wait_until(lambda: len(hook.hits) == 2, timeout=3, what="round 2's webhook")
            assert time.monotonic() - started < 3  # the mail of round 1 still hangs (6 s)
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=30)
            loop.close()
    assert not thread.is_alive()
