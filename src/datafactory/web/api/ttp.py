"""The trusted third party's API, for TTP operators: pseudonym domains, master key rotation,
file pseudonymisation, four-eyes re-identification and the citizen lookup."""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from datafactory.core.errors import FieldError, InvalidInput
from datafactory.identity.actor import Actor
from datafactory.ttp import domains, files, lookup, reidentification, uploads
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.files import FileFormat
from datafactory.ttp.models import (
    DomainKind,
    PseudonymDomain,
    ReidentificationRequest,
    RequestStatus,
)
from datafactory.ttp.schemas import (
    DomainCreate,
    DomainHolding,
    DomainPublic,
    DomainRetirement,
    KeyRotation,
    KeyVersion,
    LookupRequest,
    ReidentificationCreate,
    ReidentificationPublic,
    ReidentificationRefusal,
    RevealedIdentifier,
)
from datafactory.web.deps import RuntimeDep, SessionDep, allow
from datafactory.web.problems import problem_response

router = APIRouter(tags=["ttp"])
Viewer = Annotated[Actor, Depends(allow("ttp.domain.view"))]
Manager = Annotated[Actor, Depends(allow("ttp.domain.manage"))]
FileOperator = Annotated[Actor, Depends(allow("ttp.file.pseudonymise"))]
KeyOperator = Annotated[Actor, Depends(allow("ttp.key.rotate"))]
Reidentifier = Annotated[Actor, Depends(allow("ttp.reidentify"))]
LookupActor = Annotated[Actor, Depends(allow("ttp.lookup"))]
NO_STORE = {"Cache-Control": "no-store"}
BODY_FORMATS = {
    "text/csv": FileFormat.csv,
    "application/csv": FileFormat.csv,
    "application/vnd.apache.parquet": FileFormat.parquet,
    "application/x-parquet": FileFormat.parquet,
}


def config_of(runtime: RuntimeDep) -> TtpConfig:
    return runtime.ttp


ConfigDep = Annotated[TtpConfig, Depends(config_of)]


def domains_public(
    session: Session, found: list[PseudonymDomain]
) -> list[DomainPublic]:
    permits = domains.permit_references(session, found)
    return [
        DomainPublic(
            id=d.id,
            name=d.name,
            kind=DomainKind(d.kind),
            status=d.status,
            permit_reference=permits.get(d.permit_id) if d.permit_id else None,
            key_version=d.key_version,
            key_versions=d.key_versions,
            created_at=d.created_at,
            rotated_at=d.rotated_at,
            retired_at=d.retired_at,
        )
        for d in found
    ]


def request_public(
    request: ReidentificationRequest, domain: str
) -> ReidentificationPublic:
    return ReidentificationPublic(
        id=request.id,
        domain=domain,
        pseudonym=request.pseudonym,
        legal_reason=request.legal_reason,
        status=RequestStatus(request.status),
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        decided_by=request.decided_by,
        decided_at=request.decided_at,
        refusal_reason=request.refusal_reason,
        revealed_at=request.revealed_at,
    )


@router.get("/api/v1/ttp/domains")
def list_domains(session: SessionDep, actor: Viewer) -> list[DomainPublic]:
    """Every pseudonym domain, by name."""
    return domains_public(session, domains.list_domains(session, actor))


@router.post("/api/v1/ttp/domains", status_code=status.HTTP_201_CREATED)
def create_domain(
    body: DomainCreate, session: SessionDep, config: ConfigDep, actor: Manager
) -> DomainPublic:
    """Create a permit or sector domain on the current master key version."""
    domain = domains.create_domain(
        session,
        actor,
        config,
        name=body.name,
        kind=body.kind,
        permit_reference=body.permit_reference,
    )
    return domains_public(session, [domain])[0]


@router.post("/api/v1/ttp/domains/{domain}/rotation")
def rotate_domain(
    domain: str, session: SessionDep, config: ConfigDep, actor: Manager
) -> DomainPublic:
    """Move the domain to the newest master key version."""
    found = domains.rotate_domain(session, actor, config, name=domain)
    return domains_public(session, [found])[0]


@router.post("/api/v1/ttp/domains/{domain}/retirement")
def retire_domain(
    domain: str,
    body: DomainRetirement,
    session: SessionDep,
    config: ConfigDep,
    actor: Manager,
) -> DomainPublic:
    """Stop the domain from making new pseudonyms; the old ones stay re-identifiable."""
    found = domains.retire_domain(
        session, actor, config, name=domain, reason=body.reason
    )
    return domains_public(session, [found])[0]


@router.post("/api/v1/ttp/domains/{domain}/pseudonymisations")
async def pseudonymise(
    domain: str,
    request: Request,
    column: Annotated[str, Query(min_length=1, max_length=200)],
    session: SessionDep,
    config: ConfigDep,
    actor: FileOperator,
    output: FileFormat | None = None,
    filename: Annotated[str, Query(max_length=200)] = "upload",
) -> Response:
    """Send a CSV or Parquet file as the body (``Content-Type: text/csv`` or
    ``application/vnd.apache.parquet``); get it back with ``column`` pseudonymised. An
    invalid identifier refuses the whole file with 422, naming rows, never values."""
    in_format = _body_format(request.headers.get("content-type", ""))
    await run_in_threadpool(domains.open_domain, session, domain)
    sink = uploads.UploadSink(config, in_format)
    try:
        async for chunk in request.stream():
            sink.write(chunk)
    except BaseException:
        sink.discard()
        raise
    source, target = sink.close(), uploads.work_path(config, output or in_format)
    name = filename.replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    work = functools.partial(
        files.pseudonymise_file,
        session,
        actor,
        config,
        domain=domain,
        column=column,
        source=source,
        target=target,
        source_name=name,
        target_name=f"pseudonymised-{name}",
    )
    try:
        report = await run_in_threadpool(work)
    finally:
        source.unlink(missing_ok=True)
    if not report.ok:
        return problem_response(request, report.error())
    return FileResponse(
        target,
        media_type=(output or in_format).media_type,
        filename=f"pseudonymised-{name}",
        headers={
            **NO_STORE,
            "X-Rows": str(report.rows),
            "X-New-Pseudonyms": str(report.new_pseudonyms),
            "X-Key-Version": str(report.key_version),
        },
        background=BackgroundTask(target.unlink, missing_ok=True),
    )


def _body_format(content_type: str) -> FileFormat:
    found = BODY_FORMATS.get(content_type.split(";")[0].strip().lower())
    if found is None:
        raise InvalidInput(
            "Send the file as the request body, typed text/csv or "
            "application/vnd.apache.parquet.",
            errors=[
                FieldError(
                    "content-type", "Use text/csv or application/vnd.apache.parquet."
                )
            ],
        )
    return found


@router.post("/api/v1/ttp/keys/rotation")
def rotate_master_key(
    body: KeyRotation, session: SessionDep, config: ConfigDep, actor: KeyOperator
) -> KeyVersion:
    """Add a master key version (where the custody allows it)."""
    version = domains.rotate_master_key(
        session, actor, config, expected_version=body.expected_version
    )
    return KeyVersion(version=version)


@router.get("/api/v1/ttp/reidentifications")
def list_reidentifications(
    session: SessionDep,
    actor: Reidentifier,
    status: RequestStatus | None = RequestStatus.pending,
) -> list[ReidentificationPublic]:
    """Re-identification requests, pending ones by default."""
    found = reidentification.list_requests(session, actor, status=status)
    return [request_public(r, name) for r, name in found]


@router.post("/api/v1/ttp/reidentifications", status_code=status.HTTP_201_CREATED)
def request_reidentification(
    body: ReidentificationCreate,
    session: SessionDep,
    config: ConfigDep,
    actor: Reidentifier,
) -> ReidentificationPublic:
    """Ask to re-identify a pseudonym, stating the legal reason."""
    made = reidentification.request_reidentification(
        session,
        actor,
        domain=body.domain,
        pseudonym=body.pseudonym,
        legal_reason=body.legal_reason,
        now=config.now(),
    )
    return request_public(made, body.domain.strip())


@router.post("/api/v1/ttp/reidentifications/{request_id}/approval")
def approve_reidentification(
    request_id: int, session: SessionDep, config: ConfigDep, actor: Reidentifier
) -> ReidentificationPublic:
    """Approve another operator's request."""
    done = reidentification.approve(
        session, actor, request_id=request_id, now=config.now()
    )
    return request_public(done, session.get_one(PseudonymDomain, done.domain_id).name)


@router.post("/api/v1/ttp/reidentifications/{request_id}/refusal")
def refuse_reidentification(
    request_id: int,
    body: ReidentificationRefusal,
    session: SessionDep,
    config: ConfigDep,
    actor: Reidentifier,
) -> ReidentificationPublic:
    """Refuse a request (or withdraw one's own)."""
    done = reidentification.refuse(
        session, actor, request_id=request_id, reason=body.reason, now=config.now()
    )
    return request_public(done, session.get_one(PseudonymDomain, done.domain_id).name)


@router.post("/api/v1/ttp/reidentifications/{request_id}/reveal")
def reveal_identifier(
    request_id: int,
    response: Response,
    session: SessionDep,
    config: ConfigDep,
    actor: Reidentifier,
) -> RevealedIdentifier:
    """The identifier, once, for the requester of an approved request."""
    identifier = reidentification.reveal(session, actor, config, request_id=request_id)
    response.headers.update(NO_STORE)
    return RevealedIdentifier(request_id=request_id, identifier=identifier)


@router.post("/api/v1/ttp/lookups")
def lookup_citizen(
    body: LookupRequest, session: SessionDep, config: ConfigDep, actor: LookupActor
) -> list[DomainHolding]:
    """The domains holding records about a person, never their pseudonyms."""
    found = lookup.domains_holding(session, actor, config, matricule=body.matricule)
    return [DomainHolding.model_validate(ref, from_attributes=True) for ref in found]
