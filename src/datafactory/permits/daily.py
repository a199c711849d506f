"""The authority's daily round: expire ended permits, remind handlers of deadlines, send the
e-mail copies of notifications. Run by ``datafactory permits daily`` from cron, or as the
``permits.daily`` job; each part commits on its own, so one failing part loses no other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from datafactory.core.db import unit_of_work
from datafactory.core.mail import Mailer, NullMailer
from datafactory.permits import clocks, issuing, notifications, procedure
from datafactory.permits.config import PermitsConfig


@dataclass(frozen=True)
class DailyReport:
    day: date
    expired: int
    reminders: int
    emailed: int


def run_daily(
    sessions: sessionmaker[Session],
    config: PermitsConfig,
    mailer: Mailer,
    *,
    sender: str,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> DailyReport:
    today = clocks.local_date(config.now())
    with unit_of_work(sessions) as session:
        expired = issuing.expire_permits(session, config, today)
    progress(1, 3)
    with unit_of_work(sessions) as session:
        reminders = procedure.send_reminders(session, config, today)
    progress(2, 3)
    emailed = 0
    # Without a mail server the inbox is the only channel; rows stay unsent so that
    # configuring SMTP later does not flood people with a backlog marked as sent.
    if not isinstance(mailer, NullMailer):
        with unit_of_work(sessions) as session:
            emailed = notifications.send_pending_email(
                session, mailer, base_url=config.base_url, sender=sender
            )
    progress(3, 3)
    return DailyReport(today, expired, reminders, emailed)
