"""Publishers as the catalogue sees them: whom a steward may publish for, and what each
organisation publishes -- datasets, data services and dataset series -- with its drafts
too, for its own stewards."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.catalogue.models import CatalogueRecord, Dataset
from datafactory.catalogue.schemas import DatasetStatus
from datafactory.catalogue.service import PublisherRef
from datafactory.core.errors import NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation, Role


@dataclass(frozen=True)
class PublisherDatasets:
    """What one organisation publishes; ``drafts`` stays empty for all but its stewards."""

    organisation: Organisation
    published: list[Dataset]
    drafts: list[Dataset]
    may_edit: bool
    records: list[CatalogueRecord] = field(default_factory=list)
    """Its data services and dataset series, published first; drafts for stewards only."""


def publishers_for(session: Session, actor: Actor) -> list[Organisation]:
    """The organisations ``actor`` may create datasets for, by name."""
    query = select(Organisation).order_by(Organisation.name)
    if not actor.has_role(Role.catalogue_admin, Role.admin):
        ids = {org for role, org in actor.roles if role == Role.data_steward.value}
        query = query.where(Organisation.id.in_(ids - {None}))
    return [
        org
        for org in session.scalars(query)
        if policy.allowed(actor, "catalogue.dataset.create", PublisherRef(org.id))
    ]


def publisher_of(session: Session, dataset: Dataset) -> Organisation:
    organisation = session.get(Organisation, dataset.publisher_id)
    assert organisation is not None  # a foreign key
    return organisation


def get_publisher(session: Session, actor: Actor, slug: str) -> PublisherDatasets:
    """An organisation's published datasets, and its drafts if ``actor`` stewards it."""
    organisation = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise NotFound(f"There is no publisher {slug}.")
    may_edit = policy.allowed(
        actor, "catalogue.dataset.edit", PublisherRef(organisation.id)
    )
    statuses = [DatasetStatus.published.value]
    if may_edit:
        statuses.append(DatasetStatus.draft.value)
    datasets = list(
        session.scalars(
            select(Dataset)
            .where(
                Dataset.publisher_id == organisation.id, Dataset.status.in_(statuses)
            )
            .order_by(Dataset.created_at, Dataset.id)
        )
    )
    others = session.scalars(
        select(CatalogueRecord)
        .where(
            CatalogueRecord.publisher_id == organisation.id,
            CatalogueRecord.status.in_(statuses),
        )
        .order_by(CatalogueRecord.kind, CatalogueRecord.created_at, CatalogueRecord.id)
    )
    return PublisherDatasets(
        organisation=organisation,
        published=[d for d in datasets if d.status == DatasetStatus.published.value],
        drafts=[d for d in datasets if d.status == DatasetStatus.draft.value],
        may_edit=may_edit,
        records=sorted(others, key=lambda r: r.status != DatasetStatus.published.value),
    )
