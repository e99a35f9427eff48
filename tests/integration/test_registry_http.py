"""The client against small local servers: pagination, 429/5xx, redirects, oversized bodies."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from tests.support.httpservers import (
    HttpServer,
    Reply,
    Seen,
    json_reply,
    manifest_server,
    paginated_tags,
    scripted,
    sha256,
)
from watcher.core.observation import OCI_MANIFEST
from watcher.core.reference import ImageReference
from watcher.errors import InvalidResponse, RateLimited, RegistryUnavailable
from watcher.registry import Credentials, RateLimit, RegistryClient, RegistrySettings

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "x", "digest": "", "size": 0}}).encode()


def run(server: HttpServer, work: Callable[[RegistryClient, ImageReference], Awaitable[Any]],
        sleeps: list[float] | None = None, **settings: Any) -> Any:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        await asyncio.sleep(0)

    async def main() -> Any:
        config = RegistrySettings(host=server.host, insecure=True, **settings)
        async with RegistryClient({server.host: config}, sleep=sleep) as client:
            return await work(client, ImageReference(server.host, "lib/app", "1"))

    return asyncio.run(main())


TAGS = [f"v{i}" for i in range(95)]


@pytest.mark.parametrize("absolute", [False, True])
def test_pagination_follows_link_headers(absolute: bool) -> None:
    with HttpServer(paginated_tags("lib/app", TAGS, 10, absolute=absolute)) as server:
        assert run(server, lambda c, ref: c.list_tags(ref)) == TAGS
    assert len(server.seen) == 10
    assert server.seen[1].query == {"n": ["10"], "last": ["v9"]}


def test_pagination_is_bounded() -> None:
    with HttpServer(paginated_tags("lib/app", TAGS, 10)) as server:
        with pytest.raises(InvalidResponse, match="raise max_tag_pages"):
            run(server, lambda c, ref: c.list_tags(ref), max_tag_pages=3)
        assert len(server.seen) == 3
        with pytest.raises(InvalidResponse, match="raise max_tags"):
            run(server, lambda c, ref: c.list_tags(ref), max_tags=25)


def test_pagination_never_leaves_the_registry() -> None:
    elsewhere = "http://127.0.0.2:1/v2/lib/app/tags/list"
    with (HttpServer(paginated_tags("lib/app", TAGS, 10, next_url=elsewhere)) as server,
          pytest.raises(InvalidResponse, match="another origin")):
        run(server, lambda c, ref: c.list_tags(ref))


def test_5xx_and_429_are_retried_then_succeed() -> None:
    date = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    replies = [Reply(503), Reply(429, {"Retry-After": "2"}), Reply(502),
               Reply(429, {"Retry-After": date})]
    handler = scripted(replies, manifest_server("lib/app", "1", MANIFEST, OCI_MANIFEST))
    sleeps: list[float] = []
    with HttpServer(handler) as server:
        observed = run(server, lambda c, ref: c.resolve(ref), sleeps, retries=4,
                       backoff_base=0.25)
    assert observed.digest == sha256(MANIFEST)
    assert len(sleeps) == 4
    assert 0 <= sleeps[0] <= 0.25
    assert sleeps[1] == 2.0
    assert 0 <= sleeps[2] <= 1.0
    assert 25 < sleeps[3] <= 30


def test_persistent_failures_become_typed_errors() -> None:
    with HttpServer(lambda seen: Reply(500)) as server:
        with pytest.raises(RegistryUnavailable, match=r"lib/app:1 on 127\.0\.0\.1.*500"):
            run(server, lambda c, ref: c.resolve(ref), retries=2)
        assert len(server.seen) == 3
    with HttpServer(lambda seen: Reply(429, {"Retry-After": "86400"})) as server:
        with pytest.raises(RateLimited) as caught:
            run(server, lambda c, ref: c.resolve(ref))
        assert caught.value.retry_after == 86400.0
        assert len(server.seen) == 1


def test_rate_limit_headers() -> None:
    def handle(seen: Seen) -> Reply:
        reply = manifest_server("lib/app", "1", MANIFEST, OCI_MANIFEST)(seen)
        reply.headers["RateLimit-Limit"] = "100;w=21600"
        reply.headers["RateLimit-Remaining"] = "42;w=21600"
        return reply

    with HttpServer(handle) as server:

        async def work(client: RegistryClient, ref: ImageReference) -> RateLimit | None:
            await client.resolve(ref)
            return client.rate_limit(server.host)

        assert run(server, work) == RateLimit(100, 42, 21600.0)


def test_oversized_manifests_are_not_read_to_the_end() -> None:
    huge = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    for content_length in (True, False):
        headers = {"Content-Type": OCI_MANIFEST}
        with (HttpServer(lambda seen, h=headers, c=content_length: Reply(200, h, huge, c))
              as server, pytest.raises(InvalidResponse, match="larger than 4194304 bytes")):
            run(server, lambda c, ref: c.image_config(ref))


def test_a_redirect_to_another_host_carries_no_credentials() -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Labels": {"a": "b"}}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config),
        "size": len(config)}}).encode()
    expected = "Basic " + base64.b64encode(b"bob:hunter2").decode()

    with HttpServer(lambda seen: Reply(200, {}, config)) as cdn:
        def registry(seen: Seen) -> Reply:
            if seen.headers.get("authorization") != expected:
                return json_reply({}, 401, {"WWW-Authenticate": 'Basic realm="r"'})
            if seen.route.startswith("/v2/lib/app/blobs/"):
                return Reply(307, {"Location": f"{cdn.url}/blobs/{sha256(config)}?sig=1"})
            return manifest_server("lib/app", "1", manifest, OCI_MANIFEST)(seen)

        with HttpServer(registry) as server:
            result = run(server, lambda c, ref: c.image_config(ref),
                         credentials=Credentials(username="bob", password="hunter2"))
    assert dict(result.labels) == {"a": "b"}
    assert [s.route for s in cdn.seen] == [f"/blobs/{sha256(config)}"]
    assert "authorization" not in cdn.seen[0].headers
    blob_requests = [s for s in server.seen if "/blobs/" in s.route]
    assert blob_requests
    assert blob_requests[-1].headers["authorization"] == expected


def test_a_dribbling_body_times_out_as_a_whole() -> None:
    """Every byte arrives within the per-read timeout, but the body never finishes in time."""
    reply = Reply(200, {"Content-Type": OCI_MANIFEST}, MANIFEST, dribble=0.05)
    with (
        HttpServer(lambda seen: reply) as server,
        pytest.raises(RegistryUnavailable, match=r"did not arrive within 0\.3s"),
    ):
        run(server, lambda c, ref: c.resolve(ref), timeout=0.3, retries=0)
