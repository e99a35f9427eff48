"""``watcher tags``: the two answers, how CURRENT was read, the reasons; JSON; usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from watcher.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
PYTHON_TODAY = CORPUS / "2026-08-21" / "python.txt"

OFFERED = "\n".join(
    [
        "3.12.8-slim-bookworm",
        "3.13.0-slim-bookworm",
        "3.14.0rc1-slim-bookworm",
        "3.12.6-slim-bookworm",
        "3.12.8-alpine",
        "3.12-slim-bookworm",
        "latest",
        "sha-3f2a1bc",
    ]
)


def run(*args: str, stdin: str | None = None) -> Result:
    """``watcher tags ARGS``; with ``stdin``, the tags are read from it (``--from -``)."""
    if stdin is not None and "--from" not in args:
        args = (*args, "--from", "-")
    return CliRunner().invoke(main, ["tags", *args], input=stdin)


def test_text_output_gives_answers_parse_and_reasons() -> None:
    result = run("3.12.7-slim-bookworm", stdin=OFFERED)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "same line  3.12.8-slim-bookworm" in out
    assert "newest     3.13.0-slim-bookworm" in out
    assert "version 3.12.7, prefix (none), pre-release (none), build (none)" in out
    assert "variant slim-bookworm, precision 3" in out
    assert "candidates, newest first (2)" in out
    for header in ("pre-release (1)", "older (1)", "other-variant (1)", "other-precision (1)"):
        assert f"  {header}: " in out
    assert "floating (1)" in out
    assert "commit (1)" in out
    assert "3.14.0rc1-slim-bookworm  pre-release rc1" in out
    assert "3.12.6-slim-bookworm  3.12.6 is not newer than 3.12.7" in out


def test_large_groups_are_summed_up_by_detail(tmp_path: Path) -> None:
    result = run("3.12.7-slim-bookworm", "--from", str(PYTHON_TODAY))
    assert result.exit_code == 0, result.output
    assert "same line  3.12.14-slim-bookworm" in result.output
    assert "newest     3.14.7-slim-bookworm" in result.output
    assert "other-variant (125): another variant" in result.output
    assert "variant 'alpine', not 'slim-bookworm' (13):" in result.output


def test_json_output(tmp_path: Path) -> None:
    source = tmp_path / "tags.json"
    source.write_text(json.dumps(OFFERED.splitlines()), encoding="utf-8")
    result = run("3.12.7-slim-bookworm", "--from", str(source), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["current"] == "3.12.7-slim-bookworm"
    assert data["same_line"] == "3.12.8-slim-bookworm"
    assert data["newest"] == "3.13.0-slim-bookworm"
    assert data["floating"] is False
    assert data["candidates"] == ["3.13.0-slim-bookworm", "3.12.8-slim-bookworm"]
    assert data["parsed"]["version"] == "3.12.7"
    assert data["rejected"] == {
        "3.14.0rc1-slim-bookworm": "pre-release",
        "3.12.6-slim-bookworm": "older",
        "3.12.8-alpine": "other-variant",
        "3.12-slim-bookworm": "other-precision",
        "latest": "floating",
        "sha-3f2a1bc": "commit",
    }


def test_floating_current_is_reported() -> None:
    result = run("latest", "--json", stdin="3.12\n3.13\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["floating"] is True
    assert (data["same_line"], data["newest"], data["parsed"]) == (None, None, None)
    text = run("latest", stdin="3.12\n").output
    assert "floating tag: it is watched by digest only" in text


def test_policy_options_are_applied() -> None:
    tags = "3.11.9\n3.12.1\n3.14.0\n4.0.0\nbuild-77\n"
    result = run("3.11.8", "--range", ">=3.12,<4", "--exclude", r"^3\.14\.", "--json", stdin=tags)
    data = json.loads(result.output)
    assert data["candidates"] == ["3.12.1"]
    assert data["rejected"]["4.0.0"] == "out-of-range"
    assert data["rejected"]["3.14.0"] == "excluded"
    result = run("build-12", "--extract", r"build-(\d+)", "--json", stdin=tags)
    assert json.loads(result.output)["newest"] == "build-77"
    result = run("3.12.1", "--include", r"^3\.", "--strategy", "numeric", "--json", stdin=tags)
    assert json.loads(result.output)["newest"] == "3.14.0"
    # The patterns are searched for: "7" is in build-77, "^7" in no tag.
    result = run("build-12", "--extract", r"build-(\d+)", "--include", "7", "--json", stdin=tags)
    assert json.loads(result.output)["candidates"] == ["build-77"]
    result = run("build-12", "--extract", r"build-(\d+)", "--include", "^7", "--json", stdin=tags)
    assert json.loads(result.output)["candidates"] == []


def test_dash_reads_standard_input() -> None:
    result = run("1.9", "--from", "-", "--json", stdin="1.10\n\n  1.11  \n")
    assert json.loads(result.output)["candidates"] == ["1.11", "1.10"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--include", "3.(["], "1\n", "Invalid value for --include: include: invalid regular"),
        (["--exclude", "*"], "1\n", "Invalid value for --exclude"),
        (["--extract", r"\d+"], "1\n", "needs a capture group"),
        (["--range", "~1"], "1\n", "Invalid value for --range: range: cannot read '~1'"),
        (["--strategy", "newest"], "1\n", "Invalid value for '--strategy'"),
        (["--from", "/nonexistent/tags.txt"], None, "cannot read /nonexistent/tags.txt"),
        ([], "", "no tags to rank: standard input is empty"),
        ([], "  \n\n", "no tags to rank"),
        ([], "[]", "no tags to rank"),
        ([], "[1, 2]", "a JSON input must be a list of tag strings"),
        ([], '["1.0",', "looks like JSON but does not parse"),
    ],
)
def test_usage_errors_exit_2_and_say_what_and_where(
    args: list[str], stdin: str | None, message: str
) -> None:
    result = run("1.0", *args, stdin=stdin)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_directory_is_an_unreadable_file(tmp_path: Path) -> None:
    result = run("1.0", "--from", str(tmp_path))
    assert result.exit_code == 2
    assert f"cannot read {tmp_path}" in result.output


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(main, ["tags", "--help"])
    assert result.exit_code == 0
    for option in ("--from", "--json", "--include", "--exclude", "--strategy", "--range"):
        assert option in result.output


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("3.12.7-slim", "'3.12.7-slim' names no tag to rank: give IMAGE:TAG (python:3.12.7-slim)"),
        ("python", "or --from FILE with the tags to rank"),
        ("python@sha256:" + "a" * 64, "names no tag to rank"),
    ],
)
def test_without_from_ref_must_name_a_tag(ref: str, message: str, tmp_path: Path) -> None:
    result = run("--config", str(_config(tmp_path, "")), ref)
    assert result.exit_code == 2, result.output
    assert message in result.output


def _config(tmp_path: Path, images: str) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(f'[watcher]\ndatabase = "sqlite:///{tmp_path}/w.db"\n{images}', "utf-8")
    return path


def test_a_config_named_but_missing_is_an_error(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "nope.toml"), "1.0", stdin="1.1\n")
    assert result.exit_code == 2, result.output
    assert "nope.toml" in result.output
    assert "file not found" in result.output


def test_the_configured_image_policy_applies_with_from(tmp_path: Path) -> None:
    image = '[[images]]\nref = "python:3.12.7-slim-bookworm"\ninclude = \'^3\\.12\\.\'\n'
    config = _config(tmp_path, image)
    result = run("--config", str(config), "python:3.12.7-slim-bookworm", "--json", stdin=OFFERED)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["newest"] == "3.12.8-slim-bookworm"
    # A bare tag is no configured image: no policy.
    result = run("--config", str(config), "3.12.7-slim-bookworm", "--json", stdin=OFFERED)
    assert json.loads(result.output)["newest"] == "3.13.0-slim-bookworm"


@pytest.mark.parametrize(
    ("current", "offered", "words"),
    [
        ("4.0.17.2952-ls301", "4.0.17.2952-ls303\n4.0.16.2944-ls300\n",
         ["read as  version 4.0.17.2952, build counter ls301, prefix (none)",
          "same line  4.0.17.2952-ls303",
          "4.0.16.2944-ls300  4.0.16.2944 ls300 is not newer than 4.0.17.2952 ls301"]),
        ("8.0.36-debian-12-r5", "8.0.36-debian-12\n8.0.37-debian-12-r0\n",
         ["read as  version 8.0.36, revision r5, prefix (none)", "variant debian-12, precision 3",
          "newest     8.0.37-debian-12-r0",
          "8.0.36-debian-12  no revision; 8.0.36-debian-12-r5 has r5"]),
        ("1.41.2.9200-c6bbc1b53", "1.41.3.9314-a0bfb8370\n",
         ["read as  version 1.41.2.9200, build metadata c6bbc1b53 (not compared), prefix (none)",
          "newest     1.41.3.9314-a0bfb8370"]),
        ("RELEASE.2023-05-04T21-44-30Z",
         "RELEASE.2023-05-18T00-05-36Z\nRELEASE.2023-05-18T00-05-36Z.fips\n",
         ["read as  timestamp 2023-05-04T21:44:30Z, prefix RELEASE., pre-release (none), "
          "build (none), variant (none)\n",
          "RELEASE.2023-05-18T00-05-36Z.fips  variant 'fips', not '(none)'"]),
        ("11.0.0-M20-jdk21", "11.0.2-jdk21\n",
         ["read as  version 11.0.0, prefix (none), pre-release M20, build (none), variant jdk21",
          "same line  11.0.2-jdk21"]),
        ("develop-8ec3ad3c-ls12", "develop-1b2c3d4e-ls13\n",
         ["read as  counter ls12, build metadata 8ec3ad3c (not compared), prefix develop-",
          "same line  develop-1b2c3d4e-ls13"]),
    ],
)  # fmt: skip
def test_publisher_shapes_are_explained(current: str, offered: str, words: list[str]) -> None:
    result = run(current, stdin=offered)
    assert result.exit_code == 0, result.output
    for word in words:
        assert word in result.output
