"""Administration of people and their roles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from datafactory.core.errors import DatafactoryError, InvalidInput
from datafactory.identity import people
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role
from datafactory.web.deps import SessionDep, allow
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("pages")


@router.get("/admin/people")
def people_page(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("identity.person.list"))],
) -> Any:
    return _page(request, session, actor)


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    problem: DatafactoryError | None = None,
) -> Any:
    context = {
        "people": people.list_people(session, actor),
        "organisations": people.list_organisations(session, actor),
        "roles": [r.value for r in Role],
        "problem": problem,
    }
    return render(
        request,
        "admin_people.html",
        context,
        status_code=problem.status if problem else 200,
    )


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise InvalidInput(f"There is no role {value!r}.") from exc


def _organisation(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


@router.post("/admin/roles/grant")
def grant(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("identity.role.grant"))],
    person_id: Annotated[int, Form()],
    role: Annotated[str, Form()],
    organisation_id: Annotated[str, Form()] = "",
) -> Any:
    try:
        people.grant_role(
            session,
            actor,
            person_id=person_id,
            organisation_id=_organisation(organisation_id),
            role=_role(role),
        )
    except DatafactoryError as problem:
        # Shown on the form; grant_role refuses before it writes anything.
        return _page(request, session, actor, problem)
    return RedirectResponse("/admin/people", status_code=303)


@router.post("/admin/roles/revoke")
def revoke(
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("identity.role.revoke"))],
    person_id: Annotated[int, Form()],
    role: Annotated[str, Form()],
    organisation_id: Annotated[str, Form()] = "",
) -> RedirectResponse:
    people.revoke_role(
        session,
        actor,
        person_id=person_id,
        organisation_id=_organisation(organisation_id),
        role=_role(role),
    )
    return RedirectResponse("/admin/people", status_code=303)
