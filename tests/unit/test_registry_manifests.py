import json

import pytest

from watcher.core.observation import DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST
from watcher.registry.manifests import (
    ManifestError,
    compute_digest,
    config_digest,
    image_config,
    index_platforms,
    media_type_of,
    select_platform,
    verify_digest,
)


def entry(digest: str, platform: dict[str, str] | None, **extra: object) -> dict[str, object]:
    item: dict[str, object] = {"mediaType": OCI_MANIFEST, "digest": digest, "size": 1}
    if platform is not None:
        item["platform"] = platform
    item.update(extra)
    return item


INDEX = json.dumps({
    "schemaVersion": 2,
    "mediaType": OCI_INDEX,
    "manifests": [
        entry("sha256:" + "a" * 64, {"os": "linux", "architecture": "amd64"}),
        entry("sha256:" + "b" * 64, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        entry("sha256:" + "c" * 64, {"os": "unknown", "architecture": "unknown"},
              annotations={"vnd.docker.reference.type": "attestation-manifest"}),
        entry("sha256:" + "d" * 64, {"os": "linux", "architecture": "amd64"},
              annotations={"vnd.docker.reference.type": "attestation-manifest"}),
        entry("sha256:" + "e" * 64, None),
    ],
}).encode()


def test_index_platforms_skip_attestations_and_platformless_entries() -> None:
    assert dict(index_platforms(INDEX)) == {
        "linux/amd64": "sha256:" + "a" * 64,
        "linux/arm64/v8": "sha256:" + "b" * 64,
    }


def test_select_platform_matches_a_lone_variant() -> None:
    platforms = index_platforms(INDEX)
    assert select_platform(platforms, "linux/arm64") == "sha256:" + "b" * 64
    assert select_platform(platforms, "linux/arm64/v8") == "sha256:" + "b" * 64
    assert select_platform(platforms, "linux/s390x") is None


def test_verify_digest_checks_every_claim() -> None:
    body = b'{"x": 1}'
    digest = compute_digest(body)
    assert verify_digest(body, digest, None, digest) == digest
    assert verify_digest(body) == digest
    assert verify_digest(body, compute_digest(body, "sha512")).startswith("sha512:")
    with pytest.raises(ManifestError, match="claimed"):
        verify_digest(body, digest, "sha256:" + "0" * 64)
    with pytest.raises(ManifestError, match="unsupported"):
        verify_digest(body, "md5:abc")


def test_media_type_prefers_the_body_then_the_header() -> None:
    assert media_type_of(INDEX, "text/plain") == OCI_INDEX
    assert media_type_of(b'{"manifests": []}', None) == OCI_INDEX
    assert media_type_of(b'{"schemaVersion": 2}', DOCKER_MANIFEST_LIST + "; charset=x") == (
        DOCKER_MANIFEST_LIST
    )
    with pytest.raises(ManifestError, match="unsupported"):
        media_type_of(b'{"schemaVersion": 1}', "application/json")
    with pytest.raises(ManifestError, match="JSON"):
        media_type_of(b"\xff not json", None)


def test_config_digest_and_image_config() -> None:
    manifest = json.dumps({"config": {"digest": "sha256:" + "f" * 64}}).encode()
    assert config_digest(manifest) == "sha256:" + "f" * 64
    with pytest.raises(ManifestError):
        config_digest(b'{"layers": []}')
    blob = json.dumps({
        "created": "2024-01-01T00:00:00Z", "os": "linux", "architecture": "arm64",
        "config": {"Env": ["A=1"], "Labels": {"org.opencontainers.image.version": "1.2"}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64, 7]},
    }).encode()
    config = image_config(blob, "sha256:x")
    assert config.layers == ("sha256:" + "1" * 64,)  # what is not a digest string is left
    assert config.created == "2024-01-01T00:00:00Z"
    assert config.env == ("A=1",)
    assert dict(config.labels) == {"org.opencontainers.image.version": "1.2"}
    assert (config.os, config.architecture) == ("linux", "arm64")
    empty = image_config(b'{"config": {"Env": null, "Labels": null}}', "sha256:y")
    assert empty.env == ()
    assert dict(empty.labels) == {}
    assert empty.created is None
    assert empty.layers == ()
    assert image_config(b'{"config": {}, "rootfs": {"diff_ids": "x"}}', "sha256:w").layers == ()
    with pytest.raises(ManifestError):
        image_config(b'{"config": {"Env": "A=1"}}', "sha256:z")


@pytest.mark.parametrize("bad", ["../../../v2/other/blobs/x", "sha256:" + "A" * 64, "garbage"])
def test_digests_inside_bodies_are_checked_before_they_go_into_a_url(bad: str) -> None:
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        entry(bad, {"os": "linux", "architecture": "amd64"})]}).encode()
    with pytest.raises(ManifestError, match="index entry digest"):
        index_platforms(index)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"digest": bad}}).encode()
    with pytest.raises(ManifestError, match="config descriptor digest"):
        config_digest(manifest)
    with pytest.raises(ManifestError, match="malformed digest"):
        verify_digest(b"{}", bad)
