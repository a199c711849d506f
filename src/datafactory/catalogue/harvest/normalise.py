"""Pure rules that turn what a source says into our model (``DatasetDraft``).

Each helper takes plain values and a ``Notes`` list, returns the normalised value or None,
and says in a note what it repaired or dropped. ``build`` validates the result; a record
that cannot become a valid draft raises ``RecordError`` with the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import ValidationError

from datafactory.catalogue.schemas import DatasetDraft, Text, language_of
from datafactory.catalogue.vocabularies import normalise as _vocabulary

_IRI_SAFE = "/:@!$&'()*+,;=-._~?#%[]"
_DAY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_DMY = re.compile(r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{4})\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")


class Notes(list[str]):
    """What normalisation repaired or dropped in one record."""


class RecordError(Exception):
    """This record cannot enter the catalogue; the message says why."""


def language_key(tag: str | None) -> str | None:
    """Our text key for a language tag such as ``fr-LU``, ``ger`` or ``el``: any language
    of the EU language vocabulary, not only the four the form edits."""
    if not tag:
        return None
    return language_of(tag)


def text(
    values: Iterable[tuple[str, str | None]], default: str, notes: Notes, what: str
) -> Text:
    """Literals (value, language tag) as our multilingual text; the first per language.

    Every language of the EU language vocabulary is kept (a Greek title stays Greek);
    literals in other languages are dropped with a note."""
    result: Text = {}
    dropped: set[str] = set()
    for value, tag in values:
        value = value.strip()
        if not value:
            continue
        key = language_key(tag) if tag else default
        if key is None:
            dropped.add(str(tag))
            continue
        result.setdefault(key, value)
    if dropped:
        notes.append(
            f"{what}: dropped the languages {', '.join(sorted(dropped))} "
            "(not in the EU language vocabulary)"
        )
    return result


def repair_iri(value: str, notes: Notes, what: str) -> str | None:
    """An http(s) IRI, percent-encoding what is not allowed (spaces...), or None."""
    raw = value.strip()
    if raw.startswith("mailto:") or not raw:
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        notes.append(f"{what}: dropped the malformed IRI {raw!r}")
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        notes.append(f"{what}: dropped {raw!r}, not an http(s) IRI")
        return None
    fixed = urlunsplit(
        (
            parts.scheme.lower(),
            parts.netloc.strip(),
            quote(parts.path, safe=_IRI_SAFE),
            quote(parts.query, safe=_IRI_SAFE),
            quote(parts.fragment, safe=_IRI_SAFE),
        )
    )
    if fixed != raw:
        notes.append(f"{what}: repaired the IRI {raw!r} as {fixed!r}")
    if len(fixed) > 500:
        notes.append(f"{what}: dropped an IRI longer than 500 characters")
        return None
    return fixed


def vocabulary(name: str, value: str | None, notes: Notes, what: str) -> str | None:
    """The EU vocabulary IRI a literal or IRI names, or None with a note."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    found = _vocabulary(name, value)
    if found is None:
        notes.append(f"{what}: {value!r} is not in the {name} vocabulary, dropped")
    return found


def vocabularies(
    name: str, values: Iterable[str], notes: Notes, what: str
) -> list[str]:
    found = (vocabulary(name, v, notes, what) for v in values)
    return list(dict.fromkeys(iri for iri in found if iri))


def to_date(
    value: str | None, notes: Notes, what: str, *, end: bool = False
) -> date | None:
    """A date from ISO dates and date-times (also mistyped as xsd:date), d/m/y or a year."""
    if value is None or not value.strip():
        return None
    try:
        if match := _DAY.match(value):
            found = date(*(int(g) for g in match.groups()))
        elif match := _DMY.match(value):
            day, month, year = (int(g) for g in match.groups())
            found = date(year, month, day)
        elif match := _YEAR.match(value):
            year = int(match.group(1))
            found = date(year, 12, 31) if end else date(year, 1, 1)
        else:
            raise ValueError(value)
    except ValueError:
        notes.append(f"{what}: {value!r} is not a date, dropped")
        return None
    if found.isoformat() != value.strip():
        notes.append(f"{what}: read {value!r} as the date {found.isoformat()}")
    return found


def byte_size(value: Any, notes: Notes) -> int | None:
    """A byte count as an integer ("147253.0" is 147253); negative or junk is dropped."""
    if value is None or value == "":
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        notes.append(f"byte size: {value!r} is not a number, dropped")
        return None
    if number < 0 or number != number or number == float("inf"):
        notes.append(f"byte size: {value!r} is not a size, dropped")
        return None
    return int(number)


def email(value: str | None) -> str | None:
    if not value:
        return None
    address = value.strip().removeprefix("mailto:").strip()
    return address if "@" in address and len(address) <= 320 else None


NO_TITLE = "no title (none given, or none in a language of the EU language vocabulary)"
DESCRIPTION_FROM_TITLE = (
    "description: missing upstream (none in a known language); the title is used"
)


def build(fields: Mapping[str, Any], notes: Notes | None = None) -> DatasetDraft:
    """The validated draft, or RecordError naming the first problems.

    DCAT-AP makes ``dct:description`` mandatory and many catalogues leave it out: a record
    without one in a known language takes its title, in the same languages, as
    description, and says so in ``notes``.
    """
    title = fields.get("title") or {}
    if not title:
        raise RecordError(NO_TITLE)
    fields = dict(fields)
    if not fields.get("description"):
        fields["description"] = dict(title)
        if notes is not None:
            notes.append(DESCRIPTION_FROM_TITLE)
    try:
        return DatasetDraft.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors()[:3]
        )
        raise RecordError(f"not valid metadata: {problems}") from exc


# Set-valued fields: RDF gives their values in no fixed order (rdflib's order changes from
# one process to the next), so their order must not count as a change.
_UNORDERED = (
    "themes",
    "languages",
    "spatial",
    "hvd_categories",
    "data_protection",
    "distributions",
)


def content_hash(draft: DatasetDraft, remote_iri: str | None) -> str:
    """The hash that tells whether a record changed since the last run."""
    metadata = draft.model_dump(mode="json")
    # The links came after the first harvests: left out while empty, so that records
    # hashed before them do not all look changed.
    if not metadata.get("in_series"):
        metadata.pop("in_series", None)
    for distribution in metadata["distributions"]:
        if not distribution.get("access_services"):
            distribution.pop("access_services", None)
    for field in _UNORDERED:
        metadata[field] = sorted(
            metadata[field], key=lambda v: json.dumps(v, sort_keys=True)
        )
    document = {"iri": remote_iri, "metadata": metadata}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
