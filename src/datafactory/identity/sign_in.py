"""Signing in: with a password (rate-limited per account) or through OpenID Connect."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.db import utcnow
from datafactory.core.errors import TooManyRequests, Unauthenticated
from datafactory.identity.actor import Actor
from datafactory.identity.events import (
    OidcAccountLinked,
    SignedIn,
    SignInFailed,
)
from datafactory.identity.models import OidcAccount, Person, SignInFailure
from datafactory.identity.passwords import verify_password
from datafactory.identity.people import create_person


@dataclass(frozen=True)
class SignInLimits:
    max_failures: int
    window: timedelta
    key: bytes
    """Keys the hash that names an account in the failure table and the ledger."""


def account_key(limits: SignInLimits, email: str) -> str:
    return hmac.new(
        limits.key, email.strip().lower().encode(), hashlib.sha256
    ).hexdigest()


def throttle_check(session: Session, limits: SignInLimits, email: str) -> None:
    """Raise TooManyRequests when the account has too many recent failures."""
    key = account_key(limits, email)
    since = utcnow() - limits.window
    failures = session.scalar(
        select(func.count())
        .select_from(SignInFailure)
        .where(SignInFailure.account_key == key, SignInFailure.at > since)
    )
    if (failures or 0) >= limits.max_failures:
        raise TooManyRequests(
            "Too many failed sign-ins for this account. Try again later.",
            retry_after=int(limits.window.total_seconds()),
        )


def record_failure(
    session: Session, limits: SignInLimits, email: str, reason: str
) -> None:
    """Count and ledger a failed sign-in. The caller commits it even though sign-in failed."""
    key = account_key(limits, email)
    session.add(SignInFailure(account_key=key))
    ledger.record(session, "anonymous", SignInFailed(key, reason))
    session.flush()


def sign_in_with_password(
    session: Session, limits: SignInLimits, *, email: str, password: str
) -> Person | None:
    """The person if the password is right, else None (and the failure is recorded).

    Throttling is checked first by the caller with :func:`throttle_check`, in its own
    transaction, so that a throttled attempt is also ledgered.
    """
    person = session.scalar(select(Person).where(Person.email == email.strip().lower()))
    good = verify_password(person.password_hash if person else None, password)
    if person is None or not good:
        record_failure(session, limits, email, "bad_credentials")
        return None
    if not person.active:
        record_failure(session, limits, email, "inactive")
        return None
    session.execute(
        delete(SignInFailure).where(
            SignInFailure.account_key == account_key(limits, email)
        )
    )
    ledger.record(session, f"person:{person.id}", SignedIn(person.id, "password"))
    return person


@dataclass(frozen=True)
class OidcClaims:
    provider: str
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def sign_in_with_oidc(
    session: Session, claims: OidcClaims, *, link_verified_email: bool
) -> Person:
    """The person behind an OIDC account, linking or creating one on first sign-in."""
    account = session.scalar(
        select(OidcAccount).where(
            OidcAccount.issuer == claims.issuer, OidcAccount.subject == claims.subject
        )
    )
    if account is not None:
        person = session.get(Person, account.person_id)
        assert person is not None
    else:
        person = _person_for_new_account(session, claims, link_verified_email)
        session.add(
            OidcAccount(
                person_id=person.id,
                provider=claims.provider,
                issuer=claims.issuer,
                subject=claims.subject,
            )
        )
        ledger.record(
            session,
            f"person:{person.id}",
            OidcAccountLinked(person.id, claims.provider, claims.issuer),
        )
    if not person.active:
        raise Unauthenticated("This account is deactivated.")
    ledger.record(
        session, f"person:{person.id}", SignedIn(person.id, f"oidc:{claims.provider}")
    )
    session.flush()
    return person


def _person_for_new_account(
    session: Session, claims: OidcClaims, link_verified_email: bool
) -> Person:
    email = _clean_email(claims.email) if claims.email_verified else None
    if email is not None and link_verified_email:
        existing = session.scalar(select(Person).where(Person.email == email))
        if existing is not None:
            return existing
    # Without a verified address the provider's word is not enough to claim an existing
    # account, so the newcomer gets an account of their own, with no roles.
    if email is None or session.scalar(select(Person).where(Person.email == email)):
        email = _undeliverable_address(claims)
    name = claims.name or claims.email or claims.subject
    return create_person(
        session,
        Actor.system(f"oidc:{claims.provider}"),
        email=email,
        name=name.strip()[:NAME_MAX] or claims.subject[:NAME_MAX],
        password=None,
        method=f"oidc:{claims.provider}",
    )


NAME_MAX = 200  # Person.name


def _clean_email(value: str | None) -> str | None:
    """The address as people.create_person stores it, or None if it is not one."""
    if not value:
        return None
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or not domain or len(email) > 320:
        return None
    return email


def _undeliverable_address(claims: OidcClaims) -> str:
    """A unique, never-deliverable address for an account without a usable one.

    A subject is case-sensitive and may be any 255 ASCII characters (OIDC Core 2), while
    stored addresses are lower-cased, so the subject is hashed, with the issuer, rather
    than used as it is: two subjects that differ only in case must not collide.
    """
    digest = hashlib.sha256(f"{claims.issuer}\n{claims.subject}".encode()).hexdigest()
    return f"{digest[:32]}@{claims.provider}.oidc.invalid"
