"""The email channel: one SMTP message, plain text with an HTML alternative.

The standard library's smtplib runs in a worker thread: it is maintained with Python, speaks
STARTTLS, implicit TLS and AUTH, and a message per round does not need an async client.

Connection refused, timeouts, a dropped connection and 4xx replies mean "try again later";
5xx replies (bad recipient, login refused) mean a person must change something.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from watcher.notify.errors import ChannelError
from watcher.notify.message import Batch
from watcher.notify.outcome import Outcome
from watcher.notify.wording import Templates


class Security(enum.Enum):
    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (port 587)
    TLS = "tls"  # implicit TLS from the first byte (port 465)
    NONE = "none"  # no encryption: only for a relay on loopback or a trusted network


class EmailChannel:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        security: Security = Security.STARTTLS,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        name: str = "email",
        ssl_context: ssl.SSLContext | None = None,
        templates: Templates | None = None,
    ) -> None:
        if not recipients:
            raise ChannelError(name, "no recipients: give at least one address in 'to'")
        if (username is None) != (password is None):
            raise ChannelError(name, "a login needs both a username and a password")
        if username is not None and security is Security.NONE:
            raise ChannelError(name, "refusing to send a password over an unencrypted "
                               "connection: use starttls or tls")
        self._name = name
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = tuple(recipients)
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self._ssl = ssl_context or ssl.create_default_context()
        self._templates = templates or Templates()

    @property
    def name(self) -> str:
        return self._name

    @property
    def grouped(self) -> bool:
        return True

    @property
    def _secrets(self) -> list[str | None]:
        if self._password is None:
            return []
        plain = f"\0{self.username}\0{self._password}".encode()
        return [self._password, base64.b64encode(plain).decode(),
                base64.b64encode(self._password.encode()).decode()]

    def build(self, batch: Batch) -> EmailMessage:
        """The message for ``batch``, as it will be sent."""
        message = EmailMessage()
        message["Subject"] = self._templates.line("subject.txt", batch)
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message["X-Watcher-Batch"] = batch.id
        message.set_content(self._templates.render("email.txt", batch))
        message.add_alternative(self._templates.render("email.html", batch), subtype="html")
        return message

    async def send(self, batch: Batch) -> Outcome:
        try:
            message = self.build(batch)
        except (ChannelError, ValueError) as exc:  # a broken template fails every time
            return Outcome.failed(f"{self._name}: {exc}", secrets=self._secrets)
        return await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> Outcome:
        where = f"SMTP server {self.host}:{self.port}"
        try:
            self._transmit(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            text = "; ".join(f"{rcpt}: {code} {_decode(reply)}"
                             for rcpt, (code, reply) in exc.recipients.items())
            return self._by_code(min(codes) if codes else 550,
                                 f"{where} refused the recipients: {text}")
        except smtplib.SMTPResponseException as exc:
            return self._by_code(exc.smtp_code, f"{where} answered {exc.smtp_code} "
                                 f"{_decode(exc.smtp_error)}")
        except smtplib.SMTPNotSupportedError as exc:
            return Outcome.failed(f"{where}: {exc} (check the starttls/tls setting)",
                                  secrets=self._secrets)
        except ssl.SSLCertVerificationError as exc:
            return Outcome.failed(f"{where}: its TLS certificate is not trusted: "
                                  f"{exc.verify_message}", secrets=self._secrets)
        except TimeoutError:
            return Outcome.retry(f"{where} did not answer within {self.timeout:g}s",
                                 secrets=self._secrets)
        except ConnectionRefusedError:
            return Outcome.retry(f"{where} refused the connection", secrets=self._secrets)
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome.retry(f"{where}: {type(exc).__name__}: {exc}", secrets=self._secrets)
        return Outcome.delivered()

    def _by_code(self, code: int, text: str) -> Outcome:
        if 400 <= code < 500:
            return Outcome.retry(text, secrets=self._secrets)
        return Outcome.failed(text, secrets=self._secrets)

    def _transmit(self, message: EmailMessage) -> None:
        smtp: smtplib.SMTP
        if self.security is Security.TLS:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=self._ssl)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if self.security is Security.STARTTLS:
                smtp.starttls(context=self._ssl)
                smtp.ehlo()
            if self.username is not None and self._password is not None:
                smtp.login(self.username, self._password)
            smtp.send_message(message, from_addr=self.sender, to_addrs=list(self.recipients))


def _decode(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
