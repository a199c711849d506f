"""A person's own account: roles and API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from datafactory.core.db import utcnow
from datafactory.core.errors import InvalidInput
from datafactory.identity import people, policy, tokens
from datafactory.identity.actor import Actor
from datafactory.identity.tokens import IssuedToken
from datafactory.web.deps import SessionDep, SettingsDep, allow
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("pages")


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    max_days: int,
    *,
    issued: IssuedToken | None = None,
    problem: InvalidInput | None = None,
    form: dict[str, Any] | None = None,
) -> Any:
    assert actor.person_id is not None
    person = people.get_person(session, actor.person_id)
    context = {
        "memberships": person.memberships,
        "tokens": tokens.list_tokens(session, actor),
        "scopes": policy.token_scopes(),
        "max_days": max_days,
        "now": utcnow(),
        "issued": issued,
        "problem": problem,
        "field_errors": {e.field: e.message for e in problem.errors} if problem else {},
        "form": form or {"name": "", "scopes": [], "days": 90},
    }
    return render(request, "account.html", context, status_code=422 if problem else 200)


@router.get("/account")
def account(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(allow("account.view"))],
) -> Any:
    return _page(request, session, actor, settings.token_max_days)


@router.post("/account/tokens")
def create_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(allow("account.token.create"))],
    name: Annotated[str, Form(max_length=200)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    days: Annotated[str, Form(max_length=6)] = "90",
) -> Any:
    form = {"name": name, "scopes": scopes or [], "days": days}
    try:
        issued = tokens.create_token(
            session,
            actor,
            name=name,
            scopes=scopes or [],
            days=int(days) if days.strip().isdigit() else 0,
            max_days=settings.token_max_days,
        )
    except InvalidInput as problem:
        return _page(
            request, session, actor, settings.token_max_days, problem=problem, form=form
        )
    return _page(request, session, actor, settings.token_max_days, issued=issued)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    token_id: int,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("account.token.revoke"))],
) -> RedirectResponse:
    tokens.revoke_token(session, actor, token_id=token_id)
    return RedirectResponse("/account", status_code=303)
