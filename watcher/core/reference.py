"""Image references, parsed exactly as Docker parses them.

``python`` is ``docker.io/library/python:latest``; the first path component is a registry
host only when it contains a ``.`` or a ``:`` or is ``localhost``. Registry hosts are
lowercased: ``Registry.Example:5000/x`` and ``registry.example:5000/x`` are one image.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from watcher.core.digest import digest_problem
from watcher.errors import InvalidReference

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
# Every spelling of Docker Hub's host in references, config files and Docker's config.json.
DOCKER_HUB_ALIASES = frozenset(
    {DOCKER_HUB, DOCKER_HUB_API_HOST, "index.docker.io", "registry.hub.docker.com"}
)

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9a-fA-F:.]+\])(?::(?P<port>[0-9]+))?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)  # Docker's \w is [A-Za-z0-9_]
_MAX_NAME_LENGTH = 255


@dataclass(frozen=True, order=True)
class ImageReference:
    """A fully qualified image reference: registry, repository, and a tag and/or a digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """The host to talk to: Docker Hub's registry API is not served at docker.io."""
        return DOCKER_HUB_API_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        """Registry plus repository, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def manifest_reference(self) -> str:
        """What goes after ``/manifests/``: the digest when pinned, else the tag."""
        if self.digest:
            return self.digest
        assert self.tag is not None
        return self.tag

    def with_tag(self, tag: str) -> ImageReference:
        return ImageReference(self.registry, self.repository, tag, None)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> ImageReference:
    """Parse ``text`` as Docker does, or raise :class:`InvalidReference` saying what is wrong."""
    original = text
    if not text or text != text.strip():
        raise InvalidReference(original, "it is empty or has surrounding whitespace")
    if "://" in text:
        raise InvalidReference(original, "a reference has no scheme; drop the 'http(s)://' prefix")

    digest: str | None = None
    if "@" in text:
        text, digest = text.split("@", 1)
        _check_digest(original, digest)

    registry, remainder = _split_registry(original, text)

    tag: str | None = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise InvalidReference(
                original,
                f"tag {tag!r} is not valid (letters, digits, '_', '.', '-'; "
                "at most 128 characters; must not start with '.' or '-')",
            )

    if not remainder:
        raise InvalidReference(original, "the repository name is missing")
    for component in remainder.split("/"):
        if not _PATH_COMPONENT.fullmatch(component):
            hint = " (repository names must be lowercase)" if component.lower() != component else ""
            raise InvalidReference(
                original, f"repository path component {component!r} is not valid{hint}"
            )

    if registry == DOCKER_HUB and "/" not in remainder:
        remainder = f"library/{remainder}"
    if len(f"{registry}/{remainder}") > _MAX_NAME_LENGTH:
        raise InvalidReference(original, f"the name is longer than {_MAX_NAME_LENGTH} characters")

    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(registry, remainder, tag, digest)


def _split_registry(original: str, text: str) -> tuple[str, str]:
    first, sep, rest = text.partition("/")
    is_host = sep and ("." in first or ":" in first or first == "localhost")
    if not is_host:
        return DOCKER_HUB, text
    if not _DOMAIN.fullmatch(first):
        raise InvalidReference(original, f"registry host {first!r} is not a valid host[:port]")
    port = _DOMAIN.fullmatch(first).group("port")  # type: ignore[union-attr]
    if port is not None and not 0 < int(port) < 65536:
        raise InvalidReference(original, f"registry port {port} is out of range")
    return canonical_host(first), rest


def canonical_host(host: str) -> str:
    """The one spelling of a registry host: lowercased, Docker Hub's aliases as ``docker.io``.

    Host names are case-insensitive (RFC 4343): references, registry settings and Docker's
    credentials all go through here, so that ``Registry.Example`` and ``registry.example``
    (or ``index.docker.io`` and ``docker.io``) are one registry everywhere.
    """
    host = host.lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def _check_digest(original: str, digest: str) -> None:
    # Docker's reference grammar asks at least 32 characters of any algorithm's encoding.
    problem = digest_problem(digest)
    if len(digest.partition(":")[2]) < 32:
        problem = f"{digest!r} is not 'algorithm:hex' (at least 32 characters after ':')"
    if problem is not None:
        raise InvalidReference(original, f"digest {problem}")


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` or ``::1``, with or without a port: where Docker speaks
    plain HTTP without being told to (``127.0.0.1:5000``, ``[::1]:5000``, ``localhost``)."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_tag(canonical: str) -> tuple[str, str | None]:
    """Name and tag of a reference already in canonical form (``str(ImageReference)``),
    without parsing it again: for listing thousands of stored references."""
    name = canonical.split("@", 1)[0]
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        return name[:colon], name[colon + 1 :]
    return name, None
