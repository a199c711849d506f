"""Real rows made through the services, for arranging tests."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from datafactory.identity import people, tokens
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation, OrganisationKind, Person, Role
from datafactory.identity.passwords import hash_password


@functools.cache
def _hash(password: str) -> str:
    return hash_password(password)


SYSTEM = Actor(ref="system:test", name="test", roles=frozenset({("admin", None)}))
PASSWORD = "correct horse battery staple"


def organisation(session: Session, slug: str = "statec") -> Organisation:
    return people.create_organisation(
        session,
        SYSTEM,
        slug=slug,
        name=slug.upper(),
        kind=OrganisationKind.data_holder,
        is_public_sector=True,
    )


def person(
    session: Session,
    email: str = "someone@example.lu",
    *,
    roles: tuple[tuple[Role, int | None], ...] = (),
    password: str | None = PASSWORD,
) -> Person:
    created = people.create_person(
        session, SYSTEM, email=email, name=email.split("@")[0], password=None
    )
    if password is not None:
        # Hashing costs a tenth of a second by design; tests reuse one hash per password.
        created.password_hash = _hash(password)
        session.flush()
    for role, organisation_id in roles:
        people.grant_role(
            session,
            SYSTEM,
            person_id=created.id,
            organisation_id=organisation_id,
            role=role,
        )
    session.refresh(created)
    return created


@dataclass(frozen=True)
class Credentials:
    person_id: int
    email: str
    token: str


def person_with_token(
    session: Session,
    email: str,
    *,
    roles: tuple[tuple[Role, int | None], ...] = (),
    scopes: list[str] | None = None,
) -> Credentials:
    created = person(session, email, roles=roles)
    actor = Actor.for_person(created)
    from datafactory.identity import policy

    issued = tokens.create_token(
        session,
        actor,
        name="test",
        scopes=scopes if scopes is not None else policy.token_scopes(),
        days=30,
        max_days=365,
    )
    return Credentials(created.id, created.email, issued.secret)
