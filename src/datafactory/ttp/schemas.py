"""What TTP operators send and what leaves the room. No shape here carries a key; only
``RevealedIdentifier`` carries an identifier, for the requester of an approved request."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from datafactory.ttp.models import DomainKind, RequestStatus


class DomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        default="",
        max_length=160,
        description="permit:<reference> or sector:<name>; a bare name takes the kind; "
        "empty with a permit reference names the permit's domain.",
    )
    kind: DomainKind | None = None
    permit_reference: str | None = Field(default=None, max_length=32)


class DomainRetirement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500)


class DomainPublic(BaseModel):
    id: int
    name: str
    kind: DomainKind
    status: str
    permit_reference: str | None
    key_version: int
    key_versions: list[int]
    created_at: datetime
    rotated_at: datetime | None
    retired_at: datetime | None


class KeyRotation(BaseModel):
    """The version the caller means to replace: a second rotation by another operator in
    the meantime then fails instead of adding two versions."""

    model_config = ConfigDict(extra="forbid")

    expected_version: int = Field(ge=1)


class KeyVersion(BaseModel):
    version: int


class PseudonymisationReport(BaseModel):
    domain: str
    column: str
    rows: int
    identifiers: int
    new_pseudonyms: int
    key_version: int | None


class ReidentificationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str = Field(min_length=1, max_length=160)
    pseudonym: str = Field(min_length=1, max_length=64)
    legal_reason: str = Field(
        min_length=1,
        max_length=2000,
        description="The order or request, its reference and the article it rests on.",
    )


class ReidentificationRefusal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class ReidentificationPublic(BaseModel):
    id: int
    domain: str
    pseudonym: str
    legal_reason: str
    status: RequestStatus
    requested_by: int
    requested_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    refusal_reason: str | None
    revealed_at: datetime | None


class RevealedIdentifier(BaseModel):
    request_id: int
    identifier: str


class LookupRequest(BaseModel):
    """Sent in a body, never a URL, so the number stays out of access logs and proxies."""

    model_config = ConfigDict(extra="forbid")

    matricule: str = Field(min_length=1, max_length=40)


class DomainHolding(BaseModel):
    name: str
    kind: DomainKind
    status: str
    permit_reference: str | None
