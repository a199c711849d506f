"""The controlled vocabularies of the catalogue, shipped as CSV data in this package.

Each vocabulary is one ``<name>.csv`` beside this module (columns ``iri, code,
label_en, label_fr, label_de, label_lb``, then its own columns; ``aliases`` is
``|``-separated). ``README.md`` gives the source and licence of each one.

    >>> normalise("file-type", "text/csv")
    'http://publications.europa.eu/resource/authority/file-type/CSV'
    >>> load("language").label(normalise("language", "lb"), "fr")
    'luxembourgeois'
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib.resources import files
from types import MappingProxyType

from datafactory.catalogue.vocabularies.concepts import (
    FALLBACK,
    LANGUAGES,
    Concept,
    Vocabulary,
    fold,
)

__all__ = [
    "FALLBACK",
    "LANGUAGES",
    "VOCABULARIES",
    "Concept",
    "Vocabulary",
    "fold",
    "load",
    "normalise",
]

#: Every vocabulary this package ships, by the name ``load`` takes.
VOCABULARIES: tuple[str, ...] = (
    "data-theme",  # dcat:theme
    "file-type",  # dct:format
    "media-type",  # dcat:mediaType, IANA
    "frequency",  # dct:accrualPeriodicity
    "language",  # dct:language
    "licence",  # dct:license
    "access-right",  # dct:accessRights
    "hvd-category",  # dcatap:hvdCategory
    "country",  # dct:spatial
    "canton",  # dct:spatial, Luxembourg's 12 cantons
    "commune",  # dct:spatial, Luxembourg's 100 communes
    "data-protection",  # dpv:hasData (DCAT-AP-LU)
    "sensitivity",  # data dictionary column classes
)

_FIXED_COLUMNS = ("iri", "code", "aliases", *(f"label_{lang}" for lang in LANGUAGES))


@lru_cache(maxsize=32)  # bounded: unknown names raise before caching
def load(name: str) -> Vocabulary:
    """The vocabulary called ``name`` (one of ``VOCABULARIES``), read once."""
    if name not in VOCABULARIES:
        raise ValueError(
            f"unknown vocabulary {name!r}; known: {', '.join(VOCABULARIES)}"
        )
    text = files(__name__).joinpath(f"{name}.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return Vocabulary(name, tuple(_concept(row) for row in rows))


def normalise(name: str, value: str) -> str | None:
    """The canonical IRI in vocabulary ``name`` that a harvested literal names, or None."""
    return load(name).normalise(value)


def _concept(row: dict[str, str]) -> Concept:
    labels = {
        lang: row[f"label_{lang}"].strip()
        for lang in LANGUAGES
        if row.get(f"label_{lang}", "").strip()
    }
    aliases = tuple(a.strip() for a in row.get("aliases", "").split("|") if a.strip())
    extra = {k: v for k, v in row.items() if k not in _FIXED_COLUMNS and v}
    return Concept(
        iri=row["iri"].strip(),
        code=row["code"].strip(),
        labels=MappingProxyType(labels),
        extra=MappingProxyType(extra),
        aliases=aliases,
    )
