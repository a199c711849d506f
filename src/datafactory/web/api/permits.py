"""The access procedure's API: applications and their commands, attachments, permits, the
GA4GH passport and the inbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from datafactory.core.errors import InvalidInput
from datafactory.identity.actor import Actor
from datafactory.permits import applications, issuing, notifications, procedure
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Application, Notification, Permit
from datafactory.permits.schemas import (
    ApplicationCreate,
    ApplicationForm,
    ApplicationKind,
    ApplicationPage,
    ApplicationPublic,
    CommandIn,
    CriterionOut,
    EventOut,
    Gap,
    PermitPublic,
    RevocationIn,
)
from datafactory.permits.workflow import State
from datafactory.web.deps import RuntimeDep, SessionDep, allow

router = APIRouter(tags=["permits"])
Participant = Annotated[Actor, Depends(allow("permits.application.use"))]
Applicant = Annotated[Actor, Depends(allow("permits.application.create"))]
Authority = Annotated[Actor, Depends(allow("permits.queue.view"))]
Decider = Annotated[Actor, Depends(allow("permits.permit.revoke"))]


def config_of(runtime: RuntimeDep) -> PermitsConfig:
    return runtime.permits


ConfigDep = Annotated[PermitsConfig, Depends(config_of)]


class CommandRequest(CommandIn):
    form: ApplicationForm | None = None


class FormSave(BaseModel):
    form: ApplicationForm
    expected_version: int | None = None


class AttachmentOut(BaseModel):
    id: int
    filename: str
    media_type: str
    size: int
    sha256: str


class NotificationOut(BaseModel):
    id: int
    subject: str
    body: str
    link: str | None
    read: bool
    created_at: datetime


class Passport(BaseModel):
    ga4gh_passport_v1: list[str]


def public(
    session: Session, actor: Actor, application: Application
) -> ApplicationPublic:
    view = applications.view_of(session, application)
    return ApplicationPublic(
        id=application.id,
        reference=application.reference,
        kind=ApplicationKind(application.kind),
        permit_id=application.permit_id,
        state=view.state,
        status=view.label,
        version=view.version,
        applicant_id=application.applicant_id,
        form=ApplicationForm.model_validate(application.form),
        created_at=application.created_at,
        submitted_at=application.submitted_at,
        decided_at=application.decided_at,
        deadline=application.deadline,
        clock=application.clock,
        allowed_commands=procedure.allowed_for(session, actor, application),
    )


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name, so accented names survive."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
        for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def permit_public(permit: Permit) -> PermitPublic:
    return PermitPublic(
        id=permit.id,
        reference=permit.reference,
        application_id=permit.application_id,
        status=permit.status,
        scope=permit.scope,
        starts_on=permit.starts_on,
        ends_on=permit.ends_on,
        granted_at=permit.granted_at,
        revoked_at=permit.revoked_at,
        revocation_reason=permit.revocation_reason,
        token=permit.token,
    )


@router.post("/api/v1/applications", status_code=status.HTTP_201_CREATED)
def create_application(
    body: ApplicationCreate,
    session: SessionDep,
    config: ConfigDep,
    actor: Applicant,
) -> ApplicationPublic:
    """Start a draft application (or an amendment or renewal of a permit)."""
    application = applications.create_application(session, actor, config, body=body)
    return public(session, actor, application)


@router.get("/api/v1/applications")
def my_applications(
    session: SessionDep,
    actor: Participant,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApplicationPage:
    """The applications I take part in."""
    found = applications.list_mine(session, actor, page=page, page_size=page_size)
    return ApplicationPage(
        items=[public(session, actor, a) for a in found.items], total=found.total
    )


@router.get("/api/v1/applications/queue")
def queue(
    session: SessionDep,
    actor: Authority,
    state: Annotated[list[State] | None, Query()] = None,
    overdue_on: date | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApplicationPage:
    """The authority's queue, soonest deadline first; ``overdue_on`` keeps the overdue."""
    found = applications.list_queue(
        session,
        actor,
        states=state or (),
        overdue_on=overdue_on,
        page=page,
        page_size=page_size,
    )
    return ApplicationPage(
        items=[public(session, actor, a) for a in found.items], total=found.total
    )


@router.get("/api/v1/applications/{application_id}")
def get_application(
    application_id: int, session: SessionDep, actor: Participant
) -> ApplicationPublic:
    application = applications.get_application(session, actor, application_id)
    return public(session, actor, application)


@router.put("/api/v1/applications/{application_id}/form")
def save_form(
    application_id: int,
    body: FormSave,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
) -> ApplicationPublic:
    """Save the draft's answers (incomplete answers are fine until submission)."""
    command = CommandIn(command="save_draft", expected_version=body.expected_version)
    application = procedure.execute(
        session,
        actor,
        config,
        application_id=application_id,
        command=command,
        form=body.form,
    )
    return public(session, actor, application)


@router.post("/api/v1/applications/{application_id}/commands")
def run_command(
    application_id: int,
    body: CommandRequest,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
) -> ApplicationPublic:
    """Submit, screen, ask for information, review, decide, withdraw: one command.

    A command the application's state does not allow for you answers 409 with the state
    and the commands you may send.
    """
    command = CommandIn.model_validate(body.model_dump(exclude={"form"}))
    application = procedure.execute(
        session,
        actor,
        config,
        application_id=application_id,
        command=command,
        form=body.form,
    )
    return public(session, actor, application)


@router.get("/api/v1/applications/{application_id}/events")
def application_events(
    application_id: int, session: SessionDep, actor: Participant
) -> list[EventOut]:
    application = applications.get_application(session, actor, application_id)
    internal = applications.sees_internal(session, actor, application)
    return [
        EventOut(
            seq=e.seq,
            type=e.type,
            actor=e.actor,
            at=e.at,
            comment=str(e.payload.get("comment", "")),
        )
        for e in applications.events_of(session, application)
        if applications.visible(e, internal=internal)
    ]


@router.get("/api/v1/applications/{application_id}/completeness")
def completeness(
    application_id: int, session: SessionDep, config: ConfigDep, actor: Participant
) -> list[Gap]:
    """What is missing (blocks submission) or weak (advice), in plain words."""
    application = applications.get_application(session, actor, application_id)
    return applications.gaps_of(session, config, application)


@router.get("/api/v1/applications/{application_id}/criteria")
def criteria(
    application_id: int, session: SessionDep, config: ConfigDep, actor: Authority
) -> list[CriterionOut]:
    """The automatic checks that advise the handler, each with the rule it comes from."""
    application = applications.get_application(session, actor, application_id)
    return [
        CriterionOut(code=c.code, rule=c.rule, outcome=c.outcome, message=c.message)
        for c in applications.criteria_of(session, config, application)
    ]


@router.post(
    "/api/v1/applications/{application_id}/attachments",
    status_code=status.HTTP_201_CREATED,
)
async def upload_attachment(
    application_id: int,
    file: UploadFile,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
) -> AttachmentOut:
    """Attach a PDF, PNG or JPEG (an ethics approval, say) to a draft."""
    data = await file.read(config.attachment_max_bytes + 1)
    if file.content_type is None:
        raise InvalidInput("The file has no type.")
    attachment = applications.attach(
        session,
        actor,
        config,
        application_id=application_id,
        filename=file.filename or "attachment",
        media_type=file.content_type,
        data=data,
    )
    return AttachmentOut(
        id=attachment.id,
        filename=attachment.filename,
        media_type=attachment.media_type,
        size=attachment.size,
        sha256=attachment.sha256,
    )


@router.get("/api/v1/applications/{application_id}/attachments/{attachment_id}")
def download_attachment(
    application_id: int,
    attachment_id: int,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
) -> Response:
    attachment, data = applications.read_attachment(
        session,
        actor,
        config,
        application_id=application_id,
        attachment_id=attachment_id,
    )
    return Response(
        data,
        media_type=attachment.media_type,
        headers={
            "Content-Disposition": content_disposition(attachment.filename),
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/api/v1/permits")
def my_permits(session: SessionDep, actor: Participant) -> list[PermitPublic]:
    """The permits that name me."""
    return [permit_public(p) for p in issuing.permits_of(session, actor)]


@router.get("/api/v1/permits/{permit_id}")
def get_permit(permit_id: int, session: SessionDep, actor: Participant) -> PermitPublic:
    return permit_public(issuing.get_permit(session, actor, permit_id))


@router.post("/api/v1/permits/{permit_id}/revoke")
def revoke_permit(
    permit_id: int,
    body: RevocationIn,
    session: SessionDep,
    config: ConfigDep,
    actor: Decider,
) -> PermitPublic:
    """A decider revokes a permit in force, with a reason that is published."""
    permit = issuing.revoke_permit(
        session, actor, config, permit_id=permit_id, reason=body.reason
    )
    return permit_public(permit)


@router.get("/api/v1/passport")
def passport(session: SessionDep, config: ConfigDep, actor: Participant) -> Passport:
    """My GA4GH passport: a ControlledAccessGrants visa per dataset of my permits."""
    return Passport(ga4gh_passport_v1=issuing.visas_for(session, actor, config))


def _notification(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.id,
        subject=n.subject,
        body=n.body,
        link=n.link,
        read=n.read_at is not None,
        created_at=n.created_at,
    )


@router.get("/api/v1/notifications")
def inbox(
    session: SessionDep, actor: Participant, unread: bool = False
) -> list[NotificationOut]:
    assert actor.person_id is not None
    return [
        _notification(n)
        for n in notifications.inbox(session, actor.person_id, unread_only=unread)
    ]


@router.post("/api/v1/notifications/{notification_id}/read")
def mark_read(
    notification_id: int, session: SessionDep, actor: Participant
) -> NotificationOut:
    assert actor.person_id is not None
    return _notification(
        notifications.mark_read(session, actor.person_id, notification_id)
    )
