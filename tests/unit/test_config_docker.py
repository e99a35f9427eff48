import base64
import json
import os
import stat
from pathlib import Path

import pytest

from tests.support import wait_until
from watcher.config.docker import credentials_for, normalize_host, run_helper
from watcher.errors import ConfigError
from watcher.registry import Credentials, RegistrySettings

HELPER = """#!/bin/sh
read server
echo "$server" >> "{log}"
case "$server" in
  ghcr.io) echo '{{"ServerURL":"ghcr.io","Username":"octo","Secret":"gh-secret"}}' ;;
  https://index.docker.io/v1/) echo '{{"ServerURL":"x","Username":"<token>","Secret":"refresh"}}' ;;
  broken.example) echo "boom" >&2; exit 3 ;;
  leaky.example) echo '{{"Username":"u","Secret":"leaked-secret"}}'; exit 2 ;;
  saying.example) echo "no such login"; exit 2 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"""


@pytest.fixture
def docker_config(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "helper.log"
    for name in ("fake", "store"):
        script = bin_dir / f"docker-credential-{name}"
        script.write_text(HELPER.format(log=log))
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return tmp_path / "config.json", env, log


def write(path: Path, config: dict[str, object]) -> None:
    path.write_text(json.dumps(config))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_auths_entries(docker_config: tuple[Path, dict[str, str], Path]) -> None:
    path, env, _ = docker_config
    write(path, {"auths": {
        "https://index.docker.io/v1/": {"auth": b64("hubuser:hub:pass")},
        "http://127.0.0.1:5000/v2/": {"username": "u", "password": "p"},
        "quay.io": {"auth": b64("robot:x"), "identitytoken": "idt"},
        "token.example": {"registrytoken": "bearer-xyz"},
        "empty.example": {},
    }})
    assert credentials_for("docker.io", path, env=env) == Credentials("hubuser", "hub:pass")
    hub = credentials_for("registry-1.docker.io", path, env=env)
    assert hub == Credentials("hubuser", "hub:pass")
    assert credentials_for("127.0.0.1:5000", path, env=env) == Credentials("u", "p")
    assert credentials_for("quay.io", path, env=env) == Credentials("robot", identity_token="idt")
    assert credentials_for("token.example", path, env=env) == Credentials(token="bearer-xyz")
    assert credentials_for("empty.example", path, env=env) is None
    assert credentials_for("other.example", path, env=env) is None


def test_cred_helpers_and_store(docker_config: tuple[Path, dict[str, str], Path]) -> None:
    path, env, log = docker_config
    write(path, {
        "credsStore": "store",
        "credHelpers": {"ghcr.io": "fake", "broken.example": "fake"},
        "auths": {"fallback.example": {"auth": b64("f:g")}},
    })
    assert credentials_for("ghcr.io", path, env=env) == Credentials("octo", "gh-secret")
    assert credentials_for("docker.io", path, env=env) == Credentials(identity_token="refresh")
    # the store knows nothing: the auths entry still counts
    assert credentials_for("fallback.example", path, env=env) == Credentials("f", "g")
    assert credentials_for("nothing.example", path, env=env) is None
    with pytest.raises(ConfigError, match=r"failed \(exit 3\)$"):
        credentials_for("broken.example", path, env=env)
    assert log.read_text().split() == [
        "ghcr.io", "https://index.docker.io/v1/", "fallback.example", "nothing.example",
        "broken.example",
    ]


def test_a_failing_helper_never_echoes_a_json_answer(
    docker_config: tuple[Path, dict[str, str], Path],
) -> None:
    path, env, _ = docker_config
    write(path, {"credHelpers": {"leaky.example": "fake", "saying.example": "fake"}})
    with pytest.raises(ConfigError) as caught:
        credentials_for("leaky.example", path, env=env)
    assert "leaked-secret" not in caught.value.message
    with pytest.raises(ConfigError) as caught:
        credentials_for("saying.example", path, env=env)
    assert caught.value.message.endswith("credential helper docker-credential-fake failed (exit 2)")
    assert "no such login" not in caught.value.message


def test_what_a_helper_says_on_stderr_is_never_repeated(
    docker_config: tuple[Path, dict[str, str], Path],
) -> None:
    path, env, _ = docker_config
    write(path, {"credHelpers": {"broken.example": "fake"}})
    with pytest.raises(ConfigError) as caught:
        credentials_for("broken.example", path, env=env)
    assert "boom" not in caught.value.message
    assert "credential helper docker-credential-fake failed (exit 3)" in caught.value.message


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_helper_that_hangs_is_killed_with_every_process_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = tmp_path / "docker-credential-hang"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $$ $! > {pids}\nsleep 300\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"}
    with pytest.raises(ConfigError, match=r"docker-credential-hang did not answer in 0\.5s"):
        run_helper("hang", "ghcr.io", env=env, timeout=0.5)
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 2
    wait_until(lambda: not any(_running(pid) for pid in started), timeout=5,
               what="the helper and its child to be gone")


def test_missing_helper_and_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    assert credentials_for("ghcr.io", path) is None  # no file: anonymous
    write(path, {"credHelpers": {"ghcr.io": "does-not-exist"}})
    with pytest.raises(ConfigError, match="docker-credential-does-not-exist is not on PATH"):
        credentials_for("ghcr.io", path, env={"PATH": str(tmp_path)})
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        credentials_for("ghcr.io", path)
    write(path, {"auths": {"ghcr.io": {"auth": "!!!"}}})
    with pytest.raises(ConfigError, match="base64"):
        credentials_for("ghcr.io", path)


def test_a_helper_that_cannot_run_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    write(path, {"credHelpers": {"ghcr.io": "noexec"}})
    (tmp_path / "docker-credential-noexec").write_text("#!/bin/sh\nexit 0\n")  # not executable
    with pytest.raises(ConfigError, match="docker-credential-noexec"):
        credentials_for("ghcr.io", path, env={"PATH": str(tmp_path)})


def test_default_path_follows_docker_config(tmp_path: Path) -> None:
    write(tmp_path / "config.json", {"auths": {"ghcr.io": {"auth": b64("a:b")}}})
    assert credentials_for("ghcr.io", env={"DOCKER_CONFIG": str(tmp_path)}) == Credentials("a", "b")


def test_normalize_host() -> None:
    assert normalize_host("https://index.docker.io/v1/") == "docker.io"
    assert normalize_host("HTTP://Registry.Example:5000/v2/") == "registry.example:5000"
    assert normalize_host("ghcr.io") == "ghcr.io"


def test_repr_masks_every_secret() -> None:
    creds = Credentials(username="bob", password="hunter2")
    assert repr(creds) == "Credentials(username='bob', password='***')"
    assert str(creds) == repr(creds)
    assert "s3cret" not in repr(Credentials(token="s3cret"))
    assert "refr" not in repr(Credentials(username="u", identity_token="refr"))
    settings = RegistrySettings(host="r.example", credentials=creds)
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings)


def test_credentials_and_settings_validation() -> None:
    with pytest.raises(ConfigError):
        Credentials(password="x")
    with pytest.raises(ConfigError):
        Credentials(username="u", token="t")
    with pytest.raises(ConfigError, match="max_concurrency"):
        RegistrySettings(host="r.example", max_concurrency=0)
    assert RegistrySettings(insecure=True).scheme("ghcr.io") == "http"
    assert RegistrySettings().scheme("ghcr.io") == "https"


@pytest.mark.parametrize(
    ("host", "plain"),
    [
        ("127.0.0.1:5000", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("LocalHost:5000", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("128.0.0.1:5000", False),
        ("localhost.example.com", False),
        ("ghcr.io", False),
        ("[::2]:5000", False),
    ],
)
def test_loopback_registries_speak_plain_http_unless_told_otherwise(host: str, plain: bool) -> None:
    assert RegistrySettings().plain_http(host) is plain
    assert RegistrySettings(insecure=False).plain_http(host) is False
    assert RegistrySettings(insecure=True).plain_http(host) is True
