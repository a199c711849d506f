"""Notifications: the inbox is each person's own, and e-mail goes out once per message, by
a real SMTP server (aiosmtpd on loopback), with a refused message left for the next run."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from datafactory.core.errors import InvalidInput, NotFound
from datafactory.core.logs import configure_logging
from datafactory.core.mail import MailError, MemoryMailer, SmtpMailer
from datafactory.permits import notifications
from datafactory.permits.models import Notification
from tests.factories import person

BASE_URL = "https://data.example.lu/"
SENDER = "permits@data.example.lu"


class Mailbox:
    """An aiosmtpd handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(e.content, policy=policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


@pytest.fixture
def smtp(request: pytest.FixtureRequest) -> tuple[Mailbox, SmtpMailer]:
    """A running SMTP server on 127.0.0.1 (stopped when the test ends) and its mailer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    request.addfinalizer(controller.stop)
    mailer = SmtpMailer(
        "127.0.0.1",
        port,
        SENDER,
        starttls=False,
        username=None,
        password=None,
        timeout=5.0,
    )
    return mailbox, mailer


class RefusingMailer:
    """Refuses the listed recipients and keeps the rest: the mail server's seam, faked."""

    def __init__(self, *refused: str) -> None:
        self.refused = set(refused)
        self.delivered = MemoryMailer()

    def send(self, message: EmailMessage) -> None:
        if message["To"] in self.refused:
            raise MailError("The mail server at test:25 refused the recipient (550).")
        self.delivered.send(message)


@pytest.fixture
def people(db):
    ana = person(db, "ana@uni.lu", password=None)
    bob = person(db, "bob@uni.lu", password=None)
    return ana, bob


def notify(db, person_ids, subject="Application DA-1 submitted", **options):
    options.setdefault("body", "Your application DA-1 was submitted.")
    return notifications.notify(db, person_ids=person_ids, subject=subject, **options)


def test_notify_writes_one_row_per_distinct_active_person(db, people):
    ana, bob = people
    carl = person(db, "carl@uni.lu", password=None)
    carl.active = False
    db.flush()
    rows = notify(
        db, [bob.id, ana.id, bob.id, carl.id, 999_999], link="/applications/1"
    )
    assert [r.person_id for r in rows] == [bob.id, ana.id]
    assert all(r.id is not None and r.read_at is None for r in rows)
    assert all(r.email_wanted and r.emailed_at is None for r in rows)
    assert all(r.link == "/applications/1" for r in rows)
    assert notify(db, []) == []


def test_a_subject_is_folded_onto_one_line_and_a_link_stays_on_the_platform(db, people):
    ana, _ = people
    [row] = notify(db, [ana.id], subject="  Two\r\nlines ")
    assert row.subject == "Two lines"
    [long] = notify(db, [ana.id], subject="x" * 400)
    assert len(long.subject) == 300 and long.subject.endswith("…")
    for bad in ("https://evil.example/phish", "//evil.example", "applications/1"):
        with pytest.raises(InvalidInput):
            notify(db, [ana.id], link=bad)
    with pytest.raises(InvalidInput):
        notify(db, [ana.id], subject=" \n ")


def test_the_inbox_is_newest_first_and_the_person_s_own(db, people):
    ana, bob = people
    for n in range(3):
        notify(db, [ana.id], subject=f"Message {n}")
    notify(db, [bob.id], subject="For Bob")
    assert [n.subject for n in notifications.inbox(db, ana.id)] == [
        "Message 2",
        "Message 1",
        "Message 0",
    ]
    assert [n.subject for n in notifications.inbox(db, ana.id, limit=2)] == [
        "Message 2",
        "Message 1",
    ]
    assert [n.subject for n in notifications.inbox(db, bob.id)] == ["For Bob"]
    assert notifications.unread_count(db, ana.id) == 3
    assert notifications.unread_count(db, bob.id) == 1


def test_mark_read_and_the_unread_count(db, people):
    ana, _ = people
    first, second = (notify(db, [ana.id], subject=s)[0] for s in ("One", "Two"))
    read = notifications.mark_read(db, ana.id, first.id)
    assert read.id == first.id and read.read_at is not None
    read_at = read.read_at
    assert notifications.mark_read(db, ana.id, first.id).read_at == read_at  # no-op
    assert notifications.unread_count(db, ana.id) == 1
    unread = notifications.inbox(db, ana.id, unread_only=True)
    assert [n.id for n in unread] == [second.id]
    assert notifications.mark_all_read(db, ana.id) == 1
    assert notifications.mark_all_read(db, ana.id) == 0
    assert notifications.unread_count(db, ana.id) == 0
    assert notifications.inbox(db, ana.id, unread_only=True) == []
    assert notifications.inbox(db, ana.id)[0].read_at is not None


def test_someone_else_s_notification_is_not_found_and_stays_unread(db, people):
    ana, bob = people
    [anas] = notify(db, [ana.id])
    with pytest.raises(NotFound) as theirs:
        notifications.mark_read(db, bob.id, anas.id)
    with pytest.raises(NotFound) as missing:
        notifications.mark_read(db, bob.id, anas.id + 1000)
    # The same answer as for a notification that does not exist at all.
    assert theirs.value.detail == f"There is no notification {anas.id}."
    assert missing.value.detail == f"There is no notification {anas.id + 1000}."
    assert notifications.mark_all_read(db, bob.id) == 0
    db.refresh(anas)
    assert anas.read_at is None
    assert notifications.unread_count(db, ana.id) == 1


def test_pending_email_goes_out_once_through_a_real_smtp_server(
    db, people, smtp, capsys
):
    mailbox, mailer = smtp
    # Other tests may have configured a quieter level; this one reads the info line.
    configure_logging("INFO")
    ana, bob = people
    notify(
        db,
        [ana.id, bob.id],
        subject="Decision on DA-1",
        body="A decision was issued.",
        link="/applications/1",
    )
    notify(db, [ana.id], subject="In the inbox only", email=False)
    sent = notifications.send_pending_email(
        db, mailer, base_url=BASE_URL, sender=SENDER
    )
    logged = capsys.readouterr().err
    assert sent == 2
    assert sorted(rcpt for e in mailbox.envelopes for rcpt in e.rcpt_tos) == [
        "ana@uni.lu",
        "bob@uni.lu",
    ]
    for received in mailbox.messages():
        assert received["Subject"] == "[datafactory] Decision on DA-1"
        assert received["From"] == SENDER
        assert received["Auto-Submitted"] == "auto-generated"
        assert received["Message-ID"].endswith("@data.example.lu>")
        body = received.get_content().replace("\r\n", "\n")
        assert body == (
            "A decision was issued.\n\nhttps://data.example.lu/applications/1\n"
        )
    # Counts only: no address, subject or body in the log.
    assert "notifications.emailed" in logged and "sent=2" in logged
    for secret in ("ana@uni.lu", "bob@uni.lu", "Decision on DA-1", "A decision was"):
        assert secret not in logged
    assert all(
        n.emailed_at is not None
        for n in db.query(Notification).filter(Notification.email_wanted)
    )

    assert (
        notifications.send_pending_email(db, mailer, base_url=BASE_URL, sender=SENDER)
        == 0
    )
    assert len(mailbox.envelopes) == 2


def test_a_refused_message_stays_pending_and_the_others_still_go(db, people):
    ana, bob = people
    [for_ana, for_bob] = notify(db, [ana.id, bob.id])
    refusing = RefusingMailer("bob@uni.lu")
    with structlog.testing.capture_logs() as logs:
        sent = notifications.send_pending_email(
            db, refusing, base_url=BASE_URL, sender=SENDER
        )
    assert sent == 1
    assert [m["To"] for m in refusing.delivered.sent] == ["ana@uni.lu"]
    assert for_ana.emailed_at is not None
    assert for_bob.emailed_at is None
    assert logs == [
        {
            "event": "notifications.email_failed",
            "sent": 1,
            "failed": 1,
            "log_level": "warning",
        }
    ]

    # The next run, with the server willing again, sends only the one left.
    retry = MemoryMailer()
    assert (
        notifications.send_pending_email(db, retry, base_url=BASE_URL, sender=SENDER)
        == 1
    )
    assert [m["To"] for m in retry.sent] == ["bob@uni.lu"]
    assert for_bob.emailed_at is not None


def test_pending_email_skips_deactivated_people_and_respects_the_limit(db, people):
    ana, bob = people
    notify(db, [ana.id, bob.id])
    notify(db, [ana.id], subject="Second")
    bob.active = False
    db.flush()
    memory = MemoryMailer()
    assert (
        notifications.send_pending_email(
            db, memory, base_url=BASE_URL, sender=SENDER, limit=1
        )
        == 1
    )
    assert (
        notifications.send_pending_email(db, memory, base_url=BASE_URL, sender=SENDER)
        == 1
    )
    assert [(m["To"], m["Subject"]) for m in memory.sent] == [
        ("ana@uni.lu", "[datafactory] Application DA-1 submitted"),
        ("ana@uni.lu", "[datafactory] Second"),
    ]


def test_the_email_survives_being_committed_by_the_caller(runtime, committed, smtp):
    """The service flushes; the caller's unit of work is what makes ``emailed_at`` stick."""
    mailbox, mailer = smtp
    ana_id = committed(lambda s: person(s, "ana@uni.lu", password=None).id)
    committed(lambda s: notify(s, [ana_id]))

    def send(session: Any) -> int:
        return notifications.send_pending_email(
            session, mailer, base_url=BASE_URL, sender=SENDER
        )

    assert committed(send) == 1
    assert committed(send) == 0
    assert len(mailbox.envelopes) == 1
