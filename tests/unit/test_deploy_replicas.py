"""Three replicas on PostgreSQL: deploy/compose.replicas.yaml and the Kubernetes component
deploy/kubernetes/replicas, parsed (the component built by ``kubectl kustomize``), their
commands parsed by watcher's CLI and their configs loaded by watcher as shared replicas."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import missing_component
from tests.support.deployfiles import repo_root, watcher_command
from watcher.config import load_config

DEPLOY = repo_root() / "deploy"
REPLICAS = ("watcher-1", "watcher-2", "watcher-3")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "compose.replicas.yaml").read_text())
    assert isinstance(document, dict)
    return document


def test_compose_runs_three_named_replicas_and_postgres(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*REPLICAS, "postgres"}
    names = [services[r]["environment"]["WATCHER_INSTANCE"] for r in REPLICAS]
    assert names == list(REPLICAS)
    ports = [services[r]["ports"][0].rsplit(":", 2)[1] for r in REPLICAS]
    assert len(set(ports)) == 3  # each replica its own published port
    for replica in REPLICAS:
        service = services[replica]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["environment"]["PGPASSWORD"].startswith("${POSTGRES_PASSWORD")
        assert service["read_only"] is True


def test_compose_replicas_run_the_shared_config(compose: dict[str, Any]) -> None:
    service = compose["services"]["watcher-1"]
    command = watcher_command(service["command"])
    assert command.name == "run"
    (mount,) = service["volumes"]
    source, target, mode = mount.split(":")
    assert (target, mode) == (str(command.params["config_path"]), "ro")
    config = load_config(DEPLOY / source)
    assert config.replicas.shared
    assert config.database.startswith("postgresql+psycopg://watcher@postgres/")
    postgres = compose["services"]["postgres"]["environment"]
    assert config.database.endswith(f"/{postgres['POSTGRES_DB']}")
    # Each replica is named by its WATCHER_INSTANCE, not by one name in the shared file.
    assert "instance" not in tomllib.loads((DEPLOY / source).read_text())["watcher"]


def _built(tmp_path: Path) -> list[dict[str, Any]]:
    """deploy/kubernetes with the replicas component enabled, as kustomize builds it."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        missing_component("kubectl is not installed (it builds the kustomization)")
    copy = tmp_path / "kubernetes"
    shutil.copytree(DEPLOY / "kubernetes", copy)
    kustomization = copy / "kustomization.yaml"
    text = kustomization.read_text()
    assert "# components:\n#   - replicas\n" in text
    kustomization.write_text(text.replace("# components:\n#   - replicas\n",
                                          "components:\n  - replicas\n"))
    built = subprocess.run([str(kubectl), "kustomize", str(copy)], capture_output=True,
                           text=True, timeout=60, check=False)
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]


def test_the_kubernetes_component_runs_three_pods_without_a_volume_claim(
        tmp_path: Path) -> None:
    documents = _built(tmp_path)
    kinds = {d["kind"] for d in documents}
    assert "PersistentVolumeClaim" not in kinds
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["state"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["WATCHER_INSTANCE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "PGPASSWORD" in env
    (config_map,) = [d for d in documents if d["kind"] == "ConfigMap"]
    path = tmp_path / "config.toml"
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "hook-token").write_text("a-hook-token-of-some-length")
    (secrets / "registry-password").write_text("secret")
    path.write_text(config_map["data"]["config.toml"].replace("/run/secrets/watcher/",
                                                              f"{secrets}/"))
    config = load_config(path)
    assert config.replicas.shared
    assert config.database.startswith("postgresql+psycopg://")
    assert config.images
