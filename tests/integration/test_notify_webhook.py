"""The webhook channel against a real HTTP receiver on loopback: CloudEvents forms, the
Standard Webhooks signature checked with the standardwebhooks package, and the answers that
mean delivered, retry or failed."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support import free_port
from tests.support.receivers import Answer, Hit, HookReceiver, notice, three
from watcher.notify import Batch, OutcomeKind
from watcher.notify.webhook import WebhookChannel

SECRET = "whsec_" + base64.b64encode(b"a signing key of 32 bytes length").decode()


def ok(hit: Hit) -> Answer:
    return 204, {}, b""


def _verify(hit: Hit, secret: str = SECRET) -> object:
    return Webhook(secret).verify(hit.body.decode(), hit.headers)


def test_one_event_in_structured_mode() -> None:
    with HookReceiver(ok) as hook:
        channel = WebhookChannel(hook.url + "/hooks", grouped=False, source="urn:watcher:test",
                                 headers={"X-Team": "platform"})
        event = notice()
        outcome = asyncio.run(channel.send(Batch.single(event)))
        assert outcome.kind is OutcomeKind.DELIVERED, outcome
        [hit] = hook.hits
    assert hit.path == "/hooks"
    assert hit.headers["content-type"] == "application/cloudevents+json"
    assert hit.headers["x-team"] == "platform"
    assert "webhook-signature" not in hit.headers  # no secret, no signature
    assert json.loads(hit.body) == {
        "specversion": "1.0",
        "id": event.event_id,
        "source": "urn:watcher:test",
        "type": "io.watcher.digest_changed",
        "time": "2026-12-02T14:00:05Z",
        "subject": "python:3.12-slim",
        "datacontenttype": "application/json",
        "data": dict(event.payload),
    }


def test_a_grouped_delivery_is_a_signed_batch_that_the_reference_library_verifies() -> None:
    with HookReceiver(ok) as hook:
        batch = three()
        outcome = asyncio.run(WebhookChannel(hook.url, secret=SECRET).send(batch))
        assert outcome.kind is OutcomeKind.DELIVERED, outcome
        [hit] = hook.hits
    assert hit.headers["content-type"] == "application/cloudevents-batch+json"
    events = json.loads(hit.body)
    assert [e["subject"] for e in events] == ["python:3.12-slim", "node:20", "redis:7"]
    assert [e["id"] for e in events] == [n.event_id for n in batch.notices]
    assert all(e["specversion"] == "1.0" and e["source"].startswith("urn:watcher:")
               for e in events)
    assert hit.headers["webhook-id"] == batch.id
    assert hit.headers["webhook-signature"].startswith("v1,")
    assert _verify(hit) == events


def test_a_tampered_body_or_another_secret_fails_verification() -> None:
    with HookReceiver(ok) as hook:
        asyncio.run(WebhookChannel(hook.url, secret=SECRET).send(three()))
        [hit] = hook.hits
    tampered = Hit(hit.path, hit.headers, hit.body.replace(b"redis:7", b"redis:6"))
    with pytest.raises(WebhookVerificationError):
        _verify(tampered)
    other = "whsec_" + base64.b64encode(b"another key of thirty-two bytes!").decode()
    with pytest.raises(WebhookVerificationError):
        _verify(hit, other)


def test_a_secret_without_the_prefix_is_used_as_its_bytes() -> None:
    with HookReceiver(ok) as hook:
        asyncio.run(WebhookChannel(hook.url, secret="plain secret").send(three()))
        [hit] = hook.hits
    assert Webhook(b"plain secret").verify(hit.body.decode(), hit.headers)


def test_500_is_retried_with_the_start_of_the_answer() -> None:
    with HookReceiver(lambda hit: (500, {}, b"database down\n" + b"x" * 10000)) as hook:
        outcome = asyncio.run(WebhookChannel(hook.url).send(three()))
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.retry_after is None
    assert outcome.error is not None
    assert "answered 500: database down\\n" in outcome.error
    assert len(outcome.error) < 600


@pytest.mark.parametrize("status", [408, 429, 503])
def test_retry_after_in_seconds_is_honoured(status: int) -> None:
    with HookReceiver(lambda hit: (status, {"Retry-After": "120"}, b"slow down")) as hook:
        outcome = asyncio.run(WebhookChannel(hook.url).send(three()))
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.retry_after == 120


def test_retry_after_as_an_http_date_is_honoured() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    with HookReceiver(lambda hit: (429, {"Retry-After": when}, b"")) as hook:
        outcome = asyncio.run(WebhookChannel(hook.url).send(three()))
    assert outcome.retry_after is not None
    assert 290 <= outcome.retry_after <= 300


def test_400_is_permanent_with_the_response_text() -> None:
    with HookReceiver(lambda hit: (400, {}, b'{"error": "unknown field \\"subject\\""}')) as hook:
        outcome = asyncio.run(WebhookChannel(hook.url).send(three()))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert 'answered 400: {"error": "unknown field' in outcome.error


def test_a_redirect_is_not_followed_and_says_so() -> None:
    with HookReceiver(lambda hit: (301, {"Location": "http://127.0.0.1:1/x"}, b"")) as hook:
        outcome = asyncio.run(WebhookChannel(hook.url).send(three()))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert "redirects are not followed" in outcome.error


def test_a_receiver_that_is_down_is_retried() -> None:
    outcome = asyncio.run(WebhookChannel(f"http://127.0.0.1:{free_port()}/h").send(three()))
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error is not None
    assert "cannot connect" in outcome.error


def test_a_receiver_that_does_not_answer_in_time_is_retried() -> None:
    import threading

    release = threading.Event()

    def stall(hit: Hit) -> Answer:
        release.wait(10)
        return 200, {}, b""

    with HookReceiver(stall) as hook:
        try:
            outcome = asyncio.run(WebhookChannel(hook.url, timeout=0.3).send(three()))
        finally:
            release.set()
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error is not None
    assert "did not answer within 0.3s" in outcome.error


def test_secrets_never_reach_the_error_text() -> None:
    token, password, header = "tok-0123456789", "pw-9876543210", "Bearer hdr-secret-555"

    def echo(hit: Hit) -> Answer:  # a receiver that echoes what it got, as some do
        text = json.dumps({"headers": hit.headers, "path": hit.path}).encode()
        return 400, {}, text

    with HookReceiver(echo) as hook:
        url = hook.url.replace("http://", f"http://user:{password}@") + f"/h?token={token}"
        channel = WebhookChannel(url, secret=SECRET, headers={"Authorization": header})
        outcome = asyncio.run(channel.send(three()))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    for secret in (token, password, "hdr-secret-555", SECRET, SECRET.removeprefix("whsec_")):
        assert secret not in outcome.error
        assert secret not in channel.url
        assert secret not in channel.name
    assert "answered 400" in outcome.error


def test_headers_watcher_sets_cannot_be_overridden_and_bad_urls_are_named() -> None:
    from watcher.notify.errors import ChannelError

    for header in ("Content-Type", "webhook-signature"):
        with pytest.raises(ChannelError, match=f"header '{header}' is set by watcher"):
            WebhookChannel("http://127.0.0.1:1/", headers={header: "x"})
    with pytest.raises(ChannelError, match="is not an http"):
        WebhookChannel("ftp://127.0.0.1/x")
    with pytest.raises(ChannelError, match=r"https://\*\*\*@h:port/\?k=\*\*\*") as caught:
        WebhookChannel("https://u:pw-5150@h:port/?k=tok-5150")
    assert "5150" not in caught.value.message
