"""``send_probe``: one test message through real channels on loopback, sent at once, each
bounded by the timeout, the answers in channel order."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support import free_port
from tests.support.receivers import Answer, Hit, HookReceiver
from tests.support.smtp import Inbox, smtp_server
from watcher.notify import Channel, OutcomeKind
from watcher.notify.email import EmailChannel, Security
from watcher.notify.webhook import WebhookChannel
from watcher.service.probe import TEST_KIND, send_probe

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()


def test_each_channel_gets_one_test_message_and_says_what_happened(
    smtp: tuple[int, Inbox],
) -> None:
    port, inbox = smtp

    def refuse(hit: Hit) -> Answer:
        return 400, {}, b"no such hook"

    with HookReceiver(lambda hit: (204, {}, b"")) as good, HookReceiver(refuse) as bad:
        channels: list[Channel] = [
            WebhookChannel(good.url, name="ci"),
            EmailChannel(host="127.0.0.1", port=port, sender="w@example.org",
                         recipients=["ops@example.org"], security=Security.NONE),
            WebhookChannel(bad.url, name="broken"),
            WebhookChannel(f"http://127.0.0.1:{free_port()}/", name="down"),
        ]
        results = asyncio.run(send_probe(channels, NOW, wait=10))
        [hit] = good.hits
        assert len(bad.hits) == 1
    assert [r.channel for r in results] == ["ci", "email", "broken", "down"]
    kinds = [r.outcome.kind for r in results]
    assert kinds == [OutcomeKind.DELIVERED, OutcomeKind.DELIVERED, OutcomeKind.FAILED,
                     OutcomeKind.RETRY]
    assert "no such hook" in str(results[2].outcome.error)
    [body] = json.loads(hit.body)  # a grouped webhook: a batch of one
    assert body["type"] == f"io.watcher.{TEST_KIND}"
    assert body["id"].startswith("test-")
    [mail] = inbox.contents
    assert b"Test message from watcher" in mail


def test_every_test_message_has_a_fresh_id() -> None:
    with HookReceiver(lambda hit: (204, {}, b"")) as hook:
        channel = WebhookChannel(hook.url, name="ci")
        asyncio.run(send_probe([channel], NOW, wait=10))
        asyncio.run(send_probe([channel], NOW, wait=10))
        ids = [json.loads(hit.body)[0]["id"] for hit in hook.hits]
    assert len(set(ids)) == 2


def test_a_channel_that_hangs_is_cut_at_the_timeout_without_holding_the_others(
    silent_port: int,
) -> None:
    with HookReceiver(lambda hit: (204, {}, b"")) as hook:
        channels: list[Channel] = [
            WebhookChannel(f"http://127.0.0.1:{silent_port}/", name="hangs", timeout=60),
            WebhookChannel(hook.url, name="ci"),
        ]
        started = time.monotonic()
        results = asyncio.run(send_probe(channels, NOW, wait=0.5))
        elapsed = time.monotonic() - started
        assert len(hook.hits) == 1
    assert elapsed < 10
    assert results[0].outcome.kind is OutcomeKind.RETRY
    assert results[0].outcome.error == "no answer within 0.5s"
    assert results[1].outcome.kind is OutcomeKind.DELIVERED
