"""One harvest run: read the whole source, store each record, archive what went missing.

The source is read completely before anything is written, so a document that fails to parse
changes no dataset. Records are then stored in chunks of ``CHUNK``, one transaction each:
the new and changed records of a chunk are validated together and published by
``service.publish_batch``; a record that fails writes nothing and never undoes the others.
The run ends with its report, kept on the ``HarvestRun`` row, returned to the caller and
summed up in the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from datafactory.catalogue import service
from datafactory.catalogue.harvest import policy as _rules  # noqa: F401  (registers)
from datafactory.catalogue.harvest import services_series
from datafactory.catalogue.harvest.dcat import read_dcat
from datafactory.catalogue.harvest.errors import HarvestError
from datafactory.catalogue.harvest.events import HarvestCompleted, HarvestFailed
from datafactory.catalogue.harvest.fetch import Fetcher
from datafactory.catalogue.harvest.models import (
    HarvestRecord,
    HarvestRun,
    HarvestSource,
)
from datafactory.catalogue.harvest.normalise import content_hash
from datafactory.catalogue.harvest.readers import Remote, read_ckan, read_udata
from datafactory.catalogue.harvest.sources import get_source
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetDraft, DatasetStatus
from datafactory.core import ledger
from datafactory.core.db import unit_of_work, utcnow
from datafactory.core.errors import DatafactoryError, InvalidInput
from datafactory.core.jobs import JobContext, Task
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role

#: Who writes harvested datasets: the harvester itself, as a catalogue administrator.
HARVESTER = Actor(
    ref="system:harvest",
    name="harvest",
    roles=frozenset({(Role.catalogue_admin.value, None)}),
)
READERS = {"dcat": read_dcat, "ckan": read_ckan, "udata": read_udata}
MAX_LISTED = 500  # failures and notes kept in a report
CHUNK = 500  # records per transaction, and per SHACL run

Progress = Callable[[int, int | None, str], None]


def _quiet(_done: int, _total: int | None, _message: str) -> None:
    pass


@dataclass(frozen=True)
class _Source:
    id: int
    name: str
    type: str
    url: str
    publisher_id: int
    language: str
    allow_private_network: bool
    grace_days: int


def harvest(
    sessions: sessionmaker[Session],
    actor: Actor,
    *,
    source: str | int,
    base_url: str,
    max_bytes: int = 50 * 1024 * 1024,
    now: datetime | None = None,
    progress: Progress = _quiet,
    job_id: str | None = None,
    requested_by: str | None = None,
) -> dict[str, Any]:
    """Run one harvest of ``source`` (name or id) and return its report.

    Raises HarvestError, after recording the failed run, when the source cannot be read.
    """
    now = now or utcnow()
    with unit_of_work(sessions) as session:
        row = get_source(session, actor, source)
        policy.ensure(actor, "harvest.run", row)
        src = _Source(
            row.id,
            row.name,
            row.type,
            row.url,
            row.publisher_id,
            row.language,
            row.allow_private_network,
            row.grace_days,
        )
        run = HarvestRun(
            source_id=src.id,
            job_id=job_id,
            requested_by=requested_by or actor.ref,
            started_at=now,
        )
        session.add(run)
        session.flush()
        run_id = run.id
    fetcher = Fetcher(
        allow_private_network=src.allow_private_network, max_bytes=max_bytes
    )
    try:
        remotes = READERS[src.type](
            fetcher,
            src.url,
            language=src.language,
            progress=lambda message: progress(0, None, message),
        )
        if not remotes:
            raise HarvestError(f"{src.url} lists no datasets; nothing was changed")
    except HarvestError as exc:
        _fail(sessions, src, run_id, exc.detail)
        raise
    report = Report(source=src.name, run_id=run_id, started_at=now.isoformat())
    unique, others = services_series.split(_unique(remotes, report))
    total = len(unique)
    progress(0, total, f"{total} records read")
    for offset in range(0, total, CHUNK):
        with unit_of_work(sessions) as session:
            _store(
                session,
                src,
                unique[offset : offset + CHUNK],
                report,
                base_url=base_url,
                now=now,
            )
        done = min(total, offset + CHUNK)
        progress(done, total, f"{done} of {total} records stored")
    with unit_of_work(sessions) as session:
        report.by_kind = services_series.store(
            session,
            HARVESTER,
            source_id=src.id,
            publisher_id=src.publisher_id,
            grace_days=src.grace_days,
            remotes=others,
            report=report,
            base_url=base_url,
            now=now,
        )
        _archive_missing(session, src, {r.remote_id for r in unique}, report, now)
        result = report.as_dict(finished_at=utcnow())
        finished = session.get(HarvestRun, run_id)
        assert finished is not None
        finished.status, finished.report = "succeeded", result
        finished.finished_at = utcnow()
        ledger.record(
            session,
            actor.ref,
            HarvestCompleted(
                src.id,
                run_id,
                report.created,
                report.updated,
                report.unchanged,
                report.archived,
                len(report.failures),
            ),
        )
    return result


def _fail(
    sessions: sessionmaker[Session], src: _Source, run_id: int, reason: str
) -> None:
    with unit_of_work(sessions) as session:
        run = session.get(HarvestRun, run_id)
        assert run is not None
        run.status, run.error, run.finished_at = "failed", reason, utcnow()
        run.report = {"source": src.name, "run_id": run_id, "error": reason}
        ledger.record(session, run.requested_by, HarvestFailed(src.id, run_id, reason))


@dataclass
class Report:
    source: str
    run_id: int
    started_at: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0

    def __post_init__(self) -> None:
        self.failures: list[dict[str, str]] = []
        self.notes: list[dict[str, str]] = []
        self.by_kind: dict[str, dict[str, Any]] = {}  # data services and dataset series

    def fail(self, remote_id: str, reason: str) -> None:
        self.failures.append({"remote_id": remote_id, "reason": reason})

    def note(self, remote_id: str, notes: list[str]) -> None:
        for text in notes:
            if len(self.notes) < MAX_LISTED:
                self.notes.append({"remote_id": remote_id, "note": text})

    def as_dict(self, finished_at: datetime) -> dict[str, Any]:
        return {
            "source": self.source,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": finished_at.isoformat(),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "archived": self.archived,
            "failed": len(self.failures),
            "failures": self.failures[:MAX_LISTED],
            "notes": self.notes,
            **self.by_kind,
        }


def _unique(remotes: list[Remote], report: Report) -> list[Remote]:
    seen: dict[str, Remote] = {}
    for remote in remotes:
        if remote.remote_id in seen:
            report.note(remote.remote_id, ["listed twice by the source; read once"])
            continue
        seen[remote.remote_id] = remote
    return list(seen.values())


@dataclass
class _Change:
    remote: Remote
    draft: DatasetDraft
    record: HarvestRecord | None
    digest: str
    live: bool


def _store(
    session: Session,
    src: _Source,
    chunk: list[Remote],
    report: Report,
    *,
    base_url: str,
    now: datetime,
) -> None:
    """Store one chunk of records in the caller's transaction.

    New and changed records are created or edited and published together
    (``service.publish_batch``: one SHACL run per profile for the chunk); a record that
    fails writes nothing and is listed with its reason.
    """
    records = {
        record.remote_id: record
        for record in session.scalars(
            select(HarvestRecord).where(
                HarvestRecord.source_id == src.id,
                HarvestRecord.remote_id.in_([r.remote_id for r in chunk]),
            )
        )
    }
    failures: dict[str, str] = {}
    changes: list[_Change] = []
    for remote in chunk:
        record = records.get(remote.remote_id)
        if record is not None:
            record.last_seen_at, record.missing_since = now, None
        report.note(remote.remote_id, remote.notes)
        if remote.draft is None:
            failures[remote.remote_id] = remote.error or "cannot be read"
            continue
        digest = content_hash(remote.draft, remote.remote_iri)
        live = record is not None and record.archived_at is None
        if live and record is not None and record.content_hash == digest:
            report.unchanged += 1
            continue
        changes.append(_Change(remote, remote.draft, record, digest, live))
    outcomes = service.publish_batch(
        session,
        HARVESTER,
        publisher_id=src.publisher_id,
        items=[
            service.Upsert(
                c.draft,
                c.record.dataset_id if c.live and c.record is not None else None,
            )
            for c in changes
        ],
        base_url=base_url,
    )
    for change, outcome in zip(changes, outcomes, strict=True):
        remote, record = change.remote, change.record
        if isinstance(outcome, InvalidInput):
            failures[remote.remote_id] = _reason(outcome)
            continue
        if isinstance(outcome, DatafactoryError):
            failures[remote.remote_id] = outcome.detail
            continue
        if change.live and record is not None:
            record.content_hash, record.remote_iri = change.digest, remote.remote_iri
            report.updated += 1
            continue
        if record is None:
            record = HarvestRecord(source_id=src.id, remote_id=remote.remote_id)
            session.add(record)
        record.dataset_id, record.content_hash = outcome.dataset_id, change.digest
        record.remote_iri, record.last_seen_at = remote.remote_iri, now
        record.missing_since, record.archived_at = None, None
        report.created += 1
    session.flush()
    for remote in chunk:  # in the source's order
        if remote.remote_id in failures:
            report.fail(remote.remote_id, failures[remote.remote_id])


def _reason(exc: InvalidInput) -> str:
    details = [f"{e.field}: {e.message}" for e in exc.errors[:3]]
    more = f" (and {len(exc.errors) - 3} more)" if len(exc.errors) > 3 else ""
    return f"{exc.detail} " + "; ".join(details) + more


def _archive_missing(
    session: Session, src: _Source, seen: set[str], report: Report, now: datetime
) -> None:
    """Start the grace period of records gone upstream; archive those past it."""
    grace = timedelta(days=src.grace_days)
    for record in _live_records(session, src.id):
        if record.remote_id in seen:
            continue
        if record.missing_since is None:
            record.missing_since = now
        if now - record.missing_since < grace:
            continue
        dataset = session.get(Dataset, record.dataset_id)
        if dataset is not None and dataset.status != DatasetStatus.deleted.value:
            service.delete_dataset(
                session,
                HARVESTER,
                dataset_id=record.dataset_id,
                reason=f"missing upstream since {record.missing_since.date().isoformat()}",
            )
        record.archived_at = now
        report.archived += 1


def _live_records(session: Session, source_id: int) -> Iterator[HarvestRecord]:
    yield from session.scalars(
        select(HarvestRecord).where(
            HarvestRecord.source_id == source_id, HarvestRecord.archived_at.is_(None)
        )
    ).all()


def start_harvest(
    session: Session,
    actor: Actor,
    *,
    source: HarvestSource,
    submit: Callable[..., Any],
) -> Any:
    """Check the policy and queue a ``catalogue.harvest`` job for ``source``."""
    policy.ensure(actor, "harvest.run", source)
    return submit(
        session,
        kind="catalogue.harvest",
        requested_by=actor.ref,
        params={"source_id": source.id, "requested_by": actor.ref},
    )


def harvest_task(base_url: str, max_bytes: int) -> Task:
    """The ``catalogue.harvest`` job: params ``source_id`` and ``requested_by``."""

    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        return harvest(
            context.sessions,
            HARVESTER,
            source=int(params["source_id"]),
            base_url=base_url,
            max_bytes=max_bytes,
            progress=lambda done, total, message: context.progress(
                done, total, message
            ),
            job_id=context.job_id,
            requested_by=params.get("requested_by"),
        )

    return task
