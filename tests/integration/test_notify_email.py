"""The email channel against a real SMTP server (aiosmtpd) on loopback: plain, STARTTLS,
implicit TLS, login, and the replies that mean "retry" or "failed"."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import free_port
from tests.support.receivers import NEW, OLD, notice, three
from watcher.notify import Batch, OutcomeKind
from watcher.notify.email import EmailChannel, Security

PASSWORD = "correct-horse-battery-42"


class Inbox:
    def __init__(self, rcpt_reply: str | None = None, data_reply: str | None = None) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"watcher"
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for a certificate made here for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("smtp-tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    return server, client


@pytest.fixture
def smtp() -> Iterator[Any]:
    started: list[Controller] = []

    def start(inbox: Inbox, **kwargs: Any) -> int:
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def _channel(port: int, **kwargs: Any) -> EmailChannel:
    settings: dict[str, Any] = {"host": "127.0.0.1", "port": port,
                                "sender": "watcher@example.org",
                                "recipients": ["ops@example.org", "dev@example.org"],
                                "security": Security.NONE, "timeout": 10}
    settings.update(kwargs)
    return EmailChannel(**settings)


def test_a_grouped_mail_has_subject_both_bodies_and_reaches_every_recipient(smtp: Any) -> None:
    inbox = Inbox()
    port = smtp(inbox)
    batch = three()
    outcome = asyncio.run(_channel(port).send(batch))
    assert outcome.kind is OutcomeKind.DELIVERED, outcome
    [(recipients, mail)] = inbox.messages
    assert recipients == ["ops@example.org", "dev@example.org"]
    assert mail["Subject"] == "3 base images changed: python:3.12-slim, node:20, redis:7"
    assert mail["From"] == "watcher@example.org"
    assert mail["To"] == "ops@example.org, dev@example.org"
    assert mail["X-Watcher-Batch"] == batch.id
    assert mail["Message-ID"]
    assert mail["Date"]
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None
    assert html is not None
    text = plain.get_content().replace("\r\n", "\n")
    markup = html.get_content()
    for image in ("python:3.12-slim", "node:20", "redis:7"):
        assert image in text
        assert f"<code>{image}</code>" in markup
    assert text.count("node:20\n") == 1  # listed twice in the round, once in the mail
    assert f"{OLD[:19]} -> {NEW[:19]}" in text
    assert "platforms changed: linux/amd64, linux/arm64" in text
    assert "newer versions: 3.13-slim" in text
    assert "To do: rebuild the images built FROM python:3.12-slim." in text


def test_starttls_and_login(smtp: Any, tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    inbox = Inbox()
    port = smtp(inbox, tls_context=server_context, require_starttls=True,
                authenticator=_authenticate, auth_require_tls=True)
    channel = _channel(port, security=Security.STARTTLS, username="watcher",
                       password=PASSWORD, ssl_context=client_context)
    outcome = asyncio.run(channel.send(Batch.of([notice()])))
    assert outcome.kind is OutcomeKind.DELIVERED, outcome
    assert len(inbox.messages) == 1


def test_a_refused_login_is_permanent_and_never_shows_the_password(
        smtp: Any, tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    port = smtp(Inbox(), tls_context=server_context, require_starttls=True,
                authenticator=_authenticate, auth_require_tls=True)
    wrong = "wrong-" + PASSWORD
    channel = _channel(port, security=Security.STARTTLS, username="watcher", password=wrong,
                       ssl_context=client_context)
    outcome = asyncio.run(channel.send(Batch.of([notice()])))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert "535" in outcome.error
    assert wrong not in outcome.error
    assert PASSWORD not in outcome.error


def test_implicit_tls(smtp: Any, tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    inbox = Inbox()
    port = smtp(inbox, ssl_context=server_context)
    channel = _channel(port, security=Security.TLS, ssl_context=client_context)
    outcome = asyncio.run(channel.send(Batch.of([notice()])))
    assert outcome.kind is OutcomeKind.DELIVERED, outcome
    assert len(inbox.messages) == 1


def test_an_untrusted_certificate_is_permanent(
        smtp: Any, tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    port = smtp(Inbox(), tls_context=tls[0], require_starttls=True)
    outcome = asyncio.run(_channel(port, security=Security.STARTTLS).send(three()))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert "not trusted" in outcome.error


def test_a_5xx_reply_is_permanent(smtp: Any) -> None:
    port = smtp(Inbox(rcpt_reply="550 5.1.1 no such mailbox"))
    outcome = asyncio.run(_channel(port).send(three()))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert "550" in outcome.error
    assert "no such mailbox" in outcome.error


def test_a_4xx_reply_is_retried(smtp: Any) -> None:
    port = smtp(Inbox(data_reply="451 4.3.0 try again later"))
    outcome = asyncio.run(_channel(port).send(three()))
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error is not None
    assert "451" in outcome.error


def test_a_refused_connection_is_retried() -> None:
    outcome = asyncio.run(_channel(free_port()).send(three()))
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.error is not None
    assert "refused the connection" in outcome.error
    assert "127.0.0.1" in outcome.error


def test_a_password_is_never_sent_in_the_clear() -> None:
    from watcher.notify.errors import ChannelError

    with pytest.raises(ChannelError, match="unencrypted"):
        _channel(25, username="watcher", password=PASSWORD)


def test_a_broken_template_fails_for_good_before_connecting(smtp: Any, tmp_path: Path) -> None:
    from watcher.notify.wording import Templates

    (tmp_path / "email.txt").write_text("{{ no_such_thing.at_all }}")
    inbox = Inbox()
    port = smtp(inbox)
    outcome = asyncio.run(_channel(port, templates=Templates(tmp_path)).send(three()))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None
    assert "template 'email.txt' failed" in outcome.error
    assert inbox.messages == []
