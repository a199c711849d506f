"""Stored quality: one MQA score per dataset and the last answer of every checked link.

``dataset_quality`` keeps the latest score of each dataset (replaced when it is scored
again) with one column per dimension, so the catalogue average, the per-dimension figures
and the distribution of bands are plain SQL aggregates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datafactory.core.db import Base, UTCDateTime, utcnow


class DatasetQuality(Base):
    __tablename__ = "dataset_quality"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(16), index=True)
    findability: Mapped[float] = mapped_column(Float, default=0.0)
    accessibility: Mapped[float] = mapped_column(Float, default=0.0)
    interoperability: Mapped[float] = mapped_column(Float, default=0.0)
    reusability: Mapped[float] = mapped_column(Float, default=0.0)
    contextuality: Mapped[float] = mapped_column(Float, default=0.0)
    shacl_conforms: Mapped[bool | None] = mapped_column(Boolean)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkCheck(Base):
    """The latest check of one URL; ``reachable`` is an answer of 200–399."""

    __tablename__ = "link_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    reachable: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
