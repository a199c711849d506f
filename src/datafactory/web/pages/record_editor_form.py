"""The steward's form for a data service or a dataset series: its fields, their values, and
what they change in a draft.

Every field of the draft schema has a place on the form, in the four languages for texts.
What the form cannot show (texts and keywords in other languages, such as a harvested Greek
title) is kept as it is when the form is saved; links, themes and categories the form does
not list are offered as checked boxes, so they stay unless the steward unticks them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from datafactory.catalogue import vocabularies
from datafactory.catalogue.schemas import (
    DRAFTS,
    LANGUAGES,
    RecordDraft,
    RecordKind,
)
from datafactory.core.errors import FieldError, InvalidInput
from datafactory.web.pages.editor_form import (
    MULTILINGUAL,
    NOT_LISTED,
    invalid,
    readable,
    texts_of,
)

# Fields of one value each: a select, a URL, a date or a text.
SINGLE = {
    RecordKind.service: (
        "access_rights",
        "licence",
        "landing_page",
        "contact_name",
        "contact_email",
    ),
    RecordKind.series: (
        "frequency",
        "temporal_start",
        "temporal_end",
        "contact_name",
        "contact_email",
    ),
}
# Lists of URLs or IRIs, written one a line.
LINES = {
    RecordKind.service: (
        "endpoint_urls",
        "endpoint_descriptions",
        "documentation",
        "conforms_to",
    ),
    RecordKind.series: ("spatial",),
}
# Lists picked with checkboxes.
CHOICES = {
    RecordKind.service: ("themes", "serves_datasets", "hvd_categories"),
    RecordKind.series: ("themes", "hvd_categories"),
}
VOCABULARY_OF = {
    "themes": "data-theme",
    "hvd_categories": "hvd-category",
    "access_rights": "access-right",
    "licence": "licence",
    "frequency": "frequency",
}
NOT_A_LISTED_DATASET = "Choose one of the listed datasets."

# Error fields (the schema's names and the SHACL properties' local names) → form fields.
_FIELD_OF = {
    "title": "title",
    "description": "description",
    "keywords": "keywords",
    "keyword": "keywords",
    "themes": "themes",
    "theme": "themes",
    "endpoint_urls": "endpoint_urls",
    "endpointURL": "endpoint_urls",
    "endpoint_descriptions": "endpoint_descriptions",
    "endpointDescription": "endpoint_descriptions",
    "documentation": "documentation",
    "page": "documentation",
    "serves_datasets": "serves_datasets",
    "servesDataset": "serves_datasets",
    "access_rights": "access_rights",
    "accessRights": "access_rights",
    "licence": "licence",
    "license": "licence",
    "conforms_to": "conforms_to",
    "conformsTo": "conforms_to",
    "landing_page": "landing_page",
    "landingPage": "landing_page",
    "hvd_categories": "hvd_categories",
    "hvdCategory": "hvd_categories",
    "applicableLegislation": "hvd_categories",
    "frequency": "frequency",
    "accrualPeriodicity": "frequency",
    "spatial": "spatial",
    "temporal_start": "temporal_start",
    "temporal": "temporal_start",
    "startDate": "temporal_start",
    "temporal_end": "temporal_end",
    "endDate": "temporal_end",
    "contact_name": "contact_name",
    "fn": "contact_name",
    "contact_email": "contact_email",
    "contactPoint": "contact_email",
    "hasEmail": "contact_email",
    "publisher_id": "publisher_id",
}


class FormValues(Protocol):
    def get(self, key: str, /) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...


def fields_of(kind: RecordKind) -> frozenset[str]:
    return frozenset(
        [*MULTILINGUAL, *SINGLE[kind], *LINES[kind], *CHOICES[kind], "publisher_id"]
    )


def input_names(kind: RecordKind) -> list[str]:
    """The names of the form's inputs but the publisher's."""
    multilingual = [f"{n}_{lang}" for n in MULTILINGUAL for lang in LANGUAGES]
    return [*multilingual, *SINGLE[kind], *LINES[kind], *CHOICES[kind]]


def form_field(kind: RecordKind, error_field: str) -> str | None:
    """The form field an error names (``endpoint_urls.1`` → ``endpoint_urls``), if the
    form of ``kind`` has it."""
    parts = [p for p in error_field.split(".") if p and p != "metadata"]
    name = _FIELD_OF.get(parts[0]) if parts else None
    return name if name in fields_of(kind) else None


def message_of(kind: RecordKind, error: FieldError) -> str:
    """The error's message for a reader; for a list written one a line, with its line."""
    text = readable(error.message)
    parts = error.field.split(".")
    if parts[0] in LINES[kind] and len(parts) > 1 and parts[1].isdigit():
        return f"Line {int(parts[1]) + 1}: {text}"
    return text


def summary(
    kind: RecordKind, problem: InvalidInput | None
) -> list[tuple[str, str | None]]:
    """(message, form field or None) of each error, for the list above the form."""
    return [
        (message_of(kind, e), form_field(kind, e.field))
        for e in (problem.errors if problem else [])
    ]


def field_errors(kind: RecordKind, problem: InvalidInput | None) -> dict[str, str]:
    """Each form field's messages, joined, for showing beside it."""
    found: dict[str, list[str]] = {}
    for message, name in summary(kind, problem):
        if name is not None and message not in found.get(name, []):
            found.setdefault(name, []).append(message)
    return {name: " ".join(messages) for name, messages in found.items()}


def _lines(text: str) -> list[str]:
    return list(
        dict.fromkeys(line.strip() for line in text.splitlines() if line.strip())
    )


@dataclass
class RecordForm:
    """The form's values as typed: ``title_fr``, ``endpoint_urls`` (one a line)...; and
    the ticked boxes of each checkbox group."""

    kind: RecordKind
    values: dict[str, str] = field(default_factory=dict)
    chosen: dict[str, list[str]] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str) -> list[str]:
        return self.chosen.get(name, [])

    @classmethod
    def from_metadata(cls, kind: RecordKind, meta: RecordDraft) -> RecordForm:
        values: dict[str, str] = {}
        for lang in LANGUAGES:
            values[f"title_{lang}"] = meta.title.get(lang, "")
            values[f"description_{lang}"] = meta.description.get(lang, "")
            values[f"keywords_{lang}"] = ", ".join(meta.keywords.get(lang, []))
        for name in SINGLE[kind]:
            value = getattr(meta, name)
            values[name] = str(value) if value is not None else ""
        for name in LINES[kind]:
            values[name] = "\n".join(str(v) for v in getattr(meta, name))
        chosen = {name: [str(v) for v in getattr(meta, name)] for name in CHOICES[kind]}
        return cls(kind, values, chosen)

    @classmethod
    def from_form(cls, kind: RecordKind, form: FormValues) -> RecordForm:
        values = {}
        for name in [*input_names(kind), "publisher_id"]:
            if name in CHOICES[kind]:
                continue
            value = form.get(name)
            values[name] = value.strip() if isinstance(value, str) else ""
        chosen = {
            name: list(
                dict.fromkeys(v for v in form.getlist(name) if isinstance(v, str) and v)
            )
            for name in CHOICES[kind]
        }
        return cls(kind, values, chosen)

    def changes(
        self,
        current: RecordDraft | None = None,
        *,
        datasets: Collection[str] = (),
    ) -> dict[str, Any]:
        """The draft's fields as this form sets them. Raises InvalidInput naming every
        wrong field: a value outside its vocabulary (unless the draft already had it), a
        served dataset not among ``datasets`` (the ones offered), or what the schema
        refuses."""
        changes = texts_of(self.value, current)
        for name in SINGLE[self.kind]:
            changes[name] = self.value(name) or None
        for name in LINES[self.kind]:
            changes[name] = _lines(self.value(name))
        for name in CHOICES[self.kind]:
            changes[name] = self.checked(name)

        errors = self._unlisted(current, datasets)
        document = {**(current.model_dump(mode="json") if current else {}), **changes}
        try:
            DRAFTS[self.kind].model_validate(document)
        except ValidationError as exc:
            errors.extend(invalid(exc).errors)
        if errors:
            raise InvalidInput("The metadata is not valid.", errors=errors)
        return changes

    def new_record(self, *, datasets: Collection[str] = ()) -> tuple[int, RecordDraft]:
        """A new record's publisher and metadata; raises InvalidInput naming every
        field that is wrong."""
        errors: list[FieldError] = []
        publisher = self.value("publisher_id")
        if not publisher.isdigit():
            errors.append(FieldError("publisher_id", "Choose a publisher."))
        try:
            metadata = DRAFTS[self.kind].model_validate(self.changes(datasets=datasets))
        except InvalidInput as problem:
            errors.extend(problem.errors)
        if errors:
            raise InvalidInput("The metadata is not valid.", errors=errors)
        return int(publisher), metadata

    def _unlisted(
        self, current: RecordDraft | None, datasets: Collection[str]
    ) -> list[FieldError]:
        errors = []
        for name, vocabulary in VOCABULARY_OF.items():
            if name not in SINGLE[self.kind] and name not in CHOICES[self.kind]:
                continue
            known = vocabularies.load(vocabulary)
            chosen = (
                self.checked(name) if name in CHOICES[self.kind] else [self.value(name)]
            )
            held = getattr(current, name, None) if current is not None else None
            had = held if isinstance(held, list) else [held]
            if any(v and v not in known and v not in had for v in chosen):
                errors.append(FieldError(name, NOT_LISTED))
        if "serves_datasets" in CHOICES[self.kind] and any(
            ref not in datasets for ref in self.checked("serves_datasets")
        ):
            errors.append(FieldError("serves_datasets", NOT_A_LISTED_DATASET))
        return errors
