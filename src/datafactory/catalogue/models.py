"""Datasets, data services and dataset series, with their published versions.

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


class CatalogueRecord(Base):
    """A data service or a dataset series (``kind``): the same life as a dataset -- a JSON
    working copy, numbered published versions, a tombstone -- under its own URI path.

    A harvested record keeps its source, its id there and the hash of what was read, so
    the next run skips it when nothing changed and links to its original IRI resolve.
    """

    __tablename__ = "catalogue_records"
    __table_args__ = (UniqueConstraint("harvest_source_id", "remote_id"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    publisher_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    draft: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deletion_reason: Mapped[str | None] = mapped_column(Text)
    harvest_source_id: Mapped[int | None] = mapped_column(
        ForeignKey("harvest_sources.id", ondelete="SET NULL"), index=True
    )
    remote_id: Mapped[str | None] = mapped_column(String(500))
    remote_iri: Mapped[str | None] = mapped_column(String(500), index=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    missing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When a harvest first found it gone upstream; withdrawn after the grace period."""
    search_words: Mapped[str | None] = mapped_column(Text)
    """The folded words of the published titles, descriptions and keywords in every
    language, each after a space (`` api population ...``), for a word-prefix LIKE; None
    while it has never been published and once withdrawn."""


class CatalogueRecordVersion(Base):
    __tablename__ = "catalogue_record_versions"
    __table_args__ = (UniqueConstraint("record_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(
        ForeignKey("catalogue_records.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200))


class SeriesMembership(Base):
    """A published dataset's ``in_series`` links, kept as rows so that a series page
    finds its members without reading every dataset. ``series_ref`` is as written: our
    series id or an IRI (a harvested series is found by its original IRI)."""

    __tablename__ = "series_memberships"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    series_ref: Mapped[str] = mapped_column(String(500), primary_key=True, index=True)
