"""Credentials never follow a redirect to another host: manifests, blobs and tag lists, end to
end against two real servers on loopback (the registry and a "blob store" on another port)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support.httpservers import HttpServer, Reply, Seen, json_reply, sha256
from watcher.core.observation import OCI_MANIFEST
from watcher.core.reference import ImageReference
from watcher.errors import Unauthorized
from watcher.registry import Credentials, RegistryClient, RegistrySettings

CONFIG = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Labels": {"a": "b"}}}).encode()
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(CONFIG),
    "size": len(CONFIG)}}).encode()
TAGS = json.dumps({"name": "lib/app", "tags": ["1", "2"]}).encode()
BASIC = "Basic " + base64.b64encode(b"bob:hunter2").decode()
TOKEN = "registry-token-42"


def elsewhere(*, challenge: bool) -> Callable[[Seen], Reply]:
    """Another host: serves what it is asked for, or challenges with a realm of its own."""

    def handle(seen: Seen) -> Reply:
        if seen.route == "/token":
            return json_reply({"token": "stolen"})
        if challenge and seen.headers.get("authorization") != "Bearer stolen":
            realm = f"http://{seen.headers['host']}/token"
            return json_reply({}, 401, {"WWW-Authenticate": f'Bearer realm="{realm}"'})
        if "/manifests/" in seen.route:
            return Reply(200, {"Content-Type": OCI_MANIFEST,
                               "Docker-Content-Digest": sha256(MANIFEST)}, MANIFEST)
        if "/tags/list" in seen.route:
            return Reply(200, {"Content-Type": "application/json"}, TAGS)
        return Reply(200, {}, CONFIG)

    return handle


def registry(other: HttpServer, redirect: str) -> Callable[[Seen], Reply]:
    """A registry with a token server; requests whose route contains ``redirect`` go to
    ``other`` with a 307, every other one is served here."""

    def handle(seen: Seen) -> Reply:
        if seen.route == "/token":
            if seen.headers.get("authorization") != BASIC:
                return json_reply({}, 401)
            return json_reply({"token": TOKEN})
        if seen.headers.get("authorization") != f"Bearer {TOKEN}":
            realm = f"http://{seen.headers['host']}/token"
            return json_reply({}, 401, {"WWW-Authenticate":
                                        f'Bearer realm="{realm}",service="reg"'})
        if redirect in seen.route:
            return Reply(307, {"Location": f"{other.url}/store{seen.path}"})
        if "/manifests/" in seen.route:
            return Reply(200, {"Content-Type": OCI_MANIFEST,
                               "Docker-Content-Digest": sha256(MANIFEST)}, MANIFEST)
        if "/tags/list" in seen.route:
            return Reply(200, {"Content-Type": "application/json"}, TAGS)
        return Reply(200, {}, CONFIG)

    return handle


def run(server: HttpServer, work: Callable[[RegistryClient, ImageReference], Awaitable[Any]]
        ) -> Any:
    async def main() -> Any:
        settings = RegistrySettings(host=server.host, retries=0,
                                    credentials=Credentials(username="bob", password="hunter2"))
        async with RegistryClient({server.host: settings}) as client:
            return await work(client, ImageReference(server.host, "lib/app", "1"))

    return asyncio.run(main())


WORK: dict[str, tuple[str, Callable[[RegistryClient, ImageReference], Awaitable[Any]]]] = {
    "manifest": ("/manifests/", lambda c, ref: c.resolve(ref)),
    "blob": ("/blobs/", lambda c, ref: c.image_config(ref)),
    "tag list": ("/tags/list", lambda c, ref: c.list_tags(ref)),
}


def assert_nothing_leaked(other: HttpServer) -> None:
    assert other.seen, "the redirect was not followed"
    for seen in other.seen:
        assert "authorization" not in seen.headers, seen
        assert seen.route != "/token", "a token was asked of the other host's realm"
    text = repr(other.seen)
    for secret in (TOKEN, "hunter2", BASIC):
        assert secret not in text


@pytest.mark.parametrize("what", list(WORK))
def test_a_redirect_to_another_host_is_followed_without_credentials(what: str) -> None:
    route, work = WORK[what]
    with HttpServer(elsewhere(challenge=False)) as other, \
            HttpServer(registry(other, route)) as server:
        result = run(server, work)
    assert result is not None
    if what == "tag list":
        assert result == ["1", "2"]
    assert_nothing_leaked(other)
    assert any(route in s.route and s.headers.get("authorization") == f"Bearer {TOKEN}"
               for s in server.seen)


@pytest.mark.parametrize("what", list(WORK))
def test_another_host_that_challenges_gets_neither_credentials_nor_the_token(what: str) -> None:
    route, work = WORK[what]
    with (HttpServer(elsewhere(challenge=True)) as other,
          HttpServer(registry(other, route)) as server,
          pytest.raises(Unauthorized) as caught):
        run(server, work)
    assert f"redirected to {other.host}" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert_nothing_leaked(other)
