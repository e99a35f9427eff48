"""Changes you can trust, end to end against the real registry: platform spellings, index-only
changes, tag listing failures shown, removals confirmed by a second check, a registry that
briefly serves empty storage, and a ``status`` CI gate that can be made green."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run, write_config
from tests.support.push import ATTESTATION_TYPE, OCI_INDEX, Descriptor, sha256
from tests.support.registry import RunningRegistry


def _by_ref(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {image["ref"]: image for image in document["images"]}


def _kinds(image: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in image["events"]]


def _history(config: Path, ref: str) -> list[str]:
    story = run("history", "--config", str(config), "--json", ref).json["history"]
    return [entry["kind"] for entry in story]


@pytest.mark.registry
def test_configured_platform_matches_the_index_spelling_and_missing_ones_are_warned(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    first = push.push_index(repository, "1.0", ["linux/amd64", "linux/arm64/v8"])
    ref = str(registry_open.ref(repository, "1.0"))
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": ref, "platforms": ["linux/arm64", "linux/s390x"], "list_tags": False}],
        database=f"sqlite:///{tmp_path / 'watcher.db'}",
    )
    check = ("check", "--config", str(config))
    (image,) = run(*check, "--json").json["images"]
    assert image["state"] == "baseline"
    assert image["missing_platforms"] == ["linux/s390x"]
    lines = [line.split(None, 1) for line in run(*check).stdout.splitlines()]
    assert ["warning", "platform linux/s390x is not in the image"] in lines

    # linux/arm64 is linux/arm64/v8: its rebuild is a change, not "only platforms not watched".
    push.repush_index(repository, "1.0", first, changed="linux/arm64/v8")
    result = run(*check, "--json")
    (image,) = result.json["images"]
    assert image["state"] == "changed"
    assert image["events"][0]["changed_platforms"] == {"linux/arm64/v8": "changed"}

    status = run("status", "--config", str(config), "--json").json
    (entry,) = status["images"]
    assert entry["status"] == "rebuild_needed"
    assert entry["missing_platforms"] == ["linux/s390x"]
    text = run("status", "--config", str(config)).stdout
    assert "\n    warning: platform linux/s390x is not in the image\n" in f"{text}\n"


def _put_index(
    registry: RunningRegistry, repository: str, tag: str, entries: list[dict[str, Any]], **dump: Any
) -> str:
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, **dump)
    return registry.push.put_manifest(repository, tag, body.encode(), OCI_INDEX)


def _attestation(registry: RunningRegistry, repository: str, for_digest: str) -> dict[str, Any]:
    body, media_type = registry.push.image_manifest(repository, platform="unknown/unknown")
    digest = registry.push.put_manifest(repository, sha256(body), body, media_type)
    return Descriptor(media_type, digest, len(body), "unknown/unknown").as_json(
        {"annotations": {ATTESTATION_TYPE: "attestation-manifest",
                         "vnd.docker.reference.digest": for_digest}}
    )


@pytest.mark.registry
def test_an_index_that_changed_while_no_platform_image_did_is_no_rebuild(
    registry_open: RunningRegistry, repository: str, store_url: str, tmp_path: Path
) -> None:
    pushed = registry_open.push.push_index(
        repository, "2.0", ["linux/amd64", "linux/arm64/v8"], attestations=True
    )
    children = [d.as_json() for d in pushed.descriptors.values()]
    ref = str(registry_open.ref(repository, "2.0"))
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": ref, "list_tags": False}],
        database=store_url,
    )
    check = ("check", "--config", str(config), "--json")
    (image,) = run(*check).json["images"]
    assert image["state"] == "baseline"
    # Attestation manifests are never platforms.
    assert image["platforms"] == pushed.children

    digests = {pushed.digest}
    variants = [
        # Attestations rebuilt.
        lambda: _put_index(
            registry_open, repository, "2.0",
            [entry for child in children
             for entry in (child, _attestation(registry_open, repository, child["digest"]))],
        ),
        # Attestations dropped, then added back in another order, with index annotations.
        lambda: _put_index(registry_open, repository, "2.0", children[::-1]),
        lambda: _put_index(
            registry_open, repository, "2.0",
            [*children, _attestation(registry_open, repository, children[0]["digest"])],
        ),
        # The same list re-serialised.
        lambda: _put_index(registry_open, repository, "2.0", children, indent=1),
        lambda: _put_index(registry_open, repository, "2.0", children, separators=(",", ":")),
    ]
    for put in variants:
        digest = put()
        assert digest not in digests
        digests.add(digest)
        result = run(*check)
        assert result.exit_code == 0, result.stderr
        (image,) = result.json["images"]
        assert image["digest"] == digest
        assert (image["state"], image["events"]) == ("unchanged", [])

    status = run("status", "--config", str(config), "--json", "--exit-code")
    assert status.exit_code == 0
    (entry,) = status.json["images"]
    assert (entry["status"], entry["pending_events"]) == ("up_to_date", [])
    assert _history(config, ref) == ["baseline"] + ["index_changed"] * len(variants)
    text = run("history", "--config", str(config), ref).stdout
    assert "index only: no platform image changed" in text

    # A platform image that does change is still reported, against the latest index.
    moved = registry_open.push.repush_index(repository, "2.0", pushed, changed="linux/amd64")
    (image,) = run(*check).json["images"]
    assert _kinds(image) == ["digest_changed"]
    assert image["events"][0]["old_digest"] == digest
    assert image["events"][0]["new_digest"] == moved.digest
    assert image["events"][0]["changed_platforms"] == {"linux/amd64": "changed"}


@pytest.mark.registry
def test_a_failed_tag_listing_is_shown_by_check_and_status(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    for tag in ("1.0", "1.1", "1.2"):
        push.push_image(repository, tag)
    ref = str(registry_open.ref(repository, "1.0"))
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": ref}],
        database=f"sqlite:///{tmp_path / 'watcher.db'}",
        extra_registry="max_tags = 2",
    )
    result = run("check", "--config", str(config), "--json")
    assert result.exit_code == 0
    (image,) = result.json["images"]
    assert image["state"] == "baseline"
    assert "max_tags=2" in image["tags_error"]
    assert image["tags_error"].startswith("tag listing failed: ")
    text = run("check", "--config", str(config)).stdout
    lines = [line.split(None, 1) for line in text.splitlines()]
    (warning,) = [text for label, text in lines if label == "warning"]
    assert warning.startswith("tag listing failed: ")
    assert "max_tags=2" in warning

    (entry,) = run("status", "--config", str(config), "--json").json["images"]
    assert "max_tags=2" in entry["tags_error"]
    text = run("status", "--config", str(config)).stdout
    assert "\n    warning: tag listing failed: " in text

    # Fixed: the warning goes away.
    config.write_text(config.read_text().replace("max_tags = 2", "max_tags = 10"))
    (image,) = run("check", "--config", str(config), "--json").json["images"]
    assert image["tags_error"] is None
    assert image["newer"]["same_line"] == "1.2"
    (entry,) = run("status", "--config", str(config), "--json").json["images"]
    assert entry["tags_error"] is None
    assert "warning:" not in run("status", "--config", str(config)).stdout


@pytest.mark.registry
def test_a_registry_briefly_serving_empty_storage_reports_no_removal(
    registry_open: RunningRegistry, repository: str, store_url: str, tmp_path: Path
) -> None:
    push = registry_open.push
    pushed: dict[str, tuple[str, bytes, str]] = {}
    for name in ("a", "b", "c"):
        body, media_type = push.image_manifest(f"{repository}/{name}")
        push.put_manifest(f"{repository}/{name}", "1.0", body, media_type)
        pushed[str(registry_open.ref(f"{repository}/{name}", "1.0"))] = (name, body, media_type)
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": ref, "list_tags": False} for ref in pushed],
        database=store_url,
    )
    check = ("check", "--config", str(config), "--json")
    assert run(*check).exit_code == 0

    # Every tracked tag vanishes at once, twice in a row: the registry fails, no tag is gone.
    for name, body, _ in pushed.values():
        push.delete(f"{repository}/{name}", sha256(body))
    for _ in range(2):
        result = run(*check)
        assert result.exit_code == 1
        for image in result.json["images"]:
            assert (image["state"], image["events"]) == ("error", [])
            assert "every tracked tag" in image["error"]
            assert "not as removed tags" in image["error"]
    statuses = run("status", "--config", str(config), "--json").json["images"]
    assert {s["status"] for s in statuses} == {"failing"}

    # The storage is back: recovered, nothing to rebuild.
    for name, body, media_type in pushed.values():
        push.put_manifest(f"{repository}/{name}", "1.0", body, media_type)
    result = run(*check)
    assert result.exit_code == 0
    assert {(i["state"], len(i["events"])) for i in result.json["images"]} == {("unchanged", 0)}
    status = run("status", "--config", str(config), "--exit-code")
    assert status.exit_code == 0, status.stdout

    # One tag really removed: reported when the second check agrees, once.
    gone = next(iter(pushed))
    name, body, _ = pushed[gone]
    push.delete(f"{repository}/{name}", sha256(body))
    first = _by_ref(run(*check).json)[gone]
    assert (first["state"], first["events"]) == ("error", [])
    second = _by_ref(run(*check).json)[gone]
    assert _kinds(second) == ["tag_removed"]
    third = _by_ref(run(*check).json)[gone]
    assert third["events"] == []
    assert _history(config, gone) == ["baseline", "failing", "recovered", "failing", "tag_removed"]


@pytest.mark.registry
def test_status_gate_can_be_made_green(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    push.push_image(repository, "1.0")
    ref = str(registry_open.ref(repository, "1.0"))
    typo = str(registry_open.ref(f"{repository}/typo", "1.0"))
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": ref}],
        database=f"sqlite:///{tmp_path / 'watcher.db'}",
    )

    def gate(*fail_on: str) -> int:
        extra = ("--fail-on", *fail_on) if fail_on else ("--exit-code",)
        return run("status", "--config", str(config), *extra).exit_code

    assert run("check", "--config", str(config)).exit_code == 0
    assert gate() == 0

    # A newer version: the gate fails until it is acknowledged.
    push.push_image(repository, "1.1")
    assert run("check", "--config", str(config), "--list-tags").exit_code == 0
    assert gate() == 1
    assert gate("rebuild,failing") == 0
    assert gate("newer") == 1
    (entry,) = run("status", "--config", str(config), "--json").json["images"]
    assert (entry["status"], entry["concerns"]) == ("newer_version", ["newer"])
    assert run("ack", "--config", str(config), ref).exit_code == 0
    (entry,) = run("status", "--config", str(config), "--json").json["images"]
    assert (entry["status"], entry["concerns"]) == ("up_to_date", [])
    assert entry["newer"]["same_line"] == "1.1"  # still on offer, but acknowledged
    assert gate() == 0

    # The next newer version is reported again.
    push.push_image(repository, "1.2")
    assert run("check", "--config", str(config), "--list-tags").exit_code == 0
    assert gate() == 1
    assert run("ack", "--config", str(config), ref).exit_code == 0
    assert gate() == 0

    # A failing image (a typo: 404) fails the gate, unless told otherwise.
    config.write_text(config.read_text() + f'\n[[images]]\nref = "{typo}"\n')
    assert run("check", "--config", str(config)).exit_code == 1
    assert gate() == 1
    assert gate("failing") == 1
    assert gate("rebuild, newer") == 0
    failing = _by_ref(run("status", "--config", str(config), "--json").json)[typo]
    assert (failing["status"], failing["concerns"]) == ("failing", ["failing"])

    bad = run("status", "--config", str(config), "--fail-on", "rebuild,sometimes")
    assert bad.exit_code == 2
    assert "sometimes" in bad.stderr
    assert "--fail-on" in bad.stderr
