"""One image's check going wrong in an unforeseen way fails that image only: the others of
the round are still checked and recorded, and the round reports normally."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acceptance.cli import run, write_config
from tests.support.httpservers import (
    HttpServer,
    Reply,
    Seen,
    manifest_server,
    paginated_tags,
    sha256,
)
from tests.support.registry import RunningRegistry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "0" * 64,
            "size": 2,
        },
        "layers": [],
    }
).encode()


def _registry_block(host: str) -> str:
    return f'\n[[registries]]\nhost = "{host}"\ninsecure = true\nretries = 0\ntimeout = "5s"\n'


@pytest.mark.registry
def test_a_malformed_token_realm_fails_only_that_image(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    digest = registry_open.push.push_image(repository, "1")
    good = str(registry_open.ref(repository, "1"))

    def bad_realm(_seen: Seen) -> Reply:
        return Reply(401, {"WWW-Authenticate": 'Bearer realm="http://[::1/token"'})

    with HttpServer(bad_realm) as server:
        bad = f"{server.host}/lib/app:1"
        config = write_config(
            tmp_path / "watcher.toml",
            registry_open,
            [{"ref": good}, {"ref": bad}],
            database=f"sqlite:///{tmp_path / 'watcher.db'}",
            extra_registry=_registry_block(server.host),
        )
        result = run("check", "--config", str(config), "--json")

    assert result.exit_code == 1, result.stderr
    images = {image["ref"]: image for image in result.json["images"]}
    assert images[good]["state"] == "baseline"
    assert images[good]["digest"] == digest
    assert images[bad]["state"] == "error"
    assert images[bad]["digest"] is None
    assert server.host in images[bad]["error"]
    assert result.json["summary"] == {"images": 2, "changed": 0, "failed": 1}

    status = run("status", "--config", str(config), "--json").json
    by_ref = {image["ref"]: image for image in status["images"]}
    assert by_ref[good]["digest"] == digest
    assert by_ref[bad]["status"] == "failing"
    assert by_ref[bad]["failing"]["count"] == 1


@pytest.mark.parametrize(
    "listing",
    [
        # A tag far longer than Docker allows, with a 5,000-digit number in it.
        paginated_tags("lib/app", ["1.0", "1.1", "9" * 5000 + ".0"], page_size=100),
        # A next-page link that is not a URL.
        paginated_tags(
            "lib/app",
            ["1.0", "1.1", "1.2"],
            page_size=1,
            next_url="http://[::1/v2/lib/app/tags/list",
        ),
    ],
    ids=["absurd-tag", "malformed-link"],
)
def test_a_bad_tag_list_keeps_the_digest_check(
    tmp_path: Path, listing: Callable[[Seen], Reply]
) -> None:
    manifests = manifest_server("lib/app", "1.0", MANIFEST, OCI_MANIFEST)

    def handler(seen: Seen) -> Reply:
        if seen.route.endswith("/tags/list"):
            return listing(seen)
        return manifests(seen)

    with HttpServer(handler) as server:
        ref = f"{server.host}/lib/app:1.0"
        config = tmp_path / "watcher.toml"
        config.write_text(
            f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
            + _registry_block(server.host)
            + f'\n[[images]]\nref = "{ref}"\n'
        )
        result = run("check", "--config", str(config), "--json")

    assert result.exit_code == 0, result.stderr
    (image,) = result.json["images"]
    assert image["state"] == "baseline"
    assert image["digest"] == sha256(MANIFEST)
    assert image["error"] is None


@pytest.mark.registry
def test_an_image_no_longer_configured_checked_by_ref_continues_its_history(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    old = push.push_image(repository, "1")
    push.push_image(f"{repository}/kept", "1")
    ref = str(registry_open.ref(repository, "1"))
    kept_ref = str(registry_open.ref(f"{repository}/kept", "1"))
    database = f"sqlite:///{tmp_path / 'watcher.db'}"
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": ref}, {"ref": kept_ref}],
        database=database,
    )
    assert run("check", "--config", str(config)).exit_code == 0
    # The image leaves the config: the next full round marks it inactive.
    write_config(tmp_path / "watcher.toml", registry_open, [{"ref": kept_ref}], database=database)
    assert run("check", "--config", str(config)).exit_code == 0
    shown = run("status", "--config", str(config), "--json").json["images"]
    assert [i["ref"] for i in shown] == [kept_ref]
    every = {
        i["ref"]: i
        for i in run("status", "--config", str(config), "--all", "--json").json["images"]
    }
    assert every[ref]["active"] is False
    assert every[ref]["digest"] == old
    assert "(inactive)" in run("status", "--config", str(config), "--all").stdout

    new = push.move_tag(repository, "1")
    result = run("check", "--config", str(config), "--json", ref)
    assert result.exit_code == 0, result.stderr
    (image,) = result.json["images"]
    assert image["previous_digest"] == old
    assert image["state"] == "changed"
    assert [e["kind"] for e in image["events"]] == ["digest_changed"]
    assert image["events"][0]["old_digest"] == old
    assert image["events"][0]["new_digest"] == new

    history = run("history", "--config", str(config), "--json", ref).json["history"]
    assert [entry["kind"] for entry in history] == ["baseline", "digest_changed"]


@pytest.mark.registry
def test_a_broken_credential_helper_fails_only_its_registry(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    digest = registry_open.push.push_image(repository, "1")
    good = str(registry_open.ref(repository, "1"))
    bad = "127.0.0.1:1/lib/app:1"
    docker_config = tmp_path / "docker.json"
    docker_config.write_text(json.dumps({"credHelpers": {"127.0.0.1:1": "watcher-test-none"}}))
    database = f"sqlite:///{tmp_path / 'watcher.db'}"
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": good}, {"ref": bad}],
        database=database,
    )
    config.write_text(
        config.read_text().replace(
            "[watcher]\n", f"[watcher]\ndocker_config = {json.dumps(str(docker_config))}\n"
        )
    )

    result = run("check", "--config", str(config), "--json")
    assert result.exit_code == 1, result.stderr
    images = {image["ref"]: image for image in result.json["images"]}
    assert images[good]["state"] == "baseline"
    assert images[good]["digest"] == digest
    assert images[bad]["state"] == "error"
    assert "docker-credential-watcher-test-none" in images[bad]["error"]
    assert "127.0.0.1:1" in images[bad]["error"]

    status = {i["ref"]: i for i in run("status", "--config", str(config), "--json").json["images"]}
    assert status[good]["status"] == "up_to_date"
    assert status[bad]["status"] == "failing"
