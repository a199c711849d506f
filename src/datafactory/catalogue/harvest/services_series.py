"""Store the data services and dataset series a harvest read, after its datasets.

Each record is written in a savepoint of its own: one that fails validation writes nothing
and is listed with its reason. An unchanged record (same content hash) is skipped; one gone
upstream is withdrawn after the source's grace period, as datasets are. The counts go to
the run's report under ``services`` and ``series`` (``created`` and the others at the top
of the report count datasets).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue import records
from datafactory.catalogue.harvest.dcat import RecordRemote
from datafactory.catalogue.harvest.readers import Remote
from datafactory.catalogue.models import CatalogueRecord
from datafactory.catalogue.schemas import DatasetStatus, RecordKind
from datafactory.core.errors import DatafactoryError, InvalidInput
from datafactory.identity.actor import Actor

KEYS = {RecordKind.service: "services", RecordKind.series: "series"}
MAX_LISTED = 500


class Report(Protocol):
    def note(self, remote_id: str, notes: list[str]) -> None: ...


def split(remotes: Sequence[Remote]) -> tuple[list[Remote], list[RecordRemote]]:
    """The datasets, then the data services and dataset series."""
    datasets = [r for r in remotes if not isinstance(r, RecordRemote)]
    others = [r for r in remotes if isinstance(r, RecordRemote)]
    return datasets, others


def empty_counts() -> dict[str, Any]:
    return {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "archived": 0,
        "failed": 0,
        "failures": [],
    }


def store(
    session: Session,
    actor: Actor,
    *,
    source_id: int,
    publisher_id: int,
    grace_days: int,
    remotes: Sequence[RecordRemote],
    report: Report,
    base_url: str,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Create, update or skip each record; withdraw those gone past the grace period.
    Returns the counts by kind (``services``, ``series``)."""
    counts = {key: empty_counts() for key in KEYS.values()}
    known = {
        r.remote_id: r
        for r in session.scalars(
            select(CatalogueRecord).where(
                CatalogueRecord.harvest_source_id == source_id
            )
        )
    }
    for remote in remotes:
        tally = counts[KEYS[remote.kind]]
        report.note(remote.remote_id, remote.notes)
        row = known.get(remote.remote_id)
        if row is not None:
            row.missing_since = None
        if remote.record is None:
            _fail(tally, remote, remote.error or "cannot be read")
            continue
        digest = remote.digest()
        live = row is not None and row.status != DatasetStatus.deleted.value
        if live and row is not None and row.content_hash == digest:
            tally["unchanged"] += 1
            continue
        try:
            with session.begin_nested():
                _publish(
                    session,
                    actor,
                    remote,
                    row,
                    source_id=source_id,
                    publisher_id=publisher_id,
                    digest=digest,
                    base_url=base_url,
                )
        except InvalidInput as exc:
            details = "; ".join(f"{e.field}: {e.message}" for e in exc.errors[:3])
            _fail(tally, remote, f"{exc.detail} {details}".strip())
            continue
        except DatafactoryError as exc:
            _fail(tally, remote, exc.detail)
            continue
        tally["updated" if live else "created"] += 1
    seen = {r.remote_id for r in remotes}
    grace = timedelta(days=grace_days)
    for remote_id, row in known.items():
        if remote_id in seen or row.status == DatasetStatus.deleted.value:
            continue
        if row.missing_since is None:
            row.missing_since = now
        if now - row.missing_since < grace:
            continue
        kind = RecordKind(row.kind)
        records.delete_record(
            session,
            actor,
            kind=kind,
            record_id=row.id,
            reason=f"missing upstream since {row.missing_since.date().isoformat()}",
        )
        counts[KEYS[kind]]["archived"] += 1
    session.flush()
    return counts


def _fail(tally: dict[str, Any], remote: RecordRemote, reason: str) -> None:
    tally["failed"] += 1
    if len(tally["failures"]) < MAX_LISTED:
        tally["failures"].append({"remote_id": remote.remote_id, "reason": reason})


def _publish(
    session: Session,
    actor: Actor,
    remote: RecordRemote,
    row: CatalogueRecord | None,
    *,
    source_id: int,
    publisher_id: int,
    digest: str,
    base_url: str,
) -> None:
    assert remote.record is not None
    if row is None:
        row = records.create_record(
            session,
            actor,
            kind=remote.kind,
            publisher_id=publisher_id,
            metadata=remote.record,
        )
        row.harvest_source_id, row.remote_id = source_id, remote.remote_id
    else:
        if row.status == DatasetStatus.deleted.value:
            # Back upstream after being withdrawn: the same URI comes back to life.
            row.status = (
                DatasetStatus.published.value
                if row.version
                else DatasetStatus.draft.value
            )
            row.deleted_at, row.deletion_reason = None, None
        records.edit_record(
            session,
            actor,
            kind=remote.kind,
            record_id=row.id,
            changes=remote.record.model_dump(mode="json"),
        )
    row.remote_iri = remote.remote_iri[:500] if remote.remote_iri else None
    row.content_hash = digest
    session.flush()
    records.publish_record(
        session, actor, kind=remote.kind, record_id=row.id, base_url=base_url
    )
