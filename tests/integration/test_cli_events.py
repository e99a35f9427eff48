"""``watcher events``, ``watcher events retry`` and the deliveries block of ``watcher status``
on a real SQLite file filled through the store's own API."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.receivers import Answer, Hit, HookReceiver, notice
from watcher.cli import main
from watcher.core.changes import (
    CheckDecision,
    EventKind,
    ImageState,
    Observation,
    WatchPolicy,
    decide,
)
from watcher.core.delivery import Route
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.notify import Batch, Channel
from watcher.notify.webhook import WebhookChannel
from watcher.service.delivery import DeliveryWorker
from watcher.store import AttemptResult, DeliveryState, Store

MOVED = "docker.io/library/python:3.12-slim"
OTHER = "ghcr.io/acme/base:1"
HOSTILE_ERROR = "HTTP 400: \x1b[2Jbad\nrequest"
SECRET = "s3cr3t-token-value"
ROUTES = (Route("ci"), Route("mail", kinds=frozenset({EventKind.DIGEST_CHANGED})))


def digest(char: str) -> str:
    return "sha256:" + char * 64


def seen(char: str) -> ManifestObservation:
    return ManifestObservation(digest(char), OCI_INDEX, {"linux/amd64": digest(char.upper())})


def check(store: Store, ref: str, observation: Observation, *, soak: float = 0.0) -> None:
    def decide_now(state: ImageState) -> CheckDecision:
        return decide(state, observation, WatchPolicy())

    store.record(ref, decide_now, routes=ROUTES, round_id="r1", soak=soak,
                 now=observation.checked_at)


@pytest.fixture
def url(tmp_path: Path) -> str:
    """MOVED moved: delivered to mail, failed for good on ci (a hostile error text).
    OTHER moved: pending on both, ci waiting to retry."""
    database = f"sqlite:///{tmp_path / 'watcher.db'}"
    now = datetime.now(UTC)
    with Store.open(database) as store:
        store.sync_images([MOVED, OTHER])
        check(store, MOVED, Observation(now - timedelta(hours=3), manifest=seen("a")))
        check(store, MOVED, Observation(now - timedelta(hours=2), manifest=seen("b")))
        check(store, OTHER, Observation(now - timedelta(hours=3), manifest=seen("c")))
        check(store, OTHER, Observation(now - timedelta(minutes=1), manifest=seen("d")))
        by = {(d.event.ref, d.channel): d for d in store.deliveries()}
        store.record_attempts([
            AttemptResult(by[MOVED, "ci"].id, now - timedelta(hours=1), "failed", HOSTILE_ERROR),
            AttemptResult(by[MOVED, "mail"].id, now - timedelta(hours=1), "delivered"),
            AttemptResult(by[OTHER, "ci"].id, now, "retry", "connection refused",
                          now + timedelta(minutes=10)),
        ])
    return database


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def ids(url: str) -> dict[tuple[str, str], int]:
    with Store.open_existing(url, read_only=True) as store:
        return {(d.event.ref, d.channel): d.id for d in store.deliveries()}


def test_events_lists_each_delivery_with_its_state_and_the_error_escaped(url: str) -> None:
    code, out, err = run("events", "--database", url)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "EVENT", "IMAGE", "KIND", "CHANNEL", "STATE", "TRIES",
                                "NEXT"]
    rows = [re.split(r"\s{2,}", line) for line in lines[1:] if not line.startswith("    ")]
    assert [(r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows] == [
        (MOVED, "digest changed", "ci", "failed", "1", "-"),
        (MOVED, "digest changed", "mail", "delivered", "1", "-"),
        (OTHER, "digest changed", "ci", "pending", "1", "in 9m"),
        (OTHER, "digest changed", "mail", "pending", "0", "now"),
    ]
    assert "    last error: HTTP 400: \\x1b[2Jbad\\nrequest" in lines
    assert "    last error: connection refused" in lines
    assert "\x1b" not in out


def test_pending_failed_and_ref_select(url: str) -> None:
    code, out, _ = run("events", "--failed", "--database", url)
    assert code == 0
    assert [re.split(r"\s{2,}", line)[4:6] for line in out.splitlines()[1:]
            if line[0] != " "] == [["ci", "failed"]]
    code, out, _ = run("events", "--pending", "--json", "--database", url)
    states = [(e["ref"], d["channel"], d["state"])
              for e in json.loads(out)["events"] for d in e["deliveries"]]
    assert states == [(OTHER, "ci", "pending"), (OTHER, "mail", "pending")]
    code, out, _ = run("events", "python:3.12-slim", "--json", "--database", url)
    assert code == 0
    assert [e["ref"] for e in json.loads(out)["events"]] == [MOVED]
    code, out, _ = run("events", "--limit", "1", "--json", "--database", url)
    assert [e["ref"] for e in json.loads(out)["events"]] == [OTHER]  # the latest event
    code, out, _ = run("events", "list", "--failed", "--json", "--database", url)
    assert [e["ref"] for e in json.loads(out)["events"]] == [MOVED]
    code, _, err = run("events", "--database", url, "nginx:1")
    assert code == 2
    assert "docker.io/library/nginx:1 is not tracked" in err


def test_events_json_is_exact(url: str) -> None:
    code, out, err = run("events", "--json", "--database", url)
    assert code == 0, err
    first = json.loads(out)["events"][0]
    assert first["ref"] == MOVED
    assert first["kind"] == "digest_changed"
    assert first["new_digest"] == digest("b")
    ci = first["deliveries"][0]
    assert ci["channel"] == "ci"
    assert ci["state"] == "failed"
    assert ci["last_error"] == HOSTILE_ERROR
    assert ci["attempts"] == 1


def test_retry_requeues_a_failed_delivery_by_its_id(url: str) -> None:
    failed = ids(url)[MOVED, "ci"]
    code, out, err = run("events", "retry", str(failed), "--database", url)
    assert code == 0, err
    assert out == f"delivery {failed} (ci, {MOVED}): re-queued, due now\n"
    with Store.open_existing(url) as store:
        [delivery] = store.deliveries(states=[DeliveryState.PENDING], ref=MOVED)
    assert delivery.id == failed
    # Again: it is pending now, so there is nothing to re-queue.
    code, out, err = run("events", "retry", str(failed), "--database", url)
    assert code == 1
    assert str(failed) in err


def test_retry_by_event_id_prefix_requeues_its_failed_deliveries(url: str) -> None:
    with Store.open_existing(url, read_only=True) as store:
        event_id = store.deliveries(ref=MOVED)[0].event.id
    code, out, err = run("events", "retry", event_id[:8], "--database", url)
    assert code == 0, err
    assert out.splitlines() == [f"delivery {ids(url)[MOVED, 'ci']} (ci, {MOVED}): "
                                "re-queued, due now"]
    code, _, err = run("events", "retry", event_id[:8], "--database", url)
    assert code == 1
    assert "no failed or expired delivery (ci pending, mail delivered)" in err


@pytest.mark.parametrize(("target", "code", "message"), [
    ("99999", 1, "99999"),
    ("zz-top", 2, "neither a delivery id"),
    ("ab", 2, "neither a delivery id"),
    ("ffffffff", 1, "no event id starts with 'ffffffff'"),
])
def test_retry_errors(url: str, target: str, code: int, message: str) -> None:
    got, _, err = run("events", "retry", target, "--database", url)
    assert got == code, err
    assert message in err


def test_status_shows_the_channels_with_deliveries_waiting_or_failing(url: str) -> None:
    code, out, err = run("status", "--database", url)
    assert code == 0, err
    block = out.split("\n\n", 1)[1].splitlines()
    assert block == [
        "Deliveries waiting or failing (`watcher events` lists them):",
        "    ci    1 undelivered, 1 failed",
        "    mail  1 undelivered",
    ]
    code, out, _ = run("status", "--json", "--database", url)
    assert json.loads(out)["deliveries"] == {
        "ci": {"pending": 1, "delivered": 0, "failed": 1, "expired": 0, "superseded": 0},
        "mail": {"pending": 1, "delivered": 1, "failed": 0, "expired": 0, "superseded": 0},
    }


def test_status_without_deliveries_has_no_block(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'empty.db'}"
    now = datetime.now(UTC)
    with Store.open(database) as store:
        store.sync_images([MOVED])
        store.record(MOVED, lambda s: decide(s, Observation(now, manifest=seen("a")),
                                             WatchPolicy()))
    code, out, _ = run("status", "--database", database)
    assert code == 0
    assert "Deliveries" not in out
    code, out, _ = run("status", "--json", "--database", database)
    assert json.loads(out)["deliveries"] == {}
    code, out, _ = run("events", "--database", database)
    assert out.startswith("No deliveries recorded")


def test_a_channel_error_quoting_its_token_reaches_events_and_status_masked(
    tmp_path: Path,
) -> None:
    """The real webhook channel's answer, recorded as the worker records it, then shown."""
    token = "tok-5e6f7a8b9c0d"
    database = f"sqlite:///{tmp_path / 'watcher.db'}"
    now = datetime.now(UTC)
    with Store.open(database) as store:
        store.sync_images([MOVED])
        check(store, MOVED, Observation(now - timedelta(hours=2), manifest=seen("a")))
        check(store, MOVED, Observation(now - timedelta(hours=1), manifest=seen("b")))
        [delivery] = store.deliveries(channel="ci")
        with HookReceiver(lambda hit: (403, {}, f"bad token in {hit.path}".encode())) as hook:
            channel = WebhookChannel(f"{hook.url}/hook?token={token}", name="ci")
            outcome = asyncio.run(channel.send(Batch.single(notice())))
            assert token in hook.hits[0].path
        assert outcome.error is not None
        store.record_attempts([AttemptResult(delivery.id, now, "failed", outcome.error)])
    config = tmp_path / "watcher.toml"
    config.write_text(f'[[notify.webhook]]\nname = "ci"\nurl = "{hook.url}/hook?token={token}"\n'
                      f'secret = "whsec_{token}"\n')
    for args in (["events", "--json"], ["events"], ["status"], ["status", "--json"]):
        code, out, err = run(*args, "-c", str(config), "--database", database)
        assert code == 0, err
        assert token not in out + err
    code, out, _ = run("events", "--json", "--database", database)
    [event] = json.loads(out)["events"]
    errors = [d["last_error"] for d in event["deliveries"] if d["channel"] == "ci"]
    assert errors == [f"ci ({hook.url}/hook?token=*** answered 403: bad token in /hook?token=***"]


def test_a_refused_delivery_is_listed_retried_and_then_delivered(tmp_path: Path) -> None:
    """Through the delivery worker: the receiver refuses (failed), is fixed, the user re-queues
    with `watcher events retry`, the next pass delivers, and status has nothing to say."""
    database = f"sqlite:///{tmp_path / 'watcher.db'}"
    now = datetime.now(UTC)
    answers = [(400, "unknown hook")]

    def receiver(hit: Hit) -> Answer:
        status, text = answers[-1]
        return status, {}, text.encode()

    with Store.open(database) as store:
        store.sync_images([MOVED])
        check(store, MOVED, Observation(now - timedelta(hours=2), manifest=seen("a")))
        check(store, MOVED, Observation(now - timedelta(minutes=1), manifest=seen("b")))
    with HookReceiver(receiver) as hook:
        channels: dict[str, Channel] = {"ci": WebhookChannel(hook.url, name="ci", grouped=False)}

        def deliver() -> None:
            with Store.open_existing(database) as store:
                asyncio.run(DeliveryWorker(store, channels).deliver_due())

        deliver()
        code, out, _ = run("events", "--failed", "--json", "--database", database)
        [event] = json.loads(out)["events"]
        [ci] = event["deliveries"]
        assert (ci["channel"], ci["state"], ci["attempts"]) == ("ci", "failed", 1)
        assert "unknown hook" in ci["last_error"]
        code, out, _ = run("status", "--database", database)
        assert "    ci    1 failed" in out.splitlines()

        answers.append((204, ""))
        code, out, err = run("events", "retry", str(ci["id"]), "--database", database)
        assert code == 0, err
        deliver()
        assert [hit.headers["content-type"] for hit in hook.hits] == [
            "application/cloudevents+json"] * 2
    code, out, _ = run("events", "--json", "--database", database)
    states = [(d["channel"], d["state"], d["attempts"])
              for e in json.loads(out)["events"] for d in e["deliveries"]]
    assert ("ci", "delivered", 2) in states
    code, out, _ = run("status", "--database", database)
    assert "    ci " not in out
