"""Concepts and vocabularies, and the rules that turn a harvested literal into a concept.

A vocabulary answers three questions: which concept has this IRI (``get``), what is its
name in a language (``label``), and which concept did a harvester mean by this literal
(``normalise``). The last one accepts, case- and accent-insensitively: the IRI and its
``http``/``https``, ``www.`` and trailing-slash variants, the code, any label, any alias,
a media type (with or without parameters) and an EU authority IRI in an old or web-page
form (``/mdr/`` paths, ``op.europa.eu/...?uri=...``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qs, urlsplit

#: The platform's languages: Luxembourgish, French, German, English.
LANGUAGES: tuple[str, ...] = ("lb", "fr", "de", "en")

#: Where ``label`` looks after the requested language: the most widely read first.
FALLBACK: tuple[str, ...] = ("en", "fr", "de", "lb")

# How strongly a term claims a concept. A lower level wins. A code, label or alias that
# another concept already holds is a data error (see ``ambiguous_terms``); a media type
# may be shared (TIFF and GeoTIFF), and the first file type listed keeps it.
CODE, LABEL, ALIAS, MEDIA_TYPE = range(4)

_NOT_WORD = re.compile(r"[\W_]+")
_IANA = "https://www.iana.org/assignments/media-types/"


def fold(text: str) -> str:
    """The matching key of a literal: no accents, case-folded, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", bare.casefold()).strip()


def looks_like_url(text: str) -> bool:
    return "://" in text or text.casefold().startswith("www.")


def url_key(url: str) -> str:
    """The matching key of an IRI: no scheme, no ``www.``, no trailing slash, case-folded."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.netloc.casefold().removeprefix("www.")
    key = host + parts.path.rstrip("/")
    if parts.fragment:
        key += "#" + parts.fragment
    return key.casefold()


def authority_code(url: str) -> tuple[str, str] | None:
    """``(table, code)`` of an EU authority IRI in any of its published forms.

    ``http://publications.europa.eu/resource/authority/file-type/CSV`` and the older
    ``http://publications.europa.eu/mdr/authority/file-type/CSV`` both give
    ``("file-type", "CSV")``.
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.netloc.casefold().endswith("europa.eu"):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if "authority" not in segments:
        return None
    rest = segments[segments.index("authority") + 1 :]
    if len(rest) != 2:
        return None
    return rest[0].casefold(), rest[1].casefold()


@dataclass(frozen=True)
class Concept:
    """One entry of a controlled vocabulary.

    ``labels`` maps a language code (``lb``, ``fr``, ``de``, ``en``) to the label;
    ``aliases`` are other spellings a harvested record may use; ``extra`` holds the
    vocabulary's own columns (``media_type``, ``machine_readable``, ``canton``...).
    """

    iri: str
    code: str
    labels: Mapping[str, str] = field(hash=False)
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)
    aliases: tuple[str, ...] = ()

    def terms(self) -> Iterator[tuple[int, str]]:
        """Every literal that names this concept, with how strongly it does."""
        yield CODE, self.code
        for label in self.labels.values():
            yield LABEL, label
        for alias in self.aliases:
            yield ALIAS, alias
        if media_type := self.extra.get("media_type"):
            yield MEDIA_TYPE, media_type
            yield MEDIA_TYPE, _IANA + media_type


@dataclass(frozen=True)
class Vocabulary:
    """A named, ordered set of concepts with the indexes that ``normalise`` needs."""

    name: str
    concepts: tuple[Concept, ...]
    _by_iri: Mapping[str, Concept] = field(init=False, repr=False, compare=False)
    _by_url: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _by_term: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _by_code: Mapping[tuple[str, str], str] = field(
        init=False, repr=False, compare=False
    )
    ambiguous_terms: tuple[tuple[str, str, str], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_iri: dict[str, Concept] = {}
        by_url: dict[str, str] = {}
        by_code: dict[tuple[str, str], str] = {}
        for concept in self.concepts:
            if concept.iri in by_iri:
                raise ValueError(f"{self.name}: duplicate IRI {concept.iri}")
            by_iri[concept.iri] = concept
            by_url[url_key(concept.iri)] = concept.iri
            if table_code := authority_code(concept.iri):
                by_code.setdefault(table_code, concept.iri)
        by_term, ambiguous = self._index_terms(by_url)
        object.__setattr__(self, "_by_iri", MappingProxyType(by_iri))
        object.__setattr__(self, "_by_url", MappingProxyType(by_url))
        object.__setattr__(self, "_by_term", MappingProxyType(by_term))
        object.__setattr__(self, "_by_code", MappingProxyType(by_code))
        object.__setattr__(self, "ambiguous_terms", tuple(ambiguous))

    def _index_terms(
        self, by_url: dict[str, str]
    ) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
        """Fill ``by_url`` with URL-shaped terms and return the literal-term index."""
        claims: dict[str, tuple[int, str]] = {}
        ambiguous: list[tuple[str, str, str]] = []
        terms = sorted(
            ((level, term, c.iri) for c in self.concepts for level, term in c.terms()),
            key=lambda claim: claim[0],
        )
        for level, term, iri in terms:
            if looks_like_url(term):
                owner = by_url.setdefault(url_key(term), iri)
                if owner != iri and level <= ALIAS:
                    ambiguous.append((term, owner, iri))
                continue
            key = fold(term)
            if not key:
                continue
            held = claims.setdefault(key, (level, iri))
            if held[1] != iri and level <= ALIAS:
                ambiguous.append((term, held[1], iri))
        return {key: iri for key, (_, iri) in claims.items()}, ambiguous

    def __iter__(self) -> Iterator[Concept]:
        return iter(self.concepts)

    def __len__(self) -> int:
        return len(self.concepts)

    def __contains__(self, iri: object) -> bool:
        return iri in self._by_iri

    def get(self, iri: str) -> Concept | None:
        """The concept with exactly this IRI (use ``lookup`` for anything looser)."""
        return self._by_iri.get(iri)

    def lookup(self, value: str) -> Concept | None:
        """The concept a literal or IRI variant names, or None."""
        iri = self.normalise(value)
        return None if iri is None else self._by_iri[iri]

    def label(
        self, iri: str, lang: str = "en", fallback: Sequence[str] = FALLBACK
    ) -> str:
        """The concept's label in ``lang``, else in the first of ``fallback`` it has.

        ``lang`` may be a language tag such as ``fr-LU``. Raises KeyError for an IRI
        that is not in the vocabulary.
        """
        concept = self._by_iri.get(iri)
        if concept is None:
            raise KeyError(f"{iri} is not in the {self.name} vocabulary")
        primary = lang.split("-")[0].split("_")[0].casefold()
        for language in (primary, *fallback):
            if text := concept.labels.get(language):
                return text
        return concept.code

    def normalise(self, value: str) -> str | None:
        """The canonical IRI of the concept a harvested literal names, or None."""
        text = value.strip().strip("<>").strip()
        if not text:
            return None
        if text in self._by_iri:
            return text
        if looks_like_url(text):
            return self._normalise_url(text)
        iri = self._by_term.get(fold(text))
        if iri is None and ";" in text:
            iri = self._by_term.get(fold(text.split(";", 1)[0]))
        return iri

    def _normalise_url(self, url: str) -> str | None:
        if iri := self._by_url.get(url_key(url)):
            return iri
        embedded = parse_qs(urlsplit(url).query).get("uri")
        if embedded and embedded[0] != url:
            return self.normalise(embedded[0])
        table_code = authority_code(url)
        return None if table_code is None else self._by_code.get(table_code)
