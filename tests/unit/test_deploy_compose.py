"""deploy/compose.yaml parsed as YAML: what the watcher service runs, mounts and publishes,
the optional PostgreSQL profile, and the agreement with the image and its config."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.support.deployfiles import parse_dockerfile, repo_root, watcher_command
from watcher.config import load_config

DEPLOY = repo_root() / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # merges `<<: *watcher`
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def watcher(compose: dict[str, Any]) -> dict[str, Any]:
    service = compose["services"]["watcher"]
    assert isinstance(service, dict)
    return service


def test_built_from_the_container_dockerfile(watcher: dict[str, Any]) -> None:
    context = (DEPLOY / watcher["build"]["context"]).resolve()
    assert context == repo_root()
    assert (context / watcher["build"]["dockerfile"]) == DEPLOY / "container" / "Dockerfile"
    assert (context / ".dockerignore").exists()
    assert watcher["image"].startswith("${WATCHER_IMAGE:-")


def test_command_is_a_watcher_run_with_the_mounted_config(watcher: dict[str, Any]) -> None:
    command = watcher_command(watcher["command"])
    assert command.name == "run"
    config_path = command.params["config_path"]
    mounts = {volume.split(":")[1]: volume for volume in watcher["volumes"]}
    assert str(config_path) in mounts
    source, target, mode = mounts[str(config_path)].split(":")
    assert (target, mode) == (str(config_path), "ro")
    assert (DEPLOY / source).resolve() == DEPLOY / "container" / "config.toml"
    assert load_config(DEPLOY / source).http is not None


def test_state_volume_and_published_port(compose: dict[str, Any], watcher: dict[str, Any]) -> None:
    assert "state:/var/lib/watcher" in watcher["volumes"]
    assert "state" in compose["volumes"]
    config = load_config(DEPLOY / "container" / "config.toml")
    assert config.http is not None
    assert config.database.startswith("sqlite:////var/lib/watcher/")
    published = [p.rsplit(":", 1) for p in watcher["ports"]]
    assert [port for _, port in published] == [str(config.http.port)]
    assert all(host.startswith("127.0.0.1:") for host, _ in published)  # not on every address


def test_runs_as_the_images_user_locked_down(watcher: dict[str, Any]) -> None:
    dockerfile = parse_dockerfile((DEPLOY / "container" / "Dockerfile").read_text())
    assert watcher["user"] == dockerfile.final.last("USER").text
    assert watcher["read_only"] is True
    assert watcher["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in watcher["security_opt"]
    assert watcher["environment"]["TZ"] == "${TZ:-UTC}"
    assert watcher["hostname"]  # the container's default host name is a random id


def test_stop_grace_period_exceeds_the_stop_timeout(watcher: dict[str, Any]) -> None:
    stop_timeout = watcher_command(watcher["command"]).params["stop_timeout"]
    grace = watcher["stop_grace_period"]
    assert grace.endswith("s")
    assert float(grace[:-1]) > stop_timeout + 5
    assert watcher["stop_signal"] == "SIGTERM"


def test_secrets_come_from_an_optional_env_file(watcher: dict[str, Any]) -> None:
    assert watcher["env_file"] == [{"path": "./watcher.env", "required": False}]
    ignored = (DEPLOY / ".gitignore").read_text().split()
    assert {"watcher.env", ".env", "secrets/"} <= set(ignored)


def test_postgres_is_an_optional_profile_with_a_healthcheck(
    compose: dict[str, Any], watcher: dict[str, Any]
) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    assert "profiles" not in watcher  # watcher runs without any profile
    test = postgres["healthcheck"]["test"]
    assert test[:2] == ["CMD", "pg_isready"]
    assert postgres["environment"]["POSTGRES_USER"] in test
    assert watcher["depends_on"] == {"postgres": {"condition": "service_healthy",
                                                  "required": False}}
    assert "pgdata:/var/lib/postgresql/data" in postgres["volumes"]
    assert watcher["environment"]["PGPASSWORD"] == postgres["environment"]["POSTGRES_PASSWORD"]
    example = (DEPLOY / ".env.example").read_text()
    url = next(line.split("=", 1)[1] for line in example.splitlines()
               if line.startswith("# WATCHER_DATABASE="))
    user = postgres["environment"]["POSTGRES_USER"]
    database = postgres["environment"]["POSTGRES_DB"]
    assert url == f"postgresql+psycopg://{user}@postgres/{database}"


def test_replicas_are_one_anchor_away(compose: dict[str, Any]) -> None:
    anchor = compose["x-watcher"]
    watcher = compose["services"]["watcher"]
    assert {k: v for k, v in watcher.items() if k in anchor} == anchor
    assert set(watcher) - set(anchor) == {"hostname", "ports"}
    text = (DEPLOY / "compose.yaml").read_text()
    assert "# watcher-2:\n  #   <<: *watcher\n  #   hostname: watcher-2" in text
