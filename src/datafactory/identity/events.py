"""Ledger events of the identity room."""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class OrganisationCreated(LedgerEvent):
    """An organisation was registered. ``slug`` is its short name, ``kind`` its type."""

    action = "identity.organisation.created"
    organisation_id: int
    slug: str
    kind: str

    def subject(self) -> str:
        return f"organisation:{self.organisation_id}"


@dataclass(frozen=True)
class PersonCreated(LedgerEvent):
    """A person's account was created, by an operator, the demo loader or a first OIDC
    sign-in (``method``)."""

    action = "identity.person.created"
    person_id: int
    method: str

    def subject(self) -> str:
        return f"person:{self.person_id}"


@dataclass(frozen=True)
class SignedIn(LedgerEvent):
    """A person signed in; ``method`` is ``password`` or ``oidc:<provider>``."""

    action = "identity.signed_in"
    person_id: int
    method: str

    def subject(self) -> str:
        return f"person:{self.person_id}"


@dataclass(frozen=True)
class SignInFailed(LedgerEvent):
    """A password sign-in failed. ``account_key`` is a keyed hash of the address typed,
    never the address; ``reason`` is ``bad_credentials``, ``inactive`` or ``throttled``."""

    action = "identity.sign_in_failed"
    account_key: str
    reason: str

    def subject(self) -> str:
        return f"account:{self.account_key[:16]}"


@dataclass(frozen=True)
class TokenCreated(LedgerEvent):
    """A person created an API token (never the secret: only its id, name, scopes and end)."""

    action = "identity.token.created"
    token_id: int
    person_id: int
    name: str
    scopes: tuple[str, ...]
    expires_at: str

    def subject(self) -> str:
        return f"api_token:{self.token_id}"


@dataclass(frozen=True)
class TokenRevoked(LedgerEvent):
    """An API token was revoked by its owner or an administrator."""

    action = "identity.token.revoked"
    token_id: int
    person_id: int

    def subject(self) -> str:
        return f"api_token:{self.token_id}"


@dataclass(frozen=True)
class RoleGranted(LedgerEvent):
    """A person was given ``role`` for an organisation."""

    action = "identity.role.granted"
    person_id: int
    organisation_id: int | None
    role: str

    def subject(self) -> str:
        return f"person:{self.person_id}"


@dataclass(frozen=True)
class RoleRevoked(LedgerEvent):
    """A person's ``role`` for an organisation was taken away."""

    action = "identity.role.revoked"
    person_id: int
    organisation_id: int | None
    role: str

    def subject(self) -> str:
        return f"person:{self.person_id}"


@dataclass(frozen=True)
class OidcAccountLinked(LedgerEvent):
    """An OpenID Connect account (provider, issuer) was linked to a person."""

    action = "identity.oidc.linked"
    person_id: int
    provider: str
    issuer: str

    def subject(self) -> str:
        return f"person:{self.person_id}"
