"""``tls_verify = false`` is said once per registry in a process, not once per request or
per round; the settings' repr shows the TLS files but no key material."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from watcher.core.reference import ImageReference
from watcher.errors import NotFound
from watcher.registry import RegistryClient, RegistrySettings
from watcher.registry.tls import load_tls


def _not_found(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404)


async def _round(settings: RegistrySettings, refs: list[ImageReference]) -> None:
    async with RegistryClient({settings.host: settings},
                              transport=httpx.MockTransport(_not_found)) as client:
        for ref in refs:
            with pytest.raises(NotFound):
                await client.resolve(ref)


def test_unverified_tls_is_warned_once_per_registry(caplog: pytest.LogCaptureFixture) -> None:
    settings = RegistrySettings(host="registry.test", tls=load_tls(verify=False))
    refs = [ImageReference("registry.test", "lib/a", "1"),
            ImageReference("registry.test", "lib/b", "1")]
    with caplog.at_level(logging.WARNING, logger="watcher.registry"):
        asyncio.run(_round(settings, refs))
        asyncio.run(_round(settings, refs))  # the next round, a new client: still once
    lines = [r.getMessage() for r in caplog.records if "tls_verify = false" in r.getMessage()]
    assert lines == [
        "registry.test: TLS certificates are not verified (tls_verify = false): anyone "
        "between watcher and this registry can read and change what it answers, and the "
        "credentials sent to it; set ca_file to its CA instead"
    ]


def test_verified_tls_is_not_warned(caplog: pytest.LogCaptureFixture) -> None:
    settings = RegistrySettings(host="quiet.test", tls=load_tls())
    with caplog.at_level(logging.WARNING, logger="watcher.registry"):
        asyncio.run(_round(settings, [ImageReference("quiet.test", "lib/a", "1")]))
    assert not [r for r in caplog.records if "tls_verify" in r.getMessage()]


def test_the_settings_repr_names_files_not_contexts() -> None:
    text = repr(RegistrySettings(host="registry.test", tls=load_tls(verify=False)))
    assert "verify=False" in text
    assert "SSLContext" not in text
