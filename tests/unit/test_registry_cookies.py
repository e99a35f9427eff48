"""The registry client's cookie jar skips responses without Set-Cookie, and only those."""

from __future__ import annotations

import httpx

from watcher.registry.http import CookiesWhenSet, HttpClient


def _response(headers: dict[str, str]) -> httpx.Response:
    request = httpx.Request("HEAD", "https://registry.example/v2/app/manifests/1.0")
    return httpx.Response(200, headers=headers, request=request)


def test_a_cookie_set_by_the_registry_is_kept() -> None:
    jar = CookiesWhenSet()
    jar.extract_cookies(_response({"Set-Cookie": "session=abc; Path=/"}))
    assert jar.get("session") == "abc"


def test_a_response_without_set_cookie_leaves_the_jar_as_it_was() -> None:
    jar = CookiesWhenSet({"session": "abc"})
    jar.extract_cookies(_response({"Docker-Content-Digest": "sha256:" + "0" * 64}))
    assert dict(jar) == {"session": "abc"}


def test_the_client_uses_that_jar_also_after_cookies_are_replaced() -> None:
    client = HttpClient()
    assert isinstance(client.cookies, CookiesWhenSet)
    client.cookies = {"session": "xyz"}
    assert isinstance(client.cookies, CookiesWhenSet)
    assert client.cookies.get("session") == "xyz"
