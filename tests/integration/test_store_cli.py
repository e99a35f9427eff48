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


def test_the_database_comes_from_the_config_file_relative_to_the_current_directory(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf.toml").write_text('[watcher]\ndatabase = "sqlite:///state.db"\n')
    result = runner.invoke(main, ["db", "upgrade", "--config", "conf.toml"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "state.db").is_file()
    result = runner.invoke(main, ["db", "current", "-c", "conf.toml"])
    assert result.output == f"{HEAD} (head)\n"


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
