"""The airlock's API: release requests for members, the queue and reviews for output
checkers, downloads of released files, and the public code archive of a permit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy.orm import Session

from datafactory.identity.actor import Actor
from datafactory.spe.airlock import archive, requests, reviews
from datafactory.spe.airlock.models import ReleaseRequest
from datafactory.spe.airlock.schemas import (
    ArchiveEntryPublic,
    ArchivePublic,
    FileAdd,
    FilePublic,
    RequestCreate,
    RequestPublic,
    RequestSummary,
    ReviewIn,
    ReviewPublic,
)
from datafactory.spe.config import SpeConfig
from datafactory.web.api.permits import content_disposition
from datafactory.web.deps import RuntimeDep, SessionDep, allow

router = APIRouter(tags=["spe"])
Member = Annotated[Actor, Depends(allow("spe.workspace.use"))]
Checker = Annotated[Actor, Depends(allow("spe.output.check"))]
Anyone = Annotated[Actor, Depends(allow("spe.archive.view"))]
BASE = "/api/v1/spe/release-requests"


def config_of(runtime: RuntimeDep) -> SpeConfig:
    config: SpeConfig = runtime.spe
    return config


ConfigDep = Annotated[SpeConfig, Depends(config_of)]


def summary(request: ReleaseRequest) -> RequestSummary:
    return RequestSummary.model_validate(request, from_attributes=True)


def detail(session: Session, actor: Actor, request_id: int) -> RequestPublic:
    view = requests.get_request(session, actor, request_id=request_id)
    return RequestPublic(
        **summary(view.request).model_dump(),
        workspace=view.workspace,
        description=view.request.description,
        files=[
            FilePublic.model_validate(
                {**vars(f), "check_report": f.check_report and dict(f.check_report)}
            )
            for f in view.files
        ],
        reviews=[
            ReviewPublic.model_validate({**vars(r), "file_notes": dict(r.file_notes)})
            for r in view.reviews
        ],
        reviews_this_round=view.reviews_this_round,
    )


def file_response(released: requests.ReleasedFile) -> Response:
    return Response(
        released.data,
        media_type=released.media_type,
        headers={
            "Content-Disposition": content_disposition(released.name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "X-Content-SHA256": released.sha256,
        },
    )


@router.post(
    "/api/v1/spe/workspaces/{workspace}/release-requests",
    status_code=status.HTTP_201_CREATED,
)
def create_request(
    workspace: str,
    body: RequestCreate,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
) -> RequestPublic:
    """Open a draft release request in a workspace you are a member of."""
    made = requests.create_request(
        session,
        actor,
        config,
        workspace=workspace,
        title=body.title,
        description=body.description,
    )
    return detail(session, actor, made.id)


@router.get("/api/v1/spe/workspaces/{workspace}/release-requests")
def list_requests(
    workspace: str, session: SessionDep, actor: Member
) -> list[RequestSummary]:
    """The workspace's release requests, newest first."""
    found = requests.list_requests(session, actor, workspace=workspace)
    return [summary(r) for r in found]


@router.get(f"{BASE}/queue")
def checker_queue(session: SessionDep, actor: Checker) -> list[RequestSummary]:
    """Submitted requests waiting for your review; never your own."""
    return [summary(r) for r in reviews.checker_queue(session, actor)]


@router.get(BASE + "/{request_id}")
def get_request(request_id: int, session: SessionDep, actor: Member) -> RequestPublic:
    return detail(session, actor, request_id)


@router.post(BASE + "/{request_id}/files", status_code=status.HTTP_201_CREATED)
def add_file(
    request_id: int,
    body: FileAdd,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
) -> RequestPublic:
    """Put an output of the workspace into the request (its author only)."""
    requests.add_file(
        session, actor, config, request_id=request_id, **body.model_dump()
    )
    return detail(session, actor, request_id)


@router.delete(
    BASE + "/{request_id}/files/{file_id}", status_code=status.HTTP_204_NO_CONTENT
)
def remove_file(
    request_id: int, file_id: int, session: SessionDep, config: ConfigDep, actor: Member
) -> None:
    requests.remove_file(session, actor, config, request_id=request_id, file_id=file_id)


@router.post(BASE + "/{request_id}/submission")
def submit(
    request_id: int, session: SessionDep, config: ConfigDep, actor: Member
) -> RequestPublic:
    """Run the automatic checks and send the request to two output checkers."""
    requests.submit(session, actor, config, request_id=request_id)
    return detail(session, actor, request_id)


@router.post(BASE + "/{request_id}/withdrawal")
def withdraw(
    request_id: int, session: SessionDep, config: ConfigDep, actor: Member
) -> RequestPublic:
    requests.withdraw(session, actor, config, request_id=request_id)
    return detail(session, actor, request_id)


@router.post(BASE + "/{request_id}/reviews", status_code=status.HTTP_201_CREATED)
def review(
    request_id: int,
    body: ReviewIn,
    session: SessionDep,
    config: ConfigDep,
    actor: Checker,
) -> RequestPublic:
    """Approve, reject or request changes; the second review concludes the round."""
    reviews.review(
        session,
        actor,
        config,
        request_id=request_id,
        decision=body.decision,
        comment=body.comment,
        file_notes=body.file_notes,
    )
    return detail(session, actor, request_id)


@router.get(BASE + "/{request_id}/files/{file_id}/inspection")
def inspect_file(
    request_id: int,
    file_id: int,
    session: SessionDep,
    config: ConfigDep,
    actor: Checker,
) -> Response:
    """An output checker reads a file of a request under review (ledgered)."""
    return file_response(
        reviews.inspect_file(
            session, actor, config, request_id=request_id, file_id=file_id
        )
    )


@router.get(BASE + "/{request_id}/files/{file_id}/download")
def download_file(
    request_id: int,
    file_id: int,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
) -> Response:
    """A released file of an approved request, for members of its workspace."""
    return file_response(
        requests.download_file(
            session, actor, config, request_id=request_id, file_id=file_id
        )
    )


@router.get("/api/v1/permits/{reference}/archive")
def permit_archive(reference: str, session: SessionDep, actor: Anyone) -> ArchivePublic:
    """The public archive of a permit: the code behind its released outputs."""
    found = archive.permit_archive(session, reference, actor)
    return ArchivePublic(
        permit=found.permit,
        product_id=found.product_id,
        entries=[ArchiveEntryPublic.model_validate(vars(e)) for e in found.entries],
    )
