"""Per-image overrides: include/exclude, strategy, version range and extract."""

from __future__ import annotations

import dataclasses
import re

import pytest

from watcher.core.tags import Reason, Strategy, TagPolicy, parse_tag, rank_tags


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"include": "3.12.(["}, "include: invalid regular expression"),
        ({"exclude": "*"}, "exclude: invalid regular expression"),
        ({"extract": "build-("}, "extract: invalid regular expression"),
        ({"extract": r"build-\d+"}, "extract: 'build-\\d+' needs a capture group"),
        ({"strategy": "newest"}, "strategy: unknown strategy 'newest'"),
        ({"version_range": ">=3.12,~4"}, "range: cannot read '~4'"),
        ({"version_range": "3.x"}, "range: cannot read '3.x'"),
        ({"strategy": "date", "version_range": ">=1"}, "range: a version range does not apply"),
        ({"strategy": "lexical", "version_range": ">=1"}, "range: a version range does not apply"),
    ],
)
def test_bad_policies_say_what_is_wrong(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        TagPolicy(**kwargs)


def test_policy_is_frozen_and_compares_by_its_settings() -> None:
    policy = TagPolicy(include=r"3\..*", strategy="numeric")
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.include = "x"  # type: ignore[misc]
    assert policy == TagPolicy(include=r"3\..*", strategy=Strategy.NUMERIC)
    assert hash(policy) == hash(TagPolicy(include=r"3\..*", strategy="numeric"))


def test_from_mapping_uses_the_config_key_names() -> None:
    policy = TagPolicy.from_mapping({"range": ">=3.12,<4", "include": r".*-slim"})
    assert policy == TagPolicy(include=r".*-slim", version_range=">=3.12,<4")
    with pytest.raises(ValueError, match="unknown tag policy key"):
        TagPolicy.from_mapping({"version_range": ">=1"})
    with pytest.raises(ValueError, match="strategy: expected a string"):
        TagPolicy.from_mapping({"strategy": 3})


def test_include_and_exclude_are_searched_for_anywhere_in_the_tag() -> None:
    tags = ["3.12.8", "3.12.9", "3.12.10", "3.13.0", "13.12.0"]
    policy = TagPolicy(include=r"3\.12\.", exclude=r"\.10")
    answer = rank_tags("3.12.7", tags, policy)
    assert answer.candidates == ["13.12.0", "3.12.9", "3.12.8"]
    assert answer.rejected == {"3.12.10": Reason.EXCLUDED, "3.13.0": Reason.EXCLUDED}
    assert "include" in answer.details["3.13.0"]
    assert "exclude" in answer.details["3.12.10"]
    # Anchors ask for the start, the end or the whole tag.
    anchored = rank_tags("3.12.7", tags, TagPolicy(include=r"^3\.12\.", exclude=r"0$"))
    assert anchored.candidates == ["3.12.9", "3.12.8"]
    assert set(anchored.rejected) == {"3.12.10", "3.13.0", "13.12.0"}
    whole = rank_tags("3.12.7", tags, TagPolicy(include=r"^3\.12\.\d$"))
    assert whole.candidates == ["3.12.9", "3.12.8"]


@pytest.mark.parametrize(
    ("include", "exclude", "kept"),
    [
        # config.example.toml: tags starting with "3.", without release candidates or betas.
        (r"^3\.", "rc|beta", {"3.12.9-slim", "3.13.1-slim", "3.14.0b2-slim"}),
        (r"^3\.", None, {"3.12.9-slim", "3.13.0rc1-slim", "3.13.1-slim", "3.14.0b2-slim"}),
        (
            r"3\.1",
            None,
            {"3.12.9-slim", "3.13.0rc1-slim", "3.13.1-slim", "13.1.0", "3.14.0b2-slim"},
        ),
        ("slim", r"^3\.13", {"3.12.9-slim", "3.14.0b2-slim"}),
        (None, "rc", {"3.12.9-slim", "3.13.1-slim", "13.1.0", "3.14.0b2-slim"}),
        (None, r"^13\.1\.0$", {"3.12.9-slim", "3.13.0rc1-slim", "3.13.1-slim", "3.14.0b2-slim"}),
    ],
)
def test_which_tags_the_patterns_keep(
    include: str | None, exclude: str | None, kept: set[str]
) -> None:
    tags = ["3.12.9-slim", "3.13.0rc1-slim", "3.13.1-slim", "13.1.0", "3.14.0b2-slim"]
    policy = TagPolicy(include=include, exclude=exclude)
    assert {tag for tag in tags if policy.excludes(tag) is None} == kept


def test_version_range_uses_semver_matching_with_partial_versions_coerced() -> None:
    tags = ["3.11.9", "3.12.1", "3.14.0", "4.0.0", "4.1.0"]
    answer = rank_tags("3.11.8", tags, TagPolicy(version_range=">=3.12,<4"))
    assert answer.candidates == ["3.14.0", "3.12.1"]
    assert answer.same_line == "3.11.9" or answer.same_line is None
    assert answer.rejected["4.0.0"] is Reason.OUT_OF_RANGE
    assert answer.rejected["4.1.0"] is Reason.OUT_OF_RANGE
    assert answer.rejected["3.11.9"] is Reason.OUT_OF_RANGE


def test_range_applies_to_two_component_tags() -> None:
    answer = rank_tags("3.12", ["3.13", "3.14", "4.0"], TagPolicy(version_range="<3.14"))
    assert (answer.same_line, answer.newest) == ("3.13", "3.13")


def test_semver_strategy_reads_real_semver() -> None:
    tags = ["v1.2.4", "v1.3.0-rc.1", "v1.3.0", "v2.0.0+build.5", "1.4.0", "latest", "v1.2"]
    answer = rank_tags("v1.2.3", tags, TagPolicy(strategy="semver", version_range=">=1,<2"))
    assert answer.candidates == ["v1.3.0", "v1.2.4"]
    assert answer.same_line == "v1.2.4"
    assert answer.rejected == {
        "v1.3.0-rc.1": Reason.PRE_RELEASE,
        "v2.0.0+build.5": Reason.OUT_OF_RANGE,
        "1.4.0": Reason.OTHER_PREFIX,
        "latest": Reason.FLOATING,
        "v1.2": Reason.OTHER_PRECISION,
    }


def test_semver_orders_pre_releases_as_semver_does() -> None:
    policy = TagPolicy(strategy="semver")
    answer = rank_tags("1.0.0-alpha.1", ["1.0.0-alpha.beta", "1.0.0-rc.1", "1.0.0"], policy)
    assert answer.candidates == ["1.0.0", "1.0.0-rc.1", "1.0.0-alpha.beta"]


def test_numeric_strategy_reads_eight_digits_as_a_number() -> None:
    assert parse_tag("20240115", TagPolicy(strategy="numeric")) is not None
    answer = rank_tags("20240115", ["20240116", "3"], TagPolicy(strategy="numeric"))
    assert answer.candidates == ["20240116"]
    assert answer.same_line is None  # one component: no line
    assert parse_tag("20240115", TagPolicy(strategy="numeric")).kind == "version"  # type: ignore[union-attr]


def test_date_strategy_takes_dates_only() -> None:
    answer = rank_tags("2024-01-15", ["2024-02-01", "3.20", "latest"], TagPolicy(strategy="date"))
    assert answer.candidates == ["2024-02-01"]
    assert answer.rejected["3.20"] is Reason.NOT_A_VERSION


def test_lexical_strategy_compares_strings() -> None:
    answer = rank_tags(
        "release-b", ["release-a", "release-c", "latest", "abcdef1"], TagPolicy(strategy="lexical")
    )
    assert answer.candidates == ["release-c"]
    assert (answer.same_line, answer.newest) == ("release-c", "release-c")
    assert answer.rejected == {
        "release-a": Reason.OLDER,
        "latest": Reason.FLOATING,
        "abcdef1": Reason.COMMIT,
    }


def test_extract_compares_the_captured_number() -> None:
    policy = TagPolicy(extract=r"build-(\d+)")
    tags = ["build-999-f00d", "build-1235-abc", "build-1300-123", "release-1", "build-x"]
    answer = rank_tags("build-1234-abc", tags, policy)
    assert answer.candidates == ["build-1300-123", "build-1235-abc"]
    # A single captured number is a counter: any higher one stays on the line.
    assert (answer.same_line, answer.newest) == ("build-1300-123", "build-1300-123")
    assert answer.rejected["build-999-f00d"] is Reason.OLDER
    assert answer.rejected["release-1"] is Reason.NOT_A_VERSION
    assert answer.rejected["build-x"] is Reason.NOT_A_VERSION


def test_extract_with_several_groups_keeps_a_line() -> None:
    policy = TagPolicy(extract=r"^(\d+)\.(\d+)-app")
    answer = rank_tags("1.9-app", ["1.10-app", "2.0-app", "1.8-app"], policy)
    assert (answer.same_line, answer.newest) == ("1.10-app", "2.0-app")


def test_extract_with_the_date_strategy() -> None:
    policy = TagPolicy(extract=r"nightly-(\d{8})", strategy="date")
    answer = rank_tags("nightly-20240101", ["nightly-20240301", "nightly-20231201"], policy)
    assert answer.candidates == ["nightly-20240301"]


def test_extract_with_the_lexical_and_semver_strategies() -> None:
    lexical = TagPolicy(extract=r"^app-(\w+)$", strategy="lexical")
    assert rank_tags("app-b", ["app-c", "app-a"], lexical).candidates == ["app-c"]
    semantic = TagPolicy(extract=r"^app-v(.+)$", strategy="semver")
    answer = rank_tags("app-v1.2.3", ["app-v1.2.10", "app-v1.3.0", "app-vx"], semantic)
    assert (answer.same_line, answer.newest) == ("app-v1.2.10", "app-v1.3.0")
    assert answer.rejected["app-vx"] is Reason.NOT_A_VERSION
