"""``[[sources.engine]]``: a Docker Engine API endpoint (Docker, or Podman's compatible
service) whose containers' images are tracked; one kind of ``[sources]``
(:mod:`watcher.config.sources`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from watcher.config.paths import relative_to_config
from watcher.config.reader import Reader

DEFAULT_ENGINE_URL = "unix:///var/run/docker.sock"
ENGINE_KEYS = (
    "name",
    "url",
    "ca_file",
    "client_cert",
    "client_key",
    "tls",
    "stopped",
    "labelled_only",
)


@dataclass(frozen=True)
class EngineSourceConfig:
    """One ``[[sources.engine]]``: a Docker Engine API endpoint, by name."""

    name: str
    url: str = DEFAULT_ENGINE_URL  # unix:///path or tcp://host:port
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    tls: bool = False  # tcp only: HTTPS (set when any of the three files is given)
    stopped: bool = False  # also the containers that are not running
    labelled_only: bool = False  # only containers labelled watcher.enable=true

    @property
    def socket_path(self) -> str | None:
        """The Unix socket's path; None for tcp://."""
        return urlsplit(self.url).path if self.url.startswith("unix://") else None


def parse_engine_sources(
    reader: Reader, sources: Mapping[str, Any], path: Path | None
) -> tuple[EngineSourceConfig, ...]:
    """Every ``[[sources.engine]]`` of the ``[sources]`` table (``sources``), names unique."""
    engines = tuple(
        parse_engine(reader, item, f"sources.engine[{i}]", path)
        for i, item in enumerate(reader.array_of_tables(sources, "sources.engine"))
    )
    reader.unique([e.name for e in engines], "sources.engine", "name")
    return engines


def parse_engine(
    reader: Reader, item: Mapping[str, Any], where: str, path: Path | None
) -> EngineSourceConfig:
    reader.keys(item, where, ENGINE_KEYS)
    name = reader.string(item, f"{where}.name")
    if not name or not name.strip():
        raise reader.error(f"{where}.name", "is required: a name for this engine, such as "
                                            "'build-host' (messages and `watcher status` use it)")
    url = _engine_url(reader, reader.string(item, f"{where}.url") or DEFAULT_ENGINE_URL,
                      f"{where}.url")
    files: dict[str, Path | None] = {}
    for key in ("ca_file", "client_cert", "client_key"):
        value = reader.string(item, f"{where}.{key}")
        files[key] = relative_to_config(path, Path(value)) if value else None
    if (files["client_cert"] is None) != (files["client_key"] is None):
        given = "client_cert" if files["client_cert"] else "client_key"
        missing = "client_key" if files["client_cert"] else "client_cert"
        raise reader.error(f"{where}.{missing}", f"is required with {given}: a client "
                                                 "certificate and its key go together")
    any_file = any(files.values())
    tls = reader.boolean(item, f"{where}.tls", any_file)
    if url.startswith("unix://") and (any_file or tls):
        key = next((k for k, v in files.items() if v), "tls")
        raise reader.error(f"{where}.{key}", "TLS is for tcp:// engines; a Unix socket is "
                                             "protected by its file permissions")
    if not tls and any_file:
        raise reader.error(f"{where}.tls", "is false, but certificate files are given")
    return EngineSourceConfig(
        name=name.strip(),
        url=url,
        ca_file=files["ca_file"],
        client_cert=files["client_cert"],
        client_key=files["client_key"],
        tls=tls,
        stopped=reader.boolean(item, f"{where}.stopped", False),
        labelled_only=reader.boolean(item, f"{where}.labelled_only", False),
    )


def _engine_url(reader: Reader, url: str, key: str) -> str:
    """``unix:///absolute/path`` or ``tcp://host:port``, as Docker's ``DOCKER_HOST`` says."""
    example = "for example unix:///var/run/docker.sock or tcp://build-host:2376"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise reader.error(key, f"{url!r} is not a URL ({exc}): {example}") from None
    if parts.scheme == "unix":
        if parts.netloc or not parts.path.startswith("/"):
            raise reader.error(key, f"{url!r}: a Unix socket URL is unix:// and an absolute "
                                    f"path (three slashes), {example}")
        return f"unix://{parts.path}"
    if parts.scheme == "tcp":
        if not parts.hostname or port is None:
            raise reader.error(key, f"{url!r}: a tcp URL needs a host and a port, {example}")
        if parts.path not in ("", "/") or parts.query or parts.username:
            raise reader.error(key, f"{url!r}: a tcp URL is only tcp://host:port, {example}")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"tcp://{host}:{port}"
    raise reader.error(key, f"{url!r}: must start with unix:// or tcp://, {example}")
