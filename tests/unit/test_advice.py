"""What to do about one use of a base image, from its stored state."""

from __future__ import annotations

from types import MappingProxyType

from watcher.core.advice import (
    NOT_TRACKED,
    PIN_BEHIND,
    REBUILD,
    UP_TO_DATE,
    UPDATE,
    advise_use,
    tag_reference,
)
from watcher.core.changes import ImageState, NewerVersions
from watcher.core.reference import parse_reference

OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64
CHILD = "sha256:" + "3" * 64


def state(digest: str = NEW, same_line: str | None = None, newest: str | None = None
          ) -> ImageState:
    return ImageState("docker.io/library/python:3.12-slim", digest=digest,
                      platforms=MappingProxyType({"linux/amd64": CHILD}),
                      newer=NewerVersions(same_line, newest))


def test_a_pin_whose_tag_moved_is_behind_and_moves_to_the_new_digest() -> None:
    written = f"python:3.12-slim@{OLD}"
    image = parse_reference(written)
    assert str(tag_reference(image)) == "docker.io/library/python:3.12-slim"
    advice = advise_use(image, written, state())
    assert advice.action == PIN_BEHIND
    assert advice.new_written == f"python:3.12-slim@{NEW}"
    assert advise_use(image, written, state(digest=OLD)).action == UP_TO_DATE
    # A pin on one platform's manifest is current too.
    pinned_child = f"python:3.12-slim@{CHILD}"
    assert advise_use(parse_reference(pinned_child), pinned_child, state()).action == UP_TO_DATE


def test_a_newer_version_on_the_line_moves_the_tag_as_written() -> None:
    written = "docker.io/library/python:3.12.7-slim"
    advice = advise_use(parse_reference(written), written,
                        state(same_line="3.12.8-slim", newest="3.13.1-slim"))
    assert advice.action == UPDATE
    assert advice.new_written == "docker.io/library/python:3.12.8-slim"
    assert advice.note == "newest: 3.13.1-slim"
    registry_port = "localhost:5000/python:3.12.7-slim"
    assert advise_use(parse_reference(registry_port), registry_port,
                      state(same_line="3.12.8-slim")).new_written == (
        "localhost:5000/python:3.12.8-slim")


def test_an_arg_substituted_image_is_advised_never_rewritten() -> None:
    image = parse_reference("python:3.12.7-slim")
    advice = advise_use(image, "${BASE}", state(same_line="3.12.8-slim"))
    assert advice.action == UPDATE
    assert advice.new_written is None
    assert advice.note is not None
    assert "ARG" in advice.note
    pinned = parse_reference(f"python:3.12-slim@{OLD}")
    behind = advise_use(pinned, "$BASE", state())
    assert behind.action == PIN_BEHIND
    assert behind.new_written is None


def test_a_moved_unpinned_tag_is_to_be_rebuilt_until_acknowledged() -> None:
    image = parse_reference("python:3.12-slim")
    assert advise_use(image, "python:3.12-slim", state(), "Python 3.12.7 -> 3.12.8").action \
        == REBUILD
    assert advise_use(image, "python:3.12-slim", state()).action == UP_TO_DATE
    assert advise_use(image, "python:3.12-slim", None).action == NOT_TRACKED
    assert advise_use(image, "python:3.12-slim", ImageState("x")).action == NOT_TRACKED


def test_an_implied_latest_is_not_rewritten() -> None:
    advice = advise_use(parse_reference("python"), "python", state(same_line="3.13"))
    assert advice.new_written is None
