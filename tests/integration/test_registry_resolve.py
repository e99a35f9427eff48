"""The client against a real registry in every auth mode, for every manifest kind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support.registry import CountingTransport, RegistryFactory, RunningRegistry
from watcher.core.observation import (
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_V2,
    OCI_INDEX,
    OCI_MANIFEST,
)
from watcher.errors import NotFound, RegistryUnavailable, Unauthorized
from watcher.registry import Credentials, RegistryClient, RegistrySettings

pytestmark = pytest.mark.registry

MODES = ["open", "htpasswd", "token-password", "token-anonymous"]
KINDS = {
    "oci-index": OCI_INDEX,
    "docker-list": DOCKER_MANIFEST_LIST,
    "oci-manifest": OCI_MANIFEST,
    "docker-manifest": DOCKER_MANIFEST_V2,
}
PLATFORMS = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def run(
    settings: RegistrySettings, work: Callable[[RegistryClient], Awaitable[Any]],
    transport: CountingTransport | None = None,
) -> Any:
    async def main() -> Any:
        async with RegistryClient({settings.host: settings}, transport=transport,
                                  sleep=no_sleep) as client:
            return await work(client)

    return asyncio.run(main())


@pytest.fixture(params=MODES)
def target(request: pytest.FixtureRequest, registry_factory: RegistryFactory
           ) -> tuple[RunningRegistry, RegistrySettings]:
    mode: str = request.param
    registry = registry_factory(mode.split("-")[0])
    if registry.token_server is not None:
        registry.token_server.allow_anonymous = True
    if mode == "token-anonymous":
        return registry, registry.settings(credentials=None)
    return registry, registry.settings()


def push(registry: RunningRegistry, repository: str, tag: str, kind: str
         ) -> tuple[str, dict[str, str]]:
    if kind.endswith("index") or kind.endswith("list"):
        pushed = registry.push.push_index(repository, tag, PLATFORMS, oci=kind.startswith("oci"),
                                          attestations=kind.startswith("oci"))
        return pushed.digest, pushed.children
    return registry.push.push_image(repository, tag, oci=kind.startswith("oci")), {}


@pytest.mark.parametrize("kind", list(KINDS))
def test_digests_equal_the_pushed_ones_and_follow_a_moved_tag(
    target: tuple[RunningRegistry, RegistrySettings], kind: str, repository: str
) -> None:
    registry, settings = target
    digest, children = push(registry, repository, "1", kind)
    ref = registry.ref(repository, "1")
    counting = CountingTransport()

    async def work(client: RegistryClient) -> None:
        first = await client.resolve(ref)
        assert first.digest == digest
        assert first.media_type == KINDS[kind]
        assert dict(first.platforms) == children

        counting.reset()
        assert await client.resolve(ref, known=first) is first
        assert [(r.method, r.url.path) for r in counting.requests] == [
            ("HEAD", f"/v2/{repository}/manifests/1")
        ]

        moved, moved_children = push(registry, repository, "1", kind)
        second = await client.resolve(ref, known=first)
        assert second.digest == moved != digest
        assert dict(second.platforms) == moved_children

        pinned = await client.resolve(registry.ref(repository, None, digest))
        assert pinned.digest == digest
        assert dict(pinned.platforms) == children

        platform = "linux/arm64" if children else None
        config = await client.image_config(ref, platform=platform)
        assert config.architecture == ("arm64" if children else "amd64")
        assert config.os == "linux"
        assert config.labels["nonce"]

    run(settings, work, counting)


def test_an_index_where_one_platform_changed(registry_open: RunningRegistry,
                                             repository: str) -> None:
    pushed = registry_open.push.push_index(repository, "3", PLATFORMS)
    repushed = registry_open.push.repush_index(repository, "3", pushed, changed="linux/arm/v7")
    observed = run(registry_open.settings(),
                   lambda c: c.resolve(registry_open.ref(repository, "3")))
    assert observed.digest == repushed.digest != pushed.digest
    changed = {p for p in PLATFORMS if observed.platforms[p] != pushed.children[p]}
    assert changed == {"linux/arm/v7"}


def test_missing_tags_repositories_and_deleted_manifests_are_not_found(
    target: tuple[RunningRegistry, RegistrySettings], repository: str
) -> None:
    registry, settings = target
    digest = registry.push.push_image(repository, "1")

    async def work(client: RegistryClient) -> None:
        with pytest.raises(NotFound, match=f"{repository}:nope on 127.0.0.1"):
            await client.resolve(registry.ref(repository, "nope"))
        with pytest.raises(NotFound):
            await client.resolve(registry.ref(repository + "-absent", "1"))
        registry.push.delete(repository, digest)
        with pytest.raises(NotFound):
            await client.resolve(registry.ref(repository, "1"))

    run(settings, work)


def test_wrong_password_is_unauthorized_naming_the_realm(
    registry_htpasswd: RunningRegistry, registry_token: RunningRegistry, repository: str
) -> None:
    for registry, realm in ((registry_htpasswd, "watcher-test-basic"),
                            (registry_token, registry_token.token_server.realm)):  # type: ignore[union-attr]
        registry.push.push_image(repository, "1")
        settings = registry.settings(credentials=Credentials(username="alice", password="nope"))
        with pytest.raises(Unauthorized) as caught:
            run(settings, lambda c, r=registry: c.resolve(r.ref(repository, "1")))
        assert caught.value.realm == realm
        assert realm in str(caught.value)
        assert "nope" not in str(caught.value)


def test_no_credentials_where_the_registry_needs_them(
    registry_htpasswd: RunningRegistry, registry_token: RunningRegistry, repository: str
) -> None:
    assert registry_token.token_server is not None
    registry_token.token_server.allow_anonymous = False
    for registry in (registry_htpasswd, registry_token):
        registry.push.push_image(repository, "1")
        with pytest.raises(Unauthorized):
            run(registry.settings(credentials=None),
                lambda c, r=registry: c.resolve(r.ref(repository, "1")))


def test_a_static_bearer_token(registry_token: RunningRegistry, repository: str) -> None:
    assert registry_token.token_server is not None
    digest = registry_token.push.push_image(repository, "1")
    token = registry_token.token_server.issue("alice", f"repository:{repository}:pull",
                                              anonymous=False)["token"]
    observed = run(registry_token.settings(credentials=Credentials(token=token)),
                   lambda c: c.resolve(registry_token.ref(repository, "1")))
    assert observed.digest == digest


def test_concurrent_resolves_of_one_scope_fetch_one_token(
    registry_token: RunningRegistry, repository: str
) -> None:
    assert registry_token.token_server is not None
    digest = registry_token.push.push_image(repository, "1")
    registry_token.token_server.reset_count()
    ref = registry_token.ref(repository, "1")

    async def work(client: RegistryClient) -> list[str]:
        found = await asyncio.gather(*(client.resolve(ref) for _ in range(20)))
        return [o.digest for o in found]

    assert run(registry_token.settings(), work) == [digest] * 20
    assert registry_token.token_server.requests == 1


def test_tags_of_a_real_repository(target: tuple[RunningRegistry, RegistrySettings],
                                   repository: str) -> None:
    registry, settings = target
    for tag in ("1", "1.1", "latest"):
        registry.push.push_image(repository, tag)
    tags = run(settings, lambda c: c.list_tags(registry.ref(repository, "1")))
    assert sorted(tags) == ["1", "1.1", "latest"]


def test_registry_down_mid_round_then_back(registry_open: RunningRegistry,
                                           repository: str) -> None:
    digest = registry_open.push.push_image(repository, "1")
    ref = registry_open.ref(repository, "1")

    async def work(client: RegistryClient) -> None:
        assert (await client.resolve(ref)).digest == digest
        registry_open.stop()
        try:
            with pytest.raises(RegistryUnavailable, match="cannot connect"):
                await client.resolve(ref)
        finally:
            registry_open.start()
        assert (await client.resolve(ref)).digest == digest

    run(registry_open.settings(retries=1), work)


def test_plain_http_registry_without_insecure_is_a_clear_error(
    registry_htpasswd: RunningRegistry, repository: str
) -> None:
    registry_htpasswd.push.push_image(repository, "1")
    settings = registry_htpasswd.settings(insecure=False, retries=0)
    with pytest.raises(RegistryUnavailable) as caught:
        run(settings, lambda c: c.resolve(registry_htpasswd.ref(repository, "1")))
    assert "`insecure = true`" in str(caught.value)
    assert "wonderland" not in str(caught.value)
