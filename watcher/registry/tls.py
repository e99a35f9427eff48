"""TLS for one registry: a private CA bundle, a client certificate, or no verification at all.

:func:`load_tls` reads the files once, when the config is loaded, so a missing or invalid file
fails at start with the key named, never at the first request of a round. The client itself
reads no files: it is handed the :class:`TlsSettings` with its ready SSL context.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field

from watcher.errors import ConfigError


@dataclass(frozen=True)
class TlsSettings:
    """How to speak HTTPS to one registry (its token server and redirects included).

    ``ca_file`` is trusted in addition to the default CAs; ``client_cert``/``client_key`` are
    presented when the registry asks for a client certificate; ``verify=False`` checks no
    certificate at all. Two loads of the same files are different settings (the files may
    have changed in between), so a reloaded config opens new connections.
    """

    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True
    context: ssl.SSLContext = field(default_factory=lambda: default_context(), repr=False)


class TlsError(ConfigError):
    """A TLS file or setting is wrong; ``key`` is the setting, ``detail`` what is wrong."""

    def __init__(self, detail: str, *, key: str) -> None:
        self.detail = detail
        super().__init__(detail, key=key)


def default_context() -> ssl.SSLContext:
    """The trust every registry gets by default, as httpx builds it: ``SSL_CERT_FILE`` or
    ``SSL_CERT_DIR`` when set, else the certifi bundle."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def load_tls(
    *,
    ca_file: str | None = None,
    client_cert: str | None = None,
    client_key: str | None = None,
    verify: bool = True,
) -> TlsSettings:
    """Read the files and build the SSL context; :class:`TlsError` with ``key`` set to
    ``ca_file``, ``client_cert``, ``client_key`` or ``tls_verify`` names what is wrong."""
    if client_key is not None and client_cert is None:
        raise TlsError("is set but client_cert is not", key="client_key")
    if ca_file is not None and not verify:
        raise TlsError("a CA bundle has no use when certificates are not verified; "
                       "set either ca_file or tls_verify = false", key="tls_verify")
    if verify:
        context = default_context()
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if ca_file is not None:
        _readable(ca_file, "ca_file")
        # Counted alone: a CA the default bundle holds already counts too.
        alone = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            alone.load_verify_locations(cafile=ca_file)
            context.load_verify_locations(cafile=ca_file)
        except ssl.SSLError as exc:
            raise TlsError(f"{ca_file} is not a PEM CA bundle ({_reason(exc)})",
                           key="ca_file") from None
        if alone.cert_store_stats()["x509_ca"] == 0:
            raise TlsError(f"{ca_file} holds no CA certificate (a CA needs "
                              "basicConstraints CA:TRUE)", key="ca_file")
    if client_cert is not None:
        _load_client_certificate(context, client_cert, client_key)
    return TlsSettings(ca_file, client_cert, client_key, verify, context)


def _readable(path: str, key: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise TlsError(f"cannot read {path}: {exc.strerror}", key=key) from None


def _reason(exc: ssl.SSLError) -> str:
    return str(exc.reason or exc.strerror or exc).lower().replace("_", " ")


class _Encrypted(Exception):
    pass


def _no_passphrase() -> bytes:
    raise _Encrypted  # never prompt on a terminal for a key's passphrase


def _load_client_certificate(
    context: ssl.SSLContext, client_cert: str, client_key: str | None
) -> None:
    text = _readable(client_cert, "client_cert")
    if b"-----BEGIN CERTIFICATE-----" not in text:
        raise TlsError(f"{client_cert} holds no PEM certificate", key="client_cert")
    if client_key is not None:
        _readable(client_key, "client_key")
    key_key, key_path = ("client_key", client_key) if client_key else ("client_cert", client_cert)
    try:
        context.load_cert_chain(client_cert, client_key, password=_no_passphrase)
    except _Encrypted:
        raise TlsError(f"{key_path}: the private key is encrypted; watcher needs it "
                          "without a passphrase (keep the file readable by watcher only)",
                          key=key_key) from None
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            raise TlsError(f"{key_path}: the private key does not belong to the "
                              f"certificate in {client_cert}", key=key_key) from None
        if client_key is None:
            raise TlsError(f"{client_cert} holds no usable private key ({_reason(exc)}); "
                              "give it as client_key", key="client_cert") from None
        raise TlsError(f"{client_key} is not a PEM private key ({_reason(exc)})",
                          key="client_key") from None
