"""The catalogue's verbs: create and edit drafts, publish with validation, delete, read."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rdflib import Graph
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafactory.catalogue import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.catalogue import rdf, records, search
from datafactory.catalogue.events import (
    DatasetCreated,
    DatasetDeleted,
    DatasetEdited,
    DatasetPublished,
)
from datafactory.catalogue.models import Dataset, DatasetVersion
from datafactory.catalogue.schemas import DatasetDraft, DatasetStatus
from datafactory.core import ledger
from datafactory.core.db import utcnow
from datafactory.core.errors import (
    DatafactoryError,
    FieldError,
    Gone,
    InvalidInput,
    NotFound,
)
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation

if TYPE_CHECKING:
    from datafactory.catalogue.validation import Profile, ValidationReport

_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: ids are read aloud


@dataclass(frozen=True)
class PublisherRef:
    """Stands for a dataset not yet created, when asking the policy about creation."""

    publisher_id: int
    status: str = "draft"


def new_dataset_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def create_dataset(
    session: Session, actor: Actor, *, publisher_id: int, metadata: DatasetDraft
) -> Dataset:
    if session.get(Organisation, publisher_id) is None:
        raise InvalidInput(
            "There is no such publisher.",
            errors=[FieldError("publisher_id", "Choose an existing organisation.")],
        )
    policy.ensure(actor, "catalogue.dataset.create", PublisherRef(publisher_id))
    dataset = Dataset(
        id=new_dataset_id(),
        publisher_id=publisher_id,
        status=DatasetStatus.draft.value,
        draft=metadata.model_dump(mode="json"),
    )
    session.add(dataset)
    session.flush()
    ledger.record(session, actor.ref, DatasetCreated(dataset.id, publisher_id))
    return dataset


def get_dataset(session: Session, actor: Actor, dataset_id: str) -> Dataset:
    """The dataset if the actor may see it; 410 for a deleted one, 404 if unknown."""
    dataset = session.get(Dataset, dataset_id)
    was_public = dataset is not None and dataset.version > 0
    if dataset is None or not (
        was_public or policy.allowed(actor, "catalogue.dataset.view", dataset)
    ):
        raise NotFound(f"There is no dataset {dataset_id}.")
    if dataset.status == DatasetStatus.deleted.value:
        # A once-published dataset leaves a public tombstone: its URI may be cited.
        raise Gone(
            f"Dataset {dataset_id} was withdrawn: {dataset.deletion_reason}",
            extra={
                "deleted_at": dataset.deleted_at.isoformat()
                if dataset.deleted_at
                else None
            },
        )
    return dataset


def ensure_may_edit(actor: Actor, dataset: Dataset) -> None:
    policy.ensure(actor, "catalogue.dataset.edit", dataset)


def _editable(session: Session, actor: Actor, dataset_id: str, action: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or not policy.allowed(actor, "catalogue.dataset.view", dataset):
        raise NotFound(f"There is no dataset {dataset_id}.")
    policy.ensure(actor, action, dataset)
    if dataset.status == DatasetStatus.deleted.value:
        raise Gone(f"Dataset {dataset_id} was withdrawn.")
    return dataset


def edit_dataset(
    session: Session, actor: Actor, *, dataset_id: str, changes: dict[str, Any]
) -> Dataset:
    """Apply ``changes`` (field → new value) to the working copy; publish to release them."""
    dataset = _editable(session, actor, dataset_id, "catalogue.dataset.edit")
    merged = {**dataset.draft, **changes}
    try:
        metadata = DatasetDraft.model_validate(merged)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    changed = sorted(k for k in changes if dataset.draft.get(k) != merged.get(k))
    dataset.draft = metadata.model_dump(mode="json")
    dataset.modified_at = utcnow()
    session.flush()
    ledger.record(session, actor.ref, DatasetEdited(dataset.id, tuple(changed)))
    return dataset


def _invalid(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        "The metadata is not valid.",
        errors=[
            FieldError(".".join(str(p) for p in e["loc"]) or "body", e["msg"])
            for e in exc.errors()
        ],
    )


def metadata_of(
    session: Session, dataset: Dataset, *, draft: bool = False
) -> DatasetDraft:
    """The published metadata (what everyone sees), or the working copy with ``draft``."""
    if draft or dataset.version == 0:
        return DatasetDraft.model_validate(dataset.draft)
    version = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset.id,
            DatasetVersion.number == dataset.version,
        )
    )
    assert version is not None
    return DatasetDraft.model_validate(version.document)


def dataset_graph(
    session: Session, dataset: Dataset, base_url: str, *, draft: bool = False
) -> Graph:
    graph = rdf.new_graph()
    add_to_graph(session, graph, dataset, base_url, draft=draft)
    return graph


def add_to_graph(
    session: Session,
    graph: Graph,
    dataset: Dataset,
    base_url: str,
    *,
    draft: bool = False,
) -> None:
    publisher = session.get(Organisation, dataset.publisher_id)
    assert publisher is not None
    metadata = metadata_of(session, dataset, draft=draft)
    facts = _facts(
        publisher,
        dataset_id=dataset.id,
        base_url=base_url,
        created_at=dataset.created_at,
        modified_at=dataset.modified_at
        if draft
        else dataset.published_at or dataset.modified_at,
        version=dataset.version,
        links=records.links_for(session, records.dataset_refs(metadata), base_url),
    )
    rdf.add_dataset(graph, facts, metadata)


def _facts(
    publisher: Organisation,
    *,
    dataset_id: str,
    base_url: str,
    created_at: datetime,
    modified_at: datetime,
    version: int,
    links: dict[str, str] | None = None,
) -> rdf.DatasetFacts:
    return rdf.DatasetFacts(
        id=dataset_id,
        base_url=base_url,
        publisher=rdf.Publisher(publisher.slug, publisher.name),
        created_at=created_at,
        modified_at=modified_at,
        version=version,
        links=links or {},
    )


def publish_profiles(metadata: DatasetDraft) -> list[Profile]:
    """The profiles a dataset must meet to be published: DCAT-AP 3 and DCAT-AP-LU, and
    the HVD shapes for a high-value dataset."""
    from datafactory.catalogue.validation import Profile

    profiles = [Profile.dcat_ap_3, Profile.dcat_ap_lu]
    if metadata.is_hvd:
        profiles.append(Profile.hvd)
    return profiles


def _not_conforming(report: ValidationReport) -> InvalidInput:
    return InvalidInput(
        "The dataset does not meet DCAT-AP-LU yet.",
        errors=[
            FieldError(v.field or v.path or "dataset", v.message)
            for v in report.violations
        ],
    )


def publish_dataset(
    session: Session, actor: Actor, *, dataset_id: str, base_url: str
) -> DatasetVersion:
    """Validate against the shapes the dataset must meet; publish a new version if it does."""
    from datafactory.catalogue.validation import validate

    dataset = _editable(session, actor, dataset_id, "catalogue.dataset.publish")
    metadata = metadata_of(session, dataset, draft=True)
    report = validate(
        dataset_graph(session, dataset, base_url, draft=True),
        publish_profiles(metadata),
        warnings=False,  # only violations stop a publication
    )
    if not report.conforms:
        raise _not_conforming(report)
    return _release(session, actor, dataset, base_url=base_url)


def _release(
    session: Session, actor: Actor, dataset: Dataset, *, base_url: str
) -> DatasetVersion:
    """Publish the working copy of ``dataset``, which has just been validated."""
    now = utcnow()
    dataset.version += 1
    dataset.status = DatasetStatus.published.value
    dataset.published_at = now
    version = DatasetVersion(
        dataset_id=dataset.id,
        number=dataset.version,
        document=dataset.draft,
        published_at=now,
        published_by=actor.ref,
    )
    session.add(version)
    session.flush()
    published = DatasetDraft.model_validate(version.document)
    search.index_dataset(session, dataset, published, first=dataset.version == 1)
    records.sync_memberships(session, dataset, published)
    ledger.record(session, actor.ref, DatasetPublished(dataset.id, dataset.version))
    from datafactory.catalogue.quality.scoring import score_and_store

    # The validation covered DCAT-AP 3 (and more) on the same metadata: it conforms.
    score_and_store(
        session, dataset, base_url=base_url, shacl_conforms=True, published=published
    )
    return version


@dataclass(frozen=True)
class Upsert:
    """One dataset for :func:`publish_batch`: a new one (``dataset_id`` None) or the
    new working copy of an existing one, to publish at once."""

    metadata: DatasetDraft
    dataset_id: str | None = None


@dataclass
class _Pending:
    number: int
    metadata: DatasetDraft
    dataset: Dataset | None  # None: to create
    dataset_id: str
    changes: dict[str, Any]


def publish_batch(
    session: Session,
    actor: Actor,
    *,
    publisher_id: int,
    items: Sequence[Upsert],
    base_url: str,
    batch_size: int = 1000,
) -> list[DatasetVersion | DatafactoryError]:
    """Create or edit, then publish, many datasets of one publisher; one result each.

    Each item gives what :func:`create_dataset` (or :func:`edit_dataset` with the whole
    metadata as changes) followed by :func:`publish_dataset` would give -- the same
    policy checks, the same SHACL profiles and verdict, the same ledger entries -- except
    that an item that fails writes nothing at all, not even a draft, and comes back as its
    error (``InvalidInput`` with one error per violation, as from ``publish_dataset``).
    The graphs of all items are validated together (see ``validation.validate_many``),
    and each item is written in its own savepoint. An existing dataset may appear once.
    """
    from datafactory.catalogue.validation import validate_many

    publisher = session.get(Organisation, publisher_id)
    if publisher is None:
        missing = InvalidInput(
            "There is no such publisher.",
            errors=[FieldError("publisher_id", "Choose an existing organisation.")],
        )
        return [missing for _ in items]
    now = utcnow()
    results: list[DatasetVersion | DatafactoryError | None] = [None] * len(items)
    pending: list[_Pending] = []
    graphs: list[Graph] = []
    if len({i.dataset_id for i in items if i.dataset_id}) < sum(
        1 for i in items if i.dataset_id
    ):
        raise ValueError("an existing dataset may appear once in a batch")
    for number, item in enumerate(items):
        try:
            prepared = _prepare(session, actor, publisher_id, item, number)
        except DatafactoryError as exc:
            results[number] = exc
            continue
        graph = rdf.plain_graph()
        rdf.add_dataset(
            graph,
            _facts(
                publisher,
                dataset_id=prepared.dataset_id,
                base_url=base_url,
                created_at=prepared.dataset.created_at if prepared.dataset else now,
                modified_at=now,
                version=prepared.dataset.version if prepared.dataset else 0,
            ),
            prepared.metadata,
        )
        pending.append(prepared)
        graphs.append(graph)
    reports = validate_many(
        graphs,
        [publish_profiles(p.metadata) for p in pending],
        warnings=False,
        batch_size=batch_size,
    )
    for prepared, report in zip(pending, reports, strict=True):
        if not report.conforms:
            results[prepared.number] = _not_conforming(report)
            continue
        try:
            with session.begin_nested():
                dataset = _write(session, actor, publisher_id, prepared, now)
                results[prepared.number] = _release(
                    session, actor, dataset, base_url=base_url
                )
        except DatafactoryError as exc:
            results[prepared.number] = exc
    done = [r for r in results if r is not None]
    assert len(done) == len(items)
    return done


def _prepare(
    session: Session, actor: Actor, publisher_id: int, item: Upsert, number: int
) -> _Pending:
    """Check the policy and the metadata of one item, writing nothing."""
    document = item.metadata.model_dump(mode="json")
    if item.dataset_id is None:
        ref = PublisherRef(publisher_id)
        policy.ensure(actor, "catalogue.dataset.create", ref)
        policy.ensure(actor, "catalogue.dataset.publish", ref)
        metadata = DatasetDraft.model_validate(document)
        return _Pending(number, metadata, None, new_dataset_id(), document)
    dataset = _editable(session, actor, item.dataset_id, "catalogue.dataset.edit")
    policy.ensure(actor, "catalogue.dataset.publish", dataset)
    try:
        metadata = DatasetDraft.model_validate({**dataset.draft, **document})
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return _Pending(number, metadata, dataset, dataset.id, document)


def _write(
    session: Session,
    actor: Actor,
    publisher_id: int,
    prepared: _Pending,
    now: datetime,
) -> Dataset:
    """The draft part of an item: what create_dataset or edit_dataset would write."""
    document = prepared.metadata.model_dump(mode="json")
    if prepared.dataset is None:
        dataset = Dataset(
            id=prepared.dataset_id,
            publisher_id=publisher_id,
            status=DatasetStatus.draft.value,
            draft=document,
            created_at=now,
            modified_at=now,
        )
        session.add(dataset)
        session.flush()
        ledger.record(session, actor.ref, DatasetCreated(dataset.id, publisher_id))
        return dataset
    dataset = prepared.dataset
    merged = {**dataset.draft, **prepared.changes}
    changed = sorted(
        k for k in prepared.changes if dataset.draft.get(k) != merged.get(k)
    )
    dataset.draft = document
    dataset.modified_at = now
    session.flush()
    ledger.record(session, actor.ref, DatasetEdited(dataset.id, tuple(changed)))
    return dataset


def delete_dataset(
    session: Session, actor: Actor, *, dataset_id: str, reason: str
) -> None:
    dataset = _editable(session, actor, dataset_id, "catalogue.dataset.delete")
    if not reason.strip():
        raise InvalidInput(
            "Say why the dataset is withdrawn.",
            errors=[FieldError("reason", "The tombstone shows this reason.")],
        )
    dataset.status = DatasetStatus.deleted.value
    dataset.deleted_at = utcnow()
    dataset.deletion_reason = reason.strip()
    session.flush()
    search.remove(session, dataset.id)
    ledger.record(
        session, actor.ref, DatasetDeleted(dataset.id, dataset.deletion_reason)
    )


def get_version(
    session: Session, actor: Actor, dataset_id: str, number: int
) -> DatasetVersion:
    get_dataset(session, actor, dataset_id)
    version = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset_id, DatasetVersion.number == number
        )
    )
    if version is None:
        raise NotFound(f"Dataset {dataset_id} has no version {number}.")
    return version


def list_published(
    session: Session, *, offset: int, limit: int
) -> tuple[list[Dataset], int]:
    query = select(Dataset).where(Dataset.status == DatasetStatus.published.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Dataset.id).offset(offset).limit(limit)
    ).all()
    return list(items), total
