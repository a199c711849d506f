"""API shapes of data products."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class ProductType(StrEnum):
    publication = "publication"
    result = "result"
    code = "code"
    other = "other"


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ProductType
    title: str = Field(min_length=1, max_length=500)
    authors: list[str] = Field(
        default_factory=list,
        max_length=100,
        description='Each "Family, Given" or an organisation\'s name.',
    )
    link: HttpUrl | None = None
    doi: str | None = Field(default=None, max_length=200)
    dataset_ids: list[str] = Field(min_length=1, max_length=100)


class ProductPublic(BaseModel):
    id: int
    type: ProductType
    title: str
    authors: list[str]
    link: str | None
    doi: str | None
    dataset_ids: list[str]
    created_by: str
    created_at: datetime


class ProductPage(BaseModel):
    items: list[ProductPublic]
    total: int
