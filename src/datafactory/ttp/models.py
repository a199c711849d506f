"""Pseudonym domains, their encrypted mapping tables, re-identification requests and the
master keys' check values.

No table holds a key or a clear identifier. ``domain_pseudonyms.sealed`` is the identifier
encrypted with AES-SIV under a key derived from the master key, which stays outside the
database; ``ttp_key_checks`` keeps a one-way fingerprint per master key version, so that a
wrong key is caught before it makes a single wrong pseudonym.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datafactory.core.db import Base, UTCDateTime, utcnow

# SQLite numbers rows itself only for INTEGER PRIMARY KEY; elsewhere a mapping table can
# outgrow 32 bits.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class DomainKind(StrEnum):
    permit = "permit"
    """Pseudonyms for one permit's extract: unlinkable with every other project."""
    sector = "sector"
    """Pseudonyms for a long-lived register of one sector (health, employment...)."""


class DomainStatus(StrEnum):
    created = "created"
    rotated = "rotated"
    retired = "retired"


class RequestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"
    revealed = "revealed"


class PseudonymDomain(Base):
    """A namespace of pseudonyms: ``permit:<reference>`` or ``sector:<name>``."""

    __tablename__ = "pseudonym_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    permit_id: Mapped[int | None] = mapped_column(ForeignKey("permits.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    key_version: Mapped[int] = mapped_column(Integer)
    """The master key version the domain's keys derive from now."""
    key_versions: Mapped[list[int]] = mapped_column(JSON)
    """Every master key version the domain has used, oldest first: a citizen lookup
    computes one pseudonym per version."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DomainPseudonym(Base):
    """One pseudonym a domain has handed out, with its identifier sealed (AES-SIV)."""

    __tablename__ = "domain_pseudonyms"
    # Pseudonym first: probing a batch of pseudonyms of one domain then walks the index
    # by pseudonym even when the planner has no statistics yet (a table filled in the
    # same transaction), instead of reading every row of the domain for each batch.
    __table_args__ = (UniqueConstraint("pseudonym", "domain_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    domain_id: Mapped[int] = mapped_column(
        ForeignKey("pseudonym_domains.id", ondelete="CASCADE")
    )
    pseudonym: Mapped[str] = mapped_column(String(64))
    key_version: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReidentificationRequest(Base):
    """A TTP operator's request to turn one pseudonym back into its identifier."""

    __tablename__ = "reidentification_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(
        ForeignKey("pseudonym_domains.id"), index=True
    )
    pseudonym: Mapped[str] = mapped_column(String(64))
    legal_reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MasterKeyCheck(Base):
    """The check value of a master key version, written the first time it is used."""

    __tablename__ = "ttp_key_checks"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    check_value: Mapped[str] = mapped_column(String(64))
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkspaceKey(Base):
    """The key of one workspace of the secure processing environment, wrapped.

    ``wrapped`` is the 256-bit workspace key encrypted (AES-GCM) under a key derived from
    master key ``master_version``; the workspace's name is its associated data, so a
    wrapped key copied to another workspace does not open. Deleting the row shreds every
    file of the workspace.
    """

    __tablename__ = "ttp_workspace_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace: Mapped[str] = mapped_column(String(80), unique=True)
    master_version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
