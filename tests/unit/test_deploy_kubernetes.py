"""deploy/kubernetes parsed as YAML: the kustomization's resources, the Deployment's security
context, probes, stop timing and mounts, and the ConfigMap's config.toml loaded by watcher
with the Secret's files in place."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.deployfiles import parse_dockerfile, repo_root, watcher_command
from watcher.config import Config, load_config

KUBERNETES = repo_root() / "deploy" / "kubernetes"


@pytest.fixture(scope="module")
def resources() -> dict[str, dict[str, Any]]:
    """``Kind/name`` -> document, for every resource the kustomization lists."""
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    found: dict[str, dict[str, Any]] = {}
    for name in kustomization["resources"]:
        for document in yaml.safe_load_all((KUBERNETES / name).read_text()):
            key = f"{document['kind']}/{document['metadata']['name']}"
            assert key not in found, key
            found[key] = document
    return found


@pytest.fixture(scope="module")
def pod(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec = resources["Deployment/watcher"]["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


@pytest.fixture(scope="module")
def container(pod: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod["containers"]
    assert isinstance(only, dict)
    return only


def _mounts(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in container["volumeMounts"]}


def _volumes(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in pod["volumes"]}


def test_every_file_here_is_a_listed_resource() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    files = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert [i["name"] for i in kustomization["images"]] == ["watcher"]


def test_one_replica_recreated_with_sqlite(resources: dict[str, dict[str, Any]]) -> None:
    spec = resources["Deployment/watcher"]["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()


def test_runs_as_the_images_non_root_user(pod: dict[str, Any], container: dict[str, Any]) -> None:
    dockerfile = parse_dockerfile((repo_root() / "deploy/container/Dockerfile").read_text())
    uid, gid = map(int, dockerfile.final.last("USER").text.split(":"))
    for context in (pod["securityContext"], container["securityContext"]):
        assert context["runAsNonRoot"] is True
        assert (context["runAsUser"], context["runAsGroup"]) == (uid, gid)
    assert pod["securityContext"]["fsGroup"] == gid  # the volume is writable by that group
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    locked = container["securityContext"]
    assert locked["readOnlyRootFilesystem"] is True
    assert locked["allowPrivilegeEscalation"] is False
    assert locked["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False


def test_probes_ask_healthz_and_readyz_on_the_listen_port(
    container: dict[str, Any], config: Config
) -> None:
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    probes = {name: container[f"{name}Probe"]["httpGet"] for name in
              ("liveness", "readiness", "startup")}
    assert probes["liveness"]["path"] == "/healthz"
    assert probes["startup"]["path"] == "/healthz"
    assert probes["readiness"]["path"] == "/readyz"
    assert config.http is not None
    assert {ports[p["port"]] for p in probes.values()} == {config.http.port}
    assert config.http.host == "0.0.0.0"  # the kubelet probes the pod's address


def test_resources_are_bounded(container: dict[str, Any]) -> None:
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]


def test_grace_period_covers_prestop_and_the_stop_timeout(
    pod: dict[str, Any], container: dict[str, Any]
) -> None:
    stop_timeout = watcher_command(container["args"]).params["stop_timeout"]
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] >= int(command[1]) + stop_timeout + 5


def test_args_run_the_mounted_config(container: dict[str, Any], pod: dict[str, Any]) -> None:
    command = watcher_command(container["args"])
    assert command.name == "run"
    config_path: Path = command.params["config_path"]
    mount = _mounts(container)["config"]
    assert Path(mount["mountPath"]) == config_path.parent  # a directory: updates reach the pod
    assert "subPath" not in mount
    assert mount["readOnly"] is True
    volume = _volumes(pod)["config"]["configMap"]
    assert volume["name"] == "watcher-config"
    assert {e["name"]: e.get("value") for e in container["env"]}["TZ"] == "UTC"


def test_state_on_the_claim(resources: dict[str, dict[str, Any]], pod: dict[str, Any],
                            container: dict[str, Any], config: Config) -> None:
    claim = _volumes(pod)["state"]["persistentVolumeClaim"]["claimName"]
    pvc = resources[f"PersistentVolumeClaim/{claim}"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    state = _mounts(container)["state"]["mountPath"]
    assert config.database == f"sqlite:///{state}/watcher.db"
    assert _mounts(container)["tmp"]["mountPath"] == "/tmp"  # the root filesystem is read-only


def test_service_reaches_the_http_port(resources: dict[str, dict[str, Any]],
                                       pod: dict[str, Any], container: dict[str, Any]) -> None:
    service = resources["Service/watcher"]["spec"]
    labels = resources["Deployment/watcher"]["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= labels.items()
    (port,) = service["ports"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}


def _config_map() -> str:
    for document in yaml.safe_load_all((KUBERNETES / "configmap.yaml").read_text()):
        if document["metadata"]["name"] == "watcher-config":
            text = document["data"]["config.toml"]
            assert isinstance(text, str)
            return text
    raise AssertionError("no watcher-config ConfigMap")


def _secret_files(directory: Path) -> str:
    """Write the Secret's keys as files into ``directory``, as the pod sees them; return the
    path the Deployment mounts them at."""
    secret = yaml.safe_load((KUBERNETES / "secret.yaml").read_text())
    deployment = yaml.safe_load((KUBERNETES / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"]
                 if v.get("secret", {}).get("secretName") == secret["metadata"]["name"]]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    directory.mkdir(exist_ok=True)
    for key, value in secret["stringData"].items():
        (directory / key).write_text(value)
    mount_path = mount["mountPath"]
    assert isinstance(mount_path, str)
    return mount_path


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    directory = tmp_path_factory.mktemp("secrets")
    return _secret_files(directory), directory


@pytest.fixture(scope="module")
def config(secrets: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The ConfigMap's config.toml loaded by watcher, its secret files read from the Secret's
    keys where the Deployment mounts them (here: a temporary directory)."""
    mount_path, directory = secrets
    path = tmp_path_factory.mktemp("config") / "config.toml"
    path.write_text(_config_map().replace(f"{mount_path}/", f"{directory}/"))
    return load_config(path)


def test_the_config_map_reads_its_secrets_from_the_secret(
    secrets: tuple[str, Path], config: Config
) -> None:
    mount_path, directory = secrets
    raw = tomllib.loads(_config_map())
    files = [raw["http"]["hook_token_file"]] + [r["password_file"] for r in raw["registries"]]
    for file in files:
        assert file.startswith(f"{mount_path}/")
        assert (directory / Path(file).name).exists(), f"{file}: not a key of the Secret"
    assert config.http is not None
    assert config.http.hook_token == (directory / "hook-token").read_text()
    assert config.registries[0].password == (directory / "registry-password").read_text()
    assert config.images


def test_instance_is_left_to_the_pod_name() -> None:
    # Each replica must be named apart: the pod name (the host name) does that.
    assert "instance" not in tomllib.loads(_config_map())["watcher"]
