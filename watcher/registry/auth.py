"""Authentication: ``WWW-Authenticate`` parsing, the token cache, the 401 → token → retry flow."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import MappingProxyType

import httpx

from watcher.errors import InvalidResponse, Unauthorized
from watcher.registry.http import Host, Requester, error_for_status, read_bounded

DEFAULT_EXPIRES_IN = 60.0
MAX_TOKEN_RESPONSE = 1024 * 1024


@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header; scheme and parameter names lowercased."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|({_TOKEN}))\s*$')
_SCHEME_REST = re.compile(rf"\s*({_TOKEN})(?:\s+(.*))?$", re.DOTALL)
_TOKEN68 = re.compile(r"\s*([A-Za-z0-9._~+/-]+=*)\s*$")


def _elements(text: str) -> list[str]:
    """Split at commas that are not inside a quoted string."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _param(text: str) -> tuple[str, str] | None:
    match = _PARAM.match(text)
    if not match:
        return None
    quoted, plain = match.group(2), match.group(3)
    value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else plain
    return match.group(1).lower(), value


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` values (RFC 9110 §11.6.1): several challenges per value,
    quoted strings that contain commas, escapes, case-insensitive schemes, token68 forms.
    Unreadable elements are skipped rather than failing the whole header."""
    found: list[Challenge] = []
    for text in values:
        scheme: str | None = None
        params: dict[str, str] = {}
        token68: str | None = None
        for element in _elements(text):
            param = _param(element)
            if param is not None and scheme is not None:
                params.setdefault(*param)
                continue
            match = _SCHEME_REST.match(element)
            if match is None:
                continue
            if scheme is not None:
                found.append(Challenge(scheme, MappingProxyType(params), token68))
            scheme, params, token68 = match.group(1).lower(), {}, None
            rest = match.group(2) or ""
            if rest.strip():
                param = _param(rest)
                if param is not None:
                    params[param[0]] = param[1]
                elif (t68 := _TOKEN68.match(rest)) is not None:
                    token68 = t68.group(1)
        if scheme is not None:
            found.append(Challenge(scheme, MappingProxyType(params), token68))
    return found


Fetch = Callable[[], Awaitable[tuple[str, float]]]


class TokenCache:
    """Bearer tokens per (host, scope) until shortly before they expire; one fetch per scope."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def get(self, key: tuple[str, str]) -> str | None:
        entry = self._tokens.get(key)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def put(self, key: tuple[str, str], token: str, expires_in: float) -> None:
        margin = min(10.0, expires_in * 0.1)
        self._tokens[key] = (token, self._clock() + expires_in - margin)

    async def get_or_fetch(self, key: tuple[str, str], fetch: Fetch, *, stale: str | None) -> str:
        """The cached token, else one fetched under the scope's lock. ``stale`` was refused."""
        token = self.get(key)
        if token is not None and token != stale:
            return token
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            token = self.get(key)
            if token is not None and token != stale:
                return token
            token, expires_in = await fetch()
            self.put(key, token, expires_in)
            return token


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class Authenticator:
    """Adds credentials to registry requests and answers 401 challenges once."""

    def __init__(self, requester: Requester, cache: TokenCache) -> None:
        self._requester = requester
        self._cache = cache
        self._challenges: dict[str, Challenge] = {}

    @asynccontextmanager
    async def request(
        self, host: Host, method: str, url: str, *, headers: dict[str, str], scope: str,
        reference: str | None, what: str, follow_redirects: bool = False,
    ) -> AsyncIterator[httpx.Response]:
        stale: str | None = None
        for attempt in (0, 1):
            authz = await self._authorization(host, scope, reference, stale)
            async with self._requester.request(
                host, method, url, headers={**headers, **authz}, reference=reference, what=what,
                follow_redirects=follow_redirects,
            ) as response:
                if response.status_code == 401 and attempt == 0:
                    learned = self._learn(host, response)
                    stale = authz.get("Authorization", "").partition(" ")[2] or None
                    creds = host.settings.credentials
                    can_basic = creds is not None and creds.basic is not None and not stale
                    if learned and (learned.scheme == "bearer" or can_basic):
                        continue
                if response.status_code in (401, 403):
                    known = self._challenges.get(host.api_host)
                    raise error_for_status(
                        response.status_code, registry=host.registry, reference=reference,
                        what=what, realm=known.realm if known else None,
                    )
                yield response
                return

    def _learn(self, host: Host, response: httpx.Response) -> Challenge | None:
        challenges = parse_challenges(response.headers.get_list("www-authenticate"))
        usable = [c for c in challenges if c.scheme in ("bearer", "basic")]
        usable.sort(key=lambda c: c.scheme != "bearer")
        if usable:
            self._challenges[host.api_host] = usable[0]
            return usable[0]
        return None

    async def _authorization(
        self, host: Host, scope: str, reference: str | None, stale: str | None
    ) -> dict[str, str]:
        creds = host.settings.credentials
        if creds is not None and creds.token is not None:
            return {"Authorization": f"Bearer {creds.token}"}
        challenge = self._challenges.get(host.api_host)
        if challenge is None:
            return {}
        if challenge.scheme == "basic":
            basic = creds.basic if creds else None
            return {"Authorization": _basic(*basic)} if basic else {}
        token = await self._cache.get_or_fetch(
            (host.api_host, scope),
            lambda: self._fetch_token(host, challenge, scope, reference),
            stale=stale,
        )
        return {"Authorization": f"Bearer {token}"}

    async def _fetch_token(
        self, host: Host, challenge: Challenge, scope: str, reference: str | None
    ) -> tuple[str, float]:
        realm = challenge.realm
        if not realm:
            raise Unauthorized(
                "the registry asked for a bearer token but named no realm",
                registry=host.registry, reference=reference, status=401,
            )
        url = httpx.URL(realm)
        creds = host.settings.credentials
        secret = creds is not None and (creds.basic is not None or creds.identity_token)
        if url.scheme != "https" and secret and not host.settings.insecure:
            raise Unauthorized(
                f"refusing to send credentials over plain HTTP to the token realm {realm!r}; "
                "set `insecure = true` for this registry if plain HTTP is intended",
                realm=realm, registry=host.registry, reference=reference,
            )
        query = {"scope": scope}
        if "service" in challenge.params:
            query["service"] = challenge.params["service"]
        realm_host = Host(host.registry, url.netloc.decode(), host.settings)
        headers: dict[str, str] = {"Accept": "application/json"}
        method = "GET"
        if creds is not None and creds.identity_token:
            method = "POST"
            form = {**query, "grant_type": "refresh_token", "client_id": "watcher",
                    "refresh_token": creds.identity_token}
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            target = url
            content: bytes | None = str(httpx.QueryParams(form)).encode()
        else:
            target = url.copy_merge_params(query)
            content = None
            if creds is not None and creds.basic is not None:
                headers["Authorization"] = _basic(*creds.basic)
        what = f"token request to {realm}"
        async with self._requester.request(
            realm_host, method, target, headers=headers, reference=reference, what=what,
            bounded=False, content=content,
        ) as response:
            if response.status_code != 200:
                raise error_for_status(
                    response.status_code, registry=host.registry, reference=reference,
                    what=what, realm=realm,
                )
            body = await read_bounded(
                response, MAX_TOKEN_RESPONSE, registry=host.registry, reference=reference,
                what=what, within=host.settings.timeout,
            )
        try:
            document = json.loads(body)
            token = document.get("token") or document.get("access_token")
            expires_in = float(document.get("expires_in") or DEFAULT_EXPIRES_IN)
        except (ValueError, AttributeError, TypeError) as exc:
            raise InvalidResponse(
                f"{what}: unreadable token response", registry=host.registry, reference=reference
            ) from exc
        if not isinstance(token, str) or not token:
            raise InvalidResponse(
                f"{what}: response has no token", registry=host.registry, reference=reference
            )
        return token, expires_in
