"""Tag conventions of the big publishers, on their tag lists (``tests/data/publishers/``):
linuxserver.io build counters, Bitnami revisions, Plex commit ids, .NET variants and SDK bands,
Kubernetes versions beside date builds, MinIO release stamps, Tomcat milestones and calendar
versions. Every answer below was worked out by hand from the list."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from watcher.core.tags import Reason, rank_tags

PUBLISHERS = Path(__file__).resolve().parents[1] / "data" / "publishers"


@cache
def offered(name: str) -> tuple[str, ...]:
    lines = (PUBLISHERS / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line)


def case(name: str, current: str, same_line: str | None, newest: str | None) -> object:
    return pytest.param(name, current, same_line, newest, id=f"{name}:{current}")


# (tag list, current tag, same line, newest)
ANSWERS = [
    # linuxserver.io: <upstream version>-ls<build>; a later build of the version is on the line.
    case("linuxserver-sonarr", "4.0.17.2952-ls301", "4.0.17.2952-ls303", "4.0.18.2978-ls305"),
    case("linuxserver-sonarr", "4.0.17.2952-ls303", None, "4.0.18.2978-ls305"),
    case("linuxserver-sonarr", "4.0.18.2978-ls304", "4.0.18.2978-ls305", "4.0.18.2978-ls305"),
    case("linuxserver-sonarr", "4.0.18.2978-ls305", None, None),
    case("linuxserver-sonarr", "3.0.10.1567-ls99", "3.0.10.1567-ls126", "4.0.18.2978-ls305"),
    case("linuxserver-sonarr", "amd64-4.0.17.2952-ls303", None, "amd64-4.0.18.2978-ls305"),
    case(
        "linuxserver-sonarr",
        "develop-4.0.18.2978-ls176",
        "develop-4.0.18.2990-ls177",
        "develop-4.0.19.2993-ls178",
    ),
    case("linuxserver-sonarr", "version-4.0.16.2944", None, "version-4.0.18.2978"),
    case("linuxserver-sonarr", "4.0.17.2952", None, None),  # no such tag without a counter
    case("linuxserver-sonarr", "latest", None, None),
    case("linuxserver-sonarr", "amd64-develop", None, None),
    # Alpine package revisions inside linuxserver tags; the legacy- prefix is its own line.
    case(
        "linuxserver-wireguard",
        "1.0.20250521-r0-ls108",
        "1.0.20250521-r1-ls111",
        "1.0.20250521-r1-ls111",
    ),
    case(
        "linuxserver-wireguard",
        "1.0.20210914-r4-ls55",
        "1.0.20250521-r1-ls111",
        "1.0.20250521-r1-ls111",
    ),
    case(
        "linuxserver-wireguard",
        "legacy-v1.0.20210914-ls54",
        "legacy-v1.0.20210914-ls56",
        "legacy-v1.0.20210914-ls56",
    ),
    case("linuxserver-wireguard", "1.0.20250521-r1-ls111", None, None),
    case("linuxserver-wireguard", "version-v1.0.20210914", None, None),
    # Build-only tags: <commit>-ls<build>, by build among tags of the same prefix.
    case("linuxserver-commit-builds", "4a5b6c7d-ls13", "9e8d7c6b-ls14", "9e8d7c6b-ls14"),
    case("linuxserver-commit-builds", "c0ffee12-ls9", "9e8d7c6b-ls14", "9e8d7c6b-ls14"),
    case(
        "linuxserver-commit-builds",
        "develop-8ec3ad3c-ls20",
        "develop-1b2c3d4e-ls21",
        "develop-1b2c3d4e-ls21",
    ),
    case("linuxserver-commit-builds", "9e8d7c6b-ls14", None, None),
    # Plex: <version>-<commit>, with linuxserver's counter after it.
    case(
        "linuxserver-plex",
        "1.41.2.9200-c6bbc1b53-ls240",
        "1.41.2.9200-c6bbc1b53-ls241",
        "1.41.3.9314-a0bfb8370-ls247",
    ),
    case("linuxserver-plex", "1.40.5.8854-f36c552fd-ls229", None, "1.41.3.9314-a0bfb8370-ls247"),
    case(
        "linuxserver-plex",
        "version-1.41.2.9200-c6bbc1b53",
        None,
        "version-1.41.3.9314-a0bfb8370",
    ),
    case(
        "linuxserver-plex",
        "arm64v8-1.41.3.9314-a0bfb8370-ls247",
        None,
        None,
    ),
    case("plex-pms-docker", "1.41.2.9200-c6bbc1b53", None, "1.41.3.9314-a0bfb8370"),
    case("plex-pms-docker", "1.32.8.7639-fb6452ebf", None, "1.41.3.9314-a0bfb8370"),
    case("plex-pms-docker", "1.41.3.9314-a0bfb8370", None, None),
    case("plex-pms-docker", "plexpass", None, None),
    case("plex-pms-docker", "public", None, None),
    case("plex-pms-docker", "1.41.0", None, None),  # not in the list: another precision
    # Bitnami: <version>-<os>-r<revision>; a revision is never compared with a rolling tag.
    case("bitnami-mysql", "8.0.36-debian-12-r5", "8.0.37-debian-12-r2", "9.1.0-debian-12-r2"),
    case("bitnami-mysql", "8.0.37-debian-12-r0", "8.0.37-debian-12-r2", "9.1.0-debian-12-r2"),
    case("bitnami-mysql", "8.0.36-debian-12-r7", "8.0.37-debian-12-r2", "9.1.0-debian-12-r2"),
    case("bitnami-mysql", "8.4.0-debian-12-r3", "8.4.1-debian-12-r0", "9.1.0-debian-12-r2"),
    case("bitnami-mysql", "9.1.0-debian-12-r1", "9.1.0-debian-12-r2", "9.1.0-debian-12-r2"),
    case("bitnami-mysql", "9.1.0-debian-12-r2", None, None),
    case("bitnami-mysql", "8.0.35-debian-11-r12", "8.0.35-debian-11-r99", "8.0.35-debian-11-r99"),
    case("bitnami-mysql", "8.0.36-debian-12", "8.0.37-debian-12", "8.0.37-debian-12"),
    case("bitnami-mysql", "8.0.36", "8.0.37", "8.0.37"),
    case("bitnami-mysql", "8.0", "8.4", "9.1"),
    case("bitnami-mysql", "8.0-debian-12", "8.4-debian-12", "9.1-debian-12"),
    case("bitnami-mariadb", "10.3.2-r4", "10.3.3-r1", "10.4.13-r0"),
    case("bitnami-mariadb", "10.4.12-r9", "10.4.13-r0", "10.4.13-r0"),
    case("bitnami-mariadb", "10.3.2", None, None),
    case(
        "bitnami-mariadb",
        "10.4.12-debian-10-r45",
        "10.4.13-debian-10-r2",
        "10.4.13-debian-10-r2",
    ),
    case("bitnami-mariadb", "11.4.3-debian-12-r0", "11.4.4-debian-12-r1", "11.4.4-debian-12-r1"),
    # Microsoft .NET: distro and architecture variants, chiseled images, SDK feature bands.
    case("dotnet-aspnet", "8.0.1-bookworm-slim", "8.0.2-bookworm-slim", "9.0.0-bookworm-slim"),
    case(
        "dotnet-aspnet",
        "8.0.1-bookworm-slim-amd64",
        "8.0.2-bookworm-slim-amd64",
        "8.0.2-bookworm-slim-amd64",
    ),
    case("dotnet-aspnet", "8.0-jammy-chiseled-extra", None, None),
    case(
        "dotnet-aspnet",
        "8.0.1-jammy-chiseled-extra",
        "8.0.2-jammy-chiseled-extra",
        "8.0.2-jammy-chiseled-extra",
    ),
    case("dotnet-aspnet", "8.0.1", "8.0.2", "9.0.0"),
    case("dotnet-aspnet", "8.0", None, "9.0"),
    case(
        "dotnet-aspnet", "9.0.0-rc.2-bookworm-slim", "9.0.0-bookworm-slim", "9.0.0-bookworm-slim"
    ),
    case(
        "dotnet-aspnet",
        "9.0.0-preview.7-bookworm-slim",
        "9.0.0-bookworm-slim",
        "9.0.0-bookworm-slim",
    ),
    case("dotnet-aspnet", "8.0.1-alpine3.19", "8.0.2-alpine3.19", "8.0.2-alpine3.19"),
    case("dotnet-aspnet", "8.0.2-nanoserver-ltsc2022", None, None),
    case("dotnet-aspnet", "8.0-alpine", None, None),
    case("dotnet-sdk", "8.0.101-bookworm-slim", "8.0.204-bookworm-slim", "9.0.100-bookworm-slim"),
    case("dotnet-sdk", "8.0.100", "8.0.300", "9.0.100"),
    case(
        "dotnet-sdk",
        "8.0.100-rc.2-bookworm-slim",
        "8.0.204-bookworm-slim",
        "9.0.100-bookworm-slim",
    ),
    # Kubernetes: v<semver> releases; date builds with a commit are their own kind.
    case("kube-apiserver", "v1.29.3", "v1.29.4", "v1.30.1"),
    case("kube-apiserver", "v1.28.7", "v1.28.8", "v1.30.1"),
    case("kube-apiserver", "v1.30.0-rc.2", "v1.30.1", "v1.30.1"),
    case("kube-apiserver", "v1.30.0-alpha.3", "v1.30.1", "v1.30.1"),
    case("kube-apiserver", "v1.31.0-beta.0", "v1.31.0-rc.1", "v1.31.0-rc.1"),
    case("kube-apiserver", "v1.30.1", None, None),
    case("kube-webhook-certgen", "v20231226-1a7112e06", None, None),
    case("kube-webhook-certgen", "v20230407", "v20231226-1a7112e06", "v20231226-1a7112e06"),
    case(
        "kube-webhook-certgen",
        "v20220916-gd32f8c343",
        "v20231226-1a7112e06",
        "v20231226-1a7112e06",
    ),
    case("kube-webhook-certgen", "v1.4.0", "v1.4.1", "v1.4.1"),
    case("kube-webhook-certgen", "v1.3.0", None, "v1.4.1"),
    case(
        "ingress-nginx-e2e-test-runner",
        "v20231208-4c39e6acc",
        "v20240812-3f0129aa",
        "v20240812-3f0129aa",
    ),
    # MinIO: RELEASE.<UTC time>Z, to the second; what follows the Z is the variant.
    case("minio", "RELEASE.2023-05-04T21-44-30Z", *["RELEASE.2025-04-22T22-12-26Z"] * 2),
    case("minio", "RELEASE.2024-10-02T17-50-41Z", *["RELEASE.2025-04-22T22-12-26Z"] * 2),
    case("minio", "RELEASE.2023-05-04T21-44-30Z.fips", *["RELEASE.2023-05-27T05-56-19Z.fips"] * 2),
    case("minio", "RELEASE.2023-05-27T05-56-19Z.fips", None, None),
    case(
        "minio", "RELEASE.2023-11-20T22-40-07Z-cpuv1", *["RELEASE.2024-01-01T16-36-33Z-cpuv1"] * 2
    ),
    case("minio", "RELEASE.2024-01-01T16-36-33Z-cpuv1", None, None),
    case("minio", "RELEASE.2025-04-22T22-12-26Z", None, None),
    case("minio", "RELEASE.2023-05-18T00-05-36Z", *["RELEASE.2025-04-22T22-12-26Z"] * 2),
    case("minio", "latest", None, None),
    case("minio", "edge", None, None),
    # Tomcat: -M<n> milestones are pre-releases of their version.
    case("tomcat-milestones", "11.0.0-M20-jdk21", "11.0.2-jdk21", "11.0.2-jdk21"),
    case("tomcat-milestones", "11.0.0-M26-jdk21", "11.0.2-jdk21", "11.0.2-jdk21"),
    case("tomcat-milestones", "11.0.0-M20", "11.0.2", "11.0.2"),
    case("tomcat-milestones", "11.0.0-M26-jre21", "11.0.2-jre21", "11.0.2-jre21"),
    case("tomcat-milestones", "10.1.0-M17-jdk17", "10.1.28-jdk17", "10.1.28-jdk17"),
    case("tomcat-milestones", "10.1.0-M17", "10.1.28", "11.0.2"),
    case("tomcat-milestones", "11.0.0-jdk21", "11.0.2-jdk21", "11.0.2-jdk21"),
    case("tomcat-milestones", "11.0.1-jdk21", "11.0.2-jdk21", "11.0.2-jdk21"),
    case("tomcat-milestones", "11.0.2-jdk21", None, None),
    case("tomcat-milestones", "9.0.93-jdk17", None, "10.1.28-jdk17"),
    case(
        "tomcat-milestones",
        "11.0.0-M20-jdk21-temurin-jammy",
        None,
        None,
    ),
    # Calendar versions: YYYY.M.patch (Home Assistant), YYYY.MM.patch (Pi-hole).
    case("home-assistant", "2024.1.5", "2024.1.6", "2025.1.4"),
    case("home-assistant", "2024.2.0b0", "2024.2.5", "2025.1.4"),
    case("home-assistant", "2024.2.0.dev20240115", "2024.2.5", "2025.1.4"),
    case("home-assistant", "2025.1.0b1", "2025.1.4", "2025.1.4"),
    case("home-assistant", "2023.12.4", None, "2025.1.4"),
    case("home-assistant", "2024.12", None, "2025.1"),
    case("home-assistant", "0.118.5", None, None),
    case("home-assistant", "stable", None, None),
    case("pihole", "2024.03.1", "2024.03.2", "2025.03.0"),
    case("pihole", "2024.07.0", None, "2025.03.0"),
    case("pihole", "2025.02.0", "2025.02.1", "2025.03.0"),
    case("pihole", "2022.12.1", None, "2025.03.0"),
    case("pihole", "v5.8.1", "v5.8.2", "v5.8.2"),
    case("pihole", "v5.7", "v5.8", "v5.8"),
]


@pytest.mark.parametrize(("name", "current", "same_line", "newest"), ANSWERS)
def test_publisher_answers(
    name: str, current: str, same_line: str | None, newest: str | None
) -> None:
    answer = rank_tags(current, offered(name))
    assert (answer.same_line, answer.newest) == (same_line, newest), answer.candidates


# (tag list, current tag, offered tag, reason, words in the detail)
REASONS = [
    ("linuxserver-sonarr", "4.0.17.2952-ls301", "4.0.16.2944-ls300", Reason.OLDER,
     "4.0.16.2944 ls300 is not newer than 4.0.17.2952 ls301"),
    ("linuxserver-sonarr", "4.0.17.2952-ls301", "develop-4.0.18.2978-ls176", Reason.OTHER_PREFIX,
     "prefix 'develop-', not '(none)'"),
    ("linuxserver-sonarr", "4.0.17.2952-ls301", "version-4.0.18.2978", Reason.OTHER_PREFIX,
     "prefix 'version-'"),
    ("linuxserver-sonarr", "4.0.17.2952", "4.0.17.2952-ls302", Reason.BUILD_MISMATCH,
     "build counter ls302; 4.0.17.2952 has none"),
    ("linuxserver-sonarr", "4.0.17.2952-ls301", "amd64-latest", Reason.FLOATING, "floating"),
    ("linuxserver-wireguard", "1.0.20250521-r1-ls110", "1.0.20250521-r0-ls109", Reason.OLDER,
     "1.0.20250521 r0 ls109 is not newer than 1.0.20250521 r1 ls110"),
    ("linuxserver-wireguard", "1.0.20250521-r1-ls110", "version-1.0.20250521-r1",
     Reason.OTHER_PREFIX, "prefix 'version-'"),
    ("linuxserver-commit-builds", "4a5b6c7d-ls13", "c0ffee12-ls9", Reason.OLDER,
     "ls9 is not newer than ls13"),
    ("linuxserver-commit-builds", "4a5b6c7d-ls13", "develop-1b2c3d4e-ls21", Reason.OTHER_PREFIX,
     "prefix 'develop-'"),
    ("linuxserver-plex", "1.41.2.9200-c6bbc1b53-ls240", "version-1.41.3.9314-a0bfb8370",
     Reason.OTHER_PREFIX, "prefix 'version-'"),
    ("plex-pms-docker", "1.41.3.9314-a0bfb8370", "1.41.2.9200-c6bbc1b53", Reason.OLDER,
     "1.41.2.9200 is not newer than 1.41.3.9314"),
    ("plex-pms-docker", "1.41.2.9200-c6bbc1b53", "beta", Reason.FLOATING, "floating"),
    ("bitnami-mysql", "8.0.36-debian-12-r5", "8.0.36-debian-12-r4", Reason.OLDER,
     "8.0.36 r4 is not newer than 8.0.36 r5"),
    ("bitnami-mysql", "8.0.36-debian-12-r5", "8.0.37-debian-12", Reason.BUILD_MISMATCH,
     "no revision; 8.0.36-debian-12-r5 has r5"),
    ("bitnami-mysql", "8.0.36-debian-12-r5", "8.0.35-debian-11-r99", Reason.OTHER_VARIANT,
     "variant 'debian-11', not 'debian-12'"),
    ("bitnami-mysql", "8.0.36-debian-12", "8.0.37-debian-12-r1", Reason.BUILD_MISMATCH,
     "revision r1; 8.0.36-debian-12 has none"),
    ("bitnami-mysql", "8.0.36", "8.0.36-debian-12-r7", Reason.OTHER_VARIANT, "variant 'debian-12'"),
    ("bitnami-mariadb", "10.3.2-r4", "10.3.2", Reason.BUILD_MISMATCH, "no revision"),
    ("dotnet-aspnet", "8.0.1-bookworm-slim", "9.0.0-rc.2-bookworm-slim", Reason.PRE_RELEASE,
     "pre-release rc2"),
    ("dotnet-aspnet", "8.0.1-bookworm-slim", "8.0.1-bookworm-slim-amd64", Reason.OTHER_VARIANT,
     "variant 'bookworm-slim-amd64', not 'bookworm-slim'"),
    ("dotnet-aspnet", "8.0-jammy-chiseled-extra", "9.0-noble-chiseled-extra",
     Reason.OTHER_VARIANT, "variant 'noble-chiseled-extra'"),
    ("kube-apiserver", "v1.30.0-rc.2", "v1.31.0-rc.1", Reason.PRE_RELEASE,
     "pre-release rc1 of another line"),
    ("kube-apiserver", "v1.29.3", "v1.30.0-rc.2", Reason.PRE_RELEASE, "stable release"),
    ("kube-webhook-certgen", "v20231226-1a7112e06", "v1.4.1", Reason.OTHER_FORMAT,
     "version, not date:compact"),
    ("kube-webhook-certgen", "v20231226-1a7112e06", "v20231011-8b53cabe0", Reason.OLDER,
     "2023-10-11 is not newer than 2023-12-26"),
    ("kube-webhook-certgen", "v1.4.0", "v20231226-1a7112e06", Reason.OTHER_FORMAT,
     "date:compact, not version"),
    ("minio", "RELEASE.2024-01-01T16-36-33Z", "RELEASE.2023-12-23T07-19-11Z", Reason.OLDER,
     "2023-12-23T07:19:11Z is not newer than 2024-01-01T16:36:33Z"),
    ("minio", "RELEASE.2023-12-23T07-19-11Z", "RELEASE.2024-01-01T16-36-33Z-cpuv1",
     Reason.OTHER_VARIANT, "variant 'cpuv1', not '(none)'"),
    ("minio", "RELEASE.2024-01-01T16-36-33Z", "edge", Reason.FLOATING, "floating"),
    ("tomcat-milestones", "11.0.0-jdk21", "11.0.0-M26-jdk21", Reason.OLDER,
     "11.0.0 (M26) is not newer than 11.0.0"),
    ("tomcat-milestones", "11.0.2-jdk21", "11.0.0-M26-jdk21", Reason.OLDER, "11.0.0 (M26)"),
    ("tomcat-milestones", "10.1.0-M17", "11.0.0-M26", Reason.PRE_RELEASE,
     "pre-release M26 of another line"),
    ("tomcat-milestones", "10.1.28", "11.0.0-M26", Reason.PRE_RELEASE, "stable release"),
    ("home-assistant", "2024.1.5", "2024.2.0b5", Reason.PRE_RELEASE, "pre-release b5"),
    ("home-assistant", "2024.1.5", "0.118.5", Reason.OTHER_FORMAT, "version, not calver"),
    ("home-assistant", "0.118.5", "2025.1.4", Reason.OTHER_FORMAT, "calver, not version"),
    ("home-assistant", "2024.1.5", "2024.12", Reason.OTHER_PRECISION, "2 components, not 3"),
    ("pihole", "2024.03.1", "v5.8.2", Reason.OTHER_PREFIX, "prefix 'v'"),
    ("pihole", "2024.03.1", "development", Reason.FLOATING, "floating"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "current", "tag", "reason", "detail"), REASONS)
def test_publisher_rejections_say_why(
    name: str, current: str, tag: str, reason: Reason, detail: str
) -> None:
    answer = rank_tags(current, offered(name))
    assert tag in offered(name)
    assert answer.rejected[tag] is reason, answer.details[tag]
    assert detail in answer.details[tag]


def test_every_list_is_used() -> None:
    used = {param.values[0] for param in ANSWERS}  # type: ignore[attr-defined]
    assert used == {path.stem for path in PUBLISHERS.glob("*.txt")}
