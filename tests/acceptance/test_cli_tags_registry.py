"""``watcher tags REF`` without ``--from``: the tags come from the registry, asked with the
credentials ``watcher check`` uses (the config file's, else Docker's), and the image's
configured tag policy applies unless an option replaces it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.cli import run, write_config
from tests.support.registry import RunningRegistry

BITNAMI = [
    "latest",
    "8.0",
    "8.0.36-debian-12",
    "8.0.36-debian-12-r5",
    "8.0.36-debian-12-r7",
    "8.0.37-debian-12-r0",
    "9.1.0-debian-12-r2",
]


def _push_tags(registry: RunningRegistry, repository: str, tags: list[str]) -> None:
    body, media_type = registry.push.image_manifest(repository)
    for tag in tags:
        registry.push.put_manifest(repository, tag, body, media_type)


@pytest.mark.registry
@pytest.mark.parametrize("mode", ["registry_htpasswd", "registry_token"])
def test_tags_lists_the_registry_with_the_configured_credentials(
    request: pytest.FixtureRequest, mode: str, repository: str, tmp_path: Path
) -> None:
    registry: RunningRegistry = request.getfixturevalue(mode)
    _push_tags(registry, repository, BITNAMI)
    ref = str(registry.ref(repository, "8.0.36-debian-12-r5"))
    config = write_config(
        tmp_path / "watcher.toml", registry, [], database=f"sqlite:///{tmp_path / 'w.db'}"
    )
    result = run("tags", "--config", str(config), ref, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    answer = result.json
    assert (answer["same_line"], answer["newest"]) == ("8.0.37-debian-12-r0", "9.1.0-debian-12-r2")
    assert answer["rejected"]["8.0.36-debian-12"] == "build-mismatch"
    assert answer["parsed"]["revision"] == 5
    assert set(answer["candidates"]) | set(answer["rejected"]) == set(BITNAMI)

    text = run("tags", "--config", str(config), ref)
    assert text.exit_code == 0, text.stdout + text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"listed     {len(BITNAMI)} tags of {registry.host}/{repository}"
    assert lines[2] == (
        "  read as  version 8.0.36, revision r5, prefix (none), pre-release (none), "
        "build (none), variant debian-12, precision 3"
    )
    assert "    8.0.36-debian-12  no revision; 8.0.36-debian-12-r5 has r5" in text.stdout


@pytest.mark.registry
def test_without_credentials_the_registry_refusal_is_reported(
    registry_htpasswd: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    _push_tags(registry_htpasswd, repository, ["1.0", "1.1"])
    config = write_config(
        tmp_path / "watcher.toml",
        registry_htpasswd,
        [],
        database=f"sqlite:///{tmp_path / 'w.db'}",
        credentials=False,
    )
    result = run("tags", "--config", str(config), str(registry_htpasswd.ref(repository, "1.0")))
    assert result.exit_code == 1
    assert result.stderr.startswith("watcher: error: ")
    assert registry_htpasswd.host in result.stderr


@pytest.mark.registry
def test_the_configured_policy_applies_and_options_replace_it(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    _push_tags(registry_open, repository, BITNAMI)
    ref = str(registry_open.ref(repository, "8.0.36-debian-12-r5"))
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": ref, "exclude": "^9\\."}],
        database=f"sqlite:///{tmp_path / 'w.db'}",
    )
    result = run("tags", "--config", str(config), ref, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.json["newest"] == "8.0.37-debian-12-r0"
    assert result.json["rejected"]["9.1.0-debian-12-r2"] == "excluded"
    replaced = run("tags", "--config", str(config), ref, "--exclude", "^8\\.0\\.37", "--json")
    assert replaced.exit_code == 0, replaced.stdout + replaced.stderr
    assert json.loads(replaced.stdout)["newest"] == "9.1.0-debian-12-r2"


@pytest.mark.registry
def test_an_unknown_repository_is_an_error_naming_it(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "watcher.toml", registry_open, [], database=f"sqlite:///{tmp_path / 'w.db'}"
    )
    result = run("tags", "--config", str(config), str(registry_open.ref(repository, "1.0")))
    assert result.exit_code == 1
    assert repository in result.stderr
