"""Image references parse exactly as Docker parses them, and bad ones say what is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.core.digest import digest_problem, is_digest
from watcher.core.reference import ImageReference, parse_reference, split_tag
from watcher.errors import InvalidReference, WatcherError

SHA256 = "sha256:" + "0123456789abcdef" * 4
SHA512 = "sha512:" + "0123456789abcdef" * 8
SHA384 = "sha384:" + "0123456789abcdef" * 6

FAST = settings(max_examples=300, derandomize=True, database=None, deadline=None)


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        # Docker Hub: official images get library/, the tag defaults to latest.
        ("python", "docker.io", "library/python", "latest", None),
        ("python:3.12-slim", "docker.io", "library/python", "3.12-slim", None),
        ("library/python", "docker.io", "library/python", "latest", None),
        ("docker.io/python", "docker.io", "library/python", "latest", None),
        ("docker.io/library/python:3", "docker.io", "library/python", "3", None),
        ("bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", None),
        ("org/team/app", "docker.io", "org/team/app", "latest", None),
        # Hub aliases all normalize to docker.io.
        ("index.docker.io/python", "docker.io", "library/python", "latest", None),
        ("index.docker.io/library/python:3", "docker.io", "library/python", "3", None),
        ("registry-1.docker.io/bitnami/redis", "docker.io", "bitnami/redis", "latest", None),
        ("registry.hub.docker.com/library/alpine", "docker.io", "library/alpine", "latest", None),
        # Other registries: no library/ prefix, even for a single component.
        ("ghcr.io/org/app:v2", "ghcr.io", "org/app", "v2", None),
        ("quay.io/prometheus/node-exporter", "quay.io", "prometheus/node-exporter", "latest", None),
        ("gcr.io/distroless/static", "gcr.io", "distroless/static", "latest", None),
        ("registry.example.com/app", "registry.example.com", "app", "latest", None),
        ("my-registry.example.com/a/b/c/d", "my-registry.example.com", "a/b/c/d", "latest", None),
        # localhost and ports.
        ("localhost/x", "localhost", "x", "latest", None),
        ("localhost:5000/x", "localhost:5000", "x", "latest", None),
        ("localhost:5000/x:1.0", "localhost:5000", "x", "1.0", None),
        ("127.0.0.1:5055/lib/python:3.12-slim", "127.0.0.1:5055", "lib/python", "3.12-slim", None),
        ("myhost:5000/app", "myhost:5000", "app", "latest", None),
        ("[::1]:5000/app", "[::1]:5000", "app", "latest", None),
        ("[fe80::1]/app", "[fe80::1]", "app", "latest", None),
        ("Registry.Example.COM/app", "registry.example.com", "app", "latest", None),
        ("a/localhost", "docker.io", "a/localhost", "latest", None),
        # A first component without '.', ':' or being localhost is a Hub namespace.
        ("myhost/app", "docker.io", "myhost/app", "latest", None),
        ("localhostx/app", "docker.io", "localhostx/app", "latest", None),
        # Without a '/', 'host:port' is a repository and a tag, as in Docker.
        ("localhost:5000", "docker.io", "library/localhost", "5000", None),
        ("ghcr.io", "docker.io", "library/ghcr.io", "latest", None),
        # Digests: with or without a tag; a digest alone means no tag.
        (f"python@{SHA256}", "docker.io", "library/python", None, SHA256),
        (f"python:3.12@{SHA256}", "docker.io", "library/python", "3.12", SHA256),
        (f"ghcr.io/org/app@{SHA512}", "ghcr.io", "org/app", None, SHA512),
        (f"localhost:5000/x:1@{SHA384}", "localhost:5000", "x", "1", SHA384),
        (f"localhost:5000/x@{SHA256}", "localhost:5000", "x", None, SHA256),
        # Path component separators: '.', '_', '__', one or more '-'.
        ("x/a.b_c__d--e-f/g", "docker.io", "x/a.b_c__d--e-f/g", "latest", None),
        ("0/1", "docker.io", "0/1", "latest", None),
        # Tags: word characters, '.', '-', starting with a word character, up to 128.
        ("python:_private", "docker.io", "library/python", "_private", None),
        ("python:UPPER-Case.1", "docker.io", "library/python", "UPPER-Case.1", None),
        ("python:" + "a" * 128, "docker.io", "library/python", "a" * 128, None),
    ],
)
def test_valid_references(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    assert parse_reference(text) == ImageReference(registry, repository, tag, digest)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (" python", "whitespace"),
        ("python ", "whitespace"),
        ("python\n", "whitespace"),
        ("\tpython", "whitespace"),
        ("https://ghcr.io/org/app", "scheme"),
        ("http://localhost:5000/x", "scheme"),
        ("Python", "lowercase"),
        ("library/Python", "lowercase"),
        ("ghcr.io/Org/app", "lowercase"),
        ("python:", "tag"),
        ("python:.hidden", "tag"),
        ("python:-dash", "tag"),
        ("python:" + "a" * 129, "tag"),
        ("python:a b", "tag"),
        ("python:a/b", "host[:port]"),  # 'python:a' is a host with a bad port
        ("python:tést", "tag"),
        ("python:٣", "tag"),
        ("python:3:4", "not valid"),
        (f"python@{SHA256[:-1]}", "64 lowercase hex"),
        (f"python@{SHA256}0", "64 lowercase hex"),
        (f"python@{SHA256.upper().replace('SHA256', 'sha256')}", "64 lowercase hex"),
        ("python@sha256:" + "g" * 64, "64 lowercase hex"),
        ("python@sha512:" + "a" * 64, "128 lowercase hex"),
        ("python@sha384:" + "a" * 64, "96 lowercase hex"),
        ("python@sha256:abc", "algorithm:hex"),
        ("python@sha256", "algorithm:hex"),
        ("python@" + "a" * 64, "algorithm:hex"),
        ("python@", "algorithm:hex"),
        (f"python@{SHA256}@{SHA256}", "algorithm:hex"),
        (f"@{SHA256}", "missing"),
        (":tag", "missing"),
        ("localhost:5000/", "missing"),
        ("ghcr.io/", "missing"),
        ("ghcr.io/:tag", "missing"),
        ("/python", "not valid"),
        ("python/", "not valid"),
        ("a//b", "not valid"),
        ("-a/b", "not valid"),
        ("a-/b", "not valid"),
        ("a..b", "not valid"),
        ("a___b", "not valid"),
        ("a._b", "not valid"),
        ("_a", "not valid"),
        ("localhost:0/x", "out of range"),
        ("localhost:65536/x", "out of range"),
        ("localhost:99999999999999999999/x", "out of range"),
        ("localhost:/x", "host[:port]"),
        ("localhost:abc/x", "host[:port]"),
        ("-bad.com/x", "host[:port]"),
        ("bad-.com/x", "host[:port]"),
        ("bad..com/x", "host[:port]"),
        ("bad_host.com/x", "host[:port]"),
        ("[::1/x", "host[:port]"),
        ("ghcr.io/" + "a" * 248, "longer than 255"),
        ("a" * 242, "longer than 255"),
    ],
)
def test_invalid_references_quote_input_and_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    error = info.value
    assert isinstance(error, WatcherError)
    assert error.reference == text
    assert repr(text) in str(error)
    assert reason in error.reason


def test_name_length_limit_is_on_the_normalized_name() -> None:
    # docker.io/library/ + 237 = 255 characters: allowed; one more is not.
    assert parse_reference("a" * 237).repository == "library/" + "a" * 237
    with pytest.raises(InvalidReference, match="longer than 255"):
        parse_reference("a" * 238)
    assert parse_reference("ghcr.io/" + "a" * 247).repository == "a" * 247


@pytest.mark.parametrize("port", ["1", "80", "5000", "65535"])
def test_ports_in_range(port: str) -> None:
    assert parse_reference(f"localhost:{port}/x").registry == f"localhost:{port}"


def test_uppercase_hint_only_for_uppercase() -> None:
    with pytest.raises(InvalidReference, match="must be lowercase"):
        parse_reference("Python")
    with pytest.raises(InvalidReference) as info:
        parse_reference("a..b")
    assert "lowercase" not in info.value.reason


def test_unknown_digest_algorithm_is_not_length_checked() -> None:
    ref = parse_reference("python@blake3:" + "a" * 32)
    assert ref.digest == "blake3:" + "a" * 32
    assert ref.tag is None


@pytest.mark.parametrize(
    ("text", "api_host"),
    [
        ("python", "registry-1.docker.io"),
        ("docker.io/library/python", "registry-1.docker.io"),
        ("index.docker.io/x/y", "registry-1.docker.io"),
        ("ghcr.io/org/app", "ghcr.io"),
        ("localhost:5000/x", "localhost:5000"),
    ],
)
def test_api_host(text: str, api_host: str) -> None:
    assert parse_reference(text).api_host == api_host


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("python", "docker.io/library/python:latest"),
        ("index.docker.io/python:3", "docker.io/library/python:3"),
        ("ghcr.io/org/app:v2", "ghcr.io/org/app:v2"),
        ("localhost:5000/x", "localhost:5000/x:latest"),
        (f"python@{SHA256}", f"docker.io/library/python@{SHA256}"),
        (f"python:3.12@{SHA256}", f"docker.io/library/python:3.12@{SHA256}"),
    ],
)
def test_str_is_fully_qualified(text: str, expected: str) -> None:
    assert str(parse_reference(text)) == expected


def test_name_manifest_reference_and_with_tag() -> None:
    tagged = parse_reference("ghcr.io/org/app:v2")
    assert tagged.name == "ghcr.io/org/app"
    assert tagged.manifest_reference == "v2"

    pinned = parse_reference(f"ghcr.io/org/app:v2@{SHA256}")
    assert pinned.name == "ghcr.io/org/app"
    assert pinned.manifest_reference == SHA256

    retagged = pinned.with_tag("v3")
    assert retagged == ImageReference("ghcr.io", "org/app", "v3", None)
    assert retagged.manifest_reference == "v3"
    assert pinned.digest == SHA256  # frozen: with_tag returns a new reference


def test_references_are_hashable_values() -> None:
    assert parse_reference("python") == parse_reference("docker.io/library/python:latest")
    assert len({parse_reference("python"), parse_reference("index.docker.io/python")}) == 1
    with pytest.raises(AttributeError):
        parse_reference("python").tag = "3"  # type: ignore[misc]


# --- properties ---------------------------------------------------------------------------

_alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_separator = st.sampled_from([".", "_", "__", "-", "--"])
_component = st.builds(
    lambda first, rest: first + "".join(sep + part for sep, part in rest),
    _alnum,
    st.lists(st.tuples(_separator, _alnum), max_size=2),
)
_path = st.lists(_component, min_size=1, max_size=3).map("/".join)
_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,5}[a-zA-Z0-9])?", fullmatch=True)
_host = st.one_of(
    st.just(""),
    st.just("localhost"),
    st.just("docker.io"),
    st.just("index.docker.io"),
    st.builds(lambda a, b: f"{a}.{b}", _label, _label),
    st.builds(lambda h, p: f"{h}:{p}", _label, st.integers(1, 65535)),
    st.just("[::1]:5000"),
)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_digest = st.one_of(
    st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True),
    st.from_regex(r"sha512:[0-9a-f]{128}", fullmatch=True),
)


@st.composite
def valid_references(draw: st.DrawFn) -> str:
    host = draw(_host)
    text = f"{host}/{draw(_path)}" if host else draw(_path)
    tag = draw(st.none() | _tag)
    digest = draw(st.none() | _digest)
    if tag:
        text += f":{tag}"
    if digest:
        text += f"@{digest}"
    return text


@FAST
@given(valid_references())
def test_str_round_trips(text: str) -> None:
    ref = parse_reference(text)
    assert parse_reference(str(ref)) == ref
    assert str(parse_reference(str(ref))) == str(ref)
    assert ref.tag is not None or ref.digest is not None
    assert ref.registry != "index.docker.io"
    if ref.registry == "docker.io":
        assert "/" in ref.repository


@FAST
@given(st.text(max_size=40) | st.text("ab1:/@._-Aé٣ \n", max_size=30))
def test_arbitrary_text_parses_or_raises_invalid_reference(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        error: InvalidReference | None = exc
    else:
        error = None
        assert parse_reference(str(ref)) == ref
        assert str(ref).isascii()
    if error is not None:
        assert error.reference == text


@pytest.mark.parametrize(
    "text",
    [
        "python",
        "127.0.0.1:5055/lib/python:3.12-slim",
        "localhost:5000/x",
        "python@sha256:" + "a" * 64,
        "ghcr.io/org/app:v2@sha256:" + "b" * 64,
    ],
)
def test_split_tag_agrees_with_parsing(text: str) -> None:
    ref = parse_reference(text)
    assert split_tag(str(ref)) == (ref.name, ref.tag)


@pytest.mark.parametrize(
    ("text", "registry"),
    [
        ("Registry.Example:5000/x", "registry.example:5000"),
        ("registry.example:5000/x", "registry.example:5000"),
        ("GHCR.IO/org/app", "ghcr.io"),
        ("Index.Docker.IO/library/python", "docker.io"),
    ],
)
def test_registry_hosts_compare_case_insensitively(text: str, registry: str) -> None:
    ref = parse_reference(text)
    assert ref.registry == registry
    assert ref == parse_reference(text.lower())


@pytest.mark.parametrize(
    "digest",
    [
        SHA256,
        "sha512:" + "b" * 128,
        "sha384:" + "c" * 96,
        "blake3:" + "A" * 10,  # unregistered: only the grammar applies
        "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
        "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
    ],
)
def test_valid_digests(digest: str) -> None:
    assert is_digest(digest)
    assert digest_problem(digest) is None


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("garbage-not-a-digest", "algorithm:hex"),
        ("", "algorithm:hex"),
        ("SHA256:" + "a" * 64, "algorithm:hex"),
        ("sha256:" + "A" * 64, "64 lowercase hex"),
        ("sha256:" + "a" * 63, "64 lowercase hex"),
        ("sha512:" + "a" * 64, "128 lowercase hex"),
        ("sha256:" + "a" * 64 + "\n", "algorithm:hex"),
        ("sha256:" + "a" * 64 + " ", "algorithm:hex"),
        ("sha256-:" + "a" * 64, "algorithm:hex"),
        ("sha256:", "algorithm:hex"),
        ("sha256:a/b", "algorithm:hex"),
    ],
)
def test_malformed_digests_say_why(digest: str, reason: str) -> None:
    assert not is_digest(digest)
    assert reason in (digest_problem(digest) or "")
