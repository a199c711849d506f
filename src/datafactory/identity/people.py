"""Organisations, people and roles: create, list, grant and revoke."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.errors import Conflict, FieldError, InvalidInput, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.events import (
    OrganisationCreated,
    PersonCreated,
    RoleGranted,
    RoleRevoked,
)
from datafactory.identity.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Role,
)
from datafactory.identity.passwords import hash_password


def create_organisation(
    session: Session,
    actor: Actor,
    *,
    slug: str,
    name: str,
    kind: OrganisationKind,
    is_public_sector: bool,
) -> Organisation:
    if session.scalar(select(Organisation).where(Organisation.slug == slug)):
        raise Conflict(f"An organisation named {slug!r} exists already.")
    organisation = Organisation(
        slug=slug, name=name, kind=kind.value, is_public_sector=is_public_sector
    )
    session.add(organisation)
    session.flush()
    ledger.record(
        session, actor.ref, OrganisationCreated(organisation.id, slug, kind.value)
    )
    return organisation


def create_person(
    session: Session,
    actor: Actor,
    *,
    email: str,
    name: str,
    password: str | None,
    method: str = "operator",
) -> Person:
    email = normalise_email(email)
    if session.scalar(select(Person).where(Person.email == email)):
        raise Conflict("A person with this e-mail address exists already.")
    person = Person(
        email=email,
        name=name,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(person)
    session.flush()
    ledger.record(session, actor.ref, PersonCreated(person.id, method))
    return person


def actor_of_ref(session: Session, ref: str) -> Actor:
    """The actor an ``actor.ref`` (``person:12``) names, as they are now: a background
    job acts for whoever requested it, with that person's current roles; a person gone
    or deactivated since is nobody."""
    kind, _, number = ref.partition(":")
    person = (
        session.get(Person, int(number))
        if kind == "person" and number.isdigit()
        else None
    )
    if person is None or not person.active:
        return Actor.anonymous()
    return Actor.for_person(person)


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidInput(
            "This is not an e-mail address.",
            errors=[FieldError("email", "Give an address such as name@example.lu.")],
        )
    return email


def list_organisations(session: Session, actor: Actor) -> list[Organisation]:
    policy.ensure(actor, "identity.organisation.list")
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def list_people(session: Session, actor: Actor) -> list[Person]:
    policy.ensure(actor, "identity.person.list")
    return list(session.scalars(select(Person).order_by(Person.name)))


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"There is no person {person_id}.")
    return person


def grant_role(
    session: Session,
    actor: Actor,
    *,
    person_id: int,
    organisation_id: int | None,
    role: Role,
) -> Membership:
    policy.ensure(actor, "identity.role.grant")
    person = get_person(session, person_id)
    if (
        organisation_id is not None
        and session.get(Organisation, organisation_id) is None
    ):
        raise NotFound(f"There is no organisation {organisation_id}.")
    existing = _membership(session, person_id, organisation_id, role)
    if existing is not None:
        raise Conflict(f"{person.name} already holds {role.value} there.")
    membership = Membership(
        person_id=person.id, organisation_id=organisation_id, role=role.value
    )
    session.add(membership)
    session.flush()
    ledger.record(
        session, actor.ref, RoleGranted(person.id, organisation_id, role.value)
    )
    return membership


def revoke_role(
    session: Session,
    actor: Actor,
    *,
    person_id: int,
    organisation_id: int | None,
    role: Role,
) -> None:
    policy.ensure(actor, "identity.role.revoke")
    membership = _membership(session, person_id, organisation_id, role)
    if membership is None:
        raise NotFound("This person does not hold this role there.")
    session.delete(membership)
    session.flush()
    ledger.record(
        session, actor.ref, RoleRevoked(person_id, organisation_id, role.value)
    )


def _membership(
    session: Session, person_id: int, organisation_id: int | None, role: Role
) -> Membership | None:
    same_place = (
        Membership.organisation_id.is_(None)
        if organisation_id is None
        else Membership.organisation_id == organisation_id
    )
    return session.scalar(
        select(Membership).where(
            Membership.person_id == person_id, same_place, Membership.role == role.value
        )
    )
