"""A user's include/exclude/extract pattern cannot hang a round on a hostile tag, and a pattern
the linear-time engine cannot run is refused with a message naming the key and the pattern."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from watcher.config import load_config
from watcher.core.tags import TagPolicy, rank_tags
from watcher.errors import ConfigError

HOSTILE = "a" * 28 + "!"
CATASTROPHIC = "(a+)+$"


@pytest.mark.parametrize(
    ("key", "pattern", "reason"),
    [
        ("include", CATASTROPHIC, "excluded"),
        ("exclude", CATASTROPHIC, "floating"),  # not excluded; then no version
        ("extract", r"^(\d+)|(a+)+$", "not-a-version"),
    ],
)
def test_a_catastrophic_pattern_returns_at_once_on_a_hostile_tag(
    key: str, pattern: str, reason: str
) -> None:
    # Run in a child process so that a backtracking engine fails the test by its timeout
    # (2**28 steps: minutes) instead of hanging the test run.
    code = textwrap.dedent(
        f"""
        import time
        from watcher.core.tags import TagPolicy, rank_tags
        policy = TagPolicy(**{{{key!r}: {pattern!r}}})
        start = time.perf_counter()
        answer = rank_tags("1.0", ["1.1", {HOSTILE!r}] * 50, policy)
        print(time.perf_counter() - start, answer.rejected.get({HOSTILE!r}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=True
    )
    elapsed, got = done.stdout.split()
    assert float(elapsed) < 1.0
    assert got == reason


def test_the_patterns_still_match_as_documented() -> None:
    policy = TagPolicy(include=CATASTROPHIC)
    assert policy.excludes("aaa") is None
    assert policy.excludes(HOSTILE) == f"does not match include '{CATASTROPHIC}'"
    answer = rank_tags("1.0", ["1.1", HOSTILE], TagPolicy(exclude=CATASTROPHIC))
    assert answer.newest == "1.1"


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(\d)\.\1", r"invalid escape sequence: \1"),
        (r"^3(?=\.12)", "invalid perl operator: (?="),
        (r"slim(?!-bookworm)", "invalid perl operator: (?!"),
    ],
)
@pytest.mark.parametrize("key", ["include", "exclude", "extract"])
def test_syntax_the_engine_rejects_names_the_key_and_the_pattern(
    key: str, pattern: str, why: str
) -> None:
    with pytest.raises(ValueError, match="invalid regular expression") as caught:
        TagPolicy(**{key: pattern})
    message = str(caught.value)
    assert message.startswith(f"{key}: invalid regular expression '{pattern}': {why}")
    assert "backreferences" in message


def test_the_config_error_names_the_image_key_and_the_pattern(tmp_path: Path) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(
        '[[images]]\nref = "python:3.12.7"\ninclude = \'^3(?=\\.12)\'\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = caught.value.message
    assert "images[0].include: invalid regular expression" in message, message
    assert "'^3(?=\\.12)'" in message
    assert re.search(r"look-around", message)
