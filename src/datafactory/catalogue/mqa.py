"""Metadata Quality Assessment: the data.europa.eu 405-point methodology.

A pure rule (STYLE §4): it reads one dataset from an rdflib graph and takes every
outside fact as an argument, so it does no I/O of its own.

- ``link_status`` maps a URL to ``True`` (answered with an HTTP success), ``False``
  (failed) or ``None`` (not checked yet). A URL that is missing or ``None`` earns no
  points and is reported in ``IndicatorScore.not_checked``.
- ``shacl_conforms`` is the DCAT-AP SHACL verdict, ``None`` when not validated yet.
- ``vocabularies`` answers "is this IRI in that EU list?"; :class:`DefaultVocabularies`
  uses the authority IRI prefixes and a short built-in list until the vocabularies
  module plugs in a complete one.

Scoring follows the research note (catalogue.md §4) and ckan-mqa:

- dataset indicators earn their full points when the property is present;
- distribution indicators earn ``points × meeting / distributions``;
- the five distribution indicators of Interoperability are taken from the single
  best-scoring distribution (distributions usually carry the same content);
- a distribution meets a link or vocabulary indicator when at least one of its values
  does, so adding a property never lowers a score.

The bands are integer ranges (Excellent 351–405 …); a fractional total takes the band
whose lower bound it reaches, so 350.5 is "Good".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS
from rdflib.term import Node

from datafactory.catalogue.schemas import DatasetDraft, DistributionIn

Dimension = Literal[
    "Findability", "Accessibility", "Interoperability", "Reusability", "Contextuality"
]
Level = Literal["dataset", "distribution"]
Band = Literal["Excellent", "Good", "Sufficient", "Bad"]


class Indicator(NamedTuple):
    """One row of the methodology: what is checked, where, and for how many points."""

    dimension: Dimension
    key: str
    name: str
    check: str
    level: Level
    points: int


INDICATORS: tuple[Indicator, ...] = (
    Indicator("Findability", "keyword", "Keyword usage", "dcat:keyword present", "dataset", 30),
    Indicator("Findability", "theme", "Categories", "dcat:theme present", "dataset", 30),
    Indicator("Findability", "spatial", "Geo search", "dct:spatial present", "dataset", 20),
    Indicator("Findability", "temporal", "Time-based search", "dct:temporal present", "dataset", 20),
    Indicator("Accessibility", "access_url_status", "AccessURL accessibility", "dcat:accessURL answers HTTP success", "distribution", 50),
    Indicator("Accessibility", "download_url", "DownloadURL", "dcat:downloadURL present", "distribution", 20),
    Indicator("Accessibility", "download_url_status", "DownloadURL accessibility", "dcat:downloadURL answers HTTP success", "distribution", 30),
    Indicator("Interoperability", "format", "Format", "dct:format present", "distribution", 20),
    Indicator("Interoperability", "media_type", "Media type", "dcat:mediaType present", "distribution", 10),
    Indicator("Interoperability", "format_vocabulary", "Format / media type from vocabulary", "dct:format in EU File Type and dcat:mediaType in IANA media types", "distribution", 10),
    Indicator("Interoperability", "non_proprietary", "Non-proprietary", "dct:format in the EU non-proprietary formats", "distribution", 20),
    Indicator("Interoperability", "machine_readable", "Machine-readable", "dct:format in the EU machine-readable formats", "distribution", 20),
    Indicator("Interoperability", "dcat_ap_compliance", "DCAT-AP compliance", "no DCAT-AP SHACL violation", "dataset", 30),
    Indicator("Reusability", "licence", "Licence information", "dct:license present", "distribution", 20),
    Indicator("Reusability", "licence_vocabulary", "Licence vocabulary", "dct:license in the EU Licence list", "distribution", 10),
    Indicator("Reusability", "access_rights", "Access restrictions", "dct:accessRights present", "dataset", 10),
    Indicator("Reusability", "access_rights_vocabulary", "Access restrictions vocabulary", "dct:accessRights in the EU Access Right list", "dataset", 5),
    Indicator("Reusability", "contact_point", "Contact point", "dcat:contactPoint present", "dataset", 20),
    Indicator("Reusability", "publisher", "Publisher", "dct:publisher present", "dataset", 10),
    Indicator("Contextuality", "rights", "Rights", "dct:rights present", "distribution", 5),
    Indicator("Contextuality", "byte_size", "File size", "dcat:byteSize present", "distribution", 5),
    Indicator("Contextuality", "issued", "Date of issue", "dct:issued present", "dataset", 5),
    Indicator("Contextuality", "modified", "Modification date", "dct:modified present", "dataset", 5),
)  # fmt: skip

DIMENSIONS: tuple[Dimension, ...] = (
    "Findability",
    "Accessibility",
    "Interoperability",
    "Reusability",
    "Contextuality",
)
MAX_TOTAL = 405
BANDS: tuple[tuple[int, Band], ...] = (
    (351, "Excellent"),
    (221, "Good"),
    (121, "Sufficient"),
    (0, "Bad"),
)


def band_for(total: float) -> Band:
    """The rating band of a total: the first band whose lower bound it reaches."""
    for lower, band in BANDS:
        if total >= lower:
            return band
    return "Bad"


class Vocabularies(Protocol):
    """Membership in the EU controlled vocabularies the MQA checks."""

    def is_file_type(self, iri: str) -> bool: ...
    def is_media_type(self, iri: str) -> bool: ...
    def is_non_proprietary(self, iri: str) -> bool: ...
    def is_machine_readable(self, iri: str) -> bool: ...
    def is_licence(self, iri: str) -> bool: ...
    def is_access_right(self, iri: str) -> bool: ...


AUTHORITY = "http://publications.europa.eu/resource/authority/"
FILE_TYPE = AUTHORITY + "file-type/"
IANA_MEDIA_TYPES = (
    "http://www.iana.org/assignments/media-types/",
    "https://www.iana.org/assignments/media-types/",
)
# Short built-in lists from the data.europa.eu (EDP) format vocabularies.
MACHINE_READABLE_CODES = frozenset(
    "CSV GEOJSON ICS JSON JSON_LD KML KMZ NETCDF ODS RDFA RDF_N_QUADS RDF_N_TRIPLES "
    "RDF_TRIG RDF_TURTLE RDF_XML RSS SHP XLS XLSX XML".split()
)
NON_PROPRIETARY_CODES = frozenset(
    "CSV GEOJSON GML GPKG HTML ICS JSON JSON_LD KML NETCDF ODS ODT RDFA RDF_N_QUADS "
    "RDF_N_TRIPLES RDF_TRIG RDF_TURTLE RDF_XML RSS TSV TXT XML".split()
)


class DefaultVocabularies:
    """Authority IRI prefixes plus the short built-in format lists above."""

    def is_file_type(self, iri: str) -> bool:
        return iri.startswith(FILE_TYPE) and len(iri) > len(FILE_TYPE)

    def is_media_type(self, iri: str) -> bool:
        return any(iri.startswith(p) and "/" in iri[len(p) :] for p in IANA_MEDIA_TYPES)

    def is_non_proprietary(self, iri: str) -> bool:
        return iri.removeprefix(
            FILE_TYPE
        ) in NON_PROPRIETARY_CODES and self.is_file_type(iri)

    def is_machine_readable(self, iri: str) -> bool:
        return iri.removeprefix(
            FILE_TYPE
        ) in MACHINE_READABLE_CODES and self.is_file_type(iri)

    def is_licence(self, iri: str) -> bool:
        return _has_code(iri, AUTHORITY + "licence/")

    def is_access_right(self, iri: str) -> bool:
        return _has_code(iri, AUTHORITY + "access-right/")


def _has_code(iri: str, prefix: str) -> bool:
    return iri.startswith(prefix) and len(iri) > len(prefix)


@dataclass(frozen=True)
class IndicatorScore:
    """Points earned on one indicator; ``not_checked`` lists URLs with no link status."""

    dimension: Dimension
    indicator: str
    points: float
    max_points: int
    detail: str
    not_checked: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetScore:
    """A dataset's 23 indicator scores, their total and its band."""

    dataset: str
    indicators: tuple[IndicatorScore, ...]
    total: float
    band: Band
    max_total: int = MAX_TOTAL

    def by_dimension(self) -> dict[Dimension, float]:
        """Points per dimension, in methodology order."""
        sums: dict[Dimension, float] = dict.fromkeys(DIMENSIONS, 0.0)
        for score in self.indicators:
            sums[score.dimension] += score.points
        return sums


@dataclass(frozen=True)
class CatalogueScore:
    """The average over a catalogue's datasets, in total and per dimension."""

    average: float
    band: Band
    by_dimension: Mapping[Dimension, float]
    datasets: int = 0


# ---------------------------------------------------------------------------
# Facts read from the graph


@dataclass(frozen=True)
class DistributionFacts:
    """The values of one distribution that the indicators look at, as strings."""

    node: str
    access_urls: tuple[str, ...]
    download_urls: tuple[str, ...]
    formats: tuple[str, ...]
    media_types: tuple[str, ...]
    licences: tuple[str, ...]
    rights: tuple[str, ...]
    byte_sizes: tuple[str, ...]


@dataclass(frozen=True)
class DatasetFacts:
    """The values of one dataset that the indicators look at, as strings."""

    keywords: tuple[str, ...]
    themes: tuple[str, ...]
    spatial: tuple[str, ...]
    temporal: tuple[str, ...]
    access_rights: tuple[str, ...]
    contact_points: tuple[str, ...]
    publishers: tuple[str, ...]
    issued: tuple[str, ...]
    modified: tuple[str, ...]
    distributions: tuple[DistributionFacts, ...]


def _values(graph: Graph, subject: Node, predicate: URIRef) -> tuple[str, ...]:
    return tuple(sorted(str(o) for o in graph.objects(subject, predicate)))


def read_facts(graph: Graph, dataset: str) -> DatasetFacts:
    """Read the properties the MQA looks at; distributions sorted for stable results."""
    subject = URIRef(dataset)
    nodes = sorted(graph.objects(subject, DCAT.distribution), key=str)
    return DatasetFacts(
        keywords=_values(graph, subject, DCAT.keyword),
        themes=_values(graph, subject, DCAT.theme),
        spatial=_values(graph, subject, DCTERMS.spatial),
        temporal=_values(graph, subject, DCTERMS.temporal),
        access_rights=_values(graph, subject, DCTERMS.accessRights),
        contact_points=_values(graph, subject, DCAT.contactPoint),
        publishers=_values(graph, subject, DCTERMS.publisher),
        issued=_values(graph, subject, DCTERMS.issued),
        modified=_values(graph, subject, DCTERMS.modified),
        distributions=tuple(_distribution_facts(graph, node) for node in nodes),
    )


def draft_facts(meta: DatasetDraft, dataset: str) -> DatasetFacts:
    """The facts :func:`read_facts` reads from ``rdf.add_dataset``'s graph of ``meta``,
    taken from the metadata directly (publishing scores without building the graph).

    Blank nodes (contact point, period, rights statement) only count as present, so
    they stand as ``_:`` placeholders; every other value is the string the graph holds.
    """
    distributions = [
        _draft_distribution_facts(f"{dataset}/distribution/{number}", d)
        for number, d in enumerate(meta.distributions, start=1)
    ]
    return DatasetFacts(
        keywords=tuple(
            sorted(
                w for _, w in {(k, w) for k, ws in meta.keywords.items() for w in ws}
            )
        ),
        themes=tuple(sorted(set(meta.themes))),
        spatial=tuple(sorted(set(meta.spatial))),
        temporal=("_:temporal",)
        if meta.temporal_start is not None or meta.temporal_end is not None
        else (),
        access_rights=(meta.access_rights,) if meta.access_rights else (),
        contact_points=("_:contact",)
        if meta.contact_email or meta.contact_name
        else (),
        publishers=("publisher",),
        issued=("issued",),
        modified=("modified",),
        distributions=tuple(sorted(distributions, key=lambda d: d.node)),
    )


def _draft_distribution_facts(node: str, meta: DistributionIn) -> DistributionFacts:
    download = str(meta.download_url) if meta.download_url else None
    return DistributionFacts(
        node=node,
        access_urls=(str(meta.access_url),),
        download_urls=(download,) if download else (),
        formats=(meta.format,) if meta.format else (),
        media_types=(meta.media_type,) if meta.media_type else (),
        licences=(meta.licence,) if meta.licence else (),
        rights=("_:rights",) if meta.rights else (),
        byte_sizes=(str(meta.byte_size),) if meta.byte_size is not None else (),
    )


def _distribution_facts(graph: Graph, node: Node) -> DistributionFacts:
    return DistributionFacts(
        node=str(node),
        access_urls=_values(graph, node, DCAT.accessURL),
        download_urls=_values(graph, node, DCAT.downloadURL),
        formats=_values(graph, node, DCTERMS.format),
        media_types=_values(graph, node, DCAT.mediaType),
        licences=_values(graph, node, DCTERMS.license),
        rights=_values(graph, node, DCTERMS.rights),
        byte_sizes=_values(graph, node, DCAT.byteSize),
    )


# ---------------------------------------------------------------------------
# Checks, one per indicator key


@dataclass(frozen=True)
class _Context:
    link_status: Mapping[str, bool | None]
    shacl_conforms: bool | None
    vocabularies: Vocabularies


DatasetCheck = Callable[[DatasetFacts, _Context], bool]
DistributionCheck = Callable[[DistributionFacts, _Context], bool]


def _reachable(urls: Iterable[str], ctx: _Context) -> bool:
    return any(ctx.link_status.get(url) is True for url in urls)


def _vocab_format(d: DistributionFacts, ctx: _Context) -> bool:
    v = ctx.vocabularies
    return any(map(v.is_file_type, d.formats)) and any(
        map(v.is_media_type, d.media_types)
    )


DATASET_CHECKS: dict[str, DatasetCheck] = {
    "keyword": lambda f, _: bool(f.keywords),
    "theme": lambda f, _: bool(f.themes),
    "spatial": lambda f, _: bool(f.spatial),
    "temporal": lambda f, _: bool(f.temporal),
    "dcat_ap_compliance": lambda _, ctx: ctx.shacl_conforms is True,
    "access_rights": lambda f, _: bool(f.access_rights),
    "access_rights_vocabulary": lambda f, ctx: any(
        map(ctx.vocabularies.is_access_right, f.access_rights)
    ),
    "contact_point": lambda f, _: bool(f.contact_points),
    "publisher": lambda f, _: bool(f.publishers),
    "issued": lambda f, _: bool(f.issued),
    "modified": lambda f, _: bool(f.modified),
}

DISTRIBUTION_CHECKS: dict[str, DistributionCheck] = {
    "access_url_status": lambda d, ctx: _reachable(d.access_urls, ctx),
    "download_url": lambda d, _: bool(d.download_urls),
    "download_url_status": lambda d, ctx: _reachable(d.download_urls, ctx),
    "format": lambda d, _: bool(d.formats),
    "media_type": lambda d, _: bool(d.media_types),
    "format_vocabulary": _vocab_format,
    "non_proprietary": lambda d, ctx: any(
        map(ctx.vocabularies.is_non_proprietary, d.formats)
    ),
    "machine_readable": lambda d, ctx: any(
        map(ctx.vocabularies.is_machine_readable, d.formats)
    ),
    "licence": lambda d, _: bool(d.licences),
    "licence_vocabulary": lambda d, ctx: any(
        map(ctx.vocabularies.is_licence, d.licences)
    ),
    "rights": lambda d, _: bool(d.rights),
    "byte_size": lambda d, _: bool(d.byte_sizes),
}

# Which URLs a link indicator depends on, to report those not checked.
_LINKS: dict[str, Callable[[DistributionFacts], tuple[str, ...]]] = {
    "access_url_status": lambda d: d.access_urls,
    "download_url_status": lambda d: d.download_urls,
}


# ---------------------------------------------------------------------------
# Scoring


def score_dataset(
    graph: Graph,
    dataset: str,
    *,
    link_status: Mapping[str, bool | None],
    shacl_conforms: bool | None,
    vocabularies: Vocabularies | None = None,
) -> DatasetScore:
    """Score one dataset of ``graph`` on the 23 MQA indicators."""
    return score_facts(
        read_facts(graph, dataset),
        dataset,
        link_status=link_status,
        shacl_conforms=shacl_conforms,
        vocabularies=vocabularies,
    )


def score_facts(
    facts: DatasetFacts,
    dataset: str,
    *,
    link_status: Mapping[str, bool | None],
    shacl_conforms: bool | None,
    vocabularies: Vocabularies | None = None,
) -> DatasetScore:
    """Score facts read from a graph (:func:`read_facts`) or a draft (:func:`draft_facts`)."""
    ctx = _Context(link_status, shacl_conforms, vocabularies or DefaultVocabularies())
    best = _best_interoperable(facts.distributions, ctx)
    scores = tuple(_score(row, facts, best, ctx) for row in INDICATORS)
    total = sum(s.points for s in scores)
    return DatasetScore(dataset, scores, total, band_for(total))


def _best_interoperable(
    distributions: Sequence[DistributionFacts], ctx: _Context
) -> DistributionFacts | None:
    rows = [r for r in INDICATORS if r.dimension == "Interoperability"]

    def points(d: DistributionFacts) -> int:
        return sum(
            r.points
            for r in rows
            if r.key in DISTRIBUTION_CHECKS and DISTRIBUTION_CHECKS[r.key](d, ctx)
        )

    return max(distributions, key=points, default=None)


def _score(
    row: Indicator,
    facts: DatasetFacts,
    best: DistributionFacts | None,
    ctx: _Context,
) -> IndicatorScore:
    if row.level == "dataset":
        return _score_dataset_row(row, facts, ctx)
    if row.dimension == "Interoperability":
        return _score_best_row(row, best, ctx)
    return _score_share_row(row, facts.distributions, ctx)


def _score_dataset_row(
    row: Indicator, facts: DatasetFacts, ctx: _Context
) -> IndicatorScore:
    met = DATASET_CHECKS[row.key](facts, ctx)
    if row.key == "dcat_ap_compliance":
        detail = {True: "conforms", False: "SHACL violations", None: "not checked"}[
            ctx.shacl_conforms
        ]
    else:
        detail = "present" if met else "missing"
    return IndicatorScore(
        row.dimension, row.name, row.points if met else 0, row.points, detail
    )


def _score_best_row(
    row: Indicator, best: DistributionFacts | None, ctx: _Context
) -> IndicatorScore:
    if best is None:
        return IndicatorScore(row.dimension, row.name, 0, row.points, "no distribution")
    met = DISTRIBUTION_CHECKS[row.key](best, ctx)
    detail = f"best distribution {best.node}: {'met' if met else 'not met'}"
    return IndicatorScore(
        row.dimension, row.name, row.points if met else 0, row.points, detail
    )


def _score_share_row(
    row: Indicator, distributions: Sequence[DistributionFacts], ctx: _Context
) -> IndicatorScore:
    check = DISTRIBUTION_CHECKS[row.key]
    meeting = [d for d in distributions if check(d, ctx)]
    population = len(distributions)
    points = row.points * len(meeting) / population if population else 0.0
    unchecked = _unchecked(row, distributions, meeting, ctx)
    detail = f"{len(meeting)}/{population} distributions"
    if unchecked:
        detail += f"; {len(unchecked)} link(s) not checked"
    return IndicatorScore(
        row.dimension, row.name, points, row.points, detail, unchecked
    )


def _unchecked(
    row: Indicator,
    distributions: Sequence[DistributionFacts],
    meeting: Sequence[DistributionFacts],
    ctx: _Context,
) -> tuple[str, ...]:
    links = _LINKS.get(row.key)
    if links is None:
        return ()
    urls = (
        url
        for d in distributions
        if d not in meeting
        for url in links(d)
        if ctx.link_status.get(url) is None
    )
    return tuple(dict.fromkeys(urls))  # a URL shared by distributions is listed once


def catalogue_score(scores: Iterable[DatasetScore]) -> CatalogueScore:
    """Average the datasets' totals and dimensions; an empty catalogue scores 0."""
    listed = list(scores)
    count = len(listed)
    by_dimension: dict[Dimension, float] = dict.fromkeys(DIMENSIONS, 0.0)
    for score in listed:
        for dimension, points in score.by_dimension().items():
            by_dimension[dimension] += points
    if count:
        by_dimension = {k: v / count for k, v in by_dimension.items()}
    average = sum(s.total for s in listed) / count if count else 0.0
    return CatalogueScore(average, band_for(average), by_dimension, count)
