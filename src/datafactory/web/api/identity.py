"""Who am I, organisations, people and roles, API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from datafactory.identity import people, tokens
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role
from datafactory.identity.schemas import (
    MembershipPublic,
    MePublic,
    OrganisationPublic,
    PersonPublic,
    RoleChange,
    TokenCreate,
    TokenIssued,
    TokenPublic,
)
from datafactory.web.deps import SessionDep, SettingsDep, allow

router = APIRouter(prefix="/api", tags=["identity"])


@router.get("/me")
def me(actor: Annotated[Actor, Depends(allow("account.view"))]) -> MePublic:
    assert actor.person_id is not None
    return MePublic(
        person_id=actor.person_id,
        name=actor.name,
        roles=[
            MembershipPublic(role=r, organisation_id=o)
            for r, o in sorted(actor.roles, key=str)
        ],
        scopes=sorted(actor.scopes) if actor.scopes is not None else None,
    )


@router.get("/organisations")
def list_organisations(
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("identity.organisation.list"))],
) -> list[OrganisationPublic]:
    found = people.list_organisations(session, actor)
    return [OrganisationPublic.model_validate(o) for o in found]


@router.get("/people")
def list_people(
    session: SessionDep, actor: Annotated[Actor, Depends(allow("identity.person.list"))]
) -> list[PersonPublic]:
    return [PersonPublic.model_validate(p) for p in people.list_people(session, actor)]


@router.post("/people/{person_id}/roles", status_code=status.HTTP_201_CREATED)
def grant_role(
    person_id: int,
    change: RoleChange,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("identity.role.grant"))],
) -> MembershipPublic:
    membership = people.grant_role(
        session,
        actor,
        person_id=person_id,
        organisation_id=change.organisation_id,
        role=change.role,
    )
    return MembershipPublic.model_validate(membership)


@router.delete("/people/{person_id}/roles/{role}", status_code=204)
def revoke_role(
    person_id: int,
    role: Role,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("identity.role.revoke"))],
    organisation_id: int | None = None,
) -> Response:
    people.revoke_role(
        session, actor, person_id=person_id, organisation_id=organisation_id, role=role
    )
    return Response(status_code=204)


@router.get("/tokens")
def list_tokens(
    session: SessionDep, actor: Annotated[Actor, Depends(allow("account.view"))]
) -> list[TokenPublic]:
    return [TokenPublic.model_validate(t) for t in tokens.list_tokens(session, actor)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(
    body: TokenCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(allow("account.token.create"))],
) -> TokenIssued:
    issued = tokens.create_token(
        session,
        actor,
        name=body.name,
        scopes=body.scopes,
        days=body.days,
        max_days=settings.token_max_days,
    )
    public = TokenPublic.model_validate(issued.token)
    return TokenIssued(**public.model_dump(), secret=issued.secret)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: int,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("account.token.revoke"))],
) -> Response:
    tokens.revoke_token(session, actor, token_id=token_id)
    return Response(status_code=204)
