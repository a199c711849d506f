"""Workspace outputs and sandboxed jobs.

An output is a file made inside a workspace, by a job or by the query gate: a table, a
figure, a text, a regression summary or the evidence behind a table. It is stored encrypted
with the workspace key, beside the code that produced it and that code's SHA-256, so the
archive can publish the code of every released output. Members never download an output
directly; only the airlock releases one.

A job is one run of a member's Python script in the sandbox. Its logs are stored encrypted
with the workspace key too: a script may print data, and destroying the workspace must
shred the logs along with the files.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from datafactory.core.db import Base, UTCDateTime, utcnow


class OutputKind(StrEnum):
    table = "table"
    """A CSV table: checked by the disclosure rules in the airlock."""
    figure = "figure"
    """A PNG or SVG figure: released only with a justification and its underlying table."""
    text = "text"
    regression = "regression"
    """A regression summary (statsmodels): checked for residual degrees of freedom."""
    evidence = "evidence"
    """A JSON sidecar with the cell statistics behind a table, for the output checkers."""


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class WorkspaceOutput(Base):
    """One file made inside a workspace, encrypted with the workspace key."""

    __tablename__ = "spe_workspace_outputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("spe_workspaces.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(100))
    origin: Mapped[str] = mapped_column(String(64), index=True)
    """``job:<id>`` or ``query:<id>``."""
    code: Mapped[str] = mapped_column(Text)
    """The SQL or the script that produced the output, archived in public on release."""
    code_sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    bytes: Mapped[int] = mapped_column(Integer)
    """Size of the plaintext."""
    sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the plaintext: what a checker reviewed is what is released."""
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpeJob(Base):
    """One run of a member's script in the sandbox."""

    __tablename__ = "spe_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("spe_workspaces.id"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    name: Mapped[str] = mapped_column(String(200))
    script: Mapped[str] = mapped_column(Text)
    script_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    """Why a job failed or was stopped: a limit, a timeout, a refused output file."""
    stdout: Mapped[bytes | None] = mapped_column(LargeBinary)
    """Encrypted with the workspace key, cut to the limit before encryption."""
    stderr: Mapped[bytes | None] = mapped_column(LargeBinary)
    stdout_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    stderr_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    refused: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    """Files the script left that were not kept as outputs: ``{"name", "reason"}``."""
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The sandbox limits the job ran under."""
    background_job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
