"""The config file: every error names the file and the dotted key; secrets stay out of reprs."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.config import (
    DEFAULT_DATABASE,
    DEFAULT_INTERVAL,
    Config,
    RegistryConfig,
    TrackedImage,
    load_config,
    parse_config,
    parse_duration,
)
from watcher.config.docker import normalize_host
from watcher.core.reference import DOCKER_HUB, DOCKER_HUB_ALIASES, parse_reference
from watcher.core.tags import TagPolicy
from watcher.errors import ConfigError, WatcherError
from watcher.registry import RegistrySettings

FAST = settings(max_examples=200, derandomize=True, database=None, deadline=None)


def write(tmp_path: Path, text: str, name: str = "watcher.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def parse(text: str, path: Path | None = None) -> Config:
    return parse_config(tomllib.loads(textwrap.dedent(text)), path=path)


def config_error(text: str, path: Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(text, path)
    assert isinstance(info.value, WatcherError)
    return info.value


# --- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1.5d", 129600.0),
        ("0.5s", 0.5),
        ("250ms", 0.25),
        (" 15m ", 900.0),
        ("15 m", 900.0),
        ("0", 0.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "s", "m15", "15x", "15M", "15H", "-5", "-5s", "1h30m", ".5s", "5.s", "1e3", "inf", "nan",
     "٩٠", "٩٠s", "15 minutes", "0x10"],
)  # fmt: skip
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@FAST
@given(st.integers(0, 10**6), st.sampled_from(["", "s", "m", "h", "d", "ms"]))
def test_parse_duration_scales_by_unit(value: int, unit: str) -> None:
    factor = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "ms": 0.001}[unit]
    assert parse_duration(f"{value}{unit}") == pytest.approx(value * factor)


# --- a complete, valid file -----------------------------------------------------------------

FULL = """
    [watcher]
    database = "postgresql://db/watcher"
    interval = "15m"
    concurrency = 4
    timeout = 30
    notify_on_first_check = true
    docker_config = "~/.docker/config.json"

    [[registries]]
    host = "ghcr.io"
    username = "bot"
    password = "hunter2"
    max_concurrency = 2
    timeout = "5s"
    retries = 0
    max_tag_pages = 3
    max_tags = 1000

    [[registries]]
    host = "localhost:5000"
    insecure = true

    [[images]]
    ref = "python:3.12-slim"
    platforms = ["linux/amd64", "linux/arm64/v8"]
    include = '^3\\.12\\.\\d+-slim$'
    exclude = "rc"
    strategy = "semver"
    range = ">=3.12,<3.13"

    [[images]]
    ref = "ghcr.io/org/app:build-7"
    notify_on_first_check = false
    list_tags = false
    extract = 'build-(\\d+)'
    strategy = "numeric"

    [[images]]
    ref = "localhost:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
"""


def test_full_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_config(path)
    assert config.path == path
    assert config.database == "postgresql://db/watcher"
    assert config.interval == 900.0
    assert config.concurrency == 4
    assert config.timeout == 30.0
    assert config.notify_on_first_check is True
    assert config.docker_config == Path("~/.docker/config.json").expanduser()

    ghcr, local = config.registries
    assert ghcr == RegistryConfig(
        host="ghcr.io",
        username="bot",
        password="hunter2",
        max_concurrency=2,
        timeout=5.0,
        retries=0,
        max_tag_pages=3,
        max_tags=1000,
    )
    # Registry defaults come from [watcher].
    assert local == RegistryConfig(
        host="localhost:5000", insecure=True, max_concurrency=4, timeout=30.0
    )
    assert config.registry("ghcr.io") is ghcr
    assert config.registry("quay.io") is None

    python, app, pinned = config.images
    assert python == TrackedImage(
        ref=parse_reference("docker.io/library/python:3.12-slim"),
        platforms=frozenset({"linux/amd64", "linux/arm64/v8"}),
        notify_on_first_check=True,  # inherited from [watcher]
        list_tags=True,
        tags=TagPolicy(
            include=r"^3\.12\.\d+-slim$",
            exclude="rc",
            strategy="semver",
            version_range=">=3.12,<3.13",
        ),
    )
    assert app.notify_on_first_check is False
    assert app.list_tags is False
    assert app.tags.extract == r"build-(\d+)"
    assert app.platforms is None
    assert pinned.ref.digest is not None
    assert pinned.list_tags is False  # a digest-pinned image has no tags to list by default


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    # The default SQLite file, like any relative path in the file, sits beside the config.
    assert DEFAULT_DATABASE == "sqlite:///watcher.db"
    assert config.database == f"sqlite:///{tmp_path / 'watcher.db'}"
    assert config.interval == DEFAULT_INTERVAL
    assert config.concurrency == 8
    assert config.timeout == 10.0
    assert config.notify_on_first_check is False
    assert config.docker_config is None
    assert config.registries == ()
    assert config.images == ()


def test_parse_config_without_path_names_only_the_key() -> None:
    error = config_error("[watcher]\nintervall = 5\n")
    assert error.path is None
    assert str(error).startswith("watcher.intervall: unknown key")


# --- errors name the file and the dotted key ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        # Unknown keys, with a suggestion when one is close.
        ("wacher = 1", "wacher", "did you mean 'watcher'?"),
        ("[[image]]\nref = 'x'", "image", "did you mean 'images'?"),
        ("zzz = 1", "zzz", "unknown key"),
        ("[watcher]\nintervall = 5", "watcher.intervall", "did you mean 'interval'?"),
        ("[watcher]\nconcurency = 5", "watcher.concurency", "did you mean 'concurrency'?"),
        ("[[registries]]\nhost = 'a.io'\npasword = 'x'", "registries[0].pasword",
         "did you mean 'password'?"),
        ("[[registries]]\nhost = 'a.io'\npassword_evn = 'X'", "registries[0].password_evn",
         "did you mean 'password_env'?"),
        ("[[images]]\nref = 'x'\nplatform = ['linux/amd64']", "images[0].platform",
         "did you mean 'platforms'?"),
        ("[[images]]\nref = 'x'\n[[images]]\nref = 'y'\nstrategie = 'semver'",
         "images[1].strategie", "did you mean 'strategy'?"),
        ("[[images]]\nref = 'x'\nversion_range = '>=1'", "images[0].version_range", "unknown key"),
        # Section shapes.
        ("watcher = 5", "watcher", "must be a table ([watcher]), not a number"),
        ("registries = 'ghcr.io'", "registries", "must be an array of tables ([[registries]])"),
        ("images = ['python']", "images", "must be an array of tables ([[images]])"),
        ("[images]\nref = 'python'", "images", "must be an array of tables"),
        # Types.
        ("[watcher]\ndatabase = 5", "watcher.database", "must be a string, not a number"),
        ("[watcher]\nconcurrency = '4'", "watcher.concurrency", "whole number >= 0, not '4'"),
        ("[watcher]\nconcurrency = 4.0", "watcher.concurrency", "whole number"),
        ("[watcher]\nconcurrency = true", "watcher.concurrency", "whole number"),
        ("[watcher]\nconcurrency = 0", "watcher.concurrency", "must be at least 1"),
        ("[watcher]\nconcurrency = -1", "watcher.concurrency", "whole number"),
        ("[watcher]\nnotify_on_first_check = 'yes'", "watcher.notify_on_first_check",
         "must be true or false, not a string"),
        ("[watcher]\nnotify_on_first_check = 1", "watcher.notify_on_first_check",
         "must be true or false, not a number"),
        ("[watcher]\ndocker_config = ['a']", "watcher.docker_config",
         "must be a string, not a list"),
        ("[watcher]\ninterval = true", "watcher.interval", "must be a duration"),
        ("[watcher]\ninterval = [1]", "watcher.interval",
         "must be a duration such as 30 or '15m', not a list"),
        ("[watcher]\ninterval = 1979-05-27", "watcher.interval", "not date"),
        ("[watcher]\ninterval = '15 minutes'", "watcher.interval", "is not a duration"),
        ("[watcher]\ninterval = 0", "watcher.interval", "greater than zero"),
        ("[watcher]\ninterval = '0s'", "watcher.interval", "greater than zero"),
        ("[watcher]\ninterval = -5", "watcher.interval", "greater than zero"),
        ("[watcher]\ninterval = -0.5", "watcher.interval", "greater than zero"),
        ("[watcher]\ninterval = nan", "watcher.interval", "duration"),
        ("[watcher]\ninterval = inf", "watcher.interval", "duration"),
        ("[watcher]\ntimeout = '1w'", "watcher.timeout", "is not a duration"),
        # Registries.
        ("[[registries]]\ninsecure = true", "registries[0].host", "is required"),
        ("[[registries]]\nhost = ''", "registries[0].host", "is required"),
        ("[[registries]]\nhost = 5", "registries[0].host", "must be a string"),
        ("[[registries]]\nhost = 'https://ghcr.io'", "registries[0].host", "without scheme"),
        ("[[registries]]\nhost = 'ghcr.io/org'", "registries[0].host", "bare host[:port]"),
        ("[[registries]]\nhost = 'a.io'\ninsecure = 'no'", "registries[0].insecure",
         "true or false"),
        ("[[registries]]\nhost = 'a.io'\nretries = -1", "registries[0].retries",
         "whole number >= 0"),
        ("[[registries]]\nhost = 'a.io'\nmax_tags = 0", "registries[0].max_tags", "at least 1"),
        ("[[registries]]\nhost = 'a.io'\nmax_tag_pages = 0", "registries[0].max_tag_pages",
         "at least 1"),
        ("[[registries]]\nhost = 'a.io'\nmax_concurrency = 0", "registries[0].max_concurrency",
         "at least 1"),
        ("[[registries]]\nhost = 'a.io'\ntimeout = '0ms'", "registries[0].timeout",
         "greater than zero"),
        ("[[registries]]\nhost = 'a.io'\npassword = 'p'", "registries[0].password",
         "username is not"),
        ("[[registries]]\nhost = 'a.io'\nusername = 'u'\npassword = 'p'\ntoken = 't'",
         "registries[0].token", "not both"),
        ("[[registries]]\nhost = 'a.io'\nusername = 5", "registries[0].username",
         "must be a string"),
        ("[[registries]]\nhost = 'a.io'\npassword_env = ['X']\nusername = 'u'",
         "registries[0].password_env", "must be a string, not a list"),
        ("[[registries]]\nhost = 'a.io'\n[[registries]]\nhost = 'a.io'", "registries[1].host",
         "'a.io' is listed twice (also registries[0])"),
        ("[[registries]]\nhost = 'index.docker.io'\n[[registries]]\nhost = 'docker.io'",
         "registries[1].host", "'docker.io' is listed twice"),
        ("[[registries]]\nhost = 'docker.io'\n[[registries]]\nhost = 'registry-1.docker.io'",
         "registries[1].host", "listed twice"),
        ("[[registries]]\nhost = 'docker.io'\n[[registries]]\nhost = 'registry.hub.docker.com'",
         "registries[1].host", "listed twice"),
        ("[[registries]]\nhost = 'a.io'\n[[registries]]\nhost = 'b.io'\n"
         "[[registries]]\nhost = 'a.io'",
         "registries[2].host", "also registries[0]"),
        # Images.
        ("[[images]]\nplatforms = ['linux/amd64']", "images[0].ref", "is required"),
        ("[[images]]\nref = ''", "images[0].ref", "is required"),
        ("[[images]]\nref = 3", "images[0].ref", "must be a string, not a number"),
        ("[[images]]\nref = 'Python'", "images[0].ref", "invalid image reference 'Python'"),
        ("[[images]]\nref = 'python:'", "images[0].ref", "tag '' is not valid"),
        ("[[images]]\nref = 'https://ghcr.io/a'", "images[0].ref", "scheme"),
        ("[[images]]\nref = 'python'\n[[images]]\nref = 'docker.io/library/python:latest'",
         "images[1].ref", "'docker.io/library/python:latest' is listed twice (also images[0])"),
        ("[[images]]\nref = 'index.docker.io/python:3'\n[[images]]\nref = 'python:3'",
         "images[1].ref", "listed twice"),
        ("[[images]]\nref = 'python'\nplatforms = 'linux/amd64'", "images[0].platforms",
         "must be a list of strings"),
        ("[[images]]\nref = 'python'\nplatforms = [1]", "images[0].platforms",
         "must be a list of strings"),
        ("[[images]]\nref = 'python'\nplatforms = ['linux']", "images[0].platforms",
         "'linux' is not os/arch[/variant]"),
        ("[[images]]\nref = 'python'\nplatforms = ['linux/amd64', 'amd64']", "images[0].platforms",
         "'amd64' is not os/arch"),
        ("[[images]]\nref = 'python'\nplatforms = ['Linux/AMD64']", "images[0].platforms",
         "is not os/arch"),
        ("[[images]]\nref = 'python'\nplatforms = ['linux/arm64/v8/x']", "images[0].platforms",
         "is not os/arch"),
        ("[[images]]\nref = 'python'\nplatforms = ['linux/']", "images[0].platforms",
         "is not os/arch"),
        ("[[images]]\nref = 'python'\nplatforms = [' linux/amd64']", "images[0].platforms",
         "is not os/arch"),
        ("[[images]]\nref = 'python'\ninclude = '(unclosed'", "images[0].include",
         "invalid regular expression"),
        ("[[images]]\nref = 'python'\nexclude = '*rc'", "images[0].exclude",
         "invalid regular expression"),
        ("[[images]]\nref = 'python'\nextract = '[0-9'", "images[0].extract",
         "invalid regular expression"),
        ("[[images]]\nref = 'python'\nextract = 'build-\\d+'", "images[0].extract",
         "needs a capture group"),
        ("[[images]]\nref = 'python'\nextract = 'build-(?:\\d+)'", "images[0].extract",
         "needs a capture group"),
        ("[[images]]\nref = 'python'\ninclude = 5", "images[0].include", "must be a string"),
        ("[[images]]\nref = 'python'\nstrategy = 'calver'", "images[0].strategy",
         "unknown strategy 'calver'; choose one of semver, numeric, date, lexical"),
        ("[[images]]\nref = 'python'\nstrategy = 'SemVer'", "images[0].strategy", "choose one of"),
        ("[[images]]\nref = 'python'\nlist_tags = 'no'", "images[0].list_tags", "true or false"),
        ("[[images]]\nref = 'python'\nnotify_on_first_check = 0", "images[0].notify_on_first_check",
         "true or false"),
        ("[[images]]\nref = 'python'\nrange = 3", "images[0].range", "must be a string"),
        ("[[images]]\nref = 'a'\n[[images]]\nref = 'b'\n[[images]]\nref = 'C'", "images[2].ref",
         "lowercase"),
    ],
)  # fmt: skip
def test_errors_name_file_and_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    error = info.value
    assert error.path == str(path)
    assert error.key == key
    assert str(error).startswith(f"{path}: {key}: ")
    assert message in str(error)


@pytest.mark.parametrize(
    ("platform"),
    ["linux/amd64", "linux/arm64", "linux/arm64/v8", "linux/arm/v7", "windows/amd64",
     "linux/s390x", "linux/ppc64le", "linux/386", "linux/x86_64", "darwin/arm64"],
)  # fmt: skip
def test_valid_platforms(platform: str) -> None:
    config = parse(f"[[images]]\nref = 'python'\nplatforms = ['{platform}']")
    assert config.images[0].platforms == frozenset({platform})


@pytest.mark.parametrize("strategy", ["semver", "numeric", "date", "lexical"])
def test_strategies(strategy: str) -> None:
    image = parse(f"[[images]]\nref = 'python'\nstrategy = '{strategy}'").images[0]
    assert image.tags.strategy == strategy


@pytest.mark.parametrize(
    ("hosts", "normalized"),
    [
        (["index.docker.io"], ["docker.io"]),
        (["registry-1.docker.io"], ["docker.io"]),
        (["registry.hub.docker.com"], ["docker.io"]),
        (["docker.io", "ghcr.io", "localhost:5000"], ["docker.io", "ghcr.io", "localhost:5000"]),
    ],
)
def test_registry_hosts_normalize_like_references(hosts: list[str], normalized: list[str]) -> None:
    text = "".join(f"[[registries]]\nhost = '{host}'\n" for host in hosts)
    config = parse(text)
    assert [r.host for r in config.registries] == normalized
    for host in hosts:
        # A reference on an alias host finds the registry entry written with any alias.
        ref = parse_reference(f"{host}/org/app")
        assert config.registry(ref.registry) is not None


@pytest.mark.parametrize("alias", sorted(DOCKER_HUB_ALIASES))
def test_every_docker_hub_alias_is_docker_io_everywhere(alias: str) -> None:
    """References, [[registries]] hosts and Docker's config.json keys share one alias list."""
    for spelling in (alias, alias.upper()):
        assert parse_reference(f"{spelling}/org/app").registry == DOCKER_HUB
        assert parse(f"[[registries]]\nhost = '{spelling}'").registries[0].host == DOCKER_HUB
        assert normalize_host(f"https://{spelling}/v1/") == DOCKER_HUB


REGISTRY_DEFAULTS = ("max_concurrency", "timeout", "retries", "max_tag_pages", "max_tags")


def test_registry_defaults_are_the_registry_clients() -> None:
    """Written once, in RegistrySettings: the config file and RegistryConfig only read them."""
    client = RegistrySettings()
    config = parse("[[registries]]\nhost = 'ghcr.io'")
    assert (config.concurrency, config.timeout) == (client.max_concurrency, client.timeout)
    assert (Config(path=None).concurrency, Config(path=None).timeout) == (
        client.max_concurrency,
        client.timeout,
    )
    for entry in (config.registries[0], RegistryConfig(host="ghcr.io")):
        for name in REGISTRY_DEFAULTS:
            assert getattr(entry, name) == getattr(client, name), name


def test_same_image_with_different_tags_or_digests_is_not_a_duplicate() -> None:
    digest = "sha256:" + "ab" * 32
    config = parse(
        f"""
        [[images]]
        ref = "python:3.12"
        [[images]]
        ref = "python:3.13"
        [[images]]
        ref = "python@{digest}"
        [[images]]
        ref = "python:3.12@{digest}"
        """
    )
    assert len(config.images) == 4


def test_empty_platform_list_means_all_platforms() -> None:
    assert parse("[[images]]\nref = 'python'\nplatforms = []").images[0].platforms is None


def test_notify_on_first_check_inherits_and_overrides() -> None:
    config = parse(
        """
        [watcher]
        notify_on_first_check = true
        [[images]]
        ref = "a"
        [[images]]
        ref = "b"
        notify_on_first_check = false
        """
    )
    assert [i.notify_on_first_check for i in config.images] == [True, False]
    assert parse("[[images]]\nref = 'a'").images[0].notify_on_first_check is False


def test_durations_as_numbers_and_strings() -> None:
    config = parse("[watcher]\ninterval = 90\ntimeout = 2.5\n")
    assert (config.interval, config.timeout) == (90.0, 2.5)
    config = parse("[watcher]\ninterval = '1h'\ntimeout = '250ms'\n")
    assert (config.interval, config.timeout) == (3600.0, 0.25)
    assert all(isinstance(v, float) for v in (config.interval, config.timeout))


def test_empty_database_falls_back_to_default() -> None:
    assert parse("[watcher]\ndatabase = ''").database == DEFAULT_DATABASE


# --- secrets ---------------------------------------------------------------------------------


def registry_text(**keys: Any) -> str:
    body = "".join(f"{key} = {value!r}\n" for key, value in keys.items())
    return f"[[registries]]\nhost = 'ghcr.io'\n{body}"


def test_secret_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WATCHER_TEST_USER", "bot")
    monkeypatch.setenv("WATCHER_TEST_PASSWORD", "s3cret")
    path = write(
        tmp_path,
        registry_text(username_env="WATCHER_TEST_USER", password_env="WATCHER_TEST_PASSWORD"),
    )
    (registry,) = load_config(path).registries
    assert (registry.username, registry.password, registry.token) == ("bot", "s3cret", None)


def test_secret_env_value_is_taken_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_TEST_TOKEN", " tok \n")
    (registry,) = parse(registry_text(token_env="WATCHER_TEST_TOKEN")).registries
    assert registry.token == " tok \n"


def test_secret_from_file_relative_to_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "etc"
    (config_dir / "secrets").mkdir(parents=True)
    (config_dir / "secrets" / "token").write_text("  the-token\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(config_dir, registry_text(token_file="secrets/token"))
    (registry,) = load_config(path).registries
    assert registry.token == "the-token"


def test_secret_from_absolute_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("pw\n", encoding="utf-8")
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    path = write(config_dir, registry_text(username="u", password_file=str(secret)))
    assert load_config(path).registries[0].password == "pw"


def test_secret_file_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "tok").write_text("t\n", encoding="utf-8")
    assert parse(registry_text(token_file="~/tok")).registries[0].token == "t"


@pytest.mark.parametrize(
    ("keys", "bad_key", "message"),
    [
        ({"token": "a", "token_env": "B"}, "token_env", "set only one of token, token_env"),
        ({"token": "a", "token_file": "f"}, "token_file", "set only one of token, token_file"),
        ({"token_env": "A", "token_file": "f"}, "token_file", "token_env, token_file"),
        ({"token": "a", "token_env": "B", "token_file": "f"}, "token_env",
         "token, token_env, token_file"),
        ({"username": "u", "username_env": "U"}, "username_env", "set only one of"),
        ({"username": "u", "password": "p", "password_file": "f"}, "password_file",
         "set only one of"),
        ({"token_env": "WATCHER_TEST_SURELY_UNSET"}, "token_env",
         "environment variable WATCHER_TEST_SURELY_UNSET is not set"),
        ({"username": "u", "password_env": "WATCHER_TEST_SURELY_UNSET"}, "password_env",
         "is not set"),
        ({"token_file": "missing-token"}, "token_file", "cannot read"),
        ({"token_file": "."}, "token_file", "cannot read"),
        ({"token_file": "binary"}, "token_file", "cannot read"),
        ({"token_env": 5}, "token_env", "must be a string, not a number"),
        ({"token_file": True}, "token_file", "must be a string, not a boolean"),
    ],
)  # fmt: skip
def test_secret_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keys: dict[str, Any],
    bad_key: str,
    message: str,
) -> None:
    monkeypatch.delenv("WATCHER_TEST_SURELY_UNSET", raising=False)
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00bad")
    body = "".join(
        f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v)}\n" for k, v in keys.items()
    )
    path = write(tmp_path, f"[[registries]]\nhost = 'ghcr.io'\n{body}")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == f"registries[0].{bad_key}"
    assert info.value.path == str(path)
    assert message in str(info.value)


def test_missing_secret_file_error_names_the_resolved_path(tmp_path: Path) -> None:
    path = write(tmp_path, registry_text(token_file="nope"))
    with pytest.raises(ConfigError, match="cannot read") as info:
        load_config(path)
    assert str(tmp_path / "nope") in str(info.value)


def test_registry_repr_hides_secrets() -> None:
    registry = RegistryConfig(host="ghcr.io", username="bot", password="hunter2", token="tok-123")
    text = repr(registry)
    assert "hunter2" not in text
    assert "tok-123" not in text
    assert "bot" in text
    assert "ghcr.io" in text


def test_config_repr_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_TEST_PASSWORD", "hunter2")
    config = parse(
        "[[registries]]\nhost = 'a.io'\nusername = 'u'\npassword_env = 'WATCHER_TEST_PASSWORD'\n"
        "[[registries]]\nhost = 'b.io'\ntoken = 'tok-123'\n"
    )
    assert config.registries[0].password == "hunter2"
    assert "hunter2" not in repr(config)
    assert "tok-123" not in repr(config)
    assert "hunter2" not in str(config)


# --- reading the file -------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="file not found") as info:
        load_config(path)
    assert info.value.path == str(path)
    assert info.value.key is None


def test_directory_is_not_readable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read") as info:
        load_config(tmp_path)
    assert info.value.path == str(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b"[watcher]\ndatabase = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load_config(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize("text", ["[watcher", "a = ", "a = 1\na = 2", "[[images]]\nref = 'x' y"])
def test_not_toml(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")


def test_load_config_accepts_str_path(tmp_path: Path) -> None:
    path = write(tmp_path, "[watcher]\ninterval = 60\n")
    assert load_config(str(path)).interval == 60.0


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        ("range = 'about three'", "images[0].range", "cannot read"),
        ("strategy = 'date'\nrange = '>=1'", "images[0].range", "does not apply"),
    ],
)
def test_tag_policy_errors_name_the_key(entry: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(f"[[images]]\nref = 'python'\n{entry}")
    assert caught.value.key == key
    assert message in caught.value.message


def test_registry_hosts_compare_case_insensitively_and_loopback_is_plain_http(
    tmp_path: Path,
) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(
        "[[registries]]\nhost = 'Registry.Example:5000'\n"
        "[[registries]]\nhost = '127.0.0.1:5000'\n"
        "[[registries]]\nhost = 'localhost:5001'\ninsecure = false\n"
        "[[images]]\nref = 'registry.example:5000/app:1'\n"
    )
    config = load_config(path)
    configured = config.registry("registry.example:5000")
    assert configured is not None
    assert configured.insecure is False
    assert config.images[0].ref.registry == "registry.example:5000"
    loopback = config.registry("127.0.0.1:5000")
    assert loopback is not None
    assert loopback.insecure is True
    told = config.registry("localhost:5001")
    assert told is not None
    assert told.insecure is False
