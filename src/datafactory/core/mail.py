"""Outgoing e-mail: one small seam (``Mailer.send``) over SMTP, or nothing at all.

``SmtpMailer`` opens one connection per message with ``smtplib``: STARTTLS when asked, a
login only when a username is given. Every failure of the mail server or the network comes
out as one ``MailError`` whose detail is a readable line. It names the server and the SMTP
reply but never the password, and e-mail addresses in a server's reply are masked.
``NullMailer`` stands in when no SMTP host is configured; ``MemoryMailer`` keeps messages
for tests.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from typing import ClassVar, Protocol

from datafactory.core.errors import ConfigurationError, DatafactoryError
from datafactory.core.logs import scrub

DEFAULT_TIMEOUT = 10.0


class MailError(DatafactoryError):
    """A message could not be handed to the mail server; ``detail`` says why in one line."""

    status: ClassVar[int] = 502
    slug: ClassVar[str] = "mail-failed"
    title: ClassVar[str] = "The e-mail could not be sent"


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over for delivery; raise ``MailError`` if that fails."""
        ...


class NullMailer:
    """Sends nothing and keeps nothing: the mailer when no SMTP host is configured."""

    def send(self, message: EmailMessage) -> None:  # noqa: ARG002 - the Mailer seam
        return None

    def __repr__(self) -> str:
        return "NullMailer()"


class MemoryMailer:
    """Keeps every message in ``sent`` instead of sending it: a test double."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


class SmtpMailer:
    """Sends each message over its own SMTP connection to ``host:port``.

    ``sender`` is the envelope sender (MAIL FROM) and the ``From`` header when the message
    has none. ``ssl_context`` defaults to the system's trusted certificates with host-name
    checking; pass another to trust a private certificate authority.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool,
        username: str | None,
        password: str | None,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if username is not None and password is None:
            raise ConfigurationError("An SMTP username is set but no SMTP password.")
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self.username = username
        self._password = password
        self.timeout = timeout
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return (
            f"SmtpMailer(host={self.host!r}, port={self.port}, "
            f"starttls={self.starttls}, login={self.username is not None})"
        )

    @property
    def _server(self) -> str:
        return f"{self.host}:{self.port}"

    def send(self, message: EmailMessage) -> None:
        if "From" not in message:
            message["From"] = self.sender
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    context = self._ssl_context or ssl.create_default_context()
                    smtp.starttls(context=context)
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
                refused = smtp.send_message(message, from_addr=self.sender)
        except (OSError, UnicodeError) as exc:
            reason = _what_failed(exc, self.host, self._server, self.timeout)
            raise MailError(f"{reason}.") from None
        if refused:
            code, reply = next(iter(refused.values()))
            raise MailError(
                f"The mail server at {self._server} refused {len(refused)} "
                f"recipient(s) ({_reply(code, reply)})."
            )


def _what_failed(exc: BaseException, host: str, server: str, timeout: float) -> str:
    """One readable line for a failure: never the password, addresses masked."""
    at = f"The mail server at {server}"
    match exc:
        case smtplib.SMTPRecipientsRefused():
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            return f"{at} refused the recipient ({_reply(code, reply)})"
        case smtplib.SMTPSenderRefused():
            return f"{at} refused the sender address ({_reply(exc.smtp_code, exc.smtp_error)})"
        case smtplib.SMTPAuthenticationError():
            return f"{at} refused the SMTP username or password ({_reply(exc.smtp_code, exc.smtp_error)})"
        case smtplib.SMTPNotSupportedError() if "STARTTLS" in str(exc):
            return f"{at} does not offer STARTTLS"
        case smtplib.SMTPNotSupportedError() if "AUTH" in str(exc):
            return f"{at} does not offer a login (SMTP AUTH)"
        case smtplib.SMTPNotSupportedError() if "SMTPUTF8" in str(exc):
            return f"{at} does not accept internationalised addresses (SMTPUTF8)"
        case smtplib.SMTPServerDisconnected():
            return f"{at} closed the connection unexpectedly"
        case smtplib.SMTPResponseException():
            return (
                f"{at} answered with an error ({_reply(exc.smtp_code, exc.smtp_error)})"
            )
        case smtplib.SMTPException():
            return f"Sending through the mail server at {server} failed: {_one_line(str(exc))}"
        case ssl.SSLCertVerificationError():
            why = _one_line(exc.verify_message or str(exc))
            return f"{at} presented a TLS certificate that cannot be trusted: {why}"
        case ssl.SSLError():
            return f"TLS with the mail server at {server} failed: {_one_line(exc.reason or str(exc))}"
        case ConnectionRefusedError():
            return (
                f"Could not connect to the mail server at {server}: connection refused"
            )
        case socket.gaierror():
            return f"Could not find the mail server {host!r}: {_one_line(exc.strerror or str(exc))}"
        case TimeoutError():
            return f"{at} did not answer within {timeout:g} seconds"
        case OSError():
            return f"Could not talk to the mail server at {server}: {_one_line(exc.strerror or str(exc))}"
    return f"The message cannot be sent through the mail server at {server}: {_one_line(str(exc))}"


def mailer_from(
    host: str | None,
    port: int,
    sender: str,
    starttls: bool,
    username: str | None,
    password: str | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Mailer:
    """The mailer the settings describe: SMTP when a host is set, otherwise ``NullMailer``."""
    if not host:
        return NullMailer()
    return SmtpMailer(
        host,
        port,
        sender,
        starttls=starttls,
        username=username,
        password=password,
        timeout=timeout,
    )


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    text = _one_line(text)
    return f"{code} {text}" if text else str(code)


def _one_line(text: str) -> str:
    return str(scrub(" ".join(text.split())))[:300]
