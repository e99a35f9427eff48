"""How one tag is read: prefix, version, pre-release, build, variant, date; or why it is none."""

from __future__ import annotations

import pytest

from watcher.core.tags import ParsedTag, Reason, classify_tag, parse_tag, rank_tags


def _parsed(tag: str) -> ParsedTag:
    parsed = parse_tag(tag)
    assert parsed is not None, tag
    return parsed


@pytest.mark.parametrize(
    ("tag", "prefix", "release", "pre", "build", "variant"),
    [
        ("3.12.7-slim-bookworm", "", (3, 12, 7), None, None, "slim-bookworm"),
        ("3.12", "", (3, 12), None, None, ""),
        ("20-alpine", "", (20,), None, None, "alpine"),
        ("1.27.0-alpine3.24", "", (1, 27, 0), None, None, "alpine3.24"),
        ("v3.7.11", "v", (3, 7, 11), None, None, ""),
        ("v3.7.11-nanoserver-ltsc2022", "v", (3, 7, 11), None, None, "nanoserver-ltsc2022"),
        ("cli-2.12.0-php8.2", "cli-", (2, 12, 0), None, None, "php8.2"),
        ("3.14.0rc1", "", (3, 14, 0), "rc1", None, ""),
        ("8.4.25RC1", "", (8, 4, 25), "RC1", None, ""),
        ("8.5.10RC1-cli", "", (8, 5, 10), "RC1", None, "cli"),
        ("8.6.0beta1-fpm-alpine3.23", "", (8, 6, 0), "beta1", None, "fpm-alpine3.23"),
        ("19beta3-alpine", "", (19,), "beta3", None, "alpine"),
        ("3.14.0a1", "", (3, 14, 0), "a1", None, ""),
        ("2.0.0-rc.1", "", (2, 0, 0), "rc1", None, ""),
        ("2.0.0-rc.10", "", (2, 0, 0), "rc10", None, ""),
        ("3.15-rc-slim", "", (3, 15), "rc", None, "slim"),
        ("3.5-dev5-alpine", "", (3, 5), "dev5", None, "alpine"),
        ("13.0.1-ubi10-rc", "", (13, 0, 1), "rc", None, "ubi10"),
        ("28-ea-11-jdk", "", (28,), "ea11", None, "jdk"),
        ("3.2.0-preview1-slim", "", (3, 2, 0), "preview1", None, "slim"),
        ("17.0.9_9-jdk", "", (17, 0, 9), None, 9, "jdk"),
        ("11.0.32_9-jdk-alpine-3.24", "", (11, 0, 32), None, 9, "jdk-alpine-3.24"),
        ("1.2.3-1", "", (1, 2, 3), None, 1, ""),
        ("1.2.3-12-alpine", "", (1, 2, 3), None, 12, "alpine"),
        ("12345678", "", (12345678,), None, None, ""),  # not a valid date: a number
        ("19991399", "", (19991399,), None, None, ""),
    ],
)
def test_versions_are_read(
    tag: str,
    prefix: str,
    release: tuple[int, ...],
    pre: str | None,
    build: int | None,
    variant: str,
) -> None:
    parsed = _parsed(tag)
    assert parsed.kind == "version"
    assert (parsed.prefix, parsed.release, parsed.build, parsed.variant) == (
        prefix,
        release,
        build,
        variant,
    )
    assert (None if parsed.pre is None else str(parsed.pre)) == pre
    assert parsed.precision == len(release)


@pytest.mark.parametrize(
    ("tag", "prefix", "ymd", "style", "respin", "variant"),
    [
        ("20260805", "", (2026, 8, 5), "compact", None, ""),
        ("jammy-20240115", "jammy-", (2024, 1, 15), "compact", None, ""),
        ("oracular-20240811.1", "oracular-", (2024, 8, 11), "compact", 1, ""),
        ("bookworm-20260803-slim", "bookworm-", (2026, 8, 3), "compact", None, "slim"),
        ("tip-20260815-alpine3.24", "tip-", (2026, 8, 15), "compact", None, "alpine3.24"),
        ("rc-buggy-20260803", "rc-buggy-", (2026, 8, 3), "compact", None, ""),
        ("2024.01.15", "", (2024, 1, 15), "dotted", None, ""),
        ("2025-06-03", "", (2025, 6, 3), "dashed", None, ""),
        ("2025-06-03-alpine", "", (2025, 6, 3), "dashed", None, "alpine"),
    ],
)
def test_dates_are_read(
    tag: str,
    prefix: str,
    ymd: tuple[int, int, int],
    style: str,
    respin: int | None,
    variant: str,
) -> None:
    parsed = _parsed(tag)
    assert parsed.kind == "date"
    assert (parsed.prefix, parsed.release, parsed.date_style, parsed.respin, parsed.variant) == (
        prefix,
        ymd,
        style,
        respin,
        variant,
    )


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("latest", Reason.FLOATING),
        ("nightly", Reason.FLOATING),
        ("stable", Reason.FLOATING),
        ("mainline", Reason.FLOATING),
        ("lts", Reason.FLOATING),
        ("edge", Reason.FLOATING),
        ("current", Reason.FLOATING),
        ("bookworm", Reason.FLOATING),
        ("jammy", Reason.FLOATING),
        ("krypton", Reason.FLOATING),
        ("lts-alpine", Reason.FLOATING),
        ("bookworm-slim", Reason.FLOATING),
        ("alpine", Reason.FLOATING),
        ("alpine3.24", Reason.FLOATING),
        ("php8.2-apache", Reason.FLOATING),
        ("jdk25-temurin-noble", Reason.FLOATING),
        ("windowsservercore-ltsc2022", Reason.FLOATING),
        ("mainline-alpine3.24-perl", Reason.FLOATING),
        ("tip-trixie", Reason.FLOATING),
        ("7b3e9f1", Reason.COMMIT),
        ("sha-3f2a1bc", Reason.COMMIT),
        ("3f2a1bc9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3", Reason.COMMIT),
        ("8u392-b08-jdk", Reason.NOT_A_VERSION),
        ("8u504-al2", Reason.NOT_A_VERSION),
        ("1.2.3--slim", Reason.NOT_A_VERSION),
        ("3.14.0rc1-rc2", Reason.NOT_A_VERSION),
    ],
)
def test_what_is_not_a_version_says_why(tag: str, reason: Reason) -> None:
    assert classify_tag(tag) is reason
    assert parse_tag(tag) is None


def test_an_all_digit_string_is_no_commit() -> None:
    # 7 to 40 hex characters count as a commit only with a letter among them.
    assert _parsed("1234567").release == (1234567,)


def test_to_dict_is_plain_data() -> None:
    assert _parsed("v3.14.0rc1_2-slim").to_dict() == {
        "tag": "v3.14.0rc1_2-slim",
        "kind": "version",
        "prefix": "v",
        "version": "3.14.0",
        "pre_release": "rc1",
        "build": 2,
        "variant": "slim",
        "precision": 3,
        "date_style": None,
        "revision": None,
        "build_counter": None,
        "metadata": [],
    }
    assert _parsed("oracular-20240811.1").version == "2024-08-11.1"


# Publishers' conventions: (tag, kind, prefix, version, pre-release, variant, revision,
# build counter, metadata)
PUBLISHER_SHAPES = [
    ("4.0.17.2952-ls301", "version", "", "4.0.17.2952", None, "", None, 301, ()),
    ("8.0.36-debian-12-r5", "version", "", "8.0.36", None, "debian-12", 5, None, ()),
    ("10.3.2-r4", "version", "", "10.3.2", None, "", 4, None, ()),
    ("1.0.20250521-r1-ls110", "version", "", "1.0.20250521", None, "", 1, 110, ()),
    ("1.41.2.9200-c6bbc1b53-ls240", "version", "", "1.41.2.9200", None, "", None, 240,
     ("c6bbc1b53",)),
    ("1.41.2.9200-c6bbc1b53", "version", "", "1.41.2.9200", None, "", None, None, ("c6bbc1b53",)),
    ("2.3.4-pkg-0a1b2c3d-ls5", "version", "", "2.3.4", None, "", None, 5, ("pkg-0a1b2c3d",)),
    ("develop-4.0.18.2978-ls176", "version", "develop-", "4.0.18.2978", None, "", None, 176, ()),
    ("legacy-v1.0.20210914-ls55", "version", "legacy-v", "1.0.20210914", None, "", None, 55, ()),
    ("version-4.0.15.2941", "version", "version-", "4.0.15.2941", None, "", None, None, ()),
    ("develop-8ec3ad3c-ls12", "counter", "develop-", "ls12", None, "", None, 12, ("8ec3ad3c",)),
    ("3f2a1bc9-ls12", "counter", "", "ls12", None, "", None, 12, ("3f2a1bc9",)),
    ("11.0.0-M20-jdk21", "version", "", "11.0.0", "M20", "jdk21", None, None, ()),
    ("RELEASE.2023-05-04T21-44-30Z", "timestamp", "RELEASE.", "2023-05-04T21:44:30Z", None, "",
     None, None, ()),
    ("RELEASE.2023-05-04T21-44-30Z.fips", "timestamp", "RELEASE.", "2023-05-04T21:44:30Z", None,
     "fips", None, None, ()),
    ("RELEASE.2023-11-20T22-40-07Z-cpuv1", "timestamp", "RELEASE.", "2023-11-20T22:40:07Z", None,
     "cpuv1", None, None, ()),
    ("v20231226-1a7112e06", "date", "v", "2023-12-26", None, "", None, None, ("1a7112e06",)),
    ("v20220916-gd32f8c343", "date", "v", "2022-09-16", None, "", None, None, ("gd32f8c343",)),
    ("2024.7.0", "calver", "", "2024.7.0", None, "", None, None, ()),
    ("2024.07.0", "calver", "", "2024.7.0", None, "", None, None, ()),
    ("2024.2.0b5", "calver", "", "2024.2.0", "b5", "", None, None, ()),
    ("2024.01.15", "date", "", "2024-01-15", None, "", None, None, ()),
    ("8.0.1-bookworm-slim-amd64", "version", "", "8.0.1", None, "bookworm-slim-amd64", None, None,
     ()),
    ("8.0-jammy-chiseled-extra", "version", "", "8.0", None, "jammy-chiseled-extra", None, None,
     ()),
    ("9.0.100-rc.2-bookworm-slim", "version", "", "9.0.100", "rc2", "bookworm-slim", None, None,
     ()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tag", "kind", "prefix", "version", "pre", "variant", "revision", "counter", "metadata"),
    PUBLISHER_SHAPES,
)
def test_publisher_shapes(
    tag: str, kind: str, prefix: str, version: str, pre: str | None, variant: str,
    revision: int | None, counter: int | None, metadata: tuple[str, ...],
) -> None:  # fmt: skip
    parsed = _parsed(tag)
    got = (parsed.kind, parsed.prefix, parsed.version, parsed.pre and str(parsed.pre))
    assert got == (kind, prefix, version, pre)
    assert (parsed.variant, parsed.revision, parsed.counter) == (variant, revision, counter)
    assert parsed.metadata == metadata


@pytest.mark.parametrize(
    "tag",
    ["debug-nonroot", "latest-s390x", "amd64-latest", "develop", "RELEASE.2023-13-04T21-44-30Z",
     "RELEASE.2023-05-04T25-44-30Z", "nightly"],
)  # fmt: skip
def test_publisher_aliases_stay_floating(tag: str) -> None:
    assert classify_tag(tag) is Reason.FLOATING


def test_minio_orders_to_the_second() -> None:
    early, late = "RELEASE.2023-05-04T21-44-30Z", "RELEASE.2023-05-04T21-44-31Z"
    assert _parsed(early).key < _parsed(late).key
    assert rank_tags(early, [late]).newest == late


def test_a_different_commit_id_is_the_same_variant_and_not_compared() -> None:
    a, b = _parsed("1.41.2.9200-c6bbc1b53-ls240"), _parsed("1.41.2.9200-d00dfeed1-ls240")
    assert a.family_mismatch(b) is None
    assert a.key == b.key
    answer = rank_tags("1.41.2.9200-c6bbc1b53-ls240", ["1.41.2.9200-d00dfeed1-ls241"])
    assert answer.same_line == "1.41.2.9200-d00dfeed1-ls241"
