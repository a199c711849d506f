"""The steward's editor form: its fields, their values, and what they change in a draft.

The form shows the dataset's texts in the four languages, the vocabularies as checkboxes and
selects, and the first distribution. Whatever it does not show (other distributions, a
distribution's title, the data dictionary, texts and keywords in languages beyond the four,
such as a harvested Greek title...) is kept as it is when the form is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from datafactory.catalogue import vocabularies
from datafactory.catalogue.schemas import LANGUAGES, DatasetDraft, other_languages
from datafactory.core.errors import FieldError, InvalidInput

# Each language names itself, so the labels need no translation (they carry lang="...").
LANGUAGE_NAMES = {
    "lb": "Lëtzebuergesch",
    "fr": "Français",
    "de": "Deutsch",
    "en": "English",
}
MULTILINGUAL = ("title", "description", "keywords")


def texts_of(value: Callable[[str], str], current: Any | None) -> dict[str, Any]:
    """Title, description and keywords as an editor's fields (``title_fr``, ``keywords_de``:
    words split at commas) set them, with the languages the form has no field for kept
    from ``current``, the draft being edited (None for a new one)."""
    changes: dict[str, Any] = {
        name: {
            lang: value(f"{name}_{lang}")
            for lang in LANGUAGES
            if value(f"{name}_{lang}")
        }
        for name in ("title", "description")
    }
    changes["keywords"] = {
        lang: words
        for lang in LANGUAGES
        if (words := [w.strip() for w in value(f"keywords_{lang}").split(",")])
        and any(words)
    }
    if current is not None:
        for name in MULTILINGUAL:
            changes[name].update(other_languages(getattr(current, name)))
    return changes


SINGLE = ("access_rights", "frequency", "contact_name", "contact_email", "version_info")
DISTRIBUTION = ("access_url", "download_url", "format", "licence")
# The select or checkboxes of a field, and the vocabulary its values come from.
VOCABULARY_OF = {
    "themes": "data-theme",
    "access_rights": "access-right",
    "frequency": "frequency",
    "format": "file-type",
    "licence": "licence",
}
NOT_LISTED = "Choose one of the listed values."

# Error fields (the schema's names and the SHACL properties' local names) → form fields.
_FIELD_OF = {
    "title": "title",
    "description": "description",
    "keywords": "keywords",
    "keyword": "keywords",
    "themes": "themes",
    "theme": "themes",
    "access_rights": "access_rights",
    "accessRights": "access_rights",
    "frequency": "frequency",
    "accrualPeriodicity": "frequency",
    "contact_name": "contact_name",
    "fn": "contact_name",
    "contact_email": "contact_email",
    "contactPoint": "contact_email",
    "hasEmail": "contact_email",
    "version_info": "version_info",
    "versionInfo": "version_info",
    "access_url": "access_url",
    "accessURL": "access_url",
    "download_url": "download_url",
    "downloadURL": "download_url",
    "format": "format",
    "licence": "licence",
    "license": "licence",
    "distribution": "access_url",
    "distributions": "access_url",
    "publisher_id": "publisher_id",
}


def form_field(error_field: str) -> str | None:
    """The form field an error names (``distributions.0.access_url`` → ``access_url``)."""
    parts = [p for p in error_field.split(".") if p and p != "metadata"]
    if not parts:
        return None
    if parts[0] == "distributions" and len(parts) > 1:
        if parts[1] != "0":
            return None  # a distribution the form does not show
        parts = parts[2:] or ["distributions"]
    return _FIELD_OF.get(parts[0])


def readable(message: str) -> str:
    """Pydantic's "Value error, give a title" as "Give a title"."""
    text = message.removeprefix("Value error, ")
    return text[:1].upper() + text[1:]


def field_errors(problem: InvalidInput | None) -> dict[str, str]:
    """Each form field's messages, joined, for showing beside it."""
    found: dict[str, list[str]] = {}
    for error in problem.errors if problem else []:
        name = form_field(error.field)
        if name is not None and readable(error.message) not in found.get(name, []):
            found.setdefault(name, []).append(readable(error.message))
    return {name: " ".join(messages) for name, messages in found.items()}


def invalid(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        "The metadata is not valid.",
        errors=[
            FieldError(".".join(str(p) for p in e["loc"]) or "body", e["msg"])
            for e in exc.errors()
        ],
    )


@dataclass
class EditorForm:
    """The form's values as typed: ``title_fr``, ``keywords_de``, ``access_url``..."""

    values: dict[str, str] = field(default_factory=dict)
    themes: list[str] = field(default_factory=list)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    @classmethod
    def from_metadata(cls, meta: DatasetDraft) -> EditorForm:
        values: dict[str, str] = {}
        for lang in LANGUAGES:
            values[f"title_{lang}"] = meta.title.get(lang, "")
            values[f"description_{lang}"] = meta.description.get(lang, "")
            values[f"keywords_{lang}"] = ", ".join(meta.keywords.get(lang, []))
        for name in SINGLE:
            values[name] = getattr(meta, name) or ""
        if meta.distributions:
            first = meta.distributions[0]
            for name in DISTRIBUTION:
                value = getattr(first, name)
                values[name] = str(value) if value is not None else ""
        return cls(values, list(meta.themes))

    @classmethod
    def from_form(cls, form: Mapping[str, Any], themes: list[Any]) -> EditorForm:
        names = [f"{n}_{lang}" for n in MULTILINGUAL for lang in LANGUAGES]
        names += [*SINGLE, *DISTRIBUTION, "publisher_id"]
        values = {}
        for name in names:
            value = form.get(name)
            values[name] = value.strip() if isinstance(value, str) else ""
        return cls(values, [t for t in themes if isinstance(t, str) and t])

    def changes(self, current: DatasetDraft | None = None) -> dict[str, Any]:
        """The draft's fields as this form sets them; raises InvalidInput for a value
        outside its vocabulary (unless the draft already had it)."""
        self._check_vocabularies(current)
        changes = texts_of(self.value, current)
        changes["themes"] = list(dict.fromkeys(self.themes))
        for name in SINGLE:
            changes[name] = self.value(name) or None
        kept = (
            [d.model_dump(mode="json") for d in current.distributions]
            if current
            else []
        )
        if any(self.value(name) for name in DISTRIBUTION):
            first = kept[0] if kept else {}
            first.update({name: self.value(name) or None for name in DISTRIBUTION})
            first["access_url"] = self.value("access_url")
            kept[:1] = [first]
        else:
            kept = kept[1:]
        changes["distributions"] = kept
        return changes

    def new_dataset(self) -> tuple[int, DatasetDraft]:
        """A new dataset's publisher and metadata; raises InvalidInput naming every
        field that is wrong."""
        errors: list[FieldError] = []
        publisher = self.value("publisher_id")
        if not publisher.isdigit():
            errors.append(FieldError("publisher_id", "Choose a publisher."))
        try:
            metadata = DatasetDraft.model_validate(self.changes())
        except InvalidInput as problem:
            errors.extend(problem.errors)
        except ValidationError as exc:
            errors.extend(invalid(exc).errors)
        if errors:
            raise InvalidInput("The metadata is not valid.", errors=errors)
        return int(publisher), metadata

    def _check_vocabularies(self, current: DatasetDraft | None) -> None:
        errors = []
        first = current.distributions[0] if current and current.distributions else None
        for name, vocabulary in VOCABULARY_OF.items():
            known = vocabularies.load(vocabulary)
            chosen = self.themes if name == "themes" else [self.value(name)]
            had: list[Any] = []
            if current is not None and name == "themes":
                had = list(current.themes)
            elif current is not None:
                had = [getattr(first if name in DISTRIBUTION else current, name, None)]
            if any(v and v not in known and v not in had for v in chosen):
                errors.append(FieldError(name, NOT_LISTED))
        if errors:
            raise InvalidInput("The metadata is not valid.", errors=errors)
