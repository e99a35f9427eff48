"""What a failed HTTP exchange means: THE mapping from an HTTP status to a watcher error, and
the error for a request that got no usable answer (unreachable, untrusted TLS, malformed)."""

from __future__ import annotations

import ssl

import httpx

from watcher.errors import (
    InvalidResponse,
    NotFound,
    RateLimited,
    RegistryError,
    RegistryUnavailable,
    Unauthorized,
)
from watcher.registry.tls import TlsSettings


def error_for_status(
    status: int,
    *,
    registry: str,
    reference: str | None,
    what: str,
    retry_after: float | None = None,
    realm: str | None = None,
    has_credentials: bool | None = None,
) -> RegistryError:
    """THE mapping from an HTTP status to a watcher error; every message says what failed.

    ``has_credentials`` tells a 401/403 without credentials ("no credentials are configured")
    from credentials refused ("check the username and password"); ``None`` when unknown.
    """
    kwargs = {"registry": registry, "reference": reference, "status": status}
    if status == 404:
        return NotFound(f"{what}: not found (404)", **kwargs)  # type: ignore[arg-type]
    if status in (401, 403):
        where = f" for realm {realm!r}" if realm else ""
        if has_credentials is False:
            refusal = "authentication required" if status == 401 else "access denied"
            hint = (f"{refusal}{where} ({status}) and no credentials are configured for this "
                    "registry; add them to the config file or log in with 'docker login'")
        elif has_credentials and status == 401:
            hint = (f"the registry refused the credentials{where} (401); check the username "
                    "and password or token configured for this registry")
        elif has_credentials:
            hint = (f"access denied{where} (403): the credentials configured for this registry "
                    "are not allowed to pull this repository")
        else:
            hint = f"access denied{where} ({status}); check the credentials for this registry"
        return Unauthorized(f"{what}: {hint}", realm=realm, **kwargs)
    if status == 429:
        wait = f"; retry after {retry_after:.0f}s" if retry_after is not None else ""
        return RateLimited(f"{what}: rate limited (429){wait}", retry_after=retry_after, **kwargs)
    if status >= 500:
        return RegistryUnavailable(f"{what}: server error ({status})", **kwargs)  # type: ignore[arg-type]
    return InvalidResponse(f"{what}: unexpected HTTP status {status}", **kwargs)  # type: ignore[arg-type]


MALFORMED = (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError)


def tls_refused(exc: BaseException) -> bool:
    """The TLS handshake failed on the certificate: asking again will not change it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or (
            "CERTIFICATE_VERIFY_FAILED" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# TLS alerts a registry sends when it wants a client certificate, or refuses the one given.
_CLIENT_CERTIFICATE_ALERTS = ("ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_REQUIRED",
                              "ALERT_UNKNOWN_CA", "ALERT_CERTIFICATE_UNKNOWN",
                              "ALERT_UNSUPPORTED_CERTIFICATE", "ALERT_ACCESS_DENIED")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def client_certificate_refused(exc: BaseException) -> bool:
    """The registry ended the TLS handshake over the client certificate (none, or refused)."""
    return any(alert in str(seen) for seen in _chain(exc) for alert in _CLIENT_CERTIFICATE_ALERTS)


def proxy_refused(exc: BaseException) -> bool:
    """The proxy wants other credentials (407): asking again will not change it."""
    return isinstance(exc, httpx.ProxyError) and ": 407 " in str(exc)


def worth_retrying(exc: BaseException) -> bool:
    return (not isinstance(exc, MALFORMED) and not tls_refused(exc)
            and not client_certificate_refused(exc) and not proxy_refused(exc))


def _verify_message(exc: BaseException) -> str:
    for seen in _chain(exc):
        message = getattr(seen, "verify_message", None)
        if isinstance(seen, ssl.SSLCertVerificationError) and message:
            return str(message)
    return ""


def untrusted(api_host: str, exc: BaseException, tls: TlsSettings | None) -> str:
    """Why ``api_host``'s certificate was refused, and which setting would change that."""
    reason = _verify_message(exc)
    head = f"TLS certificate verify failed for {api_host}" + (f" ({reason})" if reason else "")
    if "mismatch" in reason.lower():
        return (f"{head}: the certificate is not issued for {api_host}; use the host name "
                "the certificate names in the image reference")
    if tls is not None and tls.ca_file is not None:
        return (f"{head}: the certificate is signed neither by the CA in ca_file "
                f"({tls.ca_file}) nor by a CA trusted by default; check that ca_file holds "
                "the CA that issued the registry's certificate")
    return (f"{head}: the registry's certificate is not signed by a CA this machine trusts; "
            "set ca_file in its [[registries]] entry to the CA bundle (PEM) that signed it")


def _client_certificate(api_host: str, tls: TlsSettings | None) -> str:
    if tls is None or tls.client_cert is None:
        return (f"the TLS handshake with {api_host} failed: the registry asks for a client "
                "certificate (mutual TLS); set client_cert and client_key in its "
                "[[registries]] entry")
    return (f"the TLS handshake with {api_host} failed: the registry refused the client "
            f"certificate in client_cert ({tls.client_cert}); check that a CA the registry "
            "trusts issued it and that it has not expired")


def transport_failure(
    exc: BaseException, *, registry: str, api_host: str, reference: str | None, what: str,
    tls: TlsSettings | None = None,
) -> RegistryError:
    """The error for a request that got no usable HTTP answer; ``tls`` is the registry's TLS
    settings, named in the hint when a certificate is refused."""
    if isinstance(exc, MALFORMED):
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        if "HTTP request to an HTTPS server" in detail:
            detail += (" (the registry speaks HTTPS: set insecure = false, or ca_file, in its "
                       "[[registries]] entry)")
        return InvalidResponse(
            f"{what}: the registry sent a malformed response: {detail}",
            registry=registry, reference=reference,
        )
    if tls_refused(exc):
        return RegistryUnavailable(f"{what}: {untrusted(api_host, exc, tls)}",
                                   registry=registry, reference=reference)
    if client_certificate_refused(exc):
        return RegistryUnavailable(f"{what}: {_client_certificate(api_host, tls)}",
                                   registry=registry, reference=reference)
    return RegistryUnavailable(f"{what}: {describe(exc)}", registry=registry,
                               reference=reference)


def describe(exc: BaseException) -> str:
    # Transports translate their errors into httpx's: judge by the original one, since the
    # aiohttp transport reports a dropped connection as a ConnectTimeout.
    if isinstance(exc, httpx.ProxyError):
        return f"cannot connect through {exc}"  # names the proxy, without credentials
    if isinstance(exc, httpx.ProxyError):
        return f"cannot connect through {exc}"  # names the proxy, without credentials
    root = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(root, TimeoutError) or "timeout" in type(root).__name__.lower():
        return "timed out"
    text = str(root) or type(root).__name__
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        text += (" (the registry may speak plain HTTP: allow it with insecure = true in its "
                 "[[registries]] entry)")
    return f"cannot connect: {text}"
