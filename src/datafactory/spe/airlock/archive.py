"""The public archive of a permit's code, and its results in the catalogue.

When a release request is approved, the SQL and scripts behind its released outputs are
copied into the permit's public archive with their SHA-256, once each: later releases add
only code not archived before. The copy outlives the workspace, which is destroyed when
the permit ends.

The first release of a permit also registers a results summary in the catalogue: a data
product of type ``result`` made with the permit's datasets, linked to the permit
(``spe_permit_results``), whose link is the public archive page. If the permit's holder
has not named where the results are published, the archive page becomes the permit's
results address, so the permit joins the register of successful data-sharing cases.
Everything is ledgered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

import datafactory.spe.policy as _rules  # noqa: F401  (the spe.* rules)
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.products.events import DataProductRegistered
from datafactory.catalogue.products.models import DataProduct, DataProductDataset
from datafactory.catalogue.products.schemas import ProductType
from datafactory.core import ledger
from datafactory.core.errors import NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation
from datafactory.permits.models import Application, Permit
from datafactory.spe.airlock.events import CodeArchived, ResultsRegistered
from datafactory.spe.airlock.models import (
    ArchivedCode,
    FileRole,
    PermitResults,
    ReleaseFile,
    ReleaseRequest,
)
from datafactory.spe.config import SpeConfig
from datafactory.spe.jobs.models import SpeJob, WorkspaceOutput
from datafactory.spe.models import Workspace

AIRLOCK = "system:spe.airlock"
"""The ledger's name for what the airlock does by itself once a release is approved."""


@dataclass(frozen=True)
class ArchiveEntry:
    name: str
    kind: str
    sha256: str
    text: str
    archived_at: datetime


@dataclass(frozen=True)
class PermitArchive:
    permit: str
    entries: list[ArchiveEntry]
    product_id: int | None
    """The catalogue's data product for the permit's results."""


def archive_url(config: SpeConfig, reference: str) -> str:
    """The public archive page of a permit."""
    return f"{config.base_url.rstrip('/')}/permits/{quote(reference, safe='')}/archive"


def publish_release(
    session: Session, config: SpeConfig, request: ReleaseRequest
) -> None:
    """Archive the code of an approved request and, at the permit's first release,
    register its results."""
    workspace = session.get(Workspace, request.workspace_id)
    assert workspace is not None  # a foreign key
    permit = session.get(Permit, workspace.permit_id)
    assert permit is not None  # a foreign key
    archive_code(session, config, request, permit)
    register_results(session, config, request, permit)


def _code_of(session: Session, output: WorkspaceOutput) -> tuple[str, str]:
    """The kind and a name for the code behind an output."""
    source, _, ident = output.origin.partition(":")
    if source == "query":
        return "sql", f"query-{ident}.sql"
    job = session.get(SpeJob, int(ident)) if ident.isdigit() else None
    name = job.name if job is not None and job.name else f"job-{ident}.py"
    return "script", name


def archive_code(
    session: Session, config: SpeConfig, request: ReleaseRequest, permit: Permit
) -> list[ArchivedCode]:
    """Copy the code behind the request's released outputs into the permit's archive;
    code archived already (same SHA-256) is not repeated."""
    released = session.scalars(
        select(WorkspaceOutput)
        .join(ReleaseFile, ReleaseFile.output_id == WorkspaceOutput.id)
        .where(
            ReleaseFile.request_id == request.id,
            ReleaseFile.role == FileRole.output.value,
        )
        .order_by(WorkspaceOutput.id)
    )
    known = set(
        session.scalars(
            select(ArchivedCode.sha256).where(ArchivedCode.permit_id == permit.id)
        )
    )
    added: list[ArchivedCode] = []
    for output in released:
        if not output.code:
            continue
        # The digest is computed here, not copied: the archive vouches for its own text.
        digest = hashlib.sha256(output.code.encode()).hexdigest()
        if digest in known:
            continue
        known.add(digest)
        kind, name = _code_of(session, output)
        added.append(
            ArchivedCode(
                permit_id=permit.id,
                workspace_id=request.workspace_id,
                request_id=request.id,
                kind=kind,
                name=name[:200],
                text=output.code,
                sha256=digest,
                archived_at=config.now(),
            )
        )
    if added:
        session.add_all(added)
        session.flush()
        ledger.record(
            session,
            AIRLOCK,
            CodeArchived(
                permit_id=permit.id,
                request_id=request.id,
                sha256=tuple(a.sha256 for a in added),
            ),
        )
    return added


def _dataset_ids(session: Session, permit: Permit) -> list[str]:
    """The permit's datasets that the catalogue has published."""
    wanted = sorted(
        {
            str(d["id"])
            for d in permit.scope.get("datasets", [])
            if isinstance(d, dict) and d.get("id")
        }
    )
    if not wanted:
        return []
    return list(
        session.scalars(
            select(Dataset.id)
            .where(Dataset.id.in_(wanted), Dataset.version > 0)
            .order_by(Dataset.id)
        )
    )


def _title(session: Session, permit: Permit) -> str:
    application = session.get(Application, permit.application_id)
    project = application.title if application is not None else ""
    label = f"Released results of permit {permit.reference}"
    return f"{label}: {project}"[:500] if project else label


def register_results(
    session: Session, config: SpeConfig, request: ReleaseRequest, permit: Permit
) -> DataProduct | None:
    """Register the permit's results in the catalogue, once; None when done before."""
    if session.get(PermitResults, permit.id) is not None:
        return None
    dataset_ids = _dataset_ids(session, permit)
    organisation = (
        session.get(Organisation, permit.organisation_id)
        if permit.organisation_id
        else None
    )
    url = archive_url(config, permit.reference)
    product = DataProduct(
        type=ProductType.result.value,
        title=_title(session, permit),
        # An organisation, never a person: the catalogue is public.
        authors=organisation.name if organisation is not None else "",
        link=url,
        doi=None,
        created_by=AIRLOCK,
        created_at=config.now(),
    )
    session.add(product)
    session.flush()
    session.add_all(
        DataProductDataset(product_id=product.id, dataset_id=d) for d in dataset_ids
    )
    session.add(
        PermitResults(
            permit_id=permit.id,
            product_id=product.id,
            request_id=request.id,
            registered_at=config.now(),
        )
    )
    results_url = None
    if not permit.results_url:
        permit.results_url = results_url = url
    session.flush()
    ledger.record(
        session,
        AIRLOCK,
        DataProductRegistered(product.id, product.type, tuple(dataset_ids)),
    )
    ledger.record(
        session,
        AIRLOCK,
        ResultsRegistered(
            permit_id=permit.id,
            product_id=product.id,
            request_id=request.id,
            dataset_ids=tuple(dataset_ids),
            results_url=results_url,
        ),
    )
    return product


def permit_archive(
    session: Session, permit_reference: str, actor: Actor | None = None
) -> PermitArchive:
    """The public archive of a permit: the code behind everything it released, oldest
    first. A permit that released nothing has no archive."""
    policy.ensure(actor or Actor.anonymous(), "spe.archive.view")
    permit = session.scalars(
        select(Permit).where(Permit.reference == permit_reference)
    ).first()
    entries = (
        []
        if permit is None
        else list(
            session.scalars(
                select(ArchivedCode)
                .where(ArchivedCode.permit_id == permit.id)
                .order_by(ArchivedCode.archived_at, ArchivedCode.id)
            )
        )
    )
    if permit is None or not entries:
        # One answer for both, so the archive does not reveal permits the public
        # register does not show yet.
        raise NotFound(f"There is no public archive for permit {permit_reference}.")
    results = session.get(PermitResults, permit.id)
    return PermitArchive(
        permit=permit.reference,
        entries=[
            ArchiveEntry(
                name=e.name,
                kind=e.kind,
                sha256=e.sha256,
                text=e.text,
                archived_at=e.archived_at,
            )
            for e in entries
        ],
        product_id=results.product_id if results is not None else None,
    )
