"""The identity room's API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from datafactory.identity.models import Role


class OrganisationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    kind: str
    is_public_sector: bool


class MembershipPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    role: str
    organisation_id: int | None


class PersonPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    active: bool
    memberships: list[MembershipPublic]


class MePublic(BaseModel):
    person_id: int
    name: str
    roles: list[MembershipPublic]
    scopes: list[str] | None = Field(
        description="The token's scopes; null when signed in through the web."
    )


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    organisation_id: int | None = Field(
        default=None, description="Omit for a platform-wide role."
    )


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    days: int = Field(default=90, ge=1)


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(TokenPublic):
    secret: str = Field(description="Shown once. Send it as `Authorization: Bearer …`.")
