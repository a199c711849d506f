"""API tokens: created with scopes and an end date, kept only as a hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.db import utcnow
from datafactory.core.errors import Conflict, FieldError, InvalidInput, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.events import TokenCreated, TokenRevoked
from datafactory.identity.models import ApiToken, Person

TOKEN_PREFIX = "dft_"


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str
    """The bearer secret. It is shown once and never stored."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    actor: Actor,
    *,
    name: str,
    scopes: list[str],
    days: int,
    max_days: int,
) -> IssuedToken:
    policy.ensure(actor, "account.token.create")
    assert actor.person_id is not None
    _check_request(name, scopes, days, max_days)
    if actor.scopes is not None and not set(scopes) <= actor.scopes:
        raise InvalidInput(
            "A token cannot create a token with more scopes than its own.",
            errors=[FieldError("scopes", "Choose among your token's own scopes.")],
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        person_id=actor.person_id,
        name=name.strip(),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=digest(secret),
        scopes=sorted(set(scopes)),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    ledger.record(
        session,
        actor.ref,
        TokenCreated(
            token.id,
            actor.person_id,
            token.name,
            tuple(token.scopes),
            token.expires_at.isoformat(),
        ),
    )
    return IssuedToken(token, secret)


def _check_request(name: str, scopes: list[str], days: int, max_days: int) -> None:
    errors = []
    if not name.strip() or len(name) > 100:
        errors.append(
            FieldError("name", "Give the token a name of 1 to 100 characters.")
        )
    known = set(policy.token_scopes())
    if not scopes:
        errors.append(FieldError("scopes", "Choose at least one scope."))
    elif unknown := sorted(set(scopes) - known):
        errors.append(FieldError("scopes", f"Unknown scopes: {', '.join(unknown)}."))
    if not 1 <= days <= max_days:
        errors.append(FieldError("days", f"Choose between 1 and {max_days} days."))
    if errors:
        raise InvalidInput("The token request is not valid.", errors=errors)


def list_tokens(session: Session, actor: Actor) -> list[ApiToken]:
    policy.ensure(actor, "account.view")
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.person_id == actor.person_id)
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke_token(session: Session, actor: Actor, *, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or not policy.allowed(actor, "account.token.revoke", token):
        # Someone else's token is reported as missing: its existence is not their business.
        policy.ensure(actor, "account.token.revoke")
        raise NotFound(f"There is no token {token_id}.")
    if token.revoked_at is not None:
        raise Conflict("This token is revoked already.")
    token.revoked_at = utcnow()
    session.flush()
    ledger.record(session, actor.ref, TokenRevoked(token.id, token.person_id))
    return token


def authenticate_token(session: Session, secret: str) -> Actor | None:
    """The actor behind a bearer secret, or None if it is unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == digest(secret))
    )
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    person = session.get(Person, token.person_id)
    if person is None or not person.active:
        return None
    token.last_used_at = now
    return Actor.for_person(person, scopes=frozenset(token.scopes), token_id=token.id)
