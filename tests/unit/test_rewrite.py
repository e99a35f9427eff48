"""Rewriting image references in place: only the targeted token changes, byte for byte."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watcher.core.rewrite import Edit, rewrite, unified_diff
from watcher.sources.dockerfile import dockerfile_bases

OLD, NEW = "python:3.12.7-slim", "python:3.12.8-slim"


def test_a_from_line_changes_and_nothing_else() -> None:
    text = f"FROM {OLD} AS build\nRUN pip install {OLD}\nFROM {OLD}\n"
    result = rewrite(text, [Edit(1, OLD, NEW)])
    assert result.text == f"FROM {NEW} AS build\nRUN pip install {OLD}\nFROM {OLD}\n"
    assert result.skipped == ()


def test_crlf_line_endings_stay() -> None:
    text = f"FROM {OLD}\r\nRUN true\r\n"
    result = rewrite(text, [Edit(1, OLD, NEW)])
    assert result.text == f"FROM {NEW}\r\nRUN true\r\n"
    diff = unified_diff("Dockerfile", text, result.text)
    assert f"-FROM {OLD}\n+FROM {NEW}\n" in diff
    assert "\r" not in diff


def test_a_continued_from_and_the_escape_directive() -> None:
    text = f"# escape=`\nFROM --platform=$BUILDPLATFORM `\n    {OLD} `\n    AS build\n"
    result = rewrite(text, [Edit(2, OLD, NEW)])
    assert result.text == text.replace(OLD, NEW)
    plain = f"FROM \\\n  {OLD}\n"
    assert rewrite(plain, [Edit(1, OLD, NEW)]).text == plain.replace(OLD, NEW)


def test_only_whole_references_change() -> None:
    text = f"FROM my{OLD}-fips\nFROM {OLD}\n"
    assert rewrite(text, [Edit(1, OLD, NEW)]).skipped  # not on line 1 as a whole word
    assert rewrite(text, [Edit(2, OLD, NEW)]).text == f"FROM my{OLD}-fips\nFROM {NEW}\n"


def test_copy_from_and_yaml_image_lines() -> None:
    text = f"FROM scratch\nCOPY --from={OLD} /a /b\n"
    assert rewrite(text, [Edit(2, OLD, NEW)]).text == f"FROM scratch\nCOPY --from={NEW} /a /b\n"
    compose = f'services:\n  app:\n    image: "{OLD}"\n  db:\n    image: {OLD}\n'
    assert rewrite(compose, [Edit(3, OLD, NEW)]).text == (
        f'services:\n  app:\n    image: "{NEW}"\n  db:\n    image: {OLD}\n')


def test_a_heredoc_body_is_left_alone() -> None:
    text = (f"FROM {OLD}\nRUN <<EOF\necho FROM {OLD}\nEOF\n"
            f"FROM {OLD} AS second\n")
    lines = [use.line for use in dockerfile_bases(text).uses]
    assert lines == [1, 5]
    result = rewrite(text, [Edit(line, OLD, NEW) for line in lines])
    assert result.text == (f"FROM {NEW}\nRUN <<EOF\necho FROM {OLD}\nEOF\n"
                           f"FROM {NEW} AS second\n")


def test_an_arg_substituted_from_is_not_found_as_written() -> None:
    text = f"ARG BASE={OLD}\nFROM ${{BASE}}\n"
    result = rewrite(text, [Edit(2, OLD, NEW)])
    assert result.text == text
    assert result.skipped[0][1] == f"{OLD} is not on line 2 as written"


def test_edits_that_are_no_references_or_out_of_the_file_are_skipped() -> None:
    text = f"FROM {OLD}\n"
    for edit in (Edit(9, OLD, NEW), Edit(1, OLD, "a b"), Edit(1, "", NEW),
                 Edit(0, OLD, NEW)):
        result = rewrite(text, [edit])
        assert result.text == text
        assert len(result.skipped) == 1
    assert unified_diff("Dockerfile", text, text) == ""


_LINE = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30)


@given(st.lists(_LINE, min_size=1, max_size=12), st.data(),
       st.sampled_from(["\n", "\r\n"]))
def test_rewriting_never_changes_other_lines(lines: list[str], data: st.DataObject,
                                             ending: str) -> None:
    targets = sorted(set(data.draw(st.lists(st.integers(0, len(lines) - 1), max_size=3))))
    for index in targets:
        lines[index] = f"FROM {OLD} AS s{index}"
    text = ending.join(lines) + ending
    result = rewrite(text, [Edit(index + 1, OLD, NEW) for index in targets])
    before, after = text.split(ending), result.text.split(ending)
    assert len(before) == len(after)
    for number, (old, new) in enumerate(zip(before, after, strict=True)):
        if number in targets:
            assert new == old.replace(OLD, NEW, 1)
        else:
            assert new == old
