"""deploy/container: the Dockerfile read as BuildKit reads it (no image is built), the
build context that .dockerignore leaves, and the image's example config loaded by watcher."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.support.deployfiles import (
    Dockerfile,
    dockerignore_excludes,
    parse_dockerfile,
    repo_root,
    watcher_command,
)
from watcher.config import load_config

ROOT = repo_root()
CONTAINER = ROOT / "deploy" / "container"
UID = 10001
BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "git", "golang", "libpq-dev")


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse_dockerfile((CONTAINER / "Dockerfile").read_text())


def test_the_parser_joins_continuations_and_drops_comments() -> None:
    parsed = parse_dockerfile(
        "# syntax=docker/dockerfile:1\n"
        "ARG V=1\n"
        "FROM base:${V} AS one\n"
        "RUN a \\\n"
        "# a comment inside\n"
        "    b\n"
        'CMD ["x", "y"]\n'
        "FROM scratch\n"
        "USER 5:5\n"
    )
    assert parsed.directives == {"syntax": "docker/dockerfile:1"}
    assert [a.text for a in parsed.global_args] == ["V=1"]
    assert [(s.base, s.name) for s in parsed.stages] == [("base:${V}", "one"), ("scratch", None)]
    assert parsed.stages[0].last("RUN").text == "a b"
    assert parsed.stages[0].last("CMD").exec_form == ["x", "y"]
    assert parsed.final.last("USER").text == "5:5"


def test_two_stages_on_a_slim_python_base(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) == 2
    assert dockerfile.stages[0].name == "build"
    assert all(re.fullmatch(r"python:\$\{PYTHON_VERSION\}-slim", s.base) for s in dockerfile.stages)
    version = dockerfile.global_args[0].pairs()["PYTHON_VERSION"]
    assert tuple(map(int, version.split("."))) >= (3, 11)  # pyproject's requires-python


def test_the_final_stage_runs_as_a_fixed_non_root_user(dockerfile: Dockerfile) -> None:
    user = dockerfile.final.last("USER").text
    assert re.fullmatch(r"\d+:\d+", user), f"USER {user}: numeric uid:gid"
    uid, gid = map(int, user.split(":"))
    assert (uid, gid) == (UID, UID)
    runs = " ".join(r.text for r in dockerfile.final.all("RUN"))
    assert f"--gid {gid}" in runs
    assert f"--uid {uid}" in runs
    assert f"install -d -o {uid} -g {gid}" in runs  # the state directory is the user's


def test_no_build_tools_in_the_final_stage(dockerfile: Dockerfile) -> None:
    for run in dockerfile.final.all("RUN"):
        assert not any(re.search(rf"\b{re.escape(tool)}\b", run.text) for tool in BUILD_TOOLS)
        assert "apt-get install" not in run.text
    installs = [r for r in dockerfile.final.all("RUN") if "install --no-index" in r.text]
    assert len(installs) == 1
    flags, _ = installs[0].flags()
    assert flags["mount"] == "type=bind,from=build,source=/wheels,target=/wheels"
    assert dockerfile.directives["syntax"].startswith("docker/dockerfile:1")  # RUN --mount
    assert not [c for c in dockerfile.final.all("COPY") if "--from" in c.flags()[0]]


def test_the_wheel_is_built_from_what_pyproject_needs(dockerfile: Dockerfile) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"]}
    needed |= {name.split(".")[0] for name in project["tool"]["setuptools"]["packages"]}
    needed |= set(project["tool"]["setuptools"]["package-dir"].values())
    copied = set()
    for copy in dockerfile.stages[0].all("COPY"):
        *sources, _ = copy.flags()[1].split()
        copied |= set(sources)
    assert needed <= copied, needed - copied
    wheel = dockerfile.stages[0].last("RUN").text
    assert "pip wheel" in wheel
    assert "'.[postgres]'" in wheel
    assert "tzdata" in wheel  # zoneinfo's data whatever the base image carries


def test_every_copied_path_exists_and_is_in_the_build_context(dockerfile: Dockerfile) -> None:
    ignore = (ROOT / ".dockerignore").read_text()
    for stage in dockerfile.stages:
        for copy in stage.all("COPY"):
            *sources, _ = copy.flags()[1].split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert not dockerignore_excludes(ignore, source), source
                if (ROOT / source).is_dir():  # and the files inside, not only the directory
                    inside = next(p for p in (ROOT / source).rglob("*.py"))
                    assert not dockerignore_excludes(ignore, str(inside.relative_to(ROOT)))


@pytest.mark.parametrize("path", [
    ".venv/bin/python", ".git/config", "watcher.db", "tests/conftest.py", "watcher.toml",
    "watcher/__pycache__/cli.cpython-311.pyc", "deploy/.env", "watcher.egg-info/PKG-INFO",
])
def test_dockerignore_keeps_local_files_out(path: str) -> None:
    assert dockerignore_excludes((ROOT / ".dockerignore").read_text(), path)


def test_time_zone_state_config_and_port(dockerfile: Dockerfile) -> None:
    final = dockerfile.final
    env: dict[str, str] = {}
    for instruction in final.all("ENV"):
        env.update(instruction.pairs())
    assert env["TZ"] == "UTC"
    assert env["WATCHER_CONFIG"] == "/etc/watcher/config.toml"
    assert env["PATH"].startswith("/opt/watcher/bin:")
    assert final.last("VOLUME").exec_form == ["/var/lib/watcher"]
    copies = [c.text.split() for c in final.all("COPY")]
    assert ["deploy/container/config.toml", "/etc/watcher/config.toml"] in copies
    assert final.last("EXPOSE").text == "9090"
    assert final.last("STOPSIGNAL").text == "SIGTERM"
    config = load_config(CONTAINER / "config.toml")
    assert config.http is not None
    assert (config.http.host, config.http.port) == ("0.0.0.0", 9090)
    assert config.database == "sqlite:////var/lib/watcher/watcher.db"  # in the volume
    assert config.instance == "watcher"  # never the container's random host name


def test_healthcheck_asks_watcher_healthcheck(dockerfile: Dockerfile) -> None:
    healthcheck = dockerfile.final.last("HEALTHCHECK")
    flags, rest = healthcheck.flags()
    assert {"interval", "timeout", "start-period", "retries"} <= set(flags)
    assert rest.startswith("CMD ")
    args = parse_dockerfile(f"FROM x\nCMD {rest[4:]}").final.last("CMD").exec_form
    assert args == ["watcher", "healthcheck"]
    assert watcher_command(args[1:]).name == "healthcheck"


def test_entrypoint_and_command_are_a_watcher_run(dockerfile: Dockerfile) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert dockerfile.final.last("ENTRYPOINT").exec_form == ["watcher"]
    assert "watcher" in project["project"]["scripts"]
    command = dockerfile.final.last("CMD").exec_form
    assert command is not None
    parsed = watcher_command(command)
    assert parsed.name == "run"
    assert parsed.params["config_path"] == Path("/etc/watcher/config.toml")


def test_oci_labels(dockerfile: Dockerfile) -> None:
    labels: dict[str, str] = {}
    for label in dockerfile.final.all("LABEL"):
        labels.update(label.pairs())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    prefix = "org.opencontainers.image."
    assert labels[prefix + "title"] == project["name"]
    assert labels[prefix + "licenses"] == project["license"]
    assert labels[prefix + "description"] == project["description"]
    assert {prefix + k for k in ("version", "revision", "created", "base.name")} <= set(labels)
    args: dict[str, str] = {}
    for arg in dockerfile.final.all("ARG"):
        args.update(arg.pairs())
    assert {"VERSION", "REVISION", "CREATED"} <= set(args)
    assert args["VERSION"] == project["version"]
