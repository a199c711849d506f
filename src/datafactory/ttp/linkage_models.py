"""Identifier matching: linkage runs, the person index and the clerical review queue.

No table here holds a name, a birth date or an address. A linked record is named only by
its source (the holder's file label) and the holder's own row key; a review pair keeps the
per-field agreement levels and a few masked hints (initials, birth year) so that an
operator can decide without seeing who the person is.

The person index follows E-PIX: every record of a run belongs to exactly one person, and a
record's pseudonym in the run's domain is the pseudonym of ``lpi:<person id>``, so records
linked to one person share one pseudonym. Accepting a review pair merges two persons: the
younger one points at the older through ``merged_into`` and its records move over.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datafactory.core.db import Base, UTCDateTime, utcnow
from datafactory.ttp.models import BigId

PERSON_PREFIX = "lpi:"
"""What a linked person's pseudonym is made from: ``lpi:<person id>``."""


class RunStatus(StrEnum):
    running = "running"
    finished = "finished"
    failed = "failed"


class PairStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


class LinkageRun(Base):
    """One run of the matcher over one file (deduplication) or several (linkage)."""

    __tablename__ = "linkage_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    domain_id: Mapped[int] = mapped_column(
        ForeignKey("pseudonym_domains.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    link_type: Mapped[str] = mapped_column(String(16))
    """``link`` (records of different sources) or ``dedupe`` (within one source)."""
    sources: Mapped[list[str]] = mapped_column(JSON)
    match_threshold: Mapped[float] = mapped_column(Float)
    review_threshold: Mapped[float] = mapped_column(Float)
    key_version: Mapped[int | None] = mapped_column(Integer)
    """The domain's master key version the run's pseudonyms were made with."""
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The fields compared, their comparison levels and the blocking rules."""
    model: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The trained model (m and u per comparison level, the prior): how each score came
    about. Parameters only, never a value of the data."""
    records: Mapped[int] = mapped_column(Integer, default=0)
    persons: Mapped[int] = mapped_column(Integer, default=0)
    linked_pairs: Mapped[int] = mapped_column(Integer, default=0)
    review_pairs: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkedPerson(Base):
    """One person of the index; its pseudonym is that of ``lpi:<id>`` in a domain."""

    __tablename__ = "linked_persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("linkage_runs.id"), index=True
    )
    """The run that found the person first."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged_into: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("linked_persons.id")
    )
    """Set when a reviewer found this person to be another one."""
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkedRecord(Base):
    """A holder's record as the run saw it: its source, its row key, its person."""

    __tablename__ = "linked_records"
    __table_args__ = (UniqueConstraint("run_id", "source", "record_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("linkage_runs.id"))
    source: Mapped[str] = mapped_column(String(200))
    record_key: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("linked_persons.id"), index=True
    )


class ReviewPair(Base):
    """Two records the matcher was unsure about, waiting for (or decided by) a person."""

    __tablename__ = "review_pairs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("linkage_runs.id"), index=True)
    left_record_id: Mapped[int] = mapped_column(BigId, ForeignKey("linked_records.id"))
    right_record_id: Mapped[int] = mapped_column(BigId, ForeignKey("linked_records.id"))
    match_probability: Mapped[float] = mapped_column(Float)
    agreement: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Per field: ``{"gamma": 2, "kind": "similar", "method": "jaro_winkler",
    "threshold": 0.92}``; kinds are ``exact``, ``similar``, ``different``, ``missing``."""
    hints: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``{"left": {...}, "right": {...}}`` with at most the initials of the names and the
    birth year."""
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
