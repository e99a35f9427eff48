"""Which proxy a request uses: the environment read as curl and httpx read it, NO_PROXY, the
loopback rule, a registry's own proxy first; proxy credentials never shown."""

from __future__ import annotations

import httpx
import pytest

from watcher.errors import ConfigError
from watcher.registry import RegistrySettings
from watcher.registry.proxies import EnvironmentProxies, check_proxy_url, redact
from watcher.registry.transport import ROUTE, Route, RoutingTransport

PROXY = "http://proxy.corp:3128"


def _for(environ: dict[str, str], url: str) -> str | None:
    parsed = httpx.URL(url)
    return EnvironmentProxies.from_environ(environ).for_url(parsed.scheme, parsed.host,
                                                            parsed.port)


@pytest.mark.parametrize(
    ("environ", "url", "expected"),
    [
        ({"HTTPS_PROXY": PROXY}, "https://ghcr.io/v2/", PROXY),
        ({"https_proxy": PROXY}, "https://ghcr.io/v2/", PROXY),
        ({"HTTPS_PROXY": "http://upper:1", "https_proxy": PROXY}, "https://ghcr.io/", PROXY),
        ({"HTTPS_PROXY": PROXY}, "http://ghcr.io/v2/", None),  # HTTP_PROXY is for http://
        ({"HTTP_PROXY": PROXY}, "http://ghcr.io/v2/", PROXY),
        ({"ALL_PROXY": PROXY}, "https://ghcr.io/v2/", PROXY),
        ({"HTTPS_PROXY": "proxy.corp:3128"}, "https://ghcr.io/", PROXY),  # http:// implied
        ({"HTTP_PROXY": PROXY, "REQUEST_METHOD": "GET"}, "http://ghcr.io/", None),
        ({"http_proxy": PROXY, "REQUEST_METHOD": "GET"}, "http://ghcr.io/", PROXY),
        ({}, "https://ghcr.io/", None),
    ],
)
def test_proxy_from_the_environment(
    environ: dict[str, str], url: str, expected: str | None
) -> None:
    assert _for(environ, url) == expected


@pytest.mark.parametrize(
    ("no_proxy", "url", "direct"),
    [
        ("*", "https://ghcr.io/", True),
        ("ghcr.io", "https://ghcr.io/", True),
        ("ghcr.io", "https://eu.ghcr.io/", True),
        ("ghcr.io", "https://notghcr.io/", False),
        (".corp.example", "https://registry.corp.example/", True),
        ("corp.example.", "https://registry.corp.example/", True),
        ("registry.corp:5000", "https://registry.corp:5000/", True),
        ("registry.corp:5000", "https://registry.corp/", False),
        ("10.0.0.0/8", "https://10.1.2.3:5000/", True),
        ("10.0.0.0/8", "https://11.1.2.3/", False),
        ("10.1.2.3", "https://10.1.2.3/", True),
        ("fd00::/8", "https://[fd00::1]:5000/", True),
        ("GHCR.IO", "https://ghcr.io/", True),
        (" quay.io , ghcr.io ", "https://ghcr.io/", True),
        ("quay.io", "https://ghcr.io/", False),
        ("", "https://ghcr.io/", False),
    ],
)
def test_no_proxy(no_proxy: str, url: str, direct: bool) -> None:
    assert _for({"HTTPS_PROXY": PROXY, "NO_PROXY": no_proxy}, url) == (None if direct else PROXY)
    assert _for({"HTTPS_PROXY": PROXY, "no_proxy": no_proxy}, url) == (None if direct else PROXY)


@pytest.mark.parametrize("url", ["https://127.0.0.1:5000/", "https://localhost/",
                                 "http://127.8.9.1/", "https://[::1]:5000/"])
def test_loopback_never_goes_through_a_proxy_from_the_environment(url: str) -> None:
    assert _for({"HTTPS_PROXY": PROXY, "HTTP_PROXY": PROXY}, url) is None


def _request(url: str, route: Route | None) -> httpx.Request:
    return httpx.Request("GET", url, extensions={ROUTE: route} if route else {})


def test_a_registry_proxy_wins_and_applies_to_loopback_too() -> None:
    own = "http://own.proxy:8080"
    transport = RoutingTransport({"HTTPS_PROXY": PROXY, "NO_PROXY": "ghcr.io"})
    assert transport.proxy_for(_request("https://127.0.0.1:5000/v2/", Route(proxy=own))) == own
    assert transport.proxy_for(_request("https://ghcr.io/v2/", Route(proxy=own))) == own
    assert transport.proxy_for(_request("https://ghcr.io/v2/", Route())) is None
    assert transport.proxy_for(_request("https://quay.io/v2/", None)) == PROXY


def test_an_unsupported_proxy_in_the_environment_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        EnvironmentProxies.from_environ({"HTTPS_PROXY": "socks5://u:hunter2@proxy:1080"})
    assert "HTTPS_PROXY" in str(caught.value)
    assert "only http:// and https://" in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://proxy:99999", "http://:3128", "ftp://proxy"])
def test_bad_proxy_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="proxy"):
        check_proxy_url(url, key="proxy")


def test_credentials_are_redacted_everywhere() -> None:
    url = "http://squid:hunter2@proxy.corp:3128/"
    assert redact(url) == "http://***@proxy.corp:3128/"
    assert redact("http://proxy.corp:3128") == "http://proxy.corp:3128"
    settings = RegistrySettings(host="ghcr.io", proxy=url)
    assert "hunter2" not in repr(settings)
    assert "proxy='http://***@proxy.corp:3128/'" in repr(settings)
