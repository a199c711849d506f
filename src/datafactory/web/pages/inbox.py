"""The inbox page: a person's notifications, newest first, unread ones marked."""

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from datafactory.identity.actor import Actor
from datafactory.permits import notifications
from datafactory.web.deps import SessionDep, allow
from datafactory.web.pages import page_router
from datafactory.web.pages.wizard_form import (
    person_id_of,
)
from datafactory.web.templating import render

router = page_router("permits")
Participant = Annotated[Actor, Depends(allow("permits.application.use"))]


# --- the inbox --------------------------------------------------------------------------


@router.get("/inbox")
def inbox(request: Request, session: SessionDep, actor: Participant) -> Any:
    """My notifications, newest first."""
    person_id = person_id_of(actor)
    context = {
        "messages": notifications.inbox(
            session, person_id, limit=notifications.INBOX_MAX
        ),
        "unread": notifications.unread_count(session, person_id),
    }
    return render(request, "inbox.html", context)


@router.post("/inbox/read-all")
def mark_all_read(session: SessionDep, actor: Participant) -> RedirectResponse:
    notifications.mark_all_read(session, person_id_of(actor))
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/{notification_id}/read")
def mark_read(
    notification_id: int, session: SessionDep, actor: Participant
) -> RedirectResponse:
    notifications.mark_read(session, person_id_of(actor), notification_id)
    return RedirectResponse(f"/inbox#message-{notification_id}", status_code=303)
