"""API shapes of the airlock: release requests, their files and reviews, and the public
archive of a permit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from datafactory.spe.airlock.models import (
    CheckStatus,
    Decision,
    FileRole,
    RequestStatus,
)


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)


class FileAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    output_id: int
    role: FileRole = FileRole.output
    justification: str | None = Field(default=None, max_length=20_000)
    underlying_output_id: int | None = None
    exception: str | None = Field(default=None, max_length=20_000)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Decision
    comment: str = Field(default="", max_length=20_000)
    file_notes: dict[int, str] = Field(default_factory=dict, max_length=200)


class RequestSummary(BaseModel):
    id: int
    workspace_id: int
    author_id: int
    title: str
    status: RequestStatus
    round: int
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None


class FilePublic(BaseModel):
    id: int
    output_id: int
    name: str
    kind: str
    media_type: str
    sha256: str
    role: FileRole
    justification: str | None
    underlying_output_id: int | None
    exception: str | None
    check_status: CheckStatus | None
    check_report: dict[str, Any] | None


class ReviewPublic(BaseModel):
    id: int
    round: int
    checker_id: int
    decision: Decision
    comment: str
    file_notes: dict[str, str]
    decided_at: datetime


class RequestPublic(RequestSummary):
    workspace: str
    description: str
    files: list[FilePublic]
    reviews: list[ReviewPublic] = Field(
        description="Only the reviews the blinding lets the reader see."
    )
    reviews_this_round: int


class ArchiveEntryPublic(BaseModel):
    name: str
    kind: str
    sha256: str
    text: str
    archived_at: datetime


class ArchivePublic(BaseModel):
    permit: str
    product_id: int | None
    entries: list[ArchiveEntryPublic]
