"""The container rules: what a container makes watcher track, and whether it is stale."""

from __future__ import annotations

import pytest

from watcher.core.containers import (
    ContainerInfo,
    Freshness,
    SkippedContainer,
    WatchedContainer,
    classify,
    judge,
)
from watcher.core.reference import parse_reference

A, B, C, D = ("sha256:" + c * 64 for c in "abcd")
REF = "127.0.0.1:5000/team/app:1"


def container(image: str = REF, *, labels: dict[str, str] | None = None,
              digests: tuple[str, ...] = (f"127.0.0.1:5000/team/app@{A}",),
              image_id: str = "sha256:" + "9" * 64) -> ContainerInfo:
    return ContainerInfo("c1", "web", image, image_id, "running", labels or {}, digests,
                         "linux/amd64")


def watched(info: ContainerInfo, **kwargs: bool) -> WatchedContainer:
    verdict = classify(info, **kwargs)
    assert isinstance(verdict, WatchedContainer), verdict
    return verdict


def skipped(info: ContainerInfo, **kwargs: bool) -> str:
    verdict = classify(info, **kwargs)
    assert isinstance(verdict, SkippedContainer), verdict
    return verdict.reason


def test_a_container_tracks_the_reference_it_was_created_from() -> None:
    found = watched(container())
    assert found.ref == parse_reference(REF)
    assert found.running == (A,)
    assert not found.pinned


def test_docker_hub_short_names_match_their_repository_digests() -> None:
    found = watched(container("python:3.12", digests=(f"python@{A}", f"other@{B}")))
    assert str(found.ref) == "docker.io/library/python:3.12"
    assert found.running == (A,)


def test_a_digest_reference_is_tracked_by_digest() -> None:
    found = watched(container(f"127.0.0.1:5000/team/app@{B}", digests=()))
    assert found.pinned
    assert found.ref.digest == B


def test_created_from_an_image_id_follows_its_one_repository_digest() -> None:
    image_id = "sha256:" + "9" * 64
    found = watched(container(image_id, image_id=image_id))
    assert str(found.ref) == f"127.0.0.1:5000/team/app@{A}"
    assert "no repository digest" in skipped(container(image_id, digests=(), image_id=image_id))


def test_an_image_without_a_repository_digest_is_skipped_with_the_reason() -> None:
    reason = skipped(container(digests=(f"127.0.0.1:5000/other/name@{A}",)))
    assert "has no repository digest for 127.0.0.1:5000/team/app" in reason
    assert "local image" in skipped(container("localhost/built:latest"))


@pytest.mark.parametrize(("labels", "labelled_only", "reason"), [
    ({"watcher.enable": "false"}, False, "label watcher.enable=false"),
    ({"watcher.enable": "FALSE"}, True, "label watcher.enable=FALSE"),
    ({}, True, "only containers labelled watcher.enable=true"),
    ({"watcher.enable": "perhaps"}, False, "neither true nor false"),
    ({"watcher.tag.include": "(["}, False, "invalid label watcher.tag.include:"),
    ({"watcher.platforms": "linux"}, False, "'linux' is not os/arch"),
])
def test_labels_skip_containers(labels: dict[str, str], labelled_only: bool,
                                reason: str) -> None:
    assert reason in skipped(container(labels=labels), labelled_only=labelled_only)


def test_labels_set_the_tag_patterns_and_platforms() -> None:
    found = watched(container(labels={"watcher.enable": "true", "watcher.tag.include": "^1\\.",
                                      "watcher.tag.exclude": "rc",
                                      "watcher.platforms": "linux/amd64, linux/arm64/v8"}),
                    labelled_only=True)
    assert (found.include, found.exclude) == ("^1\\.", "rc")
    assert found.platforms == {"linux/amd64", "linux/arm64"}


def verdict(running: list[str], *, platform_digest: str | None = None,
            tag_digest: str | None = A, tag_platforms: dict[str, str] | None = None,
            pinned: str | None = None, platform: str | None = "linux/amd64") -> tuple[str, ...]:
    found = judge(running=running, platform=platform, platform_digest=platform_digest,
                  pinned=pinned, tag_digest=tag_digest, tag_platforms=tag_platforms or {})
    return found.freshness.value, found.running or "", found.current or ""


def test_a_single_image_whose_tag_moved_is_stale() -> None:
    assert verdict([A]) == (Freshness.CURRENT, A, A)
    assert verdict([A], tag_digest=B) == (Freshness.STALE, A, B)


def test_an_index_is_compared_for_the_containers_platform_only() -> None:
    moved_elsewhere = {"linux/amd64": C, "linux/arm64/v8": D}
    # Podman records the index and the platform's image; only arm64 moved: current.
    assert verdict([A, C], tag_digest=B, tag_platforms=moved_elsewhere)[0] == Freshness.CURRENT
    # Docker records the index only; the registry said which image it runs.
    assert verdict([A], platform_digest=C, tag_digest=B,
                   tag_platforms=moved_elsewhere)[0] == Freshness.CURRENT
    assert verdict([A], platform_digest=D, tag_digest=B,
                   tag_platforms=moved_elsewhere) == (Freshness.STALE, D, C)
    # Not known which image of the index it runs: no guess.
    assert verdict([A], tag_digest=B, tag_platforms=moved_elsewhere)[0] == Freshness.UNKNOWN
    # The tag dropped the container's platform.
    assert verdict([A, C], tag_digest=B, tag_platforms={"linux/arm64": D})[0] == Freshness.STALE


def test_pinned_and_unchecked_containers_are_never_called_stale() -> None:
    assert verdict([A], pinned=A, tag_digest=B)[0] == Freshness.PINNED
    assert verdict([A], tag_digest=None)[0] == Freshness.UNKNOWN


def test_engine_images_merge_after_the_configs_which_win() -> None:
    from watcher.config import TrackedImage
    from watcher.config.engines import EngineSourceConfig
    from watcher.service.engines import EngineReading, merge_images

    arm = ContainerInfo("c2", "arm", REF, "sha256:" + "8" * 64, "running", {},
                        (f"127.0.0.1:5000/team/app@{A}",), "linux/arm64/v8")
    labelled = container(labels={"watcher.tag.include": "^1\\.",
                                 "watcher.platforms": "linux/s390x"})
    reading = EngineReading(EngineSourceConfig("host"), watched=(
        watched(arm), watched(labelled), watched(container("python:3.12",
                                                           digests=(f"python@{B}",)))))
    configured = TrackedImage(parse_reference("python:3.12"), list_tags=False)
    images = {str(i.ref): i for i in merge_images([configured], [reading],
                                                  {"gone": {"ghcr.io/acme/base:1"}})}
    assert list(images) == ["docker.io/library/python:3.12", REF, "ghcr.io/acme/base:1"]
    assert images["docker.io/library/python:3.12"] is configured
    app = images[REF]
    assert app.platforms == {"linux/arm64", "linux/s390x"}
    assert app.tags.include == "^1\\."
    assert app.list_tags
    assert images["ghcr.io/acme/base:1"].platforms is None  # its engine is unreadable now


def test_stale_since_is_the_first_move_of_its_platform_after_it_matched() -> None:
    from datetime import UTC, datetime

    from watcher.core.changes import HistoryEntry, HistoryKind
    from watcher.core.containers import stale_since

    at = [datetime(2026, 1, day, tzinfo=UTC) for day in range(1, 6)]

    def moved(when: datetime, old: str, new: str, platforms: dict[str, str]) -> HistoryEntry:
        return HistoryEntry(REF, when, HistoryKind.DIGEST_CHANGED,
                            {"old_digest": old, "new_digest": new,
                             "changed_platforms": platforms})

    history = [
        HistoryEntry(REF, at[0], HistoryKind.BASELINE, {"digest": A}),
        moved(at[1], A, B, {"linux/arm64/v8": "changed"}),  # not its platform
        moved(at[2], B, C, {"linux/amd64": "changed"}),  # its platform: stale from here
        moved(at[3], C, D, {"linux/amd64": "changed"}),
    ]
    assert stale_since(history, [A], "linux/amd64") == at[2]
    assert stale_since(history, [A], "linux/arm64/v8") == at[1]
    assert stale_since(history, [C], "linux/amd64") == at[3]  # pulled after the second move
    single = [HistoryEntry(REF, at[0], HistoryKind.BASELINE, {"digest": A}),
              HistoryEntry(REF, at[4], HistoryKind.DIGEST_CHANGED,
                           {"old_digest": A, "new_digest": B, "changed_platforms": {}})]
    assert stale_since(single, [A], "linux/amd64") == at[4]
    assert stale_since([], [A], "linux/amd64") is None
