"""Harvest sources: add, list, find, and which are due by their schedule."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafactory.catalogue.harvest import policy as _rules  # noqa: F401  (registers)
from datafactory.catalogue.harvest.events import HarvestSourceCreated
from datafactory.catalogue.harvest.models import HarvestRun, HarvestSource
from datafactory.catalogue.harvest.normalise import language_key
from datafactory.core import ledger
from datafactory.core.errors import Conflict, FieldError, InvalidInput, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class SourceType(StrEnum):
    dcat = "dcat"
    ckan = "ckan"
    udata = "udata"


class Schedule(StrEnum):
    daily = "daily"
    weekly = "weekly"
    never = "never"


INTERVALS = {Schedule.daily: timedelta(days=1), Schedule.weekly: timedelta(days=7)}


def add_source(
    session: Session,
    actor: Actor,
    *,
    name: str,
    type: SourceType,
    url: str,
    publisher: str,
    allow_private_network: bool = False,
    schedule: Schedule = Schedule.never,
    language: str = "fr",
    grace_days: int = 7,
) -> HarvestSource:
    """Add a source. Only admins and catalogue admins may, so only they set the flag."""
    policy.ensure(actor, "harvest.source.create")
    errors = []
    if not _NAME.match(name):
        errors.append(FieldError("name", "Use lower-case letters, digits and dashes."))
    if not url.strip():
        errors.append(FieldError("url", "Give the address of the source."))
    if language_key(language) != language:
        errors.append(
            FieldError(
                "language",
                "Give the two-letter code of an EU language (lb, fr, de, en, el…).",
            )
        )
    if grace_days < 0:
        errors.append(FieldError("grace_days", "Give zero or more days."))
    organisation = session.scalar(
        select(Organisation).where(Organisation.slug == publisher)
    )
    if organisation is None:
        errors.append(
            FieldError("publisher", f"There is no organisation {publisher!r}.")
        )
    if errors:
        raise InvalidInput("The harvest source is not valid.", errors=errors)
    assert organisation is not None
    if session.scalar(select(HarvestSource).where(HarvestSource.name == name)):
        raise Conflict(f"There is already a harvest source called {name!r}.")
    source = HarvestSource(
        name=name,
        type=type.value,
        url=url.strip(),
        publisher_id=organisation.id,
        allow_private_network=allow_private_network,
        schedule=schedule.value,
        language=language,
        grace_days=grace_days,
        created_by=actor.ref,
    )
    session.add(source)
    session.flush()
    ledger.record(
        session,
        actor.ref,
        HarvestSourceCreated(
            source.id,
            source.name,
            source.type,
            source.url,
            source.publisher_id,
            source.allow_private_network,
        ),
    )
    return source


def list_sources(session: Session, actor: Actor) -> list[HarvestSource]:
    policy.ensure(actor, "harvest.source.list")
    return list(session.scalars(select(HarvestSource).order_by(HarvestSource.name)))


def get_source(session: Session, actor: Actor, name_or_id: str | int) -> HarvestSource:
    policy.ensure(actor, "harvest.source.list")
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        source = session.get(HarvestSource, int(name_or_id))
    else:
        source = session.scalar(
            select(HarvestSource).where(HarvestSource.name == name_or_id)
        )
    if source is None:
        raise NotFound(f"There is no harvest source {name_or_id}.")
    return source


def last_runs(session: Session, source_ids: list[int]) -> dict[int, HarvestRun]:
    """The latest run of each source."""
    if not source_ids:
        return {}
    latest = (
        select(HarvestRun.source_id, func.max(HarvestRun.id).label("id"))
        .where(HarvestRun.source_id.in_(source_ids))
        .group_by(HarvestRun.source_id)
        .subquery()
    )
    runs = session.scalars(
        select(HarvestRun).join(latest, HarvestRun.id == latest.c.id)
    )
    return {run.source_id: run for run in runs}


def is_due(schedule: str, last_started: datetime | None, now: datetime) -> bool:
    """A pure rule: a daily source is due a day after its last run started, and so on."""
    interval = INTERVALS.get(Schedule(schedule))
    if interval is None:
        return False
    return last_started is None or now - last_started >= interval


def due_sources(session: Session, actor: Actor, now: datetime) -> list[HarvestSource]:
    sources = list_sources(session, actor)
    runs = last_runs(session, [s.id for s in sources])
    return [
        s
        for s in sources
        if is_due(s.schedule, runs[s.id].started_at if s.id in runs else None, now)
    ]


def run_of_job(session: Session, actor: Actor, job_id: str) -> HarvestRun | None:
    policy.ensure(actor, "harvest.source.list")
    return session.scalar(select(HarvestRun).where(HarvestRun.job_id == job_id))
