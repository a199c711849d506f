"""Datasets and their published versions.

The working copy of a dataset's metadata is a JSON document (the ``DatasetDraft`` shape);
each publication freezes a copy as a numbered, citable ``DatasetVersion``. The dataset's id
never changes, so its URI survives renames, and a deleted dataset keeps a tombstone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datafactory.core.db import Base, UTCDateTime, utcnow


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    publisher_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    draft: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=0)
    """The number of the latest published version; 0 while never published."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deletion_reason: Mapped[str | None] = mapped_column(Text)


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200))
