"""The airlock's tables: release requests, their files and reviews, and the public code
archive of each permit.

A release request is the only way an output leaves a workspace. Its author groups
outputs into it, the automatic checks run on submission, and two output checkers review
it, blinded from each other, in rounds: a request returned for changes and submitted again
starts a new round with no reviews. Reviews of earlier rounds stay as history.

The archive keeps a copy of the code (SQL or script) behind every released output, with
its SHA-256, so it outlives the workspace it came from.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datafactory.core.db import Base, UTCDateTime, utcnow


class RequestStatus(StrEnum):
    draft = "draft"
    """The author is still adding files; nobody else sees it but the workspace."""
    submitted = "submitted"
    """Waiting for two output checkers."""
    returned = "returned"
    """Changes were requested; the author may edit and submit again."""
    approved = "approved"
    """Both checkers approved: its output files may be downloaded by members."""
    rejected = "rejected"
    withdrawn = "withdrawn"


class FileRole(StrEnum):
    output = "output"
    """To be released."""
    supporting = "supporting"
    """Context for the checkers only; never released."""


class CheckStatus(StrEnum):
    passed = "pass"
    failed = "fail"
    review = "review"
    """No automatic verdict: the checkers decide."""


class Decision(StrEnum):
    approve = "approve"
    reject = "reject"
    changes_requested = "changes_requested"


class ReleaseRequest(Base):
    """A group of outputs a member asks to take out of a workspace."""

    __tablename__ = "spe_release_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("spe_workspaces.id"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    round: Mapped[int] = mapped_column(Integer, default=0)
    """The submission round: 1 after the first submission, one more on each
    resubmission. Reviews belong to a round."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When it was approved or rejected."""
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReleaseFile(Base):
    """One workspace output in a release request, with what the checkers need to judge
    it."""

    __tablename__ = "spe_release_files"
    __table_args__ = (UniqueConstraint("request_id", "output_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("spe_release_requests.id", ondelete="CASCADE"), index=True
    )
    output_id: Mapped[int] = mapped_column(
        ForeignKey("spe_workspace_outputs.id"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    justification: Mapped[str | None] = mapped_column(Text)
    """Context and controls: what the output shows, its population, how small numbers
    were handled. Required for figures."""
    underlying_output_id: Mapped[int | None] = mapped_column(
        ForeignKey("spe_workspace_outputs.id")
    )
    """For a figure: the table it was drawn from, which must be in the same request."""
    exception: Mapped[str | None] = mapped_column(Text)
    """The author's case for releasing a file that failed the automatic checks."""
    check_status: Mapped[str | None] = mapped_column(String(8))
    check_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Review(Base):
    """One output checker's decision on one round of a request."""

    __tablename__ = "spe_release_reviews"
    __table_args__ = (UniqueConstraint("request_id", "round", "checker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("spe_release_requests.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int] = mapped_column(Integer)
    checker_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    decision: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    file_notes: Mapped[dict[str, str] | None] = mapped_column(JSON)
    """Notes per release file, keyed by the file's id as text."""
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArchivedCode(Base):
    """The code behind a released output, published on the permit's archive page."""

    __tablename__ = "spe_archived_code"
    __table_args__ = (UniqueConstraint("permit_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permits.id"), index=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("spe_workspaces.id"), index=True
    )
    request_id: Mapped[int] = mapped_column(
        ForeignKey("spe_release_requests.id"), index=True
    )
    """The release that first published this code."""
    kind: Mapped[str] = mapped_column(String(16))
    """``sql`` (a query of the gate) or ``script`` (a sandboxed job)."""
    name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PermitResults(Base):
    """The data product that registers a permit's released results in the catalogue:
    one per permit, made at its first release."""

    __tablename__ = "spe_permit_results"

    permit_id: Mapped[int] = mapped_column(
        ForeignKey("permits.id"), primary_key=True, autoincrement=False
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("data_products.id"), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("spe_release_requests.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
