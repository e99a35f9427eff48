"""Waiting to retry holds no concurrency permit, and one call's waiting is capped in all."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.unit.test_registry_client import DIGEST, REF, Harness, manifest, statuses
from watcher.errors import RateLimited, RegistryUnavailable
from watcher.registry import RegistryClient, RegistrySettings


def test_a_retry_after_wait_does_not_hold_a_concurrency_slot() -> None:
    other = REF.with_tag("2")

    async def main() -> list[str]:
        throttled = asyncio.Event()
        other_done = asyncio.Event()
        first_seen: list[str] = []

        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/1") and not first_seen:
                first_seen.append("429")
                throttled.set()
                return httpx.Response(429, headers={"Retry-After": "30"})
            return manifest(request)

        async def sleep(seconds: float) -> None:
            # The other request needs the only permit: it can finish only if this wait
            # does not hold it.
            await asyncio.wait_for(other_done.wait(), timeout=5)

        settings = RegistrySettings(host="r.example", max_concurrency=1)
        async with RegistryClient({"r.example": settings}, transport=httpx.MockTransport(handle),
                                  sleep=sleep) as client:
            async def second() -> str:
                await throttled.wait()
                observation = await client.resolve(other)
                other_done.set()
                return observation.digest

            first, digest = await asyncio.gather(client.resolve(REF), second())
            return [first.digest, digest]

    assert asyncio.run(main()) == [DIGEST, DIGEST]


def test_one_calls_waiting_between_retries_is_capped() -> None:
    harness = Harness(statuses(*[503] * 10), retries=10, backoff_base=10.0, backoff_max=10.0,
                      max_retry_time=25.0)
    with pytest.raises(RegistryUnavailable) as caught:
        harness.run(lambda c: c.resolve(REF))
    assert harness.sleeps == [10.0, 10.0]
    assert "max_retry_time=25s" in str(caught.value)
    assert len(harness.requests) == 3


def test_retry_after_waits_count_against_the_cap() -> None:
    harness = Harness(statuses(429, 429, 429, headers={"Retry-After": "50"}),
                      max_retry_time=60.0)
    with pytest.raises(RateLimited, match="max_retry_time=60s"):
        harness.run(lambda c: c.resolve(REF))
    assert harness.sleeps == [50.0]


def test_the_cap_is_per_call() -> None:
    count = [0]

    def every_other(request: httpx.Request) -> httpx.Response:
        count[0] += 1
        return httpx.Response(503) if count[0] % 2 else manifest(request)

    harness = Harness(every_other, backoff_base=10.0, backoff_max=10.0, max_retry_time=15.0)

    async def twice(client: RegistryClient) -> list[str]:
        return [(await client.resolve(REF)).digest, (await client.resolve(REF)).digest]

    assert harness.run(twice) == [DIGEST, DIGEST]
    assert harness.sleeps == [10.0, 10.0]


def test_the_default_cap() -> None:
    assert RegistrySettings().max_retry_time == 120.0
