"""deploy/: the systemd unit verifies, the container image runs as a fixed non-root user with a
health check, compose and Kubernetes files parse and say what the docs say, and every config
shipped there loads with watcher's own loader."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import missing_component
from watcher.config import parse_config
from watcher.core.buildfile import Instruction, expand
from watcher.sources.dockerfile import parse_instructions

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "systemd" / "watcher.service"


def _unit(text: str) -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def test_the_systemd_unit_reloads_and_is_hardened() -> None:
    unit = _unit(UNIT.read_text())
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["ExecStart"][0].endswith("watcher --log-json run --stop-timeout 60s")
    assert unit["User"] == ["watcher"]
    assert unit["StateDirectory"] == ["watcher"]
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectKernelTunables", "LockPersonality"):
        assert unit[key] == ["yes"], key
    assert unit["ProtectSystem"] == ["strict"]
    # The stop timeout fits inside systemd's: watcher finishes before it is killed.
    assert int(unit["TimeoutStopSec"][0].rstrip("s")) > 60


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing_component("systemd-analyze is not installed")
        return
    # verify wants ExecStart's binary to exist: point it at this checkout's watcher.
    binary = Path(sys.executable).with_name("watcher")
    if not binary.exists():
        binary = Path(sys.executable)
    copy = tmp_path / "watcher.service"
    copy.write_text(UNIT.read_text().replace("/usr/local/bin/watcher", str(binary)))
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "Failed to connect" not in line]
    assert result.returncode == 0, problems
    assert problems == []


def _dockerfile() -> list[Instruction]:
    instructions, problem = parse_instructions((DEPLOY / "container" / "Dockerfile").read_text())
    assert problem is None
    return instructions


def _final_stage(instructions: list[Instruction]) -> tuple[list[Instruction], dict[str, str]]:
    starts = [i for i, ins in enumerate(instructions) if ins.command == "FROM"]
    stage = instructions[starts[-1]:]
    args = {}
    for ins in stage:
        if ins.command == "ARG":
            for arg in ins.args:
                name, _, default = arg.partition("=")
                args[name] = default
    return stage, args


def test_the_image_runs_as_a_fixed_non_root_user_with_a_health_check() -> None:
    instructions = _dockerfile()
    assert sum(ins.command == "FROM" for ins in instructions) == 2  # built, then copied
    stage, args = _final_stage(instructions)
    (user,) = [ins for ins in stage if ins.command == "USER"]
    text, missing = expand(user.args[0], args)
    assert missing == []
    uid, _, gid = text.partition(":")
    assert uid.isdigit()
    assert gid.isdigit()
    assert int(uid) >= 1000
    assert int(gid) >= 1000
    (health,) = [ins for ins in stage if ins.command == "HEALTHCHECK"]
    assert "watcher" in health.original
    assert "healthcheck" in health.original
    env: dict[str, str] = {}
    for ins in stage:
        if ins.command == "ENV":  # BuildKit gives ENV as name, value, name, value...
            env.update(zip(ins.args[::2], ins.args[1::2], strict=True))
    assert env["TZ"] == "UTC"
    assert env["WATCHER_INSTANCE"]
    assert env["WATCHER_DATABASE"].startswith("sqlite:////var/lib/watcher/")
    assert any(ins.command == "VOLUME" and "/var/lib/watcher" in ins.original for ins in stage)
    assert [ins.args for ins in stage if ins.command == "STOPSIGNAL"] == [("SIGTERM",)]
    # No build tools in the final image: the virtual environment is copied from the build.
    assert any(ins.command == "COPY" and "--from=build" in ins.flags for ins in stage)
    assert not any(ins.command == "RUN" and "pip install" in ins.original for ins in stage)


def _yaml(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def test_compose_runs_the_image_with_its_volume_and_optional_postgres() -> None:
    (compose,) = _yaml(DEPLOY / "compose.yaml")
    watcher = compose["services"]["watcher"]
    assert watcher["build"]["dockerfile"] == "deploy/container/Dockerfile"
    assert (DEPLOY / watcher["build"]["context"] / watcher["build"]["dockerfile"]).exists()
    assert "watcher-state:/var/lib/watcher" in watcher["volumes"]
    config_mount = next(v for v in watcher["volumes"] if v.endswith(":ro"))
    assert (DEPLOY / config_mount.split(":")[0]).exists()
    assert watcher["healthcheck"]["test"] == ["CMD", "watcher", "healthcheck"]
    assert watcher["read_only"] is True
    assert watcher["cap_drop"] == ["ALL"]
    assert watcher["ports"] == ["127.0.0.1:9090:9090"]
    assert watcher["environment"]["WATCHER_INSTANCE"]
    postgres = compose["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    assert watcher["depends_on"]["postgres"] == {"condition": "service_healthy",
                                                 "required": False}
    assert "pg_isready" in postgres["healthcheck"]["test"][1]


def _kubernetes() -> dict[str, dict[str, Any]]:
    objects = {}
    kustomization = _yaml(DEPLOY / "kubernetes" / "kustomization.yaml")[0]
    for name in kustomization["resources"]:
        for document in _yaml(DEPLOY / "kubernetes" / name):
            objects[document["kind"]] = document
    return objects


def test_kubernetes_probes_user_storage_and_config() -> None:
    objects = _kubernetes()
    assert set(objects) == {"Namespace", "ConfigMap", "Secret", "PersistentVolumeClaim",
                            "Deployment", "Service"}
    deployment = objects["Deployment"]["spec"]
    assert deployment["replicas"] == 1
    assert deployment["strategy"]["type"] == "Recreate"
    pod = deployment["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/var/lib/watcher"] == "state"
    assert mounts["/etc/watcher"] == "config"
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
              if "persistentVolumeClaim" in v]
    assert claims == [objects["PersistentVolumeClaim"]["metadata"]["name"]]
    # The grace period covers watcher's own stop timeout.
    stop = int(container["args"][container["args"].index("--stop-timeout") + 1].rstrip("s"))
    assert pod["terminationGracePeriodSeconds"] > stop
    secret = objects["Secret"]
    assert container["envFrom"][0]["secretRef"]["name"] == secret["metadata"]["name"]
    service = objects["Service"]["spec"]
    assert service["ports"][0]["targetPort"] == container["ports"][0]["name"]


def _load(text: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return parse_config(tomllib.loads(text))


def test_the_shipped_configs_load(monkeypatch: pytest.MonkeyPatch) -> None:
    container = _load((DEPLOY / "container" / "config.toml").read_text(), {}, monkeypatch)
    assert container.http is not None
    assert container.http.port == 9090
    configmap = _kubernetes()["ConfigMap"]["data"]["config.toml"]
    secret = _kubernetes()["Secret"]["stringData"]
    loaded = _load(configmap, secret, monkeypatch)
    assert loaded.http is not None
    assert loaded.http.hook_token == secret["WATCHER_HOOK_TOKEN"]
    assert [r.host for r in loaded.registries] == ["registry.example.com"]
