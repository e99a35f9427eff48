"""Waiting to retry holds no concurrency permit, and one call's waiting is capped in all."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.unit.test_registry_client import DIGEST, REF, Harness, manifest, statuses
from watcher.errors import RateLimited, RegistryUnavailable
from watcher.registry import RegistryClient, RegistrySettings


def test_a_429_pauses_the_whole_registry_without_holding_a_slot() -> None:
    other = REF.with_tag("2")

    async def main() -> tuple[list[str], list[str], list[float]]:
        throttled = asyncio.Event()
        order: list[str] = []
        sleeps: list[float] = []

        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/1") and "429" not in order:
                order.append("429")
                throttled.set()
                return httpx.Response(429, headers={"Retry-After": "30"})
            order.append(request.url.path.rsplit("/", 1)[1])
            return manifest(request)

        async def sleep(seconds: float) -> None:
            sleeps.append(round(seconds))
            await asyncio.sleep(0)

        settings = RegistrySettings(host="r.example", max_concurrency=1)
        async with RegistryClient({"r.example": settings}, transport=httpx.MockTransport(handle),
                                  sleep=sleep) as client:
            async def second() -> str:
                await throttled.wait()
                return (await client.resolve(other)).digest

            first, digest = await asyncio.gather(client.resolve(REF), second())
            return [first.digest, digest], order, sleeps

    digests, order, sleeps = asyncio.run(main())
    assert digests == [DIGEST, DIGEST]
    # The throttled request waited its Retry-After; the other one, sent after the 429,
    # waited for the registry's pause too (holding no slot), instead of hammering it.
    assert order[0] == "429"
    assert sleeps == [30, 30]


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


def test_a_budget_down_to_its_reserve_sends_no_more_gets() -> None:
    sent: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        response = manifest(request, digest_header=False)  # so that a GET is needed
        response.headers["RateLimit-Limit"] = "100;w=21600"
        response.headers["RateLimit-Remaining"] = f"{4 - len(sent)};w=21600"  # 3, 2, 1...
        return response

    async def main() -> None:
        settings = RegistrySettings(host="r.example")
        async with RegistryClient({"r.example": settings},
                                  transport=httpx.MockTransport(handle)) as client:
            await client.resolve(REF)  # HEAD (no digest), then GET: 2 of 100 left now
            assert client.rate_limit("r.example").remaining == 2  # type: ignore[union-attr]
            # The reserve is 2% of the limit: the next answer, 1 of 100, is under it.
            before = list(sent)
            with pytest.raises(RateLimited, match="down to 1 of 100; watcher keeps"):
                await client.resolve(REF.with_tag("2"))  # its HEAD goes; its GET does not
            assert before == ["HEAD", "GET"]
            assert sent[len(before):] == ["HEAD"]

    asyncio.run(main())
