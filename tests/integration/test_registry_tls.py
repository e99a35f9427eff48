"""The registry client on HTTPS against the real registry, with a CA made by the tests: one
client for registries with different TLS settings, mutual TLS, and no credentials to an
``http`` token realm of an ``https`` registry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.registry import RunningRegistry
from watcher.errors import RegistryUnavailable, Unauthorized
from watcher.registry import RegistryClient, RegistrySettings
from watcher.registry.tls import load_tls

pytestmark = pytest.mark.registry


def test_one_client_speaks_to_plain_tls_and_mutual_tls_registries(
    registry_open: RunningRegistry, registry_tls: RunningRegistry,
    registry_mtls: RunningRegistry, repository: str,
) -> None:
    registries = (registry_open, registry_tls, registry_mtls)
    pushed = {r.host: r.push.push_image(repository, "1") for r in registries}

    async def main() -> dict[str, Any]:
        settings = {r.host: r.settings() for r in registries}
        async with RegistryClient(settings) as client:
            found = {}
            for registry in registries:
                ref = registry.ref(repository, "1")
                found[registry.host] = (await client.resolve(ref)).digest
                assert await client.list_tags(ref) == ["1"]
            return found

    assert asyncio.run(main()) == pushed


def test_tls_settings_of_one_registry_do_not_leak_to_another(
    registry_tls: RunningRegistry, registry_mtls: RunningRegistry, repository: str,
) -> None:
    """A client certificate configured for one registry is never presented to another: the
    mTLS registry, configured without one, refuses the handshake even after the other
    registry's connections (with the certificate) were opened in the same client."""
    tls, mtls = registry_tls.tls, registry_mtls.tls
    assert tls is not None
    assert mtls is not None
    registry_tls.push.push_image(repository, "1")
    registry_mtls.push.push_image(repository, "1")
    with_certificate = RegistrySettings(host=registry_tls.host, tls=load_tls(
        ca_file=str(tls.ca), client_cert=str(mtls.client.cert), client_key=str(mtls.client.key)))
    ca_only = RegistrySettings(host=registry_mtls.host, retries=2,
                               tls=load_tls(ca_file=str(mtls.ca)))

    async def main() -> None:
        settings = {registry_tls.host: with_certificate, registry_mtls.host: ca_only}
        async with RegistryClient(settings) as client:
            assert await client.resolve(registry_tls.ref(repository, "1"))
            await client.resolve(registry_mtls.ref(repository, "1"))

    with pytest.raises(RegistryUnavailable) as caught:
        asyncio.run(main())
    assert "asks for a client certificate" in str(caught.value)
    assert "attempts" not in str(caught.value)  # not retried: the answer would not change


def test_no_credentials_to_an_http_realm_of_an_https_registry(
    registry_tls_token: RunningRegistry, repository: str,
) -> None:
    tokens = registry_tls_token.token_server
    assert tokens is not None
    registry_tls_token.push.push_image(repository, "1")
    ref = registry_tls_token.ref(repository, "1")
    tokens.reset_count()

    async def resolve(settings: RegistrySettings) -> str:
        async with RegistryClient({registry_tls_token.host: settings}) as client:
            return (await client.resolve(ref)).digest

    with pytest.raises(Unauthorized) as caught:
        asyncio.run(resolve(registry_tls_token.settings()))
    assert "refusing to send credentials over plain HTTP" in str(caught.value)
    assert tokens.requests == 0
    # Anonymous pulls carry no secret: the realm may be asked over HTTP.
    assert asyncio.run(resolve(registry_tls_token.settings(credentials=None)))
    assert tokens.requests == 1
