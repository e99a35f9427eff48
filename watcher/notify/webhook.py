"""The webhook channel: CloudEvents 1.0 over HTTP POST, signed per Standard Webhooks.

One event goes out in structured mode (``application/cloudevents+json``); a grouped channel
sends the batch as a JSON array (``application/cloudevents-batch+json``). The CloudEvents
envelope is a handful of fixed attributes and the signature one HMAC, so both are written here
rather than taken from the ``cloudevents``/``standardwebhooks`` packages; the tests check the
signature with the ``standardwebhooks`` package.

2xx: delivered. 408, 429, 5xx, timeouts and connection errors: retry (honouring Retry-After).
Other answers: failed, with the start of the response text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import httpx

from watcher.core.retry_after import parse_retry_after
from watcher.notify.errors import ChannelError
from watcher.notify.message import Batch, JsonValue, Notice
from watcher.notify.outcome import Outcome
from watcher.notify.redact import clean, redact_url

TYPE_PREFIX = "io.watcher."
PLAN_TYPE = TYPE_PREFIX + "rebuild_plan"
EVENT_MEDIA_TYPE = "application/cloudevents+json"
BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
RESPONSE_TEXT_LIMIT = 4096
SECRET_PREFIX = "whsec_"
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def default_source() -> str:
    return f"urn:watcher:{socket.gethostname() or 'localhost'}"


def cloudevent(notice: Notice, source: str) -> dict[str, JsonValue]:
    """``notice`` as a CloudEvents 1.0 event in structured JSON form."""
    return {
        "specversion": "1.0",
        "id": notice.event_id,
        "source": source,
        "type": TYPE_PREFIX + notice.kind,
        "time": notice.iso_time,
        "subject": notice.image,
        "datacontenttype": "application/json",
        "data": dict(notice.payload),
    }


def plan_event(batch: Batch, source: str) -> dict[str, JsonValue] | None:
    """The batch's grouped view as one more CloudEvent (``io.watcher.rebuild_plan``): per
    dependent, what to do once about every event of the batch. Only for a batch of several
    events with dependents to act on: one event's own ``data.dependents`` already says it.
    Its id is derived from the batch's, so a resend carries the same."""
    if len(batch) < 2:
        return None
    plans = batch.plans()
    if not plans:
        return None
    return {
        "specversion": "1.0",
        "id": f"{batch.id}-plan",
        "source": source,
        "type": PLAN_TYPE,
        "time": max(batch.notices, key=lambda notice: notice.time).iso_time,
        "subject": ", ".join(dict.fromkeys(notice.image for notice in batch.notices)),
        "datacontenttype": "application/json",
        "data": {"batch_id": batch.id,
                 "events": [notice.event_id for notice in batch.notices],
                 "dependents": [plan.to_json() for plan in plans]},
    }


def secret_key(secret: str) -> bytes:
    """The HMAC key: a ``whsec_`` secret is base64 after the prefix; any other is its UTF-8."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX):] + "==", validate=False)
        except ValueError as exc:
            raise ChannelError("webhook", "a secret starting with 'whsec_' must be base64 "
                               "after the prefix") from exc
    return secret.encode()


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookChannel:
    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        secret: str | None = None,
        headers: Mapping[str, str] | None = None,
        source: str | None = None,
        grouped: bool = True,
        timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            why = clean(str(exc), _url_secrets(url))
            raise ChannelError(name or "webhook",
                               f"{redact_url(url)!r} is not a valid URL: {why}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ChannelError(name or "webhook", f"{redact_url(url)!r} is not an http(s) URL")
        self._name = name or f"webhook {parsed.host}"
        self._url = url
        self._key = secret_key(secret) if secret else None
        self._secret = secret
        ours = {"content-type", "content-length", "host", *SIGNATURE_HEADERS}
        clashes = sorted(key for key in (headers or {}) if key.lower() in ours)
        if clashes:
            raise ChannelError(self._name, f"header {clashes[0]!r} is set by watcher itself; "
                               "remove it from the custom headers")
        self._headers = dict(headers or {})
        self.source = source or default_source()
        self._grouped = grouped
        self.timeout = timeout
        self._client = client

    @property
    def name(self) -> str:
        return self._name

    @property
    def grouped(self) -> bool:
        return self._grouped

    @property
    def url(self) -> str:
        """The URL as it may be shown: no userinfo, query values masked."""
        return redact_url(self._url)

    @property
    def _secrets(self) -> list[str | None]:
        parsed = httpx.URL(self._url)
        return [self._secret, parsed.password, *self._headers.values(),
                *(value for _, value in parsed.params.multi_items())]

    def request(self, batch: Batch, *, now: float | None = None) -> tuple[dict[str, str], bytes]:
        """The headers and body that ``send`` posts for ``batch``."""
        document: JsonValue
        if self._grouped or len(batch) > 1:
            document = [cloudevent(notice, self.source) for notice in batch.notices]
            if (plan := plan_event(batch, self.source)) is not None:
                document.append(plan)
            media_type = BATCH_MEDIA_TYPE
        else:
            document = cloudevent(batch.first, self.source)
            media_type = EVENT_MEDIA_TYPE
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {**self._headers, "content-type": media_type,
                   "user-agent": "watcher-notify/1"}
        if self._key is not None:
            timestamp = int(time.time() if now is None else now)
            headers["webhook-id"] = batch.id
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = signature(self._key, batch.id, timestamp, body)
        return headers, body

    async def send(self, batch: Batch) -> Outcome:
        headers, body = self.request(batch)
        if self._client is not None:
            return await self._post(self._client, headers, body)
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            return await self._post(client, headers, body)

    async def _post(self, client: httpx.AsyncClient, headers: dict[str, str],
                    body: bytes) -> Outcome:
        where = f"{self._name} ({self.url})"
        try:
            async with client.stream("POST", self._url, headers=headers, content=body,
                                     timeout=self.timeout) as response:
                text = await _start_of(response)
        except httpx.TimeoutException:
            return Outcome.retry(f"{where} did not answer within {self.timeout:g}s",
                                 secrets=self._secrets)
        except httpx.TransportError as exc:
            return Outcome.retry(f"{where}: cannot connect: {type(exc).__name__}: {exc}",
                                 secrets=self._secrets)
        status = response.status_code
        if 200 <= status < 300:
            return Outcome.delivered()
        answered = f"{where} answered {status}" + (f": {text}" if text else "")
        if status in (408, 429) or status >= 500:
            return Outcome.retry(answered, secrets=self._secrets,
                                 retry_after=parse_retry_after(
                                     response.headers.get("retry-after")))
        if 300 <= status < 400:
            answered += " (redirects are not followed: configure the final URL)"
        return Outcome.failed(answered, secrets=self._secrets)


def _url_secrets(url: str) -> list[str | None]:
    try:
        parts = urlsplit(url)
        return [parts.username, parts.password, *parse_qs(parts.query).keys(),
                *(value for values in parse_qs(parts.query).values() for value in values)]
    except ValueError:
        return [url]


async def _start_of(response: httpx.Response) -> str:
    kept = bytearray()
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= RESPONSE_TEXT_LIMIT:
            break
    return bytes(kept[:RESPONSE_TEXT_LIMIT]).decode(response.encoding or "utf-8", "replace")
