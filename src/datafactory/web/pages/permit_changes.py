"""What can happen to a permit from its page: its holder asks for an amendment or a renewal
(a new application through the same procedure), a decider revokes it with a reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from datafactory.core.errors import FieldError, InvalidInput
from datafactory.identity.actor import Actor
from datafactory.permits import applications, issuing
from datafactory.permits.schemas import ApplicationCreate, ApplicationKind
from datafactory.web.api.permits import ConfigDep
from datafactory.web.deps import SessionDep, allow
from datafactory.web.pages import page_router
from datafactory.web.pages.permit_pages import render_permit

router = page_router("permits")
Applicant = Annotated[Actor, Depends(allow("permits.application.create"))]
Decider = Annotated[Actor, Depends(allow("permits.permit.revoke"))]
REASON_MIN = 10


@router.post("/permits/{permit_id}/change")
def request_change(
    permit_id: int,
    session: SessionDep,
    config: ConfigDep,
    actor: Applicant,
    kind: Annotated[ApplicationKind, Form()],
) -> Any:
    """Start an amendment or a renewal: a draft that starts from the permit's answers."""
    if kind is ApplicationKind.new:
        raise InvalidInput("Choose an amendment or a renewal.")
    body = ApplicationCreate(kind=kind, permit_id=permit_id)
    application = applications.create_application(session, actor, config, body=body)
    return RedirectResponse(
        f"/applications/{application.id}/edit?step=1", status_code=303
    )


@router.post("/permits/{permit_id}/revoke")
def revoke(
    permit_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Decider,
    reason: Annotated[str, Form(max_length=10_000)] = "",
) -> Any:
    """A decider revokes a permit in force; the reason is published."""
    if len(reason.strip()) < REASON_MIN:
        problem = InvalidInput(
            "Give the reason for the revocation; it is published.",
            errors=[
                FieldError("reason", "Write at least a sentence: it is published.")
            ],
        )
        return render_permit(
            request, session, config, actor, permit_id, problem=problem, status_code=422
        )
    issuing.revoke_permit(
        session, actor, config, permit_id=permit_id, reason=reason.strip()
    )
    return RedirectResponse(f"/permits/{permit_id}?done=revoked", status_code=303)
