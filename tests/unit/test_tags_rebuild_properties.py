"""Properties of rebuild counters, revisions and build metadata, over generated publisher-style
tags (linuxserver ``-lsN``, Bitnami ``-rN``, Plex commit ids): a rebuild never outranks a newer
version, an answer is never older than the current tag, and the variant is kept."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.core.tags import ParsedTag, parse_tag, rank_tags

FAST = settings(max_examples=120, deadline=None)

PREFIXES = ["", "amd64-", "develop-", "version-"]
VARIANTS = ["", "debian-12", "alpine", "bookworm-slim"]
COMMITS = ["c6bbc1b53", "a0bfb8370", "1a7112e06", "8b53cabe0", "pkg-0a1b2c3d"]
STYLES = ["plain", "revision", "counter", "both"]


@st.composite
def rebuild_tags(
    draw: st.DrawFn, prefix: str | None = None, variant: str | None = None,
    style: str | None = None, size: int | None = None,
) -> tuple[str, tuple[Any, ...], tuple[str, str, str]]:  # fmt: skip
    """A tag, its expected order key and its family, built independently of the parser."""
    prefix = draw(st.sampled_from(PREFIXES)) if prefix is None else prefix
    variant = draw(st.sampled_from(VARIANTS)) if variant is None else variant
    style = draw(st.sampled_from(STYLES)) if style is None else style
    size = draw(st.integers(3, 4)) if size is None else size
    release = tuple(draw(st.lists(st.integers(0, 30), min_size=size, max_size=size)))
    text = prefix + ".".join(map(str, release))
    commit = draw(st.none() | st.sampled_from(COMMITS))
    if commit:
        text += f"-{commit}"
    if variant:
        text += f"-{variant}"
    revision = counter = 0
    if style in ("revision", "both"):
        revision = draw(st.integers(0, 150))
        text += f"-r{revision}"
    if style in ("counter", "both"):
        counter = draw(st.integers(1, 400))
        text += f"-ls{counter}"
    family = (prefix, variant, f"{style}:{len(release)}")
    return text, (release, revision, counter), family


def _parsed(tag: str) -> ParsedTag:
    parsed = parse_tag(tag)
    assert parsed is not None, tag
    return parsed


@FAST
@given(rebuild_tags(), rebuild_tags())
def test_family_and_order_agree_with_the_generated_ones(a: Any, b: Any) -> None:
    (tag_a, key_a, family_a), (tag_b, key_b, family_b) = a, b
    pa, pb = _parsed(tag_a), _parsed(tag_b)
    # A different commit id never makes a different family.
    assert (pa.family_mismatch(pb) is None) == (family_a == family_b)
    if family_a == family_b:
        assert (pa.key < pb.key) == (key_a < key_b)
        assert (pa.key == pb.key) == (key_a == key_b)


@FAST
@given(
    st.data(),
    st.sampled_from(PREFIXES),
    st.sampled_from(VARIANTS),
    st.sampled_from(STYLES),
    st.integers(3, 4),
)
def test_a_rebuild_never_outranks_a_newer_version(
    data: st.DataObject, prefix: str, variant: str, style: str, size: int
) -> None:
    same = rebuild_tags(prefix=prefix, variant=variant, style=style, size=size)
    current = data.draw(same)
    offered = data.draw(st.lists(same, min_size=1, max_size=20))
    answer = rank_tags(current[0], [tag for tag, _, _ in offered])
    newer = [(key, tag) for tag, key, _ in offered if key > current[1]]
    if not newer:
        assert answer.newest is None
        return
    # The newest answer has the highest version; among its rebuilds, the highest one.
    best_release = max(key[0] for key, _ in newer)
    assert _parsed(answer.newest or "").release == best_release
    assert max(newer)[0] == next(key for tag, key, _ in offered if tag == answer.newest)


@FAST
@given(rebuild_tags(), st.lists(rebuild_tags(), max_size=30))
def test_answers_are_never_older_and_keep_the_variant(current: Any, offered: Any) -> None:
    tags = [tag for tag, _, _ in offered]
    keys = {tag: key for tag, key, _ in offered}
    families = {tag: family for tag, _, family in offered}
    answer = rank_tags(current[0], tags)
    for answered in (answer.same_line, answer.newest):
        if answered is None:
            continue
        assert keys[answered] > current[1]
        assert families[answered] == current[2]
        got, cur = _parsed(answered), _parsed(current[0])
        assert (got.prefix, got.variant) == (cur.prefix, cur.variant)
        assert (got.revision is None, got.counter is None) == (
            cur.revision is None,
            cur.counter is None,
        )
    if answer.same_line is not None:
        assert _parsed(answer.same_line).release[:-1] == _parsed(current[0]).release[:-1]
