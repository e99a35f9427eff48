"""The config's front door: database URLs (never a password in an error, SQLite paths
relative to the config file), range checks on every number, and a byte-order mark."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from watcher.config import load_config, parse_config
from watcher.config.paths import database_url
from watcher.errors import ConfigError

SECRET = "s3cr3t-Pa55"


def config_error(text: str, path: Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(tomllib.loads(text), path=path)
    return info.value


# --- database URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        # An '@' that is not percent-encoded: SQLAlchemy reads the rest as the host.
        (f"postgresql+psycopg://watcher:{SECRET}@x@db.internal/watcher", "%40"),
        (f"postgresql+psycopg://watcher:a@{SECRET}@db.internal/watcher", "%40"),
        (f"postgresql+psycopg://watcher:{SECRET}@db.internal:port/watcher", "port is not a number"),
        (f"postgresql+psycopg://watcher:{SECRET}@db.internal:99999/watcher", "between 1 and 65535"),
        (f"postgresql+psycopg://watcher:{SECRET}:x@y:z@db/watcher", "not a database URL"),
        ("not a url at all", "not a database URL"),
        ("://", "not a database URL"),
    ],
)
def test_bad_database_urls_name_the_key_and_never_the_password(
    tmp_path: Path, url: str, problem: str
) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(f"[watcher]\ndatabase = '{url}'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: watcher.database: "), message
    assert problem in message
    assert SECRET not in message
    assert "s3cr3t" not in message
    assert "Pa55" not in message


def test_database_option_errors_name_the_option() -> None:
    with pytest.raises(ConfigError) as info:
        database_url(f"postgresql://u:{SECRET}@@host/db", key="--database")
    assert str(info.value).startswith("--database: ")
    assert SECRET not in str(info.value)


def test_config_repr_hides_the_database_password() -> None:
    url = f"postgresql+psycopg://watcher:{SECRET}@db.internal/watcher"
    config = parse_config({"watcher": {"database": url}})
    assert config.database == url
    assert SECRET not in repr(config)
    assert SECRET not in str(config)


def test_a_percent_encoded_password_is_accepted_as_written() -> None:
    url = "postgresql+psycopg://watcher:p%40ss%3Aw%2Frd@db.internal:5432/watcher"
    assert database_url(url, key="--database") == url


# --- the SQLite path is relative to the config file ----------------------------------------------


def test_relative_sqlite_path_is_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "watcher.toml"
    path.write_text("[watcher]\ndatabase = 'sqlite:///state/watcher.db'\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_config(path).database == f"sqlite:///{tmp_path / 'etc' / 'state' / 'watcher.db'}"
    # Also when the config file itself is named relative to the current directory.
    monkeypatch.chdir(tmp_path)
    expected = f"sqlite:///{tmp_path / 'etc' / 'state' / 'watcher.db'}"
    assert load_config(Path("etc/watcher.toml")).database == expected


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/watcher/watcher.db",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:watcher.db?mode=ro&uri=true",
        "postgresql+psycopg://watcher@db.internal/watcher",
    ],
)
def test_other_database_urls_are_kept(tmp_path: Path, url: str) -> None:
    assert database_url(url, key="watcher.database", path=tmp_path / "w.toml") == url


def test_a_url_without_a_config_file_is_kept_relative() -> None:
    # --database: a path on the command line is relative to the current directory.
    assert database_url("sqlite:///watcher.db", key="--database") == "sqlite:///watcher.db"


# --- range checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("[watcher]\ninterval = '999999999999d'", "watcher.interval", "at most 365d"),
        ("[watcher]\ninterval = 99999999999", "watcher.interval", "at most 365d"),
        ("[watcher]\ninterval = '9" + "9" * 400 + "s'", "watcher.interval", "duration"),
        ("[watcher]\ninterval = -5", "watcher.interval", "greater than zero"),
        ("[watcher]\ninterval = 0", "watcher.interval", "greater than zero"),
        ("[watcher]\ninterval = '-5m'", "watcher.interval", "not a duration"),
        ("[watcher]\ntimeout = '2d'", "watcher.timeout", "at most 1h"),
        ("[watcher]\nconcurrency = 1000000", "watcher.concurrency", "at most 1,000"),
        ("[watcher]\nconcurrency = -1", "watcher.concurrency", ">= 0"),
        ("[[registries]]\nhost = 'r'\nretries = 1000000", "registries[0].retries", "at most 20"),
        ("[[registries]]\nhost = 'r'\nretries = -1", "registries[0].retries", ">= 0"),
        ("[[registries]]\nhost = 'r'\ntimeout = 1e300", "registries[0].timeout", "at most 1h"),
        ("[[registries]]\nhost = 'r'\ntimeout = 0", "registries[0].timeout", "greater than zero"),
        (
            "[[registries]]\nhost = 'r'\nmax_concurrency = 9223372036854775807",
            "registries[0].max_concurrency",
            "at most 1,000",
        ),
        ("[[registries]]\nhost = 'r'\nmax_tags = 0", "registries[0].max_tags", "at least 1"),
        (
            "[[registries]]\nhost = 'r'\nmax_tags = 100000000000",
            "registries[0].max_tags",
            "at most 10,000,000",
        ),
        (
            "[[registries]]\nhost = 'r'\nmax_tag_pages = 10000000",
            "registries[0].max_tag_pages",
            "at most 10,000",
        ),
    ],
)
def test_numbers_out_of_range_name_file_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    error = config_error(text, tmp_path / "watcher.toml")
    assert error.key == key
    assert message in str(error)
    assert str(error).startswith(f"{tmp_path / 'watcher.toml'}: {key}: ")


def test_the_largest_values_allowed_load() -> None:
    config = parse_config(
        tomllib.loads(
            "[watcher]\ninterval = '365d'\ntimeout = '1h'\nconcurrency = 1000\n"
            "[[registries]]\nhost = 'r'\nretries = 20\nmax_tags = 10000000\n"
        )
    )
    assert config.interval == 365 * 86400
    assert config.registries[0].retries == 20


# --- byte-order mark ------------------------------------------------------------------------------


def test_a_byte_order_mark_is_not_part_of_the_toml(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_bytes(b"\xef\xbb\xbf[watcher]\ninterval = '15m'\n")
    assert load_config(path).interval == 900.0


def test_docker_config_is_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "etc" / "watcher.toml"
    path.parent.mkdir()
    path.write_text("[watcher]\ndocker_config = 'docker/config.json'\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(Path("etc/watcher.toml")).docker_config == (
        tmp_path / "etc" / "docker" / "config.json"
    )


def test_sqlite_path_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    url = database_url("sqlite:///~/w.db", key="watcher.database", path=Path("/etc/w.toml"))
    assert url == f"sqlite:///{tmp_path / 'w.db'}"
