"""Digests from the registry are checked before use; an unsupported HEAD falls back to GET."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from tests.unit.test_registry_client import DIGEST, MANIFEST, REF, Harness
from watcher.core.observation import OCI_MANIFEST, ManifestObservation
from watcher.core.reference import ImageReference
from watcher.errors import InvalidResponse
from watcher.registry import manifests

SHA512 = "sha512:" + hashlib.sha512(MANIFEST).hexdigest()
OTHER = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"digest": "sha256:" + "d" * 64}}).encode()


def serving(body: bytes, header: str | None) -> Harness:
    def handle(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": OCI_MANIFEST}
        if header is not None:
            headers["Docker-Content-Digest"] = header
        return httpx.Response(200, headers=headers, content=body)

    return Harness(handle)


@pytest.mark.parametrize(
    "header",
    [
        "garbage-not-a-digest",
        "sha256:" + hashlib.sha256(MANIFEST).hexdigest().upper(),
        "SHA256:" + hashlib.sha256(MANIFEST).hexdigest(),
        "sha256:" + hashlib.sha256(MANIFEST).hexdigest()[:-1],
        "sha256:" + hashlib.sha256(MANIFEST).hexdigest() + " ",
        "blake7:" + "a" * 64,  # a digest, but of an algorithm that cannot be verified
    ],
)
def test_a_malformed_digest_header_falls_back_to_the_computed_digest(header: str) -> None:
    harness = serving(MANIFEST, header)
    observation = harness.run(lambda c: c.resolve(REF))
    assert observation.digest == DIGEST
    assert [r.method for r in harness.requests] == ["HEAD", "GET"]

    known = ManifestObservation(DIGEST, OCI_MANIFEST)
    harness = serving(MANIFEST, header)
    assert harness.run(lambda c: c.resolve(REF, known)) is known


def test_a_malformed_header_never_hides_a_body_that_is_not_the_requested_digest() -> None:
    harness = serving(MANIFEST, "garbage-not-a-digest")
    pinned = ImageReference(REF.registry, REF.repository, None, "sha256:" + "0" * 64)
    with pytest.raises(InvalidResponse, match="claimed"):
        harness.run(lambda c: c.resolve(pinned))


def test_the_same_manifest_in_sha512_is_not_a_change() -> None:
    known = ManifestObservation(DIGEST, OCI_MANIFEST)
    harness = serving(MANIFEST, SHA512)
    assert harness.run(lambda c: c.resolve(REF, known)) is known
    # The body was fetched and verified against the sha512 the registry stated.
    assert [r.method for r in harness.requests] == ["HEAD", "GET"]


def test_another_manifest_in_sha512_is_a_change() -> None:
    known = ManifestObservation(DIGEST, OCI_MANIFEST)
    other = "sha512:" + hashlib.sha512(OTHER).hexdigest()
    harness = serving(OTHER, other)
    observation = harness.run(lambda c: c.resolve(REF, known))
    assert observation is not known
    assert observation.digest == other
    assert manifests.compute_digest(OTHER, "sha256") != DIGEST


def test_a_sha512_that_does_not_match_the_body_is_refused() -> None:
    harness = serving(MANIFEST, "sha512:" + "0" * 128)
    with pytest.raises(InvalidResponse, match="claimed"):
        harness.run(lambda c: c.resolve(REF, ManifestObservation(DIGEST, OCI_MANIFEST)))


@pytest.mark.parametrize("status", [405, 501])
def test_head_not_supported_falls_back_to_get(status: int) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(status)
        return httpx.Response(200, headers={"Content-Type": OCI_MANIFEST,
                                            "Docker-Content-Digest": DIGEST}, content=MANIFEST)

    harness = Harness(handle)
    observation = harness.run(lambda c: c.resolve(REF))
    assert observation.digest == DIGEST
    assert [r.method for r in harness.requests] == ["HEAD", "GET"]
    assert harness.sleeps == []  # 501 is not worth retrying


@pytest.mark.parametrize("status", [307, 308])
def test_a_manifest_redirect_is_followed(status: int) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v2/team/app/manifests/"):
            return httpx.Response(status, headers={"Location": "/elsewhere" + request.url.path})
        return httpx.Response(200, headers={"Content-Type": OCI_MANIFEST,
                                            "Docker-Content-Digest": DIGEST}, content=MANIFEST)

    harness = Harness(handle)
    known = ManifestObservation("sha256:" + "0" * 64, OCI_MANIFEST)
    assert harness.run(lambda c: c.resolve(REF, known)).digest == DIGEST
    assert [r.method for r in harness.requests] == ["HEAD", "HEAD"]
    assert harness.requests[1].url.path == "/elsewhere/v2/team/app/manifests/1"


DEEP = b"[" * 200_000 + b"]" * 200_000


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("/v2/team/app/manifests/1", lambda c: c.resolve(REF)),
        ("/v2/team/app/tags/list", lambda c: c.list_tags(REF)),
        ("/token", lambda c: c.resolve(REF)),
    ],
)
def test_deeply_nested_json_is_a_clear_registry_error(path: str, call: Any) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == path:
            return httpx.Response(200, content=DEEP)
        if not request.headers.get("authorization") and path == "/token":
            return httpx.Response(401, headers={
                "WWW-Authenticate": 'Bearer realm="https://r.example/token"'})
        return httpx.Response(200, headers={"Content-Type": OCI_MANIFEST}, content=MANIFEST)

    harness = Harness(handle, max_manifest_bytes=1024 * 1024)
    with pytest.raises(InvalidResponse, match=r"nested too deeply|unreadable token response"):
        harness.run(call)


def test_a_pinned_sha256_stays_sha256_when_the_registry_answers_sha512() -> None:
    harness = serving(MANIFEST, SHA512)
    pinned = ImageReference(REF.registry, REF.repository, None, DIGEST)
    observation = harness.run(lambda c: c.resolve(pinned))
    assert observation.digest == DIGEST
    assert [r.method for r in harness.requests] == ["HEAD", "GET"]
