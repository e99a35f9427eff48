"""Real tag lists: Docker official images, a tag from an older snapshot against today's list.

``tests/data/corpus/<snapshot>/<image>.txt`` holds every ``Tags``/``SharedTags`` entry of
``library/<image>`` in docker-library/official-images at four commits (one tag a line, file
order, duplicates removed). The expected answers below were worked out by hand from the
2026-08-21 lists, not by running the code; the comment on each row says why.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from watcher.core.tags import Reason, rank_tags

# A pre-release marker right after a version number, as the official images spell them.
_PRE_MARKER = re.compile(r"\d(?:-|\.)?(?:rc|beta|alpha|dev|ea|preview)\d*(?:$|-)", re.IGNORECASE)
CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
NEWEST = "2026-08-21"
SNAPSHOTS = ("2022-08-19", "2024-08-20", "2025-08-20", NEWEST)
IMAGES = sorted(path.stem for path in (CORPUS / NEWEST).glob("*.txt"))


@functools.cache
def tag_list(snapshot: str, image: str) -> tuple[str, ...]:
    path = CORPUS / snapshot / f"{image}.txt"
    return tuple(line for line in path.read_text(encoding="utf-8").splitlines() if line)


# (image, snapshot the current tag comes from, current, same_line, newest)
CASES = [
    # alpine: 3-component line 3.16 is gone; 3.24.1 is the newest of 3.24.1/3.23.5/3.22.5/3.21.7.
    ("alpine", "2022-08-19", "3.16.2", None, "3.24.1"),
    # the edge snapshot date moves to the one date tag left, 20260805.
    ("alpine", "2022-08-19", "20220715", "20260805", "20260805"),
    # al2023 3-component tags: 17.0.20 on the 17.0 line; 26.0.2 is the newest major.
    ("amazoncorretto", "2024-08-20", "17.0.12-al2023", "17.0.20-al2023", "26.0.2-al2023"),
    # alpine3.20 variants are all gone (alpine3.21 .. alpine3.24 remain): another variant.
    ("amazoncorretto", "2024-08-20", "21.0.4-alpine3.20", None, None),
    # musl: 1.38.0-musl and 1.37.0-musl; nothing on 1.34.
    ("busybox", "2022-08-19", "1.34.1-musl", None, "1.38.0-musl"),
    # 2-component musl: 1.38-musl, 1.37-musl on line 1.
    ("busybox", "2022-08-19", "1.35-musl", "1.38-musl", "1.38-musl"),
    # 2.11.4 > 2.5.2 numerically (not lexically); no 2.5.x left.
    ("caddy", "2022-08-19", "2.5.2-alpine", None, "2.11.4-alpine"),
    ("caddy", "2022-08-19", "2.5.2-builder", None, "2.11.4-builder"),
    # codename-dated tags: bookworm-20260803-slim is the only bookworm-<date>-slim.
    (
        "debian",
        "2022-08-19",
        "bookworm-20220801-slim",
        "bookworm-20260803-slim",
        "bookworm-20260803-slim",
    ),
    # 11.11 > 11.4 on line 11; 13.6-slim is the newest 2-component slim.
    ("debian", "2022-08-19", "11.4-slim", "11.11-slim", "13.6-slim"),
    ("debian", "2022-08-19", "stable-20220801", "stable-20260803", "stable-20260803"),
    # temurin builds: 17.0.20_8 on the 17.0 line, 26.0.2_10 newest; jammy variant kept.
    (
        "eclipse-temurin",
        "2024-08-20",
        "17.0.12_7-jdk-jammy",
        "17.0.20_8-jdk-jammy",
        "26.0.2_10-jdk-jammy",
    ),
    ("eclipse-temurin", "2024-08-20", "21.0.4_7-jdk", "21.0.12_8-jdk", "26.0.2_10-jdk"),
    # 1-component: 8 11 17 21 25 26 -jdk; no same-line update.
    ("eclipse-temurin", "2024-08-20", "17-jdk", None, "26-jdk"),
    # 8u345-b01 is no version we rank.
    ("eclipse-temurin", "2022-08-19", "8u345-b01-jdk", None, None),
    # 8.19.20, 9.4.5, 9.5.2: nothing on 8.15; 9.5.2 newest.
    ("elasticsearch", "2024-08-20", "8.15.0", None, "9.5.2"),
    ("elasticsearch", "2022-08-19", "7.17.5", None, "9.5.2"),
    # 12.5.0 is on line 12.5, not 12.2; 16.2.0 newest.
    ("gcc", "2022-08-19", "12.2.0", None, "16.2.0"),
    ("gcc", "2022-08-19", "12.2", "12.5", "16.2"),
    # bookworm: 1.27.0 and 1.26.7; nothing on 1.22.
    ("golang", "2024-08-20", "1.22.6-bookworm", None, "1.27.0-bookworm"),
    # alpine3.16 is gone (alpine3.23, alpine3.24 remain).
    ("golang", "2022-08-19", "1.19.0-alpine3.16", None, None),
    # 3.0.26 on line 3.0; 3.4.3 newest (3.5-dev5-alpine is 2-component and a pre-release).
    ("haproxy", "2024-08-20", "3.0.3-alpine", "3.0.26-alpine", "3.4.3-alpine"),
    # a dev user may move to the newer dev of line 3: 3.5-dev5 (dev5 > plain dev).
    ("haproxy", "2024-08-20", "3.1-dev5-alpine", "3.5-dev5-alpine", "3.5-dev5-alpine"),
    ("httpd", "2024-08-20", "2.4.62-alpine", "2.4.68-alpine", "2.4.68-alpine"),
    # alpine 3-component: 1.12.4, 1.11.8, 2.8.0, 2.9.1; nothing on 1.8.
    ("influxdb", "2022-08-19", "1.8.10-alpine", None, "2.9.1-alpine"),
    ("influxdb", "2024-08-20", "1.11.6-data", "1.11.9-data", "1.13.0-data"),
    # jammy 3-component: 10.11.18 and 10.6.28 only.
    ("mariadb", "2024-08-20", "10.11.9-jammy", "10.11.18-jammy", "10.11.18-jammy"),
    # plain: 12.3.2 newest (13.0.1-rc is a pre-release); no 11.5.x left.
    ("mariadb", "2024-08-20", "11.5.2", None, "12.3.2"),
    # on an rc: no 11.6.x left; stable 12.3.2 is offered, 13.0.1-rc is another line's rc.
    ("mariadb", "2024-08-20", "11.6.1-rc", None, "12.3.2"),
    # 2-component on line 10: 10.11 (> 10.6); 12.3 newest.
    ("mariadb", "2022-08-19", "10.6", "10.11", "12.3"),
    ("memcached", "2024-08-20", "1.6.29", "1.6.45", "1.6.45"),
    ("mongo", "2024-08-20", "7.0.12-jammy", "7.0.40-jammy", "7.0.40-jammy"),
    # plain 3-component: 8.3.8, 8.0.29, 7.0.40; nothing on 6.0.
    ("mongo", "2024-08-20", "6.0.16", None, "8.3.8"),
    ("mysql", "2024-08-20", "8.0.39", None, "26.7.0"),
    ("mysql", "2024-08-20", "8.4.2-oracle", "8.4.11-oracle", "26.7.0-oracle"),
    # 1.31.4-alpine, 1.30.4-alpine; nothing on 1.23.
    ("nginx", "2022-08-19", "1.23.1-alpine", None, "1.31.4-alpine"),
    ("nginx", "2022-08-19", "1.23-perl", "1.31-perl", "1.31-perl"),
    # alpine 3-component: 26.7.0, 24.19.0, 22.23.2.
    ("node", "2022-08-19", "18.7.0-alpine", None, "26.7.0-alpine"),
    ("node", "2022-08-19", "18-alpine", None, "26-alpine"),
    # 22.23.2 is on line 22.23, not 22.6: no same-line update for 22.6.0.
    ("node", "2024-08-20", "22.6.0-bookworm-slim", None, "26.7.0-bookworm-slim"),
    ("node", "2024-08-20", "22.6-bookworm-slim", "22.23-bookworm-slim", "26.7-bookworm-slim"),
    # on ea-11 of 24: 27-rc-jdk and 28-ea-*-jdk are other lines' pre-releases; no stable jdk.
    ("openjdk", "2024-08-20", "24-ea-11-jdk", None, None),
    # fpm-alpine: 8.3.33 on 8.3; 8.5.9 newest stable (8.6.0beta1, 8.5.10RC1 are pre-releases).
    ("php", "2024-08-20", "8.3.10-fpm-alpine", "8.3.33-fpm-alpine", "8.5.9-fpm-alpine"),
    # on 8.3.11RC1: stable 8.3.33 on its line; 8.4.25RC1 is another line's RC.
    ("php", "2024-08-20", "8.3.11RC1-apache", "8.3.33-apache", "8.5.9-apache"),
    ("php", "2024-08-20", "8.2-apache", "8.5-apache", "8.5-apache"),
    # 2-component alpine: 14.24 on line 14; 18.6 newest.
    ("postgres", "2022-08-19", "14.5-alpine", "14.24-alpine", "18.6-alpine"),
    # on 15beta3: 15 is its stable release; 18 newest stable; 19beta3 another line's beta.
    ("postgres", "2022-08-19", "15beta3", "15", "18"),
    (
        "python",
        "2024-08-20",
        "3.12.5-slim-bookworm",
        "3.12.14-slim-bookworm",
        "3.14.7-slim-bookworm",
    ),
    # bullseye is gone.
    ("python", "2022-08-19", "3.10.6-slim-bullseye", None, None),
    # on 3.11.0rc1: 3.11.16 on its line; 3.14.7 newest; 3.15.0rc1 another line's rc.
    ("python", "2022-08-19", "3.11.0rc1", "3.11.16", "3.14.7"),
    ("python", "2022-08-19", "3.10", "3.14", "3.14"),
    ("rabbitmq", "2024-08-20", "3.13.6-management-alpine", None, "4.3.5-management-alpine"),
    ("rabbitmq", "2022-08-19", "3-management-alpine", None, "4-management-alpine"),
    # 7.2.16 on 7.2; 8.10.1 > 8.8.2 numerically.
    ("redis", "2024-08-20", "7.2.5-alpine", "7.2.16-alpine", "8.10.1-alpine"),
    # 7.4-bookworm is still offered (same); 8.2-bookworm is the only newer 2-component one.
    ("redis", "2024-08-20", "7.4-bookworm", None, "8.2-bookworm"),
    # on preview1 of 3.4.0: the stable 3.4.10 on line 3.4; 4.0.6 newest.
    ("ruby", "2024-08-20", "3.4.0-preview1-slim", "3.4.10-slim", "4.0.6-slim"),
    ("ruby", "2024-08-20", "3.3.4-slim", "3.3.12-slim", "4.0.6-slim"),
    ("rust", "2024-08-20", "1.80.1-slim-bookworm", None, "1.98.0-slim-bookworm"),
    ("rust", "2024-08-20", "1.80-slim-bookworm", "1.98-slim-bookworm", "1.98-slim-bookworm"),
    # 10.1.59 on line 10.1; 11.0.25 newest (the 10.1.0-M17 milestone tags are gone).
    (
        "tomcat",
        "2024-08-20",
        "10.1.28-jre21-temurin-noble",
        "10.1.59-jre21-temurin-noble",
        "11.0.25-jre21-temurin-noble",
    ),
    # 9.0.121 > 9.0.93.
    (
        "tomcat",
        "2024-08-20",
        "9.0.93-jdk17-temurin-jammy",
        "9.0.121-jdk17-temurin-jammy",
        "11.0.25-jdk17-temurin-jammy",
    ),
    # v-prefixed stay v-prefixed: v3.7.11; no v3.1.x left.
    ("traefik", "2024-08-20", "v3.1.2", None, "v3.7.11"),
    ("traefik", "2024-08-20", "v2.11.8", "v2.11.55", "v3.7.11"),
    ("traefik", "2024-08-20", "3.1", "3.7", "3.7"),
    ("ubuntu", "2024-08-20", "noble-20240801", "noble-20260810", "noble-20260810"),
    # no oracular tags any more.
    ("ubuntu", "2024-08-20", "oracular-20240811.1", None, None),
    # 2-component: 22.04 (itself), 24.04, 26.04, 26.10; nothing newer on 22.
    ("ubuntu", "2024-08-20", "22.04", None, "26.10"),
    ("wordpress", "2024-08-20", "6.6.1-php8.2-fpm-alpine", None, "7.1.0-php8.2-fpm-alpine"),
    ("wordpress", "2024-08-20", "cli-2.11-php8.2", "cli-2.12-php8.2", "cli-2.12-php8.2"),
]


def test_the_corpus_is_complete() -> None:
    assert len(IMAGES) == 30
    for snapshot in SNAPSHOTS:
        for image in IMAGES:
            assert tag_list(snapshot, image), (snapshot, image)
    assert {case[0] for case in CASES} == set(IMAGES)


@pytest.mark.parametrize(
    ("image", "snapshot", "current", "same_line", "newest"),
    CASES,
    ids=[f"{case[0]}:{case[2]}" for case in CASES],
)
def test_an_old_tag_against_todays_list(
    image: str, snapshot: str, current: str, same_line: str | None, newest: str | None
) -> None:
    assert current in tag_list(snapshot, image)
    answer = rank_tags(current, tag_list(NEWEST, image))
    assert (answer.same_line, answer.newest) == (same_line, newest), answer.candidates


@pytest.mark.parametrize("image", IMAGES)
def test_no_floating_tag_or_pre_release_is_ever_proposed_on_a_stable_tag(image: str) -> None:
    tags = tag_list(NEWEST, image)
    for snapshot in SNAPSHOTS[:-1]:
        for current in tag_list(snapshot, image):
            answer = rank_tags(current, tags)
            if answer.parsed is None:
                assert answer.candidates == []
                continue
            for tag in answer.candidates:
                assert tag not in ("latest", "stable", "mainline", "lts", "edge", "current")
                if answer.parsed.pre is None:
                    assert not _PRE_MARKER.search(tag), (current, tag)
            for tag in ("latest",):
                if tag in tags and tag != current:
                    assert answer.rejected[tag] is Reason.FLOATING
