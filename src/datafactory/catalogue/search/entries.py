"""What the index keeps of a dataset: its texts per language, sort keys, facet values.

Facet values are vocabulary codes (``SOCI``, ``CSV``, ``CC_BY_4_0``), the publisher's slug,
``true``/``false`` for open, and keywords as written. Labels come back from the
vocabularies in the reader's language.

Backends match facet values as *tokens*: the facet's letter and the value's id in
``search_facet_values`` (``b12``: theme value 12). A token ends in a digit, so no stemmer
touches it, and it is one word for every tokenizer. *Sample tokens* put a document in
fixed pseudo-random fractions of the catalogue (``s256``: one document in 256, chosen by
a hash of the dataset id), so a large result set can be sampled through the same index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue import vocabularies
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import LANGUAGES, DatasetDraft, pick
from datafactory.catalogue.search.base import FACETS
from datafactory.identity.models import Organisation

#: Facet -> the letter its tokens start with (never change: tokens are stored).
LETTER: Mapping[str, str] = dict(zip(FACETS, "abcdefghi", strict=True))
FACET_OF_LETTER: Mapping[str, str] = {v: k for k, v in LETTER.items()}
#: A document carries ``s<n>`` for each n here that divides its hash: 1 in n documents.
SAMPLE_LEVELS: tuple[int, ...] = (4, 16, 64, 256, 1024, 4096)

#: Facet -> the vocabulary its values come from.
VOCABULARY_OF: Mapping[str, str] = {
    "theme": "data-theme",
    "format": "file-type",
    "licence": "licence",
    "access_rights": "access-right",
    "language": "language",
    "hvd_category": "hvd-category",
}
PUBLIC = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
OPEN_LABELS: Mapping[str, Mapping[str, str]] = {
    "true": {"en": "Open", "fr": "Ouvert", "de": "Offen", "lb": "Oppen"},
    "false": {"en": "Protected", "fr": "Protégé", "de": "Geschützt", "lb": "Geschützt"},
}


def facet_token(facet: str, value_id: int) -> str:
    return f"{LETTER[facet]}{value_id}"


def sample_tokens(dataset_id: str) -> tuple[str, ...]:
    """The sample tokens of a dataset: stable, and independent of when it was indexed."""
    digest = hashlib.blake2b(dataset_id.encode(), digest_size=8).digest()
    number = int.from_bytes(digest, "big")
    return tuple(f"s{n}" for n in SAMPLE_LEVELS if number % n == 0)


def code_of(facet: str, iri: str) -> str:
    concept = vocabularies.load(VOCABULARY_OF[facet]).get(iri)
    return concept.code if concept else iri


def facet_values(
    meta: DatasetDraft, publisher_slug: str
) -> tuple[tuple[str, str], ...]:
    """Every (facet, value) pair of a dataset's published metadata, without duplicates."""
    pairs: dict[tuple[str, str], None] = {("publisher", publisher_slug): None}
    iris: list[tuple[str, str | None]] = [
        *(("theme", t) for t in meta.themes),
        ("access_rights", meta.access_rights),
        *(("language", x) for x in meta.languages),
        *(("hvd_category", x) for x in meta.hvd_categories),
        *(("format", d.format) for d in meta.distributions),
        *(("licence", d.licence) for d in meta.distributions),
    ]
    for facet, iri in iris:
        if iri:
            pairs[(facet, code_of(facet, iri))] = None
    pairs[("open", "true" if meta.access_rights == PUBLIC else "false")] = None
    for words in meta.keywords.values():
        for word in words:
            pairs[("keyword", word[:500])] = None
    return tuple(pairs)


def texts(meta: DatasetDraft) -> tuple[dict[str, str], dict[str, str]]:
    """Titles and bodies (description and keywords) per language: always the four of
    ``LANGUAGES``, then any other language the metadata holds (a harvested Greek title)."""
    others = sorted(
        (set(meta.title) | set(meta.description) | set(meta.keywords)) - set(LANGUAGES)
    )
    languages = (*LANGUAGES, *others)
    titles = {lang: meta.title.get(lang, "") for lang in languages}
    bodies = {
        lang: "\n".join(
            [meta.description.get(lang, ""), " ".join(meta.keywords.get(lang, []))]
        ).strip()
        for lang in languages
    }
    return titles, bodies


def sort_titles(meta: DatasetDraft) -> dict[str, str]:
    """The title-sort key per reader language: the title ``pick`` shows, folded (a title
    in another language only sorts by that title)."""
    return {lang: vocabularies.fold(pick(meta.title, lang))[:300] for lang in LANGUAGES}


def publisher_slug(session: Session, dataset: Dataset) -> str:
    # By primary key: a publisher already in the session (a batch publishes for one) is
    # not asked for again.
    publisher = session.get(Organisation, dataset.publisher_id)
    return (publisher.slug if publisher else None) or str(dataset.publisher_id)


def normalise_filter(facet: str, value: str) -> str:
    """A filter value as the index keeps it: a code for IRIs, aliases and codes alike."""
    value = value.strip()
    if facet == "open":
        return "true" if value.casefold() in {"true", "1", "yes", "open"} else "false"
    if facet not in VOCABULARY_OF:
        return value
    vocabulary = vocabularies.load(VOCABULARY_OF[facet])
    if value in _codes(VOCABULARY_OF[facet]):
        return value
    concept = vocabulary.lookup(value)
    return concept.code if concept else value


@lru_cache(maxsize=16)
def _codes(name: str) -> Mapping[str, str]:
    return {c.code: c.iri for c in vocabularies.load(name)}


def labels(
    session: Session, pairs: Iterable[tuple[str, str]], lang: str
) -> dict[tuple[str, str], str]:
    """A label in ``lang`` for each (facet, value); the value itself when none is known."""
    pairs = list(pairs)
    slugs = [v for f, v in pairs if f == "publisher"]
    rows = session.execute(
        select(Organisation.slug, Organisation.name).where(Organisation.slug.in_(slugs))
    )
    names = {row.slug: row.name for row in rows}
    return {(f, v): _label(f, v, lang, names) for f, v in pairs}


def _label(facet: str, value: str, lang: str, names: Mapping[str, str]) -> str:
    if facet == "publisher":
        return names.get(value, value)
    if facet == "open":
        return pick(dict(OPEN_LABELS.get(value, {})), lang) or value
    if facet in VOCABULARY_OF:
        name = VOCABULARY_OF[facet]
        iri = _codes(name).get(value)
        return vocabularies.load(name).label(iri, lang) if iri else value
    return value
