"""Notifications: a person's in-app inbox, and the e-mail that goes out for each message.

``notify`` writes one inbox row per person; ``send_pending_email`` (run by a job) sends the
rows that want e-mail and have not been sent, one message each, and marks them sent. A
message the mail server refuses stays pending for the next run. Services flush and never
commit; nothing here logs an address, a subject or a body, only counts.

Every query is scoped to the person asking: another person's notification is "not found",
never "forbidden", so its existence is not revealed.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from datafactory.core.db import utcnow
from datafactory.core.errors import FieldError, InvalidInput, NotFound
from datafactory.core.logs import get_logger
from datafactory.core.mail import Mailer, MailError
from datafactory.identity.models import Person
from datafactory.permits.models import Notification

log = get_logger("datafactory.notifications")

SUBJECT_PREFIX = "[datafactory] "
SUBJECT_MAX = 300
LINK_MAX = 500
INBOX_MAX = 200


def notify(
    session: Session,
    *,
    person_ids: Iterable[int],
    subject: str,
    body: str,
    link: str | None = None,
    email: bool = True,
) -> list[Notification]:
    """One notification for each distinct active person among ``person_ids``.

    Unknown and deactivated people are skipped. ``subject`` is folded onto one line and
    clipped to fit; ``link`` is a path on this platform (``/applications/12``), which the
    e-mail turns into an absolute address. The rows come back in the order of the ids.
    """
    subject = _one_line(subject)
    if not subject:
        raise InvalidInput(
            "A notification needs a subject.",
            errors=[FieldError("subject", "Give a subject.")],
        )
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1].rstrip() + "…"
    if link is not None:
        _check_link(link)
    wanted = list(dict.fromkeys(person_ids))
    if not wanted:
        return []
    active = set(
        session.scalars(
            select(Person.id).where(Person.id.in_(wanted), Person.active.is_(True))
        )
    )
    created = [
        Notification(
            person_id=person_id,
            subject=subject,
            body=body,
            link=link,
            email_wanted=email,
            created_at=utcnow(),
        )
        for person_id in wanted
        if person_id in active
    ]
    session.add_all(created)
    session.flush()
    log.debug("notifications.created", count=len(created))
    return created


def inbox(
    session: Session, person_id: int, *, unread_only: bool = False, limit: int = 50
) -> list[Notification]:
    """The person's notifications, newest first; ``limit`` is kept between 1 and 200."""
    query = select(Notification).where(Notification.person_id == person_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(
        Notification.created_at.desc(), Notification.id.desc()
    ).limit(max(1, min(limit, INBOX_MAX)))
    return list(session.scalars(query))


def unread_count(session: Session, person_id: int) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.person_id == person_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


def mark_read(session: Session, person_id: int, notification_id: int) -> Notification:
    """Mark one of the person's notifications read (again: a no-op) and return it."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.person_id != person_id:
        raise NotFound(f"There is no notification {notification_id}.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.flush()
    return notification


def mark_all_read(session: Session, person_id: int) -> int:
    """Mark every unread notification of the person read; return how many that was."""
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(Notification)
            .where(Notification.person_id == person_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
            .execution_options(synchronize_session="fetch")
        ),
    )
    return int(result.rowcount)


def send_pending_email(
    session: Session,
    mailer: Mailer,
    *,
    base_url: str,
    sender: str,
    limit: int = 200,
) -> int:
    """E-mail up to ``limit`` pending notifications, oldest first; return how many went.

    Pending: e-mail wanted, not yet sent, and the person still active. Each sent one gets
    ``emailed_at``; one the mailer refuses (``MailError``) stays pending and the others
    still go. On PostgreSQL the rows are locked (skipping rows another run holds), so two
    runs at once do not send the same message twice. Sending is at least once: if the
    caller's transaction does not commit, the same messages go again next time.
    """
    rows = session.execute(
        select(Notification, Person.email)
        .join(Person, Person.id == Notification.person_id)
        .where(
            Notification.email_wanted.is_(True),
            Notification.emailed_at.is_(None),
            Person.active.is_(True),
        )
        .order_by(Notification.id)
        .limit(max(0, limit))
        .with_for_update(of=Notification, skip_locked=True)
    ).all()
    domain = urlsplit(base_url).hostname or "datafactory.invalid"
    sent = failed = 0
    for notification, address in rows:
        try:
            message = _message(
                notification, address, base_url=base_url, sender=sender, domain=domain
            )
            mailer.send(message)
        except (MailError, ValueError):
            # ValueError: a header the e-mail library refuses (a stray line break).
            failed += 1
            continue
        notification.emailed_at = utcnow()
        sent += 1
    session.flush()
    if failed:
        log.warning("notifications.email_failed", sent=sent, failed=failed)
    elif sent:
        log.info("notifications.emailed", sent=sent)
    return sent


def _message(
    notification: Notification,
    address: str,
    *,
    base_url: str,
    sender: str,
    domain: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = address
    message["Subject"] = SUBJECT_PREFIX + _one_line(notification.subject)
    message["Date"] = format_datetime(utcnow())
    # Stable per notification, so a resent message is recognisably the same one.
    stamp = int(notification.created_at.timestamp())
    message["Message-ID"] = f"<notification.{notification.id}.{stamp}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    text = notification.body.rstrip()
    if notification.link:
        text += "\n\n" + base_url.rstrip("/") + notification.link
    message.set_content(text + "\n")
    return message


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check_link(link: str) -> None:
    if not link.startswith("/") or link.startswith("//") or len(link) > LINK_MAX:
        raise InvalidInput(
            f"{link[:80]!r} is not a link within the platform.",
            errors=[
                FieldError(
                    "link",
                    f"Give a path that starts with '/', at most {LINK_MAX} characters.",
                )
            ],
        )
    if any(ch.isspace() or ord(ch) < 32 for ch in link):
        raise InvalidInput(
            "A notification link cannot contain spaces or control characters.",
            errors=[FieldError("link", "Remove spaces and control characters.")],
        )
