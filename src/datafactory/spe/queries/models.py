"""The query ledger of each workspace: every query a member sent through the gate.

It serves two purposes. It is the record of who read what (each row also has its entry in
the hash-chained ledger, written in the same transaction), and it is the memory of the
differencing defence: a new query is compared with the populations of the earlier answered
queries on the same source.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datafactory.core.db import Base, UTCDateTime, utcnow

ANSWERED, REFUSED = "answered", "refused"


class WorkspaceQuery(Base):
    __tablename__ = "spe_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("spe_workspaces.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    sql: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(500), index=True)
    """The canonical source (tables and joins) of an accepted query."""
    population: Mapped[str | None] = mapped_column(Text)
    """The canonical filter (WHERE) of an accepted query; None for the whole source."""
    outcome: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    cells: Mapped[int] = mapped_column(Integer, default=0)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What was released: columns, and per statistic the suppressed cells and why."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
