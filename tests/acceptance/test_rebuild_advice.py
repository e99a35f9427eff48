"""Rebuild advice end to end with the real registry: images whose configs carry different
*_VERSION values and whose indexes carry SBOM attestations; a moved tag is explained with the
version and package changes and the precise tag it now equals; a digest-pinned FROM whose tag
moved is "pin is behind", and advise --diff / --write move it; explain tells it all."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.acceptance.cli import run, write_config
from tests.support.registry import RunningRegistry

PLATFORMS = ["linux/amd64", "linux/arm64/v8"]
OLD_PACKAGES = {"openssl": "3.0.13-1~deb12u1", "libssl3": "3.0.13-1~deb12u1",
                "zlib1g": "1:1.2.13.dfsg-1", "tzdata": "2024a-0+deb12u1"}
NEW_PACKAGES = {"openssl": "3.0.14-1~deb12u1", "libssl3": "3.0.14-1~deb12u1",
                "zlib1g": "1:1.2.13.dfsg-1", "tzdata": "2024b-0+deb12u1"}


@pytest.mark.registry
@pytest.mark.parametrize("sbom", ["spdx", "cyclonedx"])
def test_a_moved_base_is_explained_and_its_pinned_dependent_advised(
    registry_open: RunningRegistry, repository: str, tmp_path: Path, sbom: str
) -> None:
    push = registry_open.push
    name = f"{repository}/python"
    old = push.push_attested_index(
        name, ["3.12-slim", "3.12.7-slim", "3.12.7-slim-bookworm"], PLATFORMS,
        env=["PYTHON_VERSION=3.12.7", "PATH=/usr/bin"], packages=OLD_PACKAGES, sbom=sbom)
    floating = registry_open.ref(name, "3.12-slim")
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "worker").mkdir()
    pinned_line = f"FROM {floating}@{old.digest} AS runtime"
    (repo / "app" / "Dockerfile").write_bytes(
        f"# syntax=docker/dockerfile:1\r\n{pinned_line}\r\nRUN echo {floating}\r\n".encode())
    (repo / "app" / "Dockerfile").chmod(0o640)
    (repo / "worker" / "Dockerfile").write_text(
        "ARG BASE\nFROM $BASE AS build\nRUN true\nFROM build\n")
    config = write_config(tmp_path / "watcher.toml", registry_open, [{"ref": str(floating)}],
                          database=f"sqlite:///{tmp_path / 'watcher.db'}")
    with config.open("a") as handle:
        handle.write(f'\n[[sources.files]]\npath = "repo"\n'
                     f'build_args = {{ BASE = "{floating}" }}\n')
    assert run("check", "--config", str(config)).exit_code == 0

    # Before the move: the pin is current, the floating tag unchanged.
    before = run("advise", "--config", str(config), "--json").json
    actions = {(u["path"], u["action"]) for u in before["sources"][0]["uses"]}
    assert actions == {("app/Dockerfile", "up to date"), ("worker/Dockerfile", "up to date")}

    new = push.push_attested_index(
        name, ["3.12-slim", "3.12.8-slim", "3.12.8-slim-bookworm"], PLATFORMS,
        env=["PYTHON_VERSION=3.12.8", "PATH=/usr/bin"], packages=NEW_PACKAGES, sbom=sbom)
    push.push_attested_index(name, ["3.12.8-slim-trixie"], PLATFORMS,
                             env=["PYTHON_VERSION=3.12.8"], packages=NEW_PACKAGES, sbom=sbom)
    report = run("check", "--config", str(config), "--json")
    assert report.exit_code == 0, report.stderr
    (image,) = report.json["images"]
    (event,) = [e for e in image["events"] if e["kind"] == "digest_changed"]
    explanation = event["explanation"]
    assert explanation["versions"] == {"PYTHON_VERSION": ["3.12.7", "3.12.8"]}
    assert explanation["change"] == "patch"
    assert explanation["packages"]["changed"] == {
        "libssl3": ["3.0.13-1~deb12u1", "3.0.14-1~deb12u1"],
        "openssl": ["3.0.13-1~deb12u1", "3.0.14-1~deb12u1"],
        "tzdata": ["2024a-0+deb12u1", "2024b-0+deb12u1"],
    }
    assert explanation["packages"]["count"] == 3
    assert explanation["tag"] == "3.12.8-slim-bookworm"
    assert explanation["rebase"] == "3.12.8-slim-trixie"
    assert explanation["classes"] == ["patch", "rebase"]
    history = run("history", "--config", str(config), str(floating)).stdout
    assert "now 3.12.8-slim-bookworm; Python 3.12.7 -> 3.12.8 (patch); libssl3 " in history

    # The pinned FROM is behind; the ARG-substituted one is to be rebuilt, never rewritten.
    advised = run("advise", "--config", str(config), "--json")
    assert advised.exit_code == 0, advised.stderr
    uses = {u["path"]: u for u in advised.json["sources"][0]["uses"]}
    assert uses["app/Dockerfile"]["action"] == "pin is behind"
    assert uses["app/Dockerfile"]["new"] == f"{floating}@{new.digest}"
    assert uses["worker/Dockerfile"]["action"] == "rebuild"
    assert "Python 3.12.7 -> 3.12.8" in uses["worker/Dockerfile"]["reason"]
    assert "new" not in uses["worker/Dockerfile"]
    gate = run("advise", "--config", str(config), "--exit-code")
    assert gate.exit_code == 1
    assert "pin is behind" in gate.stdout
    scanned = run("scan", "--config", str(config)).stdout
    assert "pinned by digest, pin is behind" in scanned

    diff = run("advise", "--config", str(config), "--diff")
    assert diff.stdout.splitlines()[:3] == ["--- a/app/Dockerfile", "+++ b/app/Dockerfile",
                                           "@@ -1,3 +1,3 @@"]
    assert f"-{pinned_line}" in diff.stdout.splitlines()
    assert f"+FROM {floating}@{new.digest} AS runtime" in diff.stdout.splitlines()
    assert "worker" not in diff.stdout
    assert f"{old.digest}" in (repo / "app" / "Dockerfile").read_text()  # --diff changed nothing

    wrote = run("advise", "--config", str(config), "--write")
    assert wrote.exit_code == 0, wrote.stderr
    dockerfile = repo / "app" / "Dockerfile"
    assert dockerfile.read_bytes() == (
        f"# syntax=docker/dockerfile:1\r\nFROM {floating}@{new.digest} AS runtime\r\n"
        f"RUN echo {floating}\r\n").encode()
    assert stat.S_IMODE(dockerfile.stat().st_mode) == 0o640
    assert sorted(p.name for p in (repo / "app").iterdir()) == ["Dockerfile"]
    after = run("advise", "--config", str(config), "--json").json
    assert {u["path"]: u["action"] for u in after["sources"][0]["uses"]}["app/Dockerfile"] \
        == "up to date"

    # explain: everything about the image, from the database and the registry.
    explained = run("explain", "--config", str(config), "--json", str(floating))
    assert explained.exit_code == 0, explained.stderr
    document = explained.json
    assert document["reference"]["repository"] == name
    assert document["registry"]["host"] == registry_open.host
    assert document["stored"]["digest"] == new.digest
    assert document["live"]["platforms"] == new.children
    assert document["precise_tag"] == "3.12.8-slim-bookworm"
    assert document["rebase"] == ["3.12.8-slim-trixie"]
    assert document["family"]["variant"] == "slim"
    assert document["newer"]["rejected"]["3.12.8-slim"]["reason"] == "other-precision"
    assert document["last_change"]["explanation"]["packages"]["count"] == 3
    assert [e["kind"] for e in document["pending_events"]] == ["digest_changed"]
    assert sorted((d["source_kind"], d["path"], d["line"], d["written"])
                  for d in document["dependents"]) == [
        ("files", "app/Dockerfile", 2, f"{floating}@{old.digest}"),  # as the last check read it
        ("files", "worker/Dockerfile", 2, "$BASE"),
    ]
    text = run("explain", "--config", str(config), str(floating)).stdout
    assert "equals" in text
    assert "3.12.8-slim-bookworm" in text
    assert "openssl 3.0.13-1~deb12u1 -> 3.0.14-1~deb12u1" in text
    offline = run("explain", "--config", str(config), "--offline", "--json", str(floating)).json
    assert offline["live"] is None
    assert offline["stored"]["digest"] == new.digest
    json.dumps(offline)


@pytest.mark.registry
@pytest.mark.parametrize("statement", [b"not json at all", b'{"predicateType": "x"}',
                                       b"[" * 50_000])
def test_a_broken_sbom_leaves_the_packages_out_not_the_explanation(
    registry_open: RunningRegistry, repository: str, tmp_path: Path, statement: bytes
) -> None:
    push = registry_open.push
    name = f"{repository}/python"
    push.push_attested_index(name, ["3.12-slim"], PLATFORMS, env=["PYTHON_VERSION=3.12.7"],
                             packages=OLD_PACKAGES)
    ref = str(registry_open.ref(name, "3.12-slim"))
    config = write_config(tmp_path / "watcher.toml", registry_open, [{"ref": ref}],
                          database=f"sqlite:///{tmp_path / 'watcher.db'}")
    assert run("check", "--config", str(config)).exit_code == 0
    push.push_attested_index(name, ["3.12-slim"], PLATFORMS, env=["PYTHON_VERSION=3.12.8"],
                             packages=NEW_PACKAGES, statement=statement)
    report = run("check", "--config", str(config), "--json")
    assert report.exit_code == 0, report.stderr
    (event,) = [e for e in report.json["images"][0]["events"] if e["kind"] == "digest_changed"]
    assert event["explanation"]["versions"] == {"PYTHON_VERSION": ["3.12.7", "3.12.8"]}
    assert "packages" not in event["explanation"]
    assert "tag" not in event["explanation"]  # no other tag equals it


@pytest.mark.registry
def test_explain_before_any_check_says_what_the_registry_says(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    name = f"{repository}/python"
    pushed = push.push_attested_index(name, ["3.12-slim", "3.12.7-slim"], PLATFORMS,
                                      env=["PYTHON_VERSION=3.12.7"], packages=OLD_PACKAGES)
    ref = str(registry_open.ref(name, "3.12-slim"))
    config = write_config(tmp_path / "watcher.toml", registry_open, [],
                          database=f"sqlite:///{tmp_path / 'watcher.db'}")
    result = run("explain", "--config", str(config), "--json", ref)
    assert result.exit_code == 0, result.stderr
    document = result.json
    assert document["configured"] is False
    assert document["stored"] is None
    assert document["live"]["digest"] == pushed.digest
    assert document["precise_tag"] == "3.12.7-slim"
    assert document["problems"] == ["no database yet: nothing recorded (run watcher check)"]
    assert not (tmp_path / "watcher.db").exists()
    offline = run("explain", "--config", str(config), "--offline", ref)
    assert offline.exit_code == 1
    assert "no database" in offline.stderr
    missing = run("explain", "--config", str(config), "--json",
                  str(registry_open.ref(name, "9.9-slim")))
    assert missing.exit_code == 0
    assert missing.json["live"] is None
    assert missing.json["problems"][1].startswith("resolving: ")
