"""SBOM attestations read and diffed: SPDX and CycloneDX in-toto statements, hostile ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.core.explain import describe_explanation, with_findings
from watcher.core.sbom import (
    SbomError,
    attestation_for,
    describe_packages,
    diff_packages,
    merge_changes,
    sbom_layers,
    statement_packages,
)

IMAGE = "sha256:" + "a" * 64
ATTESTATION = "sha256:" + "b" * 64


def statement(predicate_type: str, predicate: dict[str, Any]) -> bytes:
    return json.dumps({"_type": "https://in-toto.io/Statement/v0.1",
                       "predicateType": predicate_type, "subject": [],
                       "predicate": predicate}).encode()


SPDX = statement("https://spdx.dev/Document", {
    "spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
    "packages": [
        {"SPDXID": "SPDXRef-image", "name": "python", "versionInfo": "3.12-slim",
         "primaryPackagePurpose": "CONTAINER"},
        {"SPDXID": "SPDXRef-1", "name": "openssl", "versionInfo": "3.0.13-1~deb12u1"},
        {"SPDXID": "SPDXRef-2", "name": "libssl3", "versionInfo": "3.0.13-1~deb12u1"},
        {"SPDXID": "SPDXRef-3", "name": "no-version"},
        {"SPDXID": "SPDXRef-4", "name": 7, "versionInfo": "1"},
    ],
    "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                       "relatedSpdxElement": "SPDXRef-image"}],
})
CYCLONEDX = statement("https://cyclonedx.org/bom", {
    "bomFormat": "CycloneDX", "specVersion": "1.5",
    "components": [
        {"type": "operating-system", "name": "debian", "version": "12.6"},
        {"type": "library", "name": "openssl", "version": "3.0.14-1~deb12u1",
         "components": [{"type": "library", "name": "libssl3", "version": "3.0.14-1~deb12u1"}]},
        {"type": "library", "name": "curl", "version": "7.88.1-10"},
    ],
})


def test_spdx_packages_leave_out_the_image_itself() -> None:
    assert statement_packages(SPDX) == {"openssl": "3.0.13-1~deb12u1",
                                        "libssl3": "3.0.13-1~deb12u1"}


def test_cyclonedx_components_nested_too() -> None:
    assert statement_packages(CYCLONEDX) == {"openssl": "3.0.14-1~deb12u1",
                                             "libssl3": "3.0.14-1~deb12u1",
                                             "curl": "7.88.1-10"}


def test_a_diff_names_changed_added_and_removed_packages() -> None:
    changes = diff_packages(statement_packages(SPDX), statement_packages(CYCLONEDX))
    assert changes.changed == {"libssl3": ("3.0.13-1~deb12u1", "3.0.14-1~deb12u1"),
                               "openssl": ("3.0.13-1~deb12u1", "3.0.14-1~deb12u1")}
    assert changes.added == {"curl": "7.88.1-10"}
    assert changes.removed == {}
    assert changes.count == 3
    assert describe_packages(changes.data()) == (
        "libssl3 3.0.13-1~deb12u1 -> 3.0.14-1~deb12u1, openssl 3.0.13-1~deb12u1 -> "
        "3.0.14-1~deb12u1, curl 7.88.1-10 added; 3 packages changed")
    assert describe_packages(diff_packages({"a": "1"}, {"a": "1"}).data()) is None


def test_many_changes_are_cut_short_in_words() -> None:
    old = {f"p{i}": "1" for i in range(10)}
    new = {f"p{i}": "2" for i in range(10)}
    text = describe_packages(diff_packages(old, new).data())
    assert text is not None
    assert text.endswith(", ...; 10 packages changed")
    assert text.count("->") == 4


def test_platforms_merge_with_the_first_word_kept() -> None:
    amd = diff_packages({"a": "1", "b": "1"}, {"a": "2", "b": "1"})
    arm = diff_packages({"a": "1"}, {"a": "3", "c": "1"})
    merged = merge_changes([amd, arm])
    assert merged.changed == {"a": ("1", "2")}
    assert merged.added == {"c": "1"}


def test_the_explanation_carries_packages_tag_and_rebase() -> None:
    data = with_findings({"change": "patch", "versions": {"PYTHON_VERSION": ["3.12.7", "3.12.8"]}},
                         packages=diff_packages({"openssl": "3.0.13"}, {"openssl": "3.0.14"}),
                         tag="3.12.8-slim-bookworm", rebase="3.12.8-slim-trixie")
    assert data["classes"] == ["patch", "rebase"]
    assert describe_explanation(data) == (
        "now 3.12.8-slim-bookworm; Python 3.12.7 -> 3.12.8 (patch); openssl 3.0.13 -> 3.0.14; "
        "1 package changed; rebase available: 3.12.8-slim-trixie")
    assert with_findings({"change": "rebuild"})["classes"] == ["rebuild"]


def test_the_attestation_of_one_image_is_found_in_an_index() -> None:
    index = {"manifests": [
        {"digest": IMAGE, "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:" + "c" * 64, "annotations": {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": "sha256:" + "d" * 64}},
        {"digest": ATTESTATION, "annotations": {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": IMAGE}},
        "junk", {"annotations": "junk"},
    ]}
    assert attestation_for(index, IMAGE) == ATTESTATION
    assert attestation_for(index, "sha256:" + "e" * 64) is None
    assert attestation_for({"manifests": "no"}, IMAGE) is None


def test_sbom_layers_are_chosen_spdx_first_provenance_never() -> None:
    manifest = {"layers": [
        {"digest": "sha256:1", "size": 10, "mediaType": "application/vnd.in-toto+json",
         "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}},
        {"digest": "sha256:2", "size": 10, "mediaType": "application/vnd.in-toto+json",
         "annotations": {"in-toto.io/predicate-type": "https://cyclonedx.org/bom"}},
        {"digest": "sha256:3", "size": 10, "mediaType": "application/vnd.in-toto+json",
         "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}},
        {"digest": "sha256:4", "size": True},
    ]}
    assert [d.digest for d in sbom_layers(manifest)] == ["sha256:3", "sha256:2"]


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", b'{"predicate": 3}',
    statement("https://slsa.dev/provenance/v0.2", {"builder": {}}),
    b"[" * 100_000,
])
def test_what_is_no_sbom_is_said_so(body: bytes) -> None:
    with pytest.raises(SbomError):
        statement_packages(body)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.sampled_from(["name", "version", "versionInfo",
                                                       "packages", "components", "type"]),
                                      children, max_size=4), max_leaves=30))
def test_any_predicate_gives_packages_or_sbom_error(predicate: object) -> None:
    for kind in ("https://spdx.dev/Document", "https://cyclonedx.org/bom"):
        body = json.dumps({"predicateType": kind, "predicate": predicate}).encode()
        try:
            packages = statement_packages(body)
        except SbomError:
            continue
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in packages.items())
