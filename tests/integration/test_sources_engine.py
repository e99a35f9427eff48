"""The engine source against Docker's way of answering (a loopback server speaking the
Engine API over TLS with client certificates) and a real registry: which image of an index
a Docker container runs is read from the registry, since Docker records only the index."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run, write_config
from tests.support.engine import DockerAnswers
from tests.support.registry import RunningRegistry, session_ca

pytestmark = pytest.mark.registry


@pytest.fixture
def certificates(tmp_path: Path) -> dict[str, Path]:
    ca = session_ca()
    server = ca.issue(tmp_path, "engine")
    client = ca.issue(tmp_path, "engine-client", client=True)
    return {"ca": ca.write(tmp_path / "ca.pem"), "server": server.cert,
            "server_key": server.key, "cert": client.cert, "key": client.key}


@pytest.fixture
def docker(certificates: dict[str, Path]) -> Iterator[DockerAnswers]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates["server"], certificates["server_key"])
    context.load_verify_locations(certificates["ca"])
    context.verify_mode = ssl.CERT_REQUIRED  # a client certificate, as dockerd --tlsverify
    with DockerAnswers(tls=context) as answers:
        yield answers


def config_for(tmp_path: Path, registry: RunningRegistry, engine: dict[str, Any]) -> Path:
    path = write_config(tmp_path / "watcher.toml", registry, [],
                        database=f"sqlite:///{tmp_path / 'w.db'}")
    with path.open("a") as out:
        out.write("\n[[sources.engine]]\n")
        out.write("".join(f"{k} = {json.dumps(v)}\n" for k, v in engine.items()))
    return path


def container(config: Path, name: str) -> dict[str, Any]:
    result = run("status", "--containers", "--all", "--json", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    (found,) = [c for c in result.json["containers"] if c["name"] == name]
    return dict(found)


def test_a_docker_container_on_an_index_is_judged_for_its_own_platform(
    registry_open: RunningRegistry, repository: str, tmp_path: Path, docker: DockerAnswers,
    certificates: dict[str, Path],
) -> None:
    push, host = registry_open.push, registry_open.host
    index = push.push_index(repository, "1", ["linux/amd64", "linux/arm64/v8"])
    ref = f"{host}/{repository}:1"
    docker.containers["api"] = (ref, [f"{host}/{repository}@{index.digest}"], "linux/arm64/v8")
    config = config_for(tmp_path, registry_open, {
        "name": "docker", "url": f"tcp://127.0.0.1:{docker.port}",
        "ca_file": str(certificates["ca"]), "client_cert": str(certificates["cert"]),
        "client_key": str(certificates["key"])})

    first = run("check", "--json", "--config", str(config))
    assert first.exit_code == 0, first.stdout + first.stderr
    assert first.json["engines"][0]["api_version"] == "1.43"  # the engine's 1.45, capped
    assert "/v1.43/containers/json?all=0" in docker.requests
    arm64 = index.children["linux/arm64/v8"]
    assert container(config, "api")["running_digest"] == arm64

    other = push.repush_index(repository, "1", index, changed="linux/amd64")
    assert run("check", "--config", str(config)).exit_code == 0
    row = container(config, "api")
    assert (row["freshness"], row["running_digest"], row["current_digest"]) == (
        "current", arm64, arm64)

    moved = push.repush_index(repository, "1", other, changed="linux/arm64/v8")
    assert run("check", "--config", str(config)).exit_code == 0
    row = container(config, "api")
    assert (row["freshness"], row["running_digest"], row["current_digest"]) == (
        "stale", arm64, moved.children["linux/arm64/v8"])
    assert row["reason"] == "its tag now points to another image for linux/arm64"


def test_an_engine_without_the_client_certificate_or_answering_nonsense_fails_alone(
    registry_open: RunningRegistry, repository: str, tmp_path: Path, docker: DockerAnswers,
    certificates: dict[str, Path],
) -> None:
    host = registry_open.host
    registry_open.push.push_image(repository, "1")
    config = config_for(tmp_path, registry_open, {
        "name": "no-cert", "url": f"tcp://127.0.0.1:{docker.port}",
        "ca_file": str(certificates["ca"])})
    with config.open("a") as out:
        out.write(f'\n[[images]]\nref = "{host}/{repository}:1"\n')
    result = run("check", "--json", "--config", str(config))
    assert result.exit_code == 1
    (engine,) = result.json["engines"]
    assert engine["error"].startswith(f"engine no-cert (tcp://127.0.0.1:{docker.port}): ")
    assert "client certificate: set client_cert and client_key" in engine["error"]
    assert result.json["images"][0]["error"] is None  # the config's image is checked anyway

    docker.broken = True
    config = config_for(tmp_path, registry_open, {
        "name": "odd", "url": f"tcp://127.0.0.1:{docker.port}",
        "ca_file": str(certificates["ca"]), "client_cert": str(certificates["cert"]),
        "client_key": str(certificates["key"])})
    text = run("check", "--config", str(config))
    assert text.exit_code == 1
    assert "error: engine odd (tcp://127.0.0.1:" in text.stderr
    assert "v1.43/containers/json: an answer that is not JSON" in text.stderr
    assert "Traceback" not in text.stderr
