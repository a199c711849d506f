"""Workspaces and the tables prepared into them.

A workspace belongs to one permit; its members are the permit's users. Its tables are
stored encrypted with the workspace key that the trusted third party holds
(``ttp_workspace_keys``): a row here keeps only where the ciphertext lives, its size, the
SHA-256 of the plaintext Parquet and the table's declaration, never a value.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from datafactory.core.db import Base, UTCDateTime, utcnow


class WorkspaceStatus(StrEnum):
    awaiting_preparation = "awaiting_preparation"
    """Created with its permit; the TTP has not prepared its data yet."""
    preparing = "preparing"
    ready = "ready"
    """Members may query it and run jobs in it."""
    failed = "failed"
    """The preparation failed; the report says why."""
    closed = "closed"
    """The permit ended: nobody may use it; it waits for destruction."""
    destroyed = "destroyed"
    """Its key was shredded and its files deleted."""


ENDED = (WorkspaceStatus.closed, WorkspaceStatus.destroyed)


class Workspace(Base):
    """Where one permit's data is analysed: ``permit-<reference>`` (or ``demo``)."""

    __tablename__ = "spe_workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permits.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    members: Mapped[list[int]] = mapped_column(JSON)
    """Person ids: the users of the permit's scope, updated when it is amended."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prepared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    permit_ends_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroy_after: Mapped[date | None] = mapped_column(Date, index=True)
    """The retention job destroys the workspace once this day has passed."""
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destruction_reason: Mapped[str | None] = mapped_column(Text)
    preparation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The preparation report: rows and variables per table, and the checks that ran."""
    preparation_job_id: Mapped[str | None] = mapped_column(String(32))

    @property
    def ready(self) -> bool:
        return self.status == WorkspaceStatus.ready

    @property
    def destroyed(self) -> bool:
        return self.status == WorkspaceStatus.destroyed


class WorkspaceTable(Base):
    """One table of a workspace, stored as encrypted Parquet."""

    __tablename__ = "spe_workspace_tables"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("spe_workspaces.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The table's declaration (``TableSpec.to_json``), as it was prepared."""
    rows: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(300))
    bytes: Mapped[int] = mapped_column(BigInteger)
    """Size of the stored ciphertext."""
    sha256: Mapped[str] = mapped_column(String(64))
    """Of the plaintext Parquet: names the version the gate's cache holds."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
