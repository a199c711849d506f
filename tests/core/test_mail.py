"""Outgoing e-mail through a real SMTP server (aiosmtpd on loopback): delivery, STARTTLS,
login, and failures that read as one line and never carry the password."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from datafactory.core.errors import ConfigurationError
from datafactory.core.mail import (
    MailError,
    MemoryMailer,
    NullMailer,
    SmtpMailer,
    mailer_from,
)

SENDER = "no-reply@data.example.lu"
PASSWORD = "s3cret-pa55word"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and refuses the listed recipients."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse = refuse

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(e.content, policy=policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


StartServer = Callable[..., tuple[Mailbox, int]]


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest) -> StartServer:
    """Start an SMTP server on 127.0.0.1 and a free port; stopped when the test ends."""

    def start(
        refuse: frozenset[str] = frozenset(), **smtp_options: Any
    ) -> tuple[Mailbox, int]:
        mailbox = Mailbox(refuse)
        port = free_port()
        controller = Controller(
            mailbox, hostname="127.0.0.1", port=port, **smtp_options
        )
        controller.start()
        request.addfinalizer(controller.stop)
        return mailbox, port

    return start


def message(to: str = "rita@uni.lu") -> EmailMessage:
    msg = EmailMessage()
    msg["To"] = to
    msg["Subject"] = "Your application was submitted"
    msg.set_content("We received application DA-2025-0001.\n")
    return msg


def mailer(port: int, **options: Any) -> SmtpMailer:
    settings: dict[str, Any] = {
        "starttls": False,
        "username": None,
        "password": None,
        "timeout": 5.0,
    }
    settings.update(options)
    return SmtpMailer("127.0.0.1", port, SENDER, **settings)


def test_a_message_is_delivered_with_its_recipient_subject_and_body(smtp_server):
    mailbox, port = smtp_server()
    mailer(port).send(message())
    [envelope] = mailbox.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["rita@uni.lu"]
    [received] = mailbox.messages()
    assert received["To"] == "rita@uni.lu"
    assert received["From"] == SENDER  # filled in: the message had none
    assert received["Subject"] == "Your application was submitted"
    assert received.get_content().replace("\r\n", "\n") == (
        "We received application DA-2025-0001.\n"
    )


def test_nothing_listening_is_a_readable_one_line_error():
    port = free_port()
    with pytest.raises(MailError) as caught:
        mailer(port).send(message())
    detail = caught.value.detail
    assert detail == (
        f"Could not connect to the mail server at 127.0.0.1:{port}: connection refused."
    )
    assert caught.value.status == 502


def test_a_refused_recipient_is_an_error_that_masks_the_address(smtp_server):
    mailbox, port = smtp_server(refuse=frozenset({"gone@uni.lu"}))
    with pytest.raises(MailError) as caught:
        mailer(port).send(message("gone@uni.lu"))
    detail = caught.value.detail
    assert detail.startswith(
        f"The mail server at 127.0.0.1:{port} refused the recipient (550 5.1.1"
    )
    assert "gone@uni.lu" not in detail and "\n" not in detail
    assert mailbox.envelopes == []


def authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"permits",
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: answer 535


def test_login_happens_when_a_username_is_given(smtp_server):
    mailbox, port = smtp_server(authenticator=authenticate, auth_require_tls=False)
    mailer(port, username="permits", password=PASSWORD).send(message())
    assert len(mailbox.envelopes) == 1


def test_a_refused_login_never_shows_the_password(smtp_server):
    mailbox, port = smtp_server(authenticator=authenticate, auth_require_tls=False)
    wrong = mailer(port, username="permits", password="not-" + PASSWORD)
    with pytest.raises(MailError) as caught:
        wrong.send(message())
    assert "refused the SMTP username or password (535" in caught.value.detail
    for text in (str(caught.value), caught.value.detail, repr(wrong)):
        assert PASSWORD not in text
    assert mailbox.envelopes == []


def test_a_username_for_a_server_without_login_is_a_readable_error(smtp_server):
    _, port = smtp_server()
    with pytest.raises(MailError, match=r"does not offer a login \(SMTP AUTH\)\.$"):
        mailer(port, username="permits", password=PASSWORD).send(message())


def test_starttls_asked_of_a_server_without_it_is_a_readable_error(smtp_server):
    mailbox, port = smtp_server()
    with pytest.raises(MailError, match=r"does not offer STARTTLS\.$"):
        mailer(port, starttls=True).send(message())
    assert mailbox.envelopes == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_server(smtp_server, certificate) -> Iterator[tuple[Mailbox, int]]:
    cert_file, key_file = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    yield smtp_server(tls_context=context, require_starttls=True)


def test_starttls_with_a_trusted_certificate_delivers(tls_server, certificate):
    mailbox, port = tls_server
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    mailer(port, starttls=True, ssl_context=trusted).send(message())
    assert len(mailbox.envelopes) == 1


def test_starttls_with_an_untrusted_certificate_is_a_readable_error(tls_server):
    mailbox, port = tls_server
    with pytest.raises(MailError) as caught:
        mailer(port, starttls=True).send(message())  # the system's trust store
    assert caught.value.detail.startswith(
        f"The mail server at 127.0.0.1:{port} presented a TLS certificate that "
        "cannot be trusted: "
    )
    assert mailbox.envelopes == []


def test_settings_without_a_host_give_the_null_mailer():
    null = mailer_from(None, 25, SENDER, False, None, None)
    assert isinstance(null, NullMailer)
    null.send(message())  # sends nothing, raises nothing
    assert isinstance(mailer_from("", 25, SENDER, False, None, None), NullMailer)


def test_settings_with_a_host_give_an_smtp_mailer_that_hides_its_password():
    smtp = mailer_from("smtp.example.lu", 587, SENDER, True, "permits", PASSWORD)
    assert isinstance(smtp, SmtpMailer)
    assert (smtp.host, smtp.port, smtp.starttls) == ("smtp.example.lu", 587, True)
    assert PASSWORD not in repr(smtp)


def test_a_username_without_a_password_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="no SMTP password"):
        mailer_from("smtp.example.lu", 587, SENDER, True, "permits", None)


def test_the_memory_mailer_keeps_what_it_is_given():
    memory = MemoryMailer()
    memory.send(message())
    assert [m["Subject"] for m in memory.sent] == ["Your application was submitted"]
