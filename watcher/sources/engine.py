"""A container engine as a source: the containers a Docker Engine API endpoint (Docker, or
Podman's compatible ``podman system service``) has, and their images.

Spoken with aiohttp, over a Unix socket or TCP (with TLS client certificates). The API
version is negotiated: ``GET /version`` says the newest the engine speaks, and watcher uses
the lower of it and :data:`MAX_API`; an engine older than :data:`MIN_API` is refused with
:class:`~watcher.errors.EngineTooOld`. Every failure is an
:class:`~watcher.errors.EngineError` naming the source, so one engine failing never stops
the others.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from watcher.core.containers import ContainerInfo
from watcher.errors import (
    EngineError,
    EngineInvalidResponse,
    EnginePermissionDenied,
    EngineTooOld,
    EngineUnavailable,
)

# The Engine API versions watcher speaks: 1.24 (Docker 1.12) has every field it reads.
MIN_API = (1, 24)
MAX_API = (1, 43)
DEFAULT_TIMEOUT = 15.0
MAX_BODY = 64 * 1024 * 1024  # a host with thousands of containers lists a few MB
CONCURRENT_INSPECTS = 8
# Events that change which containers there are, or what they run ("destroy" is Docker's
# word, "remove" Podman's). Filtered here: engines differ in the names their filters know.
RESCAN_EVENTS = frozenset({"create", "start", "destroy", "remove", "rename"})
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True)
class EngineEndpoint:
    """Where one engine source is, and what to read of it."""

    name: str
    url: str  # unix:///path or tcp://host:port
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    tls: bool = False
    stopped: bool = False  # list containers that are not running too
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class EngineScan:
    """One reading of an engine: its containers, and the API version spoken."""

    endpoint: EngineEndpoint
    api_version: str
    containers: tuple[ContainerInfo, ...]


class EngineClient:
    """One engine's API; use ``async with EngineClient(endpoint) as client``."""

    def __init__(self, endpoint: EngineEndpoint) -> None:
        self.endpoint = endpoint
        self._session: aiohttp.ClientSession | None = None
        self._version: str | None = None

    async def __aenter__(self) -> EngineClient:
        connector: aiohttp.BaseConnector
        parts = urlsplit(self.endpoint.url)
        if parts.scheme == "unix":
            connector = aiohttp.UnixConnector(path=parts.path)
            self._base = "http://localhost"
        else:
            context = self._tls_context() if self.endpoint.tls else None
            connector = aiohttp.TCPConnector(ssl=context if context is not None else False)
            scheme = "https" if self.endpoint.tls else "http"
            self._base = f"{scheme}://{parts.netloc}"
        timeout = aiohttp.ClientTimeout(total=self.endpoint.timeout)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the API --------------------------------------------------------------------------

    async def negotiate(self) -> str:
        """The API version to speak: the engine's newest, at most :data:`MAX_API`."""
        if self._version is not None:
            return self._version
        answer = await self._get_json("/version")
        if not isinstance(answer, dict):
            raise self._invalid("/version", "not a JSON object")
        text = answer.get("ApiVersion")
        version = _version(text)
        if version is None:
            raise self._invalid("/version", f"ApiVersion {text!r} is not a version")
        if version < MIN_API:
            raise EngineTooOld(
                f"it speaks Engine API {text} (engine version {answer.get('Version', '?')}); "
                f"watcher needs {_text(MIN_API)} or newer: upgrade the engine",
                source=self.endpoint.name, url=self.endpoint.url)
        self._version = _text(min(version, MAX_API))
        return self._version

    async def scan(self) -> EngineScan:
        """Every container (running ones, or all with ``stopped``) with its image's digests
        and platform, and when it started."""
        version = await self.negotiate()
        listing = await self._get_json(
            f"/v{version}/containers/json", params={"all": "1" if self.endpoint.stopped else "0"})
        if not isinstance(listing, list):
            raise self._invalid("containers/json", "not a JSON list")
        limit = asyncio.Semaphore(CONCURRENT_INSPECTS)
        images: dict[str, asyncio.Task[Mapping[str, Any] | None]] = {}

        async def image(image_id: str) -> Mapping[str, Any] | None:
            async with limit:
                return await self._inspect(f"/v{version}/images/{image_id}/json")

        async def container(item: Mapping[str, Any]) -> ContainerInfo | None:
            container_id, image_id = item.get("Id"), item.get("ImageID")
            if not isinstance(container_id, str) or not isinstance(image_id, str):
                raise self._invalid("containers/json", "a container without Id or ImageID")
            if image_id not in images:
                images[image_id] = asyncio.ensure_future(image(image_id))
            async with limit:
                inspected = await self._inspect(f"/v{version}/containers/{container_id}/json")
            if inspected is None:  # removed meanwhile
                return None
            image_info = await images[image_id] or {}
            return _container(item, inspected, image_info)

        found = await asyncio.gather(*(container(item) for item in listing
                                       if isinstance(item, dict)))
        containers = tuple(sorted((c for c in found if c is not None), key=lambda c: c.name))
        return EngineScan(self.endpoint, version, containers)

    async def events(self) -> AsyncIterator[str]:
        """The engine's container events that change what it runs (create, start, destroy,
        rename), as they happen: yields each event's action. Ends when the engine closes the
        stream; raises :class:`EngineError` when it cannot be read."""
        version = await self.negotiate()
        filters = json.dumps({"type": ["container"]})
        assert self._session is not None
        try:
            async with self._session.get(
                f"{self._base}/v{version}/events", params={"filters": filters},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.endpoint.timeout),
            ) as response:
                if response.status != 200:
                    raise self._invalid("events", f"answered {response.status}")
                async for line in response.content:
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        raise self._invalid("events", "a line that is not JSON") from None
                    action = event.get("Action") or event.get("status") if isinstance(
                        event, dict) else None
                    if action in RESCAN_EVENTS:
                        yield str(action)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise self._transport(exc) from exc

    # -- internals ------------------------------------------------------------------------

    async def _inspect(self, path: str) -> Mapping[str, Any] | None:
        """An object the engine may have removed since it was listed (None then)."""
        answer = await self._get_json(path, missing_ok=True)
        if answer is None:
            return None
        if not isinstance(answer, dict):
            raise self._invalid(path, "not a JSON object")
        return answer

    async def _get_json(self, path: str, *, params: Mapping[str, str] | None = None,
                        missing_ok: bool = False) -> Any:
        assert self._session is not None, "use EngineClient in `async with`"
        try:
            async with self._session.get(f"{self._base}{path}", params=params) as response:
                if response.status == 404 and missing_ok:
                    return None
                body = await _read_bounded(response)
                if body is None:
                    raise self._invalid(path, f"an answer over {MAX_BODY} bytes")
                if response.status != 200:
                    raise self._invalid(path, f"answered {response.status}: "
                                              f"{_message(body)}")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise self._transport(exc) from exc
        try:
            return json.loads(body)
        except ValueError:
            raise self._invalid(path, "an answer that is not JSON") from None

    def _transport(self, exc: BaseException) -> EngineError:
        source, url = self.endpoint.name, self.endpoint.url
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, PermissionError):
                return EnginePermissionDenied(
                    "permission denied on the socket: run watcher as a user the socket "
                    "allows (for Docker, a member of the docker group)", source=source, url=url)
            if isinstance(cause, FileNotFoundError):
                return EngineUnavailable(
                    "no socket at that path: is the engine running? (Podman: `podman system "
                    "service`, or enable podman.socket)", source=source, url=url)
            cause = getattr(cause, "os_error", None) or cause.__cause__
        if "certificate required" in str(exc).lower():
            return EngineUnavailable("it requires a client certificate: set client_cert and "
                                     "client_key", source=source, url=url)
        if _caused_by(exc, ssl.SSLCertVerificationError) or isinstance(
                exc, aiohttp.ClientConnectorCertificateError):
            reason = getattr(exc, "certificate_error", None) or exc
            return EngineUnavailable(
                f"its certificate is not trusted ({getattr(reason, 'verify_message', reason)}): "
                "set ca_file to the CA that signed it", source=source, url=url)
        if _caused_by(exc, ConnectionRefusedError):
            return EngineUnavailable("connection refused: is the engine listening there?",
                                     source=source, url=url)
        if _caused_by(exc, ConnectionResetError) or isinstance(exc,
                                                              aiohttp.ServerDisconnectedError):
            hint = ("it may want a client certificate: set client_cert and client_key"
                    if self.endpoint.tls and not self.endpoint.client_cert else
                    "if it serves TLS (usually port 2376), set tls = true and ca_file"
                    if not self.endpoint.tls else "check its TLS settings")
            return EngineUnavailable(f"the engine closed the connection; {hint}",
                                     source=source, url=url)
        if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
            return EngineUnavailable(f"no answer within {self.endpoint.timeout:g}s",
                                     source=source, url=url)
        if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
            return EngineUnavailable(f"TLS failed: {exc}", source=source, url=url)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return EngineUnavailable(f"cannot connect: {reason}", source=source, url=url)

    def _invalid(self, path: str, what: str) -> EngineInvalidResponse:
        return EngineInvalidResponse(f"{path.lstrip('/')}: {what}", source=self.endpoint.name,
                                     url=self.endpoint.url)

    def _tls_context(self) -> ssl.SSLContext:
        endpoint = self.endpoint
        try:
            context = ssl.create_default_context(cafile=endpoint.ca_file)
            if endpoint.client_cert:
                context.load_cert_chain(endpoint.client_cert, endpoint.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise EngineUnavailable(f"cannot load its TLS files: {exc}", source=endpoint.name,
                                    url=endpoint.url) from exc
        return context


async def scan_engine(endpoint: EngineEndpoint) -> EngineScan:
    """Read one engine once."""
    async with EngineClient(endpoint) as client:
        return await client.scan()


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, kind):
            return True
        cause = getattr(cause, "os_error", None) or cause.__cause__
    return False


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes | None:
    """The whole body; None past :data:`MAX_BODY`."""
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _container(item: Mapping[str, Any], inspected: Mapping[str, Any],
               image: Mapping[str, Any]) -> ContainerInfo:
    names = item.get("Names")
    first = names[0] if isinstance(names, list) and names else inspected.get("Name")
    name = str(first or item["Id"][:12]).lstrip("/")
    labels = item.get("Labels") or {}
    digests = image.get("RepoDigests")
    state = _table(inspected, "State")
    config = _table(inspected, "Config")
    reference = item.get("Image") or config.get("Image") or item["ImageID"]
    return ContainerInfo(
        id=str(item["Id"]),
        name=name,
        image=str(reference),
        image_id=str(item["ImageID"]),
        state=str(item.get("State") or state.get("Status") or "unknown"),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        repo_digests=tuple(str(d) for d in digests) if isinstance(digests, list) else (),
        platform=_platform(image),
        created_at=_time(inspected.get("Created")),
        started_at=_time(state.get("StartedAt")),
    )


def _table(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _platform(image: Mapping[str, Any]) -> str | None:
    os_name, arch, variant = image.get("Os"), image.get("Architecture"), image.get("Variant")
    if not os_name or not arch:
        return None
    return f"{os_name}/{arch}/{variant}" if variant else f"{os_name}/{arch}"


def _time(value: object) -> datetime | None:
    """An engine's RFC 3339 time (nanoseconds, ``Z``); None for Go's zero time."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.replace("Z", "+00:00")))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _version(text: object) -> tuple[int, int] | None:
    if not isinstance(text, str):
        return None
    match = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
    return (int(match[1]), int(match[2])) if match else None


def _text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _message(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return " ".join(body[:200].decode("utf-8", "replace").split())
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        return str(answer["message"])[:300]
    return "no message"
