"""A Docker-style token server for tests: ``GET /token?service=..&scope=..`` (Basic optional).

It signs ES256 JWTs whose ``x5c`` header carries a leaf certificate issued by a test CA; give
the registry that CA as ``auth.token.rootcertbundle``. It counts requests so tests can assert
how many tokens a client fetched.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ISSUER = "watcher-test-issuer"
SERVICE = "watcher-test-registry"


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None,
    issuer_key: ec.EllipticCurvePrivateKey, ca: bool,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(issuer_key, hashes.SHA256())
    )


@dataclass
class TokenServer:
    """Issues registry tokens. ``users`` may push and pull; anonymous callers may pull when
    ``allow_anonymous``. ``refresh_tokens`` maps an identity token to its user (POST form)."""

    directory: Path
    users: dict[str, str] = field(default_factory=lambda: {"alice": "wonderland"})
    allow_anonymous: bool = True
    expires_in: int | None = 300
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate("watcher test CA", ca_key, None, ca_key, ca=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate("watcher token signer", self._key, ca.subject, ca_key, ca=False)
        self._x5c = [base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode()]
        self.rootcertbundle = self.directory / "token-ca.pem"
        self.rootcertbundle.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def reset_count(self) -> None:
        with self._lock:
            self.requests = 0

    def issue(self, subject: str, scope: str, *, anonymous: bool) -> dict[str, Any]:
        access = []
        for item in filter(None, scope.split(" ")):
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = [a for a in actions.split(",") if a == "pull" or not anonymous]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": ISSUER, "sub": subject, "aud": SERVICE, "iat": now, "nbf": now - 5,
            "exp": now + (self.expires_in or 60), "jti": secrets.token_hex(8), "access": access,
        }
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"x5c": self._x5c})
        answer: dict[str, Any] = {"token": token, "access_token": token}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return answer

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                        name="token-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def _handler(owner: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="watcher-test-tokens"')
            self.end_headers()
            self.wfile.write(body)

        def _user(self) -> tuple[str | None, bool]:
            """(user, ok): user None when no Basic credentials were sent."""
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return None, True
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None, False
            return user, owner.users.get(user) == password

        def do_GET(self) -> None:
            with owner._lock:
                owner.requests += 1
            query = parse_qs(urlsplit(self.path).query)
            user, ok = self._user()
            if not ok or (user is None and not owner.allow_anonymous):
                self._reply(401, {"errors": [{"code": "UNAUTHORIZED"}]})
                return
            scope = " ".join(query.get("scope", []))
            self._reply(200, owner.issue(user or "", scope, anonymous=user is None))

        def do_POST(self) -> None:
            with owner._lock:
                owner.requests += 1
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            refresh = form.get("refresh_token", [""])[0]
            user = owner.refresh_tokens.get(refresh)
            if form.get("grant_type") != ["refresh_token"] or user is None:
                self._reply(401, {"error": "invalid_grant"})
                return
            self._reply(200, owner.issue(user, " ".join(form.get("scope", [])), anonymous=False))

    return Handler
