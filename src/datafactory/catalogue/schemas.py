"""The catalogue's metadata model (DCAT-AP 3.0.1 with the DCAT-AP-LU additions), as the API
and the steward's form see it. Drafts may be incomplete; publishing validates them with SHACL.

Every text is multilingual: a mapping from language code to text. The steward's form and the
pages speak lb, fr, de and en (``LANGUAGES``); a text may also hold any other language of
the EU language vocabulary we ship (``TEXT_LANGUAGES``), as harvested records do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)

from datafactory.catalogue.vocabularies import load as _vocabulary

#: The languages the steward's form edits and the pages speak.
LANGUAGES = ("lb", "fr", "de", "en")
# What a reader sees when their language is missing: Luxembourg's administrative languages
# first, then English.
FALLBACK = ("fr", "de", "en", "lb")

Text = dict[str, str]
Iri = Annotated[str, Field(pattern=r"^https?://\S+$", max_length=500)]
# A link to another catalogue record: our id (the record is ours) or an IRI (elsewhere, or
# harvested and resolved by its original IRI).
Ref = Annotated[str, Field(pattern=r"^([a-z2-9]{12}|https?://\S+)$", max_length=500)]


# A BCP 47 tag as far as we read it: a primary language subtag, then any subtags (region,
# script, variant), which name no language of their own and are dropped.
_TAG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$")


def _language_keys() -> Mapping[str, str]:
    """Every code that names a language of the vocabulary -> its ISO 639-1 code: the
    two-letter code, the EU authority code (``ELL``) and the three-letter aliases
    (``gre``, ISO 639-2/B)."""
    keys: dict[str, str] = {}
    for concept in _vocabulary("language"):
        two = concept.extra.get("iso_639_1", "").strip().lower()
        if not two:
            continue
        keys[two] = two
        for code in (concept.code, *concept.aliases):
            if re.fullmatch(r"[A-Za-z]{3}", code):
                keys.setdefault(code.lower(), two)
    return MappingProxyType(keys)


_KEYS = _language_keys()
#: Every language a text may hold: the ISO 639-1 codes of the EU language vocabulary
#: (the 24 official languages of the EU, and Luxembourgish).
TEXT_LANGUAGES: frozenset[str] = frozenset(_KEYS.values())


def language_of(tag: str) -> str | None:
    """The text key a language tag names (``el-GR``, ``EL``, ``ell``, ``gre`` -> ``el``),
    or None when the tag is malformed or names a language outside the vocabulary."""
    found = _TAG.fullmatch(tag.strip().lower())
    return _KEYS.get(found.group(1)) if found else None


def _key_or_error(tag: str) -> str:
    key = language_of(tag)
    if key is not None:
        return key
    if _TAG.fullmatch(tag.strip().lower()) is None:
        raise ValueError(
            f"{tag!r} is not a language tag (give a code such as fr or el)"
        )
    raise ValueError(
        f"unknown language {tag!r}: give the two-letter code of an EU language "
        f"(such as {', '.join(LANGUAGES)} or el)"
    )


def check_text(value: Text) -> Text:
    """The text with its tags normalised and blank texts left out; ValueError for a tag
    that is malformed or outside ``TEXT_LANGUAGES``, or for two tags of one language."""
    result: Text = {}
    tag_of: dict[str, str] = {}
    for tag, text in value.items():
        key = _key_or_error(tag)
        if not text or not text.strip():
            continue
        if key in result:
            raise ValueError(
                f"{tag_of[key]!r} and {tag!r} are both {key}: give one text per language"
            )
        result[key], tag_of[key] = text.strip(), tag
    return result


def check_keywords(value: dict[str, list[str]]) -> dict[str, list[str]]:
    """Keywords by language, tags as ``check_text``; two tags of one language merge."""
    result: dict[str, set[str]] = {}
    for tag, words in value.items():
        result.setdefault(_key_or_error(tag), set()).update(
            w.strip() for w in words if w.strip()
        )
    return {key: sorted(words) for key, words in result.items()}


def pick_language(text: Mapping[str, str], lang: str) -> str | None:
    """The language ``pick`` shows: ``lang``, else the first of ``FALLBACK`` present, else
    the first other language present in alphabetical order; None when all are blank."""
    wanted = language_of(lang) or lang
    for code in (wanted, *FALLBACK):
        if text.get(code, "").strip():
            return code
    return next((code for code in sorted(text) if text[code].strip()), None)


def pick(text: Mapping[str, str], lang: str) -> str:
    """The text in ``lang``, else in the fallback order, else in any language (a record
    harvested with a Greek title only shows it), else empty."""
    code = pick_language(text, lang)
    return text[code] if code is not None else ""


_V = TypeVar("_V")


def other_languages(by_language: Mapping[str, _V]) -> dict[str, _V]:
    """The texts (or keywords) in languages beyond ``LANGUAGES``, which the steward's form
    does not show."""
    return {code: v for code, v in by_language.items() if code not in LANGUAGES}


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
    access_services: list[Ref] = Field(
        default_factory=list,
        description="dcat:accessService: the data services (ids or IRIs) giving access.",
    )

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
    in_series: list[Ref] = Field(
        default_factory=list,
        description="dcat:inSeries: the dataset series (ids or IRIs) it belongs to.",
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

    _keyword_languages = field_validator("keywords")(check_keywords)

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


# --- data services and dataset series ---------------------------------------------------


def _title_given(value: Text) -> Text:
    if not value:
        raise ValueError("give a title in at least one language")
    return value


class RecordKind(StrEnum):
    """The catalogue records that are not datasets; each has its own URI path."""

    service = "service"
    series = "series"


class DataServiceDraft(BaseModel):
    """A dcat:DataService: an API or endpoint that serves datasets."""

    model_config = ConfigDict(extra="forbid")

    title: Text
    description: Text = Field(default_factory=dict)
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    themes: list[Iri] = Field(default_factory=list)
    endpoint_urls: list[HttpUrl] = Field(
        default_factory=list, description="dcat:endpointURL; one at least to publish."
    )
    endpoint_descriptions: list[HttpUrl] = Field(
        default_factory=list,
        description="dcat:endpointDescription, e.g. an OpenAPI document.",
    )
    documentation: list[HttpUrl] = Field(
        default_factory=list, description="foaf:page; the HVD shapes ask for one."
    )
    serves_datasets: list[Ref] = Field(
        default_factory=list, description="dcat:servesDataset: dataset ids or IRIs."
    )
    access_rights: Iri | None = None
    licence: Iri | None = None
    conforms_to: list[Iri] = Field(default_factory=list)
    landing_page: HttpUrl | None = None
    hvd_categories: list[Iri] = Field(
        default_factory=list, description="Non-empty for a high-value data service."
    )
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=320)

    _texts = field_validator("title", "description")(check_text)
    _has_a_title = field_validator("title")(_title_given)
    _keyword_languages = field_validator("keywords")(check_keywords)

    @property
    def is_hvd(self) -> bool:
        return bool(self.hvd_categories)


class DatasetSeriesDraft(BaseModel):
    """A dcat:DatasetSeries: datasets published separately that belong together (its
    members name it with ``in_series``)."""

    model_config = ConfigDict(extra="forbid")

    title: Text
    description: Text = Field(default_factory=dict)
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    themes: list[Iri] = Field(default_factory=list)
    frequency: Iri | None = None
    spatial: list[Iri] = Field(default_factory=list)
    temporal_start: date | None = None
    temporal_end: date | None = None
    hvd_categories: list[Iri] = Field(default_factory=list)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=320)

    _texts = field_validator("title", "description")(check_text)
    _has_a_title = field_validator("title")(_title_given)
    _keyword_languages = field_validator("keywords")(check_keywords)

    @property
    def is_hvd(self) -> bool:
        return bool(self.hvd_categories)


RecordDraft = DataServiceDraft | DatasetSeriesDraft
DRAFTS: dict[RecordKind, type[DataServiceDraft] | type[DatasetSeriesDraft]] = {
    RecordKind.service: DataServiceDraft,
    RecordKind.series: DatasetSeriesDraft,
}


class DataServicePublic(BaseModel):
    id: str
    uri: str
    status: DatasetStatus
    publisher: str
    version: int
    metadata: DataServiceDraft
    created_at: datetime
    modified_at: datetime
    published_at: datetime | None


class DatasetSeriesPublic(BaseModel):
    id: str
    uri: str
    status: DatasetStatus
    publisher: str
    version: int
    metadata: DatasetSeriesDraft
    members: list[str] = Field(
        default_factory=list, description="The ids of its published member datasets."
    )
    created_at: datetime
    modified_at: datetime
    published_at: datetime | None
