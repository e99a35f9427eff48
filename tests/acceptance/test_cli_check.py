"""``watcher check``/``status`` as users run them: every manifest kind in every auth mode,
usage errors, progress only on a terminal, exit codes for CI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.cli import run, write_config
from tests.support.registry import RunningRegistry
from tests.support.terminal import run_on_a_terminal

PLATFORMS = ["linux/amd64", "linux/arm64/v8"]


@pytest.mark.registry
@pytest.mark.parametrize(
    ("mode", "credentials"),
    [
        ("registry_open", False),
        ("registry_htpasswd", True),
        ("registry_token", True),
        ("registry_token", False),
    ],
    ids=["open", "htpasswd", "token-password", "token-anonymous"],
)
def test_check_reports_the_pushed_digests(
    request: pytest.FixtureRequest,
    mode: str,
    credentials: bool,
    repository: str,
    tmp_path: Path,
) -> None:
    registry: RunningRegistry = request.getfixturevalue(mode)
    push = registry.push
    pushed = {
        "oci-index": push.push_index(repository, "oci-index", PLATFORMS),
        "docker-list": push.push_index(repository, "docker-list", PLATFORMS, oci=False),
    }
    singles = {
        "oci": push.push_image(repository, "oci"),
        "schema2": push.push_image(repository, "schema2", oci=False),
    }
    refs = {tag: str(registry.ref(repository, tag)) for tag in [*pushed, *singles]}
    config = write_config(
        tmp_path / "watcher.toml",
        registry,
        [{"ref": ref} for ref in refs.values()],
        database=f"sqlite:///{tmp_path / 'watcher.db'}",
        credentials=credentials,
    )

    def check() -> dict[str, dict[str, object]]:
        result = run("check", "--config", str(config), "--json")
        assert result.exit_code == 0, result.stdout
        return {image["ref"]: image for image in result.json["images"]}

    images = check()
    for tag, index in pushed.items():
        assert images[refs[tag]]["digest"] == index.digest
        assert images[refs[tag]]["platforms"] == index.children
        assert images[refs[tag]]["error"] is None
    for tag, digest in singles.items():
        assert images[refs[tag]]["digest"] == digest
        assert images[refs[tag]]["platforms"] == {}

    # Move every tag; every new digest is reported exactly.
    moved = {
        "oci-index": push.repush_index(
            repository, "oci-index", pushed["oci-index"], changed="linux/amd64"
        ),
        "docker-list": push.repush_index(
            repository, "docker-list", pushed["docker-list"], changed="linux/arm64/v8"
        ),
    }
    moved_singles = {
        "oci": push.move_tag(repository, "oci"),
        "schema2": push.move_tag(repository, "schema2", oci=False),
    }
    images = check()
    for tag, index in moved.items():
        assert images[refs[tag]]["digest"] == index.digest
        assert images[refs[tag]]["platforms"] == index.children
        assert images[refs[tag]]["previous_digest"] == pushed[tag].digest
    for tag, digest in moved_singles.items():
        assert images[refs[tag]]["digest"] == digest
        assert images[refs[tag]]["previous_digest"] == singles[tag]
    assert {image["events"][0]["kind"] for image in images.values()} == {"digest_changed"}


@pytest.mark.registry
def test_wrong_password_fails_the_check_and_names_the_registry(
    registry_htpasswd: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    registry_htpasswd.push.push_image(repository, "1")
    ref = str(registry_htpasswd.ref(repository, "1"))
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
        f'[[registries]]\nhost = "{registry_htpasswd.host}"\ninsecure = true\n'
        'username = "alice"\npassword_env = "WATCHER_TEST_WRONG_PASSWORD"\n'
        f'[[images]]\nref = "{ref}"\n'
    )
    os.environ["WATCHER_TEST_WRONG_PASSWORD"] = "not-the-password"
    try:
        result = run("check", "--config", str(config), "--json")
    finally:
        del os.environ["WATCHER_TEST_WRONG_PASSWORD"]
    assert result.exit_code == 1
    (image,) = result.json["images"]
    assert image["state"] == "error"
    assert registry_htpasswd.host in image["error"]
    assert "not-the-password" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[watcher]\ndatabse = "x"\n', "watcher.databse: unknown key; did you mean 'database'?"),
        ('[[images]]\nref = "Python:3"\n', "images[0].ref: invalid image reference 'Python:3'"),
        (
            '[[registries]]\nhost = "r"\npassword_env = "NOPE_NOT_SET"\nusername = "u"\n',
            "registries[0].password_env: environment variable NOPE_NOT_SET is not set",
        ),
    ],
)
def test_configuration_errors_exit_2_naming_file_and_key(
    tmp_path: Path, content: str, message: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    result = run("check", "--config", str(config))
    assert result.exit_code == 2
    assert f"{config}: {message}" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run("check", "--config", str(tmp_path / "absent.toml"))
    assert missing.exit_code == 2
    assert "file not found" in missing.stderr
    config = tmp_path / "watcher.toml"
    config.write_text(f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n')
    bad_ref = run("check", "--config", str(config), "UPPER/case")
    assert bad_ref.exit_code == 2
    assert "invalid image reference 'UPPER/case'" in bad_ref.stderr
    assert run("check", "--config", str(config)).exit_code == 2  # nothing to check
    assert run("status", "--bogus").exit_code == 2


def _subprocess_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "COLUMNS": "120"}


@pytest.mark.registry
def test_progress_and_colour_onlyrun_on_a_terminal(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    registry_open.push.push_image(repository, "1")
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": str(registry_open.ref(repository, "1"))}],
        database=f"sqlite:///{tmp_path / 'watcher.db'}",
    )
    command = [sys.executable, "-m", "watcher", "check", "--all", "--config", str(config)]

    piped = subprocess.run(
        command, capture_output=True, text=True, env=_subprocess_env(tmp_path), timeout=60
    )
    assert piped.returncode == 0, piped.stderr
    assert "1/1 images" not in piped.stderr  # no progress line
    assert "\x1b[" not in piped.stdout  # no colour

    text = run_on_a_terminal(command, _subprocess_env(tmp_path))
    assert "1/1 images" in text
    assert "\x1b[1m" in text  # the image's state line in bold
    env = {**_subprocess_env(tmp_path), "NO_COLOR": "1"}
    plain = run_on_a_terminal(command, env)
    assert "1/1 images" in plain  # the progress line stays
    assert "unchanged" in plain
    assert "\x1b[1m" not in plain


@pytest.mark.registry
def test_status_exit_code_for_ci(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    push.push_image(repository, "1.0")
    push.push_image(f"{repository}/other", "2.0")
    moving = str(registry_open.ref(repository, "1.0"))
    steady = str(registry_open.ref(f"{repository}/other", "2.0"))
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": steady}, {"ref": moving}],
        database=f"sqlite:///{tmp_path / 'watcher.db'}",
    )
    assert run("check", "--config", str(config)).exit_code == 0
    assert run("status", "--config", str(config), "--exit-code").exit_code == 0

    moved = push.move_tag(repository, "1.0")
    report = run("check", "--config", str(config))
    assert report.exit_code == 0
    assert f"{moving}  changed" in report.stdout
    assert steady not in report.stdout.splitlines()[0]  # unchanged images only with --all
    assert f"  digest          {moved[:19]}" not in report.stdout  # fields align per image
    assert f"  digest  {moved[:19]}\n" in report.stdout  # short digests in text
    assert moved not in report.stdout
    assert "  event   digest_changed: sha256:" in report.stdout
    assert report.stdout.rstrip().endswith(
        f"2 images: 1 changed ({moving}), 0 failed, 1 unchanged"
    )
    assert report.stderr == ""
    status = run("status", "--config", str(config), "--exit-code")
    assert status.exit_code == 1
    lines = status.stdout.splitlines()
    assert lines[0].split()[:3] == ["IMAGE", "TAG", "DIGEST"]
    # What needs attention comes first, plain text when not on a terminal; then why.
    assert lines[1].startswith(moving.rsplit(":", 1)[0])
    assert lines[1].endswith("rebuild needed")
    assert lines[2].startswith("    moved just now: sha256:")
    assert lines[3].endswith("up to date")
    assert "\x1b[" not in status.stdout
    assert run("status", "--config", str(config)).exit_code == 0  # without --exit-code

    assert run("ack", "--config", str(config), moving).exit_code == 0
    assert run("status", "--config", str(config), "--exit-code").exit_code == 0
    # Status reads the database only: it answers with the registry down.
    registry_open.stop()
    try:
        assert run("status", "--config", str(config), "--json").exit_code == 0
        assert run("check", "--config", str(config), moving).exit_code == 1
        text = run("status", "--config", str(config)).stdout
        assert "    failing: 1 check since just now: " in text
        assert f"just now: {moving}" not in text  # the row names the image already
    finally:
        registry_open.start()


@pytest.mark.registry
def test_ref_on_the_command_line_uses_docker_config_credentials(
    registry_htpasswd: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    digest = registry_htpasswd.push.push_image(repository, "1")
    ref = str(registry_htpasswd.ref(repository, "1"))
    docker_config = tmp_path / "docker" / "config.json"
    docker_config.parent.mkdir()
    auth = base64.b64encode(f"{registry_htpasswd.username}:{registry_htpasswd.password}".encode())
    docker_config.write_text(
        json.dumps({"auths": {registry_htpasswd.host: {"auth": auth.decode()}}})
    )
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
        f'docker_config = "{docker_config}"\n'
        f'[[registries]]\nhost = "{registry_htpasswd.host}"\ninsecure = true\n'
    )
    result = run("check", "--config", str(config), "--json", ref)
    assert result.exit_code == 0, result.stdout
    (image,) = result.json["images"]
    assert image["digest"] == digest
    assert image["state"] == "baseline"


def test_reading_commands_never_create_a_database(tmp_path: Path) -> None:
    db = tmp_path / "absent.db"
    for command in (("status",), ("history", "python:3.12"), ("ack", "python:3.12")):
        result = run(
            *command, "--config", str(tmp_path / "none.toml"), "--database", f"sqlite:///{db}"
        )
        assert result.exit_code == 1, command
        assert "run `watcher check` first" in result.stderr
    assert not db.exists()


def test_check_needs_its_config_file_even_with_a_database_url(tmp_path: Path) -> None:
    result = run(
        "check",
        "--config",
        str(tmp_path / "typo.toml"),
        "--database",
        f"sqlite:///{tmp_path / 'w.db'}",
        "python:3.12",
    )
    assert result.exit_code == 2
    assert "typo.toml: file not found" in result.stderr


@pytest.mark.registry
def test_check_lists_what_matters_and_all_with_all(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    index = push.push_index(repository, "1.0", PLATFORMS)
    push.push_image(f"{repository}/steady", "2.0")
    moving = str(registry_open.ref(repository, "1.0"))
    steady = str(registry_open.ref(f"{repository}/steady", "2.0"))
    missing = str(registry_open.ref(f"{repository}/missing", "3.0"))
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": moving}, {"ref": steady}, {"ref": missing}],
        database=f"sqlite:///{tmp_path / 'watcher.db'}",
    )
    first = run("check", "--config", str(config))
    assert first.exit_code == 1  # the missing image
    assert first.stdout.splitlines()[-1] == (
        f"3 images: 0 changed, 1 failed ({missing}), 2 first seen"
    )
    assert steady not in first.stdout.split("\n3 images:")[0]

    moved = push.repush_index(repository, "1.0", index, changed="linux/amd64")
    second = run("check", "--config", str(config))
    text = second.stdout
    assert f"{moving}  changed" in text
    assert f"{missing}  error" in text
    assert steady not in text.split("\n3 images:")[0]  # unchanged: only in the count
    assert text.splitlines()[-1] == (
        f"3 images: 1 changed ({moving}), 1 failed ({missing}), 1 unchanged"
    )
    assert f"  linux/amd64     {moved.children['linux/amd64'][:19]}\n" in text
    assert moved.digest not in text  # short digests in text ...

    everything = run("check", "--config", str(config), "--all")
    assert f"{steady}  unchanged" in everything.stdout
    assert f"{moving}  unchanged" in everything.stdout
    as_json = run("check", "--config", str(config), "--json").json
    digests = {image["ref"]: image["digest"] for image in as_json["images"]}
    assert digests[moving] == moved.digest  # ... full ones in JSON


def test_a_dead_registry_is_one_line_with_its_image_count(tmp_path: Path) -> None:
    from tests.support import free_port

    host = f"127.0.0.1:{free_port()}"
    refs = [f"{host}/team/app{i}:1" for i in range(4)]
    config = tmp_path / "watcher.toml"
    config.write_text(
        f"[watcher]\ndatabase = 'sqlite:///{tmp_path / 'w.db'}'\n"
        f"[[registries]]\nhost = '{host}'\ninsecure = true\nretries = 0\n"
        + "".join(f"[[images]]\nref = '{ref}'\n" for ref in refs)
    )
    result = run("check", "--config", str(config))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert lines[0].startswith(f"{host}: 4 images failed: ")
    assert "cannot connect" in lines[0]
    assert lines[1] == f"4 images: 0 changed, 4 failed (all 4 on {host})"
