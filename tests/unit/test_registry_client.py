"""The client against httpx.MockTransport: retries, backoff, 429, token cache, refusals."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from watcher.core.observation import OCI_MANIFEST
from watcher.core.reference import ImageReference, parse_reference
from watcher.errors import (
    ConfigError,
    InvalidResponse,
    NotFound,
    RateLimited,
    RegistryUnavailable,
    Unauthorized,
)
from watcher.registry import Credentials, RateLimit, RegistryClient, RegistrySettings

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"digest": "sha256:" + "c" * 64}}).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
REF = ImageReference("r.example", "team/app", "1")
Handler = Callable[[httpx.Request], httpx.Response]


def manifest(request: httpx.Request, *, digest_header: bool = True) -> httpx.Response:
    headers = {"Content-Type": OCI_MANIFEST}
    if digest_header:
        headers["Docker-Content-Digest"] = DIGEST
    return httpx.Response(200, headers=headers, content=MANIFEST)


class Harness:
    def __init__(self, handler: Handler, **settings: object) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.now = 1000.0

        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        values: dict[str, object] = {"host": "r.example", "backoff_base": 0.5}
        values.update(settings)
        self.client = RegistryClient(
            {"r.example": RegistrySettings(**values)},  # type: ignore[arg-type]
            transport=httpx.MockTransport(record), sleep=sleep, jitter=lambda: 1.0,
            clock=lambda: self.now,
        )

    def run(self, make: Callable[[RegistryClient], Any]) -> Any:
        async def main() -> Any:
            async with self.client:
                return await make(self.client)

        return asyncio.run(main())


def statuses(*codes: int, then: Handler = manifest, headers: dict[str, str] | None = None
             ) -> Handler:
    queue = list(codes)

    def handle(request: httpx.Request) -> httpx.Response:
        if queue:
            return httpx.Response(queue.pop(0), headers=headers or {})
        return then(request)

    return handle


def test_5xx_is_retried_with_exponential_backoff() -> None:
    harness = Harness(statuses(503, 502))
    observation = harness.run(lambda c: c.resolve(REF))
    assert observation.digest == DIGEST
    assert harness.sleeps == [0.5, 1.0]  # jitter pinned to its maximum
    assert len(harness.requests) == 3


def test_5xx_after_the_retries_is_registry_unavailable() -> None:
    harness = Harness(statuses(500, 500, 500, 500), retries=2)
    with pytest.raises(RegistryUnavailable) as caught:
        harness.run(lambda c: c.resolve(REF))
    assert "r.example/team/app:1 on r.example" in str(caught.value)
    assert "500" in str(caught.value)
    assert len(harness.requests) == 3


def test_connection_errors_are_retried() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    harness = Harness(refuse, retries=1)
    with pytest.raises(RegistryUnavailable, match="connection refused"):
        harness.run(lambda c: c.resolve(REF))
    assert len(harness.requests) == 2
    assert harness.sleeps == [0.5]


def test_429_honours_retry_after_and_gives_up_beyond_the_cap() -> None:
    harness = Harness(statuses(429, headers={"Retry-After": "7"}))
    harness.run(lambda c: c.resolve(REF))
    assert harness.sleeps == [7.0]

    harness = Harness(statuses(429, headers={"Retry-After": "3600"}), max_retry_after=60)
    with pytest.raises(RateLimited) as caught:
        harness.run(lambda c: c.resolve(REF))
    assert caught.value.retry_after == 3600.0
    assert harness.sleeps == []
    assert len(harness.requests) == 1


def test_rate_limit_headers_are_exposed_per_host() -> None:
    def hub(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "registry-1.docker.io"
        response = manifest(request)
        response.headers["RateLimit-Limit"] = "100;w=21600"
        response.headers["RateLimit-Remaining"] = "99;w=21600"
        return response

    harness = Harness(hub)
    client = harness.client
    harness.run(lambda c: c.resolve(parse_reference("debian:12")))
    assert client.rate_limit("registry-1.docker.io") == RateLimit(100, 99, 21600.0)
    assert client.rate_limit("docker.io") == RateLimit(100, 99, 21600.0)
    assert client.rate_limit("r.example") is None


def test_missing_digest_header_falls_back_to_get_and_hashes_the_body() -> None:
    harness = Harness(lambda r: manifest(r, digest_header=False))
    observation = harness.run(lambda c: c.resolve(REF))
    assert observation.digest == DIGEST
    assert [r.method for r in harness.requests] == ["HEAD", "GET"]


def test_a_body_that_does_not_match_its_digest_is_refused() -> None:
    def lying(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": OCI_MANIFEST,
                                            "Docker-Content-Digest": "sha256:" + "0" * 64},
                              content=MANIFEST)

    harness = Harness(lying)
    with pytest.raises(InvalidResponse, match="claimed"):
        harness.run(lambda c: c.image_config(REF))


def test_oversized_manifest_is_refused_before_reading() -> None:
    harness = Harness(lambda r: httpx.Response(200, content=b"x" * 2048), max_manifest_bytes=1024)
    with pytest.raises(InvalidResponse, match="larger than 1024 bytes"):
        harness.run(lambda c: c.image_config(REF))


def test_404_is_not_found() -> None:
    harness = Harness(lambda r: httpx.Response(404))
    with pytest.raises(NotFound, match=r"team/app:1 on r\.example"):
        harness.run(lambda c: c.resolve(REF))


def bearer_registry(token_answers: list[dict[str, object]], realm: str) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json=token_answers.pop(0))
        if request.headers.get("authorization", "").startswith("Bearer "):
            return manifest(request)
        return httpx.Response(401, headers={
            "WWW-Authenticate": f'Bearer realm="{realm}",service="svc",scope="x"'})

    return handle


def test_tokens_are_cached_until_shortly_before_they_expire() -> None:
    answers: list[dict[str, object]] = [{"token": "t1", "expires_in": 100}, {"token": "t2"},
                                        {"access_token": "t3"}]
    harness = Harness(bearer_registry(answers, "https://auth.example/token"))

    async def rounds(client: RegistryClient) -> list[str]:
        seen = []
        for now in (1000.0, 1089.0, 1091.0, 1140.0, 1150.0):
            harness.now = now
            await client.resolve(REF)
            seen.append(harness.requests[-1].headers["authorization"])
        return seen

    assert harness.run(rounds) == [
        "Bearer t1", "Bearer t1",  # 100 s, less a 10 s margin
        "Bearer t2", "Bearer t2",  # no expires_in: 60 s less 6 s
        "Bearer t3",
    ]
    token_requests = [r for r in harness.requests if r.url.path == "/token"]
    assert len(token_requests) == 3
    assert token_requests[0].url.params["scope"] == "repository:team/app:pull"
    assert token_requests[0].url.params["service"] == "svc"


def test_credentials_never_go_to_a_plain_http_realm_of_a_secure_registry() -> None:
    harness = Harness(bearer_registry([], "http://auth.example/token"),
                      credentials=Credentials(username="bob", password="hunter2"))
    with pytest.raises(Unauthorized) as caught:
        harness.run(lambda c: c.resolve(REF))
    assert "plain HTTP" in str(caught.value)
    assert "`insecure = true`" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert not any(r.url.host == "auth.example" for r in harness.requests)


def test_basic_credentials_refused_name_the_realm_and_hide_the_password() -> None:
    def basic(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="corp registry"'})

    harness = Harness(basic, credentials=Credentials(username="bob", password="hunter2"))
    with pytest.raises(Unauthorized) as caught:
        harness.run(lambda c: c.resolve(REF))
    assert caught.value.realm == "corp registry"
    assert "'corp registry'" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    sent = harness.requests[-1].headers["authorization"]
    assert base64.b64decode(sent.split()[1]) == b"bob:hunter2"
    assert len(harness.requests) == 2  # anonymous, then Basic once


def test_static_bearer_token_is_sent_as_is() -> None:
    harness = Harness(manifest, credentials=Credentials(token="static-tok"))
    harness.run(lambda c: c.resolve(REF))
    assert harness.requests[0].headers["authorization"] == "Bearer static-tok"


def test_identity_token_is_exchanged_with_a_post() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            assert request.method == "POST"
            form = dict(httpx.QueryParams(request.content.decode()))
            assert form["grant_type"] == "refresh_token"
            assert form["refresh_token"] == "idt"
            return httpx.Response(200, json={"access_token": "from-refresh"})
        return bearer_registry([], "https://auth.example/token")(request)

    harness = Harness(handle, credentials=Credentials(username="u", identity_token="idt"))
    harness.run(lambda c: c.resolve(REF))
    assert harness.requests[-1].headers["authorization"] == "Bearer from-refresh"


def test_default_settings_cannot_carry_credentials() -> None:
    with pytest.raises(ConfigError, match="every registry"):
        RegistryClient(default=RegistrySettings(credentials=Credentials(token="t")))


def test_basic_challenge_without_credentials_fails_after_one_request() -> None:
    challenge = {"WWW-Authenticate": 'Basic realm="x"'}
    harness = Harness(lambda r: httpx.Response(401, headers=challenge))
    with pytest.raises(Unauthorized, match="'x'"):
        harness.run(lambda c: c.resolve(REF))
    assert len(harness.requests) == 1
