"""``watcher db upgrade`` and ``watcher db current`` with click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from watcher.cli import main
from watcher.store import Store
from watcher.store.engine import create, writing

HEAD = Store.head_revision()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_upgrade_creates_the_schema_and_prints_from_and_to(
    runner: CliRunner, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'watcher.db'}"
    result = runner.invoke(main, ["db", "upgrade", "--database", url])
    assert result.exit_code == 0, result.output
    assert result.output == f"{url}: upgraded from revision none (empty) to {HEAD}\n"

    result = runner.invoke(main, ["db", "upgrade", "--database", url])
    assert result.exit_code == 0, result.output
    assert result.output == f"{url}: already at revision {HEAD} (head)\n"

    result = runner.invoke(main, ["db", "current", "--database", url])
    assert result.exit_code == 0, result.output
    assert result.output == f"{HEAD} (head)\n"


def test_a_relative_sqlite_path_in_the_config_is_relative_to_the_config_file(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "conf.toml").write_text('[watcher]\ndatabase = "sqlite:///state.db"\n')
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["db", "upgrade", "--config", "etc/conf.toml"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "etc" / "state.db").is_file()
    assert not (tmp_path / "state.db").exists()
    # From another directory, the same config finds the same database.
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    result = runner.invoke(main, ["db", "current", "-c", "../etc/conf.toml"])
    assert result.output == f"{HEAD} (head)\n"
    assert not (tmp_path / "other" / "state.db").exists()


def test_a_relative_database_option_is_relative_to_the_current_directory(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "conf.toml").write_text('[watcher]\ndatabase = "sqlite:///state.db"\n')
    monkeypatch.chdir(tmp_path)
    args = ["db", "upgrade", "-c", "etc/conf.toml", "--database", "sqlite:///here.db"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "here.db").is_file()
    assert not (tmp_path / "etc" / "state.db").exists()


def test_current_on_an_empty_database(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["db", "current", "--database", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 0, result.output
    assert result.output == "none (empty database: run `watcher db upgrade`)\n"


def test_a_database_from_a_newer_watcher(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'watcher.db'}"
    Store.open(url).close()
    engine = create(url)
    try:
        with writing(engine) as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()

    result = runner.invoke(main, ["db", "current", "--database", url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("9999 (unknown: migrated by a newer watcher")

    result = runner.invoke(main, ["db", "upgrade", "--database", url])
    assert result.exit_code == 1
    assert "newer watcher; upgrade watcher" in result.output


def test_storage_errors_exit_1_with_the_message(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'watcher.db'}"
    result = runner.invoke(main, ["db", "upgrade", "--database", url])
    assert result.exit_code == 1
    assert "check that the directory exists" in result.output


def test_config_and_usage_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["db", "upgrade", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "nope.toml: file not found" in result.output

    result = runner.invoke(main, ["db", "upgrade", "--no-such-option"])
    assert result.exit_code == 2


SECRET = "Hunter2-secret"
BAD_URLS = [
    f"postgresql+psycopg://watcher:{SECRET}@x@127.0.0.1:1/watcher",  # '@' not encoded
    f"postgresql+psycopg://watcher:{SECRET}@127.0.0.1:port/watcher",
    "not-a-url",
]
COMMANDS = [
    ["check"],
    ["run"],
    ["status"],
    ["history", "python:3.12"],
    ["ack", "python:3.12"],
    ["events"],
    ["events", "retry", "12"],
    ["db", "upgrade"],
    ["db", "current"],
]


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_bad_database_url_exits_2_naming_the_key_never_the_password(
    tmp_path: Path, command: list[str], url: str
) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(f"[watcher]\ndatabase = '{url}'\n[[images]]\nref = 'python:3.12'\n")
    in_config = CliRunner().invoke(main, [*command, "--config", str(config)])
    as_option = CliRunner().invoke(
        main, [*command, "--config", str(tmp_path / "absent.toml"), "--database", url]
    )
    if command[0] in ("check", "run"):  # they need their config file: give them one
        as_option = CliRunner().invoke(
            main, [*command, "--config", str(config), "--database", url]
        )
    expected = ((in_config, f"{config}: watcher.database: "), (as_option, "--database: "))
    for result, where in expected:
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert f"watcher: error: {where}" in result.output
        assert SECRET not in result.output
        assert "Traceback" not in result.output


def test_error_messages_spell_out_control_characters(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text('[watcher]\n"intervall\\u001b[2J" = 5\n')
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exit_code == 2
    assert "intervall\\x1b[2J" in result.output
    assert "\x1b" not in result.output
