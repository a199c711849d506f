"""Data services and dataset series: the catalogue records that are not datasets.

They live as datasets do -- a working copy that may be incomplete, numbered versions
published after SHACL validation, a tombstone when withdrawn -- and under the same policy
rules (``catalogue.dataset.*``: a publisher's data stewards and the catalogue
administrators). Their URIs are ``{base}/id/service/{id}`` and ``{base}/id/series/{id}``.

Links between records (a dataset ``in_series``, a distribution's ``access_services``, a
service's ``serves_datasets``) hold our id or an IRI. An IRI that is the original IRI of a
record harvested here is written as our URI for that record (:func:`links_for`), so a
harvest needs no second pass to tie its records together.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from rdflib import Graph
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from datafactory.catalogue import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.catalogue import rdf, vocabularies
from datafactory.catalogue.events import (
    RecordCreated,
    RecordDeleted,
    RecordEdited,
    RecordPublished,
)
from datafactory.catalogue.harvest.models import HarvestRecord
from datafactory.catalogue.models import (
    CatalogueRecord,
    CatalogueRecordVersion,
    Dataset,
    SeriesMembership,
)
from datafactory.catalogue.schemas import (
    DRAFTS,
    DataServiceDraft,
    DatasetDraft,
    DatasetStatus,
    RecordDraft,
    RecordKind,
)
from datafactory.core import ledger
from datafactory.core.db import utcnow
from datafactory.core.errors import FieldError, Gone, InvalidInput, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation

NOUNS = {RecordKind.service: "data service", RecordKind.series: "dataset series"}


def _new_id() -> str:
    from datafactory.catalogue.service import new_dataset_id

    return new_dataset_id()


def _invalid(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        "The metadata is not valid.",
        errors=[
            FieldError(".".join(str(p) for p in e["loc"]) or "body", e["msg"])
            for e in exc.errors()
        ],
    )


def parse(kind: RecordKind, document: dict[str, Any]) -> RecordDraft:
    try:
        return DRAFTS[kind].model_validate(document)
    except ValidationError as exc:
        raise _invalid(exc) from exc


def create_record(
    session: Session,
    actor: Actor,
    *,
    kind: RecordKind,
    publisher_id: int,
    metadata: RecordDraft,
) -> CatalogueRecord:
    from datafactory.catalogue.service import PublisherRef

    if session.get(Organisation, publisher_id) is None:
        raise InvalidInput(
            "There is no such publisher.",
            errors=[FieldError("publisher_id", "Choose an existing organisation.")],
        )
    policy.ensure(actor, "catalogue.dataset.create", PublisherRef(publisher_id))
    record = CatalogueRecord(
        id=_new_id(),
        kind=kind.value,
        publisher_id=publisher_id,
        status=DatasetStatus.draft.value,
        draft=metadata.model_dump(mode="json"),
        version=0,
    )
    session.add(record)
    session.flush()
    ledger.record(
        session, actor.ref, RecordCreated(kind.value, record.id, publisher_id)
    )
    return record


def get_record(
    session: Session, actor: Actor, kind: RecordKind, record_id: str
) -> CatalogueRecord:
    """The record if the actor may see it; 410 for a withdrawn one, 404 if unknown."""
    record = session.get(CatalogueRecord, record_id)
    noun = NOUNS[kind]
    if (
        record is None
        or record.kind != kind.value
        or not (
            record.version > 0
            or policy.allowed(actor, "catalogue.dataset.view", record)
        )
    ):
        raise NotFound(f"There is no {noun} {record_id}.")
    if record.status == DatasetStatus.deleted.value:
        raise Gone(
            f"The {noun} {record_id} was withdrawn: {record.deletion_reason}",
            extra={
                "deleted_at": record.deleted_at.isoformat()
                if record.deleted_at
                else None
            },
        )
    return record


def _editable(
    session: Session, actor: Actor, kind: RecordKind, record_id: str, action: str
) -> CatalogueRecord:
    record = session.get(CatalogueRecord, record_id)
    if (
        record is None
        or record.kind != kind.value
        or not policy.allowed(actor, "catalogue.dataset.view", record)
    ):
        raise NotFound(f"There is no {NOUNS[kind]} {record_id}.")
    policy.ensure(actor, action, record)
    if record.status == DatasetStatus.deleted.value:
        raise Gone(f"The {NOUNS[kind]} {record_id} was withdrawn.")
    return record


def ensure_may_edit(actor: Actor, record: CatalogueRecord) -> None:
    policy.ensure(actor, "catalogue.dataset.edit", record)


def edit_record(
    session: Session,
    actor: Actor,
    *,
    kind: RecordKind,
    record_id: str,
    changes: dict[str, Any],
) -> CatalogueRecord:
    """Apply ``changes`` (field -> new value) to the working copy."""
    record = _editable(session, actor, kind, record_id, "catalogue.dataset.edit")
    merged = {**record.draft, **changes}
    metadata = parse(kind, merged)
    changed = sorted(k for k in changes if record.draft.get(k) != merged.get(k))
    record.draft = metadata.model_dump(mode="json")
    record.modified_at = utcnow()
    session.flush()
    ledger.record(
        session, actor.ref, RecordEdited(kind.value, record.id, tuple(changed))
    )
    return record


def metadata_of(
    session: Session, record: CatalogueRecord, *, draft: bool = False
) -> RecordDraft:
    """The published metadata, or the working copy with ``draft`` (or if never published)."""
    kind = RecordKind(record.kind)
    if draft or record.version == 0:
        return DRAFTS[kind].model_validate(record.draft)
    version = session.scalar(
        select(CatalogueRecordVersion).where(
            CatalogueRecordVersion.record_id == record.id,
            CatalogueRecordVersion.number == record.version,
        )
    )
    assert version is not None
    return DRAFTS[kind].model_validate(version.document)


# --- links ---------------------------------------------------------------------------


def links_for(session: Session, refs: Iterable[str], base_url: str) -> dict[str, str]:
    """Our URI for each IRI in ``refs`` that is the original IRI of a record harvested
    here: a dataset (by its harvest record), a data service or a dataset series."""
    iris = sorted({r for r in refs if "://" in r})
    if not iris:
        return {}
    found: dict[str, str] = {}
    for record in session.scalars(
        select(CatalogueRecord).where(
            CatalogueRecord.remote_iri.in_(iris),
            CatalogueRecord.status != DatasetStatus.deleted.value,
        )
    ):
        assert record.remote_iri is not None
        found[record.remote_iri] = str(rdf.record_uri(base_url, record.kind, record.id))
    for remote_iri, dataset_id in session.execute(
        select(HarvestRecord.remote_iri, HarvestRecord.dataset_id).where(
            HarvestRecord.remote_iri.in_(iris), HarvestRecord.archived_at.is_(None)
        )
    ):
        if remote_iri is not None and remote_iri not in found:
            found[remote_iri] = str(rdf.dataset_uri(base_url, dataset_id))
    return found


def dataset_refs(meta: DatasetDraft) -> list[str]:
    """Every link a dataset's metadata holds."""
    return [
        *meta.in_series,
        *(s for d in meta.distributions for s in d.access_services),
    ]


def record_refs(meta: RecordDraft) -> list[str]:
    return list(getattr(meta, "serves_datasets", []))


def find_records(
    session: Session, kind: RecordKind, refs: Iterable[str]
) -> list[CatalogueRecord]:
    """The published records of ``kind`` that ``refs`` name, by id or by original IRI."""
    wanted = list(dict.fromkeys(refs))
    if not wanted:
        return []
    rows = session.scalars(
        select(CatalogueRecord).where(
            CatalogueRecord.kind == kind.value,
            CatalogueRecord.status == DatasetStatus.published.value,
            or_(CatalogueRecord.id.in_(wanted), CatalogueRecord.remote_iri.in_(wanted)),
        )
    ).all()
    order = {ref: n for n, ref in enumerate(wanted)}
    return sorted(
        rows,
        key=lambda r: min(order.get(r.id, 10**9), order.get(r.remote_iri or "", 10**9)),
    )


def find_datasets(session: Session, refs: Iterable[str]) -> list[Dataset]:
    """The published datasets that ``refs`` name, by id or by original IRI."""
    wanted = list(dict.fromkeys(refs))
    if not wanted:
        return []
    harvested = select(HarvestRecord.dataset_id).where(
        HarvestRecord.remote_iri.in_(wanted)
    )
    return list(
        session.scalars(
            select(Dataset)
            .where(
                Dataset.status == DatasetStatus.published.value,
                or_(Dataset.id.in_(wanted), Dataset.id.in_(harvested)),
            )
            .order_by(Dataset.id)
        )
    )


def series_members(session: Session, series: CatalogueRecord) -> list[Dataset]:
    """The published datasets that name ``series`` in their ``in_series``."""
    refs = [series.id, *([series.remote_iri] if series.remote_iri else [])]
    members = select(SeriesMembership.dataset_id).where(
        SeriesMembership.series_ref.in_(refs)
    )
    return list(
        session.scalars(
            select(Dataset)
            .where(
                Dataset.status == DatasetStatus.published.value,
                Dataset.id.in_(members),
            )
            .order_by(Dataset.published_at.desc(), Dataset.id)
        )
    )


def services_serving(session: Session, dataset: Dataset) -> list[CatalogueRecord]:
    """The published data services that name ``dataset`` in ``serves_datasets``."""
    refs = {dataset.id}
    refs.update(
        iri
        for iri in session.scalars(
            select(HarvestRecord.remote_iri).where(
                HarvestRecord.dataset_id == dataset.id
            )
        )
        if iri
    )
    found = []
    # Few services exist beside many datasets: reading them all stays cheap.
    for record in session.scalars(
        select(CatalogueRecord)
        .where(
            CatalogueRecord.kind == RecordKind.service.value,
            CatalogueRecord.status == DatasetStatus.published.value,
        )
        .order_by(CatalogueRecord.id)
    ):
        served = set(record_refs(metadata_of(session, record)))
        if served & refs:
            found.append(record)
    return found


def sync_memberships(session: Session, dataset: Dataset, meta: DatasetDraft) -> None:
    """Keep the series memberships of a just-published dataset as its metadata says."""
    wanted = set(meta.in_series)
    if not wanted and dataset.version <= 1:
        return  # a first publication holds no rows yet: spare bulk harvests a query
    held = set(
        session.scalars(
            select(SeriesMembership.series_ref).where(
                SeriesMembership.dataset_id == dataset.id
            )
        )
    )
    for ref in held - wanted:
        row = session.get(SeriesMembership, (dataset.id, ref))
        if row is not None:
            session.delete(row)
    for ref in sorted(wanted - held):
        session.add(SeriesMembership(dataset_id=dataset.id, series_ref=ref))
    session.flush()


# --- RDF ------------------------------------------------------------------------------


def facts_of(
    session: Session,
    record: CatalogueRecord,
    base_url: str,
    meta: RecordDraft,
    *,
    draft: bool = False,
) -> rdf.DatasetFacts:
    publisher = session.get(Organisation, record.publisher_id)
    assert publisher is not None
    return rdf.DatasetFacts(
        id=record.id,
        base_url=base_url,
        publisher=rdf.Publisher(publisher.slug, publisher.name),
        created_at=record.created_at,
        modified_at=record.modified_at
        if draft
        else record.published_at or record.modified_at,
        version=record.version,
        links=links_for(session, record_refs(meta), base_url),
    )


def add_to_graph(
    session: Session,
    graph: Graph,
    record: CatalogueRecord,
    base_url: str,
    *,
    draft: bool = False,
) -> None:
    meta = metadata_of(session, record, draft=draft)
    facts = facts_of(session, record, base_url, meta, draft=draft)
    if isinstance(meta, DataServiceDraft):
        rdf.add_service(graph, facts, meta)
    else:
        rdf.add_series(graph, facts, meta)


def record_graph(
    session: Session, record: CatalogueRecord, base_url: str, *, draft: bool = False
) -> Graph:
    graph = rdf.new_graph()
    add_to_graph(session, graph, record, base_url, draft=draft)
    return graph


# --- publication and withdrawal -----------------------------------------------------------


def publish_record(
    session: Session,
    actor: Actor,
    *,
    kind: RecordKind,
    record_id: str,
    base_url: str,
) -> CatalogueRecordVersion:
    """Validate against DCAT-AP 3 and DCAT-AP-LU (and HVD when flagged); publish if it
    conforms, else 422 with one message per violation, on its field."""
    from datafactory.catalogue.validation import Profile, validate

    record = _editable(session, actor, kind, record_id, "catalogue.dataset.publish")
    metadata = metadata_of(session, record, draft=True)
    profiles = [Profile.dcat_ap_3, Profile.dcat_ap_lu]
    if metadata.is_hvd:
        profiles.append(Profile.hvd)
    report = validate(
        record_graph(session, record, base_url, draft=True), profiles, warnings=False
    )
    if not report.conforms:
        raise InvalidInput(
            f"The {NOUNS[kind]} does not meet DCAT-AP-LU yet.",
            errors=[
                FieldError(v.field or v.path or kind.value, v.message)
                for v in report.violations
            ],
        )
    return release(session, actor, record)


def release(
    session: Session, actor: Actor, record: CatalogueRecord
) -> CatalogueRecordVersion:
    """Publish the (validated) working copy of ``record`` as a new version."""
    now = utcnow()
    record.version += 1
    record.status = DatasetStatus.published.value
    record.published_at = now
    version = CatalogueRecordVersion(
        record_id=record.id,
        number=record.version,
        document=record.draft,
        published_at=now,
        published_by=actor.ref,
    )
    session.add(version)
    record.search_words = search_words(
        DRAFTS[RecordKind(record.kind)].model_validate(record.draft)
    )
    session.flush()
    ledger.record(
        session, actor.ref, RecordPublished(record.kind, record.id, record.version)
    )
    return version


def search_words(meta: RecordDraft) -> str:
    """What :func:`list_published` matches a query against: every folded word of the
    titles, descriptions and keywords, in every language, once, each after a space (so
    ``LIKE '% popul%'`` finds the words that start with ``popul``)."""
    texts = [
        *meta.title.values(),
        *meta.description.values(),
        *(word for words in meta.keywords.values() for word in words),
    ]
    seen = dict.fromkeys(w for text in texts for w in vocabularies.fold(text).split())
    return "".join(f" {w}" for w in seen)


def delete_record(
    session: Session, actor: Actor, *, kind: RecordKind, record_id: str, reason: str
) -> None:
    record = _editable(session, actor, kind, record_id, "catalogue.dataset.delete")
    if not reason.strip():
        raise InvalidInput(
            f"Say why the {NOUNS[kind]} is withdrawn.",
            errors=[FieldError("reason", "The tombstone shows this reason.")],
        )
    record.status = DatasetStatus.deleted.value
    record.search_words = None
    record.deleted_at = utcnow()
    record.deletion_reason = reason.strip()
    session.flush()
    ledger.record(
        session, actor.ref, RecordDeleted(kind.value, record.id, record.deletion_reason)
    )


def get_version(
    session: Session, actor: Actor, kind: RecordKind, record_id: str, number: int
) -> CatalogueRecordVersion:
    get_record(session, actor, kind, record_id)
    version = session.scalar(
        select(CatalogueRecordVersion).where(
            CatalogueRecordVersion.record_id == record_id,
            CatalogueRecordVersion.number == number,
        )
    )
    if version is None:
        raise NotFound(f"The {NOUNS[kind]} {record_id} has no version {number}.")
    return version


def list_published(
    session: Session,
    kind: RecordKind | None = None,
    *,
    q: str = "",
    offset: int = 0,
    limit: int = 1000,
) -> tuple[list[CatalogueRecord], int]:
    """A page of the published records (of one kind), with how many there are in all.

    ``q``: only the records with a word starting with each word of ``q``, in any
    language, accents and case aside. Services and series are few next to datasets (a
    scan of their words is enough), so they are not in the datasets' search index.
    """
    query = select(CatalogueRecord).where(
        CatalogueRecord.status == DatasetStatus.published.value
    )
    if kind is not None:
        query = query.where(CatalogueRecord.kind == kind.value)
    for word in vocabularies.fold(q).split():
        # fold leaves letters and digits only: no LIKE wildcard gets through.
        query = query.where(CatalogueRecord.search_words.like(f"% {word}%"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(CatalogueRecord.kind, CatalogueRecord.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total
