"""The text renderers' pure helpers: escaping what a registry wrote, fitting a width, and the
``check`` report (what it lists, how it groups a registry's identical failures)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watcher.cli.check_text import render_report
from watcher.cli.output import elide, table_lines
from watcher.config import TrackedImage
from watcher.core.changes import ImageState, Observation, WatchPolicy, decide
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.core.reference import parse_reference
from watcher.service import ImageCheck, RoundReport
from watcher.terminal import printable

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ESC = "\x1b[31m"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("3.12-slim", "3.12-slim"),
        ("café ünïcode 版本", "café ünïcode 版本"),
        (f"red{ESC}tag", "red\\x1b[31mtag"),
        ("bell\x07 nul\x00 del\x7f csi\x9b", "bell\\x07 nul\\x00 del\\x7f csi\\x9b"),
        ("two\nlines\r\tand tab", "two\\nlines\\r\\tand tab"),
        ("rtl\u202eoverride\u2028sep", "rtl\\u202eoverride\\u2028sep"),
    ],
)
def test_printable_spells_out_control_characters(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_elide() -> None:
    assert elide("abcdef", 10) == "abcdef"
    assert elide("abcdefghij", 5) == "abcd…"
    assert elide("abcdefghij", 5, middle=True) == "ab…ij"


def test_table_cells_are_escaped_and_fit_the_width() -> None:
    rows = [["x" * 60 + ESC, "tag", "state"], ["short", "t", "s"]]
    lines = table_lines(("IMAGE", "TAG", "STATE"), rows, colour=False, width=40)
    assert all(len(line) <= 40 for line in lines)
    assert "\x1b" not in "".join(lines)
    assert lines[1].endswith("tag  state")


def _check(ref: str, observation: Observation, previous: ImageState | None = None) -> ImageCheck:
    image = TrackedImage(ref=parse_reference(ref))
    state = previous or ImageState(ref=str(image.ref))
    return ImageCheck(image, previous, observation, decide(state, observation, WatchPolicy()))


def test_check_report_escapes_registry_text() -> None:
    ref = "registry.example/app:1"
    manifest = ManifestObservation("sha256:" + "a" * 64, OCI_INDEX, {f"linux/{ESC}": "sha256:b"})
    failing = "registry.example/other:1"
    report = RoundReport(
        (
            _check(ref, Observation(T0, manifest=manifest)),
            _check(failing, Observation(T0, error=f"{failing} on registry.example: {ESC}boom")),
        )
    )
    text = render_report(report, colour=False, show_all=True)
    assert "\x1b" not in text
    assert "linux/\\x1b[31m" in text
    assert "\\x1b[31mboom" in text
    coloured = render_report(report, colour=True, show_all=True)
    assert "\x1b[31mboom" not in coloured  # colour is watcher's, never the registry's


def test_identical_failures_of_one_registry_are_one_line() -> None:
    refs = [f"r.example/app{i}:1" for i in range(3)]
    other = "other.example/app:1"
    checks = [
        _check(ref, Observation(T0, error=f"{ref} on r.example: cannot connect")) for ref in refs
    ]
    checks.append(_check(other, Observation(T0, error=f"{other} on other.example: cannot connect")))
    text = render_report(RoundReport(tuple(checks)), colour=False)
    assert text.splitlines() == [
        f"{other}  error",
        f"  error  {other} on other.example: cannot connect",
        "r.example: 3 images failed: cannot connect",
        f"4 images: 0 changed, 4 failed (all 3 on r.example, {other})",
    ]


def test_a_summary_names_three_images_then_counts() -> None:
    refs = [f"r{i}.example/app:1" for i in range(5)]
    checks = [_check(ref, Observation(T0, error=f"{ref} on r: nope {ref}")) for ref in refs]
    last = render_report(RoundReport(tuple(checks)), colour=False).splitlines()[-1]
    assert last == f"5 images: 0 changed, 5 failed ({refs[0]}, {refs[1]}, {refs[2]} and 2 more)"
