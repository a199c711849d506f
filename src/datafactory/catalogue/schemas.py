"""The catalogue's metadata model (DCAT-AP 3.0.1 with the DCAT-AP-LU additions), as the API
and the steward's form see it. Drafts may be incomplete; publishing validates them with SHACL.

Every text is multilingual: a mapping from language code (lb, fr, de, en) to text.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)

LANGUAGES = ("lb", "fr", "de", "en")
# What a reader sees when their language is missing: Luxembourg's administrative languages
# first, then English.
FALLBACK = ("fr", "de", "en", "lb")

Text = dict[str, str]
Iri = Annotated[str, Field(pattern=r"^https?://\S+$", max_length=500)]


def check_text(value: Text) -> Text:
    unknown = set(value) - set(LANGUAGES)
    if unknown:
        raise ValueError(
            f"languages must be among {', '.join(LANGUAGES)}: {sorted(unknown)}"
        )
    return {lang: text.strip() for lang, text in value.items() if text and text.strip()}


def pick(text: Text, lang: str) -> str:
    """The text in ``lang``, else in the fallback order, else empty."""
    for code in (lang, *FALLBACK):
        if text.get(code):
            return text[code]
    return ""


class Sensitivity(StrEnum):
    direct_identifier = "direct_identifier"
    quasi_identifier = "quasi_identifier"
    sensitive = "sensitive"
    other = "other"


class VariableType(StrEnum):
    string = "string"
    integer = "integer"
    decimal = "decimal"
    boolean = "boolean"
    date = "date"
    datetime = "datetime"
    code = "code"


class CodeValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=100)
    label: Text = Field(default_factory=dict)


class Variable(BaseModel):
    """One column of a protected dataset's data dictionary."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    label: Text = Field(default_factory=dict)
    description: Text = Field(default_factory=dict)
    type: VariableType = VariableType.string
    unit: str | None = Field(default=None, max_length=50)
    code_list: list[CodeValue] = Field(default_factory=list)
    sensitivity: Sensitivity = Sensitivity.other
    minimum: float | None = Field(
        default=None,
        description="The smallest value; for a date or datetime, the earliest year.",
    )
    maximum: float | None = Field(
        default=None,
        description="The largest value; for a date or datetime, the latest year.",
    )
    null_rate: float | None = Field(
        default=None, ge=0, le=1, description="The share of missing values, 0 to 1."
    )

    _texts = field_validator("label", "description")(check_text)

    @model_validator(mode="after")
    def _range_in_order(self) -> Variable:
        # Dummy data is drawn between the two: a reversed range has no values.
        if (
            self.minimum is not None
            and self.maximum is not None
            and self.minimum > self.maximum
        ):
            raise ValueError("minimum must not exceed maximum")
        return self


class DistributionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field(default_factory=dict)
    description: Text = Field(default_factory=dict)
    access_url: HttpUrl
    download_url: HttpUrl | None = None
    format: Iri | None = None
    media_type: Iri | None = None
    licence: Iri | None = None
    rights: Text = Field(default_factory=dict)
    byte_size: int | None = Field(default=None, ge=0)

    _texts = field_validator("title", "description", "rights")(check_text)


class DatasetDraft(BaseModel):
    """What a data steward writes. Everything but the title may be missing in a draft."""

    model_config = ConfigDict(extra="forbid")

    title: Text
    description: Text = Field(default_factory=dict)
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    themes: list[Iri] = Field(default_factory=list)
    access_rights: Iri | None = None
    data_protection: list[Iri] = Field(
        default_factory=list, description="dpv:hasData: the DGA data-protection types."
    )
    access_conditions: Text = Field(default_factory=dict)
    frequency: Iri | None = None
    languages: list[Iri] = Field(default_factory=list)
    spatial: list[Iri] = Field(default_factory=list)
    temporal_start: date | None = None
    temporal_end: date | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=320)
    landing_page: HttpUrl | None = None
    version_info: str | None = Field(default=None, max_length=50)
    version_notes: Text = Field(default_factory=dict)
    hvd_categories: list[Iri] = Field(
        default_factory=list, description="Non-empty for a high-value dataset."
    )
    distributions: list[DistributionIn] = Field(default_factory=list)
    variables: list[Variable] = Field(
        default_factory=list, description="The data dictionary of protected data."
    )

    _texts = field_validator(
        "title", "description", "access_conditions", "version_notes"
    )(check_text)

    @field_validator("title")
    @classmethod
    def _has_a_title(cls, value: Text) -> Text:
        if not value:
            raise ValueError("give a title in at least one language")
        return value

    @field_validator("keywords")
    @classmethod
    def _keyword_languages(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(value) - set(LANGUAGES)
        if unknown:
            raise ValueError(f"languages must be among {', '.join(LANGUAGES)}")
        return {
            k: sorted({w.strip() for w in v if w.strip()}) for k, v in value.items()
        }

    @property
    def is_hvd(self) -> bool:
        return bool(self.hvd_categories)


class DatasetStatus(StrEnum):
    draft = "draft"
    published = "published"
    deleted = "deleted"


class DatasetPublic(BaseModel):
    id: str
    uri: str
    status: DatasetStatus
    publisher: str
    version: int
    metadata: DatasetDraft
    created_at: datetime
    modified_at: datetime
    published_at: datetime | None


class DatasetPage(BaseModel):
    items: list[DatasetPublic]
    total: int
