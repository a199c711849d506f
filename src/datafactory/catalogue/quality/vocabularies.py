"""The MQA's vocabulary checks answered from the catalogue's own vocabulary CSVs.

:class:`CsvVocabularies` implements :class:`datafactory.catalogue.mqa.Vocabularies`. An
IRI counts when it names a concept of the list, in any of its IRI spellings (``http`` or
``https``, trailing slash, the older ``/mdr/`` authority paths); a free-text literal does
not count, because the MQA checks that a value *is* a vocabulary IRI. The
``machine_readable`` and ``non_proprietary`` columns of ``file-type.csv`` give the two
format indicators. Media types are checked against ``media-type.csv``, our subset of the
IANA register: a media type missing there earns no vocabulary points until it is added.
"""

from __future__ import annotations

from functools import cache

from datafactory.catalogue.vocabularies import Concept, load
from datafactory.catalogue.vocabularies.concepts import (
    authority_code,
    looks_like_url,
    url_key,
)


def _concept(vocabulary: str, iri: str) -> Concept | None:
    """The concept whose own IRI ``iri`` spells; an alias URL (a licence's web page) or
    a literal is not the vocabulary IRI the MQA asks for."""
    if not looks_like_url(iri):
        return None
    concept = load(vocabulary).lookup(iri)
    if concept is None:
        return None
    same = url_key(concept.iri) == url_key(iri)
    code = authority_code(iri)
    return concept if same or (code and code == authority_code(concept.iri)) else None


def _flag(concept: Concept | None, column: str) -> bool:
    return concept is not None and concept.extra.get(column, "").lower() == "true"


class CsvVocabularies:
    """Membership in the EU lists, from ``datafactory.catalogue.vocabularies``."""

    def is_file_type(self, iri: str) -> bool:
        return _concept("file-type", iri) is not None

    def is_media_type(self, iri: str) -> bool:
        return _concept("media-type", iri) is not None

    def is_non_proprietary(self, iri: str) -> bool:
        return _flag(_concept("file-type", iri), "non_proprietary")

    def is_machine_readable(self, iri: str) -> bool:
        return _flag(_concept("file-type", iri), "machine_readable")

    def is_licence(self, iri: str) -> bool:
        return _concept("licence", iri) is not None

    def is_access_right(self, iri: str) -> bool:
        return _concept("access-right", iri) is not None


@cache
def vocabularies() -> CsvVocabularies:
    """The one instance the scorer uses (the CSVs are read once by ``load``)."""
    return CsvVocabularies()
