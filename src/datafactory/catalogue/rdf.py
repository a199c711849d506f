"""DCAT-AP-LU RDF out of our metadata model (rdflib), for export and for validation.

The dataset's persistent identifier is ``{base}/id/dataset/{id}``; it is both the subject IRI
and the ``dct:identifier`` that DCAT-AP-LU makes mandatory. The data dictionary of protected
data is exported through ``adms:sample`` as a CSVW table schema (``csvw:column``), as the
DCAT-AP-LU guidance shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, XSD

from datafactory.catalogue.schemas import (
    DataServiceDraft,
    DatasetDraft,
    DatasetSeriesDraft,
    DistributionIn,
    Text,
    Variable,
)

ADMS = Namespace("http://www.w3.org/ns/adms#")
CSVW = Namespace("http://www.w3.org/ns/csvw#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
DPV = Namespace("https://w3id.org/dpv#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
# No standard vocabulary says how sensitive a column is; our own term, documented in
# docs/catalogue.md, until DCAT-AP-LU names one.
DF = Namespace("https://datafactory.lu/ns#")
HVD_LEGISLATION = URIRef("http://data.europa.eu/eli/reg_impl/2023/138/oj")
# DCAT 3 terms that rdflib's DCAT namespace (DCAT 2) does not know.
DATASET_SERIES = URIRef("http://www.w3.org/ns/dcat#DatasetSeries")
IN_SERIES = URIRef("http://www.w3.org/ns/dcat#inSeries")

PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "owl": OWL,
    "adms": ADMS,
    "csvw": CSVW,
    "dcatap": DCATAP,
    "dpv": DPV,
    "vcard": VCARD,
    "hydra": HYDRA,
    "df": DF,
    "xsd": XSD,
}

_CSVW_DATATYPES = {
    "string": XSD.string,
    "integer": XSD.integer,
    "decimal": XSD.decimal,
    "boolean": XSD.boolean,
    "date": XSD.date,
    "datetime": XSD.dateTime,
    "code": XSD.string,
}


@dataclass(frozen=True)
class Publisher:
    slug: str
    name: str


@dataclass(frozen=True)
class DatasetFacts:
    """What the RDF needs besides the metadata: identity, publisher and dates."""

    id: str
    base_url: str
    publisher: Publisher
    created_at: datetime
    modified_at: datetime
    version: int
    links: Mapping[str, str] = field(default_factory=dict)
    """IRIs named in links (``in_series``, ``access_services``, ``serves_datasets``) that
    are the original IRIs of records harvested here, to the URIs we give those records."""


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def plain_graph() -> Graph:
    """A graph on rdflib's ``SimpleMemory`` store, for the many graphs a harvest reads and
    builds: the default ``Memory`` store keeps named-graph bookkeeping on every add and
    lookup, which a single graph never uses (about 15 % of a harvest's CPU)."""
    return Graph(store="SimpleMemory")


def dataset_uri(base_url: str, dataset_id: str) -> URIRef:
    return URIRef(f"{base_url.rstrip('/')}/id/dataset/{dataset_id}")


def record_uri(base_url: str, kind: str, record_id: str) -> URIRef:
    """A data service's or dataset series' URI: ``{base}/id/service/{id}`` or
    ``{base}/id/series/{id}``."""
    return URIRef(f"{base_url.rstrip('/')}/id/{kind}/{record_id}")


def link_uri(facts: DatasetFacts, kind: str, ref: str) -> URIRef:
    """The URI a link (our id or an IRI) points at; ``kind`` is dataset, service or series."""
    if "://" not in ref:
        return URIRef(f"{facts.base_url.rstrip('/')}/id/{kind}/{ref}")
    return URIRef(facts.links.get(ref, ref))


def add_dataset(graph: Graph, facts: DatasetFacts, meta: DatasetDraft) -> URIRef:
    """Add one dataset, its distributions, publisher, contact point and dictionary."""
    subject = dataset_uri(facts.base_url, facts.id)
    graph.add((subject, RDF.type, DCAT.Dataset))
    graph.add((subject, DCTERMS.identifier, Literal(str(subject))))
    _texts(graph, subject, DCTERMS.title, meta.title)
    _texts(graph, subject, DCTERMS.description, meta.description)
    for lang, words in meta.keywords.items():
        for word in words:
            graph.add((subject, DCAT.keyword, Literal(word, lang=lang)))
    _iris(graph, subject, DCAT.theme, meta.themes)
    _iris(graph, subject, DCTERMS.language, meta.languages)
    _iris(graph, subject, DCTERMS.spatial, meta.spatial)
    _iris(graph, subject, DPV.hasData, meta.data_protection)
    if meta.access_rights:
        graph.add((subject, DCTERMS.accessRights, URIRef(meta.access_rights)))
    if meta.frequency:
        graph.add((subject, DCTERMS.accrualPeriodicity, URIRef(meta.frequency)))
    if meta.landing_page:
        graph.add((subject, DCAT.landingPage, URIRef(str(meta.landing_page))))
    if meta.version_info:
        graph.add((subject, OWL.versionInfo, Literal(meta.version_info)))
    _texts(graph, subject, ADMS.versionNotes, meta.version_notes)
    graph.add(
        (subject, DCTERMS.issued, Literal(facts.created_at.date(), datatype=XSD.date))
    )
    graph.add(
        (subject, DCTERMS.modified, Literal(facts.modified_at, datatype=XSD.dateTime))
    )
    _publisher(graph, subject, facts)
    _contact_point(graph, subject, meta)
    _temporal(graph, subject, meta)
    _access_conditions(graph, subject, meta.access_conditions)
    if meta.is_hvd:
        graph.add((subject, DCATAP.applicableLegislation, HVD_LEGISLATION))
        _iris(graph, subject, DCATAP.hvdCategory, meta.hvd_categories)
    for series in meta.in_series:
        graph.add((subject, IN_SERIES, link_uri(facts, "series", series)))
    for number, distribution in enumerate(meta.distributions, start=1):
        node = _distribution(graph, subject, number, distribution, hvd=meta.is_hvd)
        for service in distribution.access_services:
            graph.add((node, DCAT.accessService, link_uri(facts, "service", service)))
    if meta.variables:
        _dictionary(graph, subject, meta.variables)
    return subject


def _texts(
    graph: Graph, subject: URIRef | BNode, predicate: URIRef, text: Text
) -> None:
    for lang, value in text.items():
        graph.add((subject, predicate, Literal(value, lang=lang)))


def _iris(graph: Graph, subject: URIRef, predicate: URIRef, iris: list[str]) -> None:
    for iri in iris:
        graph.add((subject, predicate, URIRef(iri)))


def _publisher(graph: Graph, subject: URIRef, facts: DatasetFacts) -> None:
    agent = URIRef(
        f"{facts.base_url.rstrip('/')}/id/organisation/{facts.publisher.slug}"
    )
    graph.add((subject, DCTERMS.publisher, agent))
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, FOAF.name, Literal(facts.publisher.name)))


def _contact_point(
    graph: Graph,
    subject: URIRef,
    meta: DatasetDraft | DataServiceDraft | DatasetSeriesDraft,
) -> None:
    if not (meta.contact_email or meta.contact_name):
        return
    contact = BNode()
    graph.add((subject, DCAT.contactPoint, contact))
    graph.add((contact, RDF.type, VCARD.Kind))
    if meta.contact_name:
        graph.add((contact, VCARD.fn, Literal(meta.contact_name)))
    if meta.contact_email:
        graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{meta.contact_email}")))


def _temporal(
    graph: Graph, subject: URIRef, meta: DatasetDraft | DatasetSeriesDraft
) -> None:
    if meta.temporal_start is None and meta.temporal_end is None:
        return
    period = BNode()
    graph.add((subject, DCTERMS.temporal, period))
    graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
    if meta.temporal_start:
        graph.add(
            (period, DCAT.startDate, Literal(meta.temporal_start, datatype=XSD.date))
        )
    if meta.temporal_end:
        graph.add((period, DCAT.endDate, Literal(meta.temporal_end, datatype=XSD.date)))


def _access_conditions(graph: Graph, subject: URIRef, conditions: Text) -> None:
    if not conditions:
        return
    rights = BNode()
    graph.add((subject, DCTERMS.rights, rights))
    graph.add((rights, RDF.type, DCTERMS.RightsStatement))
    _texts(graph, rights, RDFS.label, conditions)


def _distribution(
    graph: Graph, dataset: URIRef, number: int, meta: DistributionIn, *, hvd: bool
) -> URIRef:
    node = URIRef(f"{dataset}/distribution/{number}")
    graph.add((dataset, DCAT.distribution, node))
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCAT.accessURL, URIRef(str(meta.access_url))))
    if meta.download_url:
        graph.add((node, DCAT.downloadURL, URIRef(str(meta.download_url))))
    _texts(graph, node, DCTERMS.title, meta.title)
    _texts(graph, node, DCTERMS.description, meta.description)
    if meta.format:
        graph.add((node, DCTERMS["format"], URIRef(meta.format)))
    if meta.media_type:
        graph.add((node, DCAT.mediaType, URIRef(meta.media_type)))
    if meta.licence:
        graph.add((node, DCTERMS.license, URIRef(meta.licence)))
    if meta.byte_size is not None:
        graph.add(
            (
                node,
                DCAT.byteSize,
                Literal(meta.byte_size, datatype=XSD.nonNegativeInteger),
            )
        )
    if meta.rights:
        rights = BNode()
        graph.add((node, DCTERMS.rights, rights))
        graph.add((rights, RDF.type, DCTERMS.RightsStatement))
        _texts(graph, rights, RDFS.label, meta.rights)
    if hvd:
        graph.add((node, DCATAP.applicableLegislation, HVD_LEGISLATION))
    return node


def _dictionary(graph: Graph, dataset: URIRef, variables: list[Variable]) -> None:
    sample = URIRef(f"{dataset}/data-dictionary")
    schema = BNode()
    graph.add((dataset, ADMS.sample, sample))
    graph.add((sample, RDF.type, DCAT.Distribution))
    graph.add((sample, DCAT.accessURL, sample))
    graph.add((sample, DCTERMS.title, Literal("Data dictionary", lang="en")))
    graph.add((sample, CSVW.tableSchema, schema))
    for variable in variables:
        column = BNode()
        graph.add((schema, CSVW.column, column))
        graph.add((column, CSVW.name, Literal(variable.name)))
        graph.add((column, CSVW.datatype, _CSVW_DATATYPES[variable.type.value]))
        _texts(graph, column, CSVW.titles, variable.label)
        _texts(graph, column, DCTERMS.description, variable.description)
        graph.add((column, DF.sensitivity, Literal(variable.sensitivity.value)))
        if variable.unit:
            graph.add((column, CSVW.unit, Literal(variable.unit)))
        for term, value in (
            (CSVW.minimum, variable.minimum),
            (CSVW.maximum, variable.maximum),
            (DF.nullRate, variable.null_rate),
        ):
            if value is not None:
                graph.add(
                    (column, term, Literal(Decimal(str(value)), datatype=XSD.decimal))
                )


# --- data services and dataset series -----------------------------------------------------


def _common(
    graph: Graph,
    subject: URIRef,
    facts: DatasetFacts,
    meta: DataServiceDraft | DatasetSeriesDraft,
) -> None:
    graph.add((subject, DCTERMS.identifier, Literal(str(subject))))
    _texts(graph, subject, DCTERMS.title, meta.title)
    _texts(graph, subject, DCTERMS.description, meta.description)
    for lang, words in meta.keywords.items():
        for word in words:
            graph.add((subject, DCAT.keyword, Literal(word, lang=lang)))
    _iris(graph, subject, DCAT.theme, meta.themes)
    _publisher(graph, subject, facts)
    _contact_point(graph, subject, meta)
    if meta.is_hvd:
        graph.add((subject, DCATAP.applicableLegislation, HVD_LEGISLATION))
        _iris(graph, subject, DCATAP.hvdCategory, meta.hvd_categories)


def add_service(graph: Graph, facts: DatasetFacts, meta: DataServiceDraft) -> URIRef:
    """Add one data service: its endpoints, the datasets it serves, its terms."""
    subject = record_uri(facts.base_url, "service", facts.id)
    graph.add((subject, RDF.type, DCAT.DataService))
    _common(graph, subject, facts, meta)
    for predicate, urls in (
        (DCAT.endpointURL, meta.endpoint_urls),
        (DCAT.endpointDescription, meta.endpoint_descriptions),
        (FOAF.page, meta.documentation),
    ):
        for url in urls:
            graph.add((subject, predicate, URIRef(str(url))))
    for dataset in meta.serves_datasets:
        graph.add((subject, DCAT.servesDataset, link_uri(facts, "dataset", dataset)))
    _iris(graph, subject, DCTERMS.conformsTo, meta.conforms_to)
    if meta.access_rights:
        graph.add((subject, DCTERMS.accessRights, URIRef(meta.access_rights)))
    if meta.licence:
        graph.add((subject, DCTERMS.license, URIRef(meta.licence)))
    if meta.landing_page:
        graph.add((subject, DCAT.landingPage, URIRef(str(meta.landing_page))))
    return subject


def add_series(graph: Graph, facts: DatasetFacts, meta: DatasetSeriesDraft) -> URIRef:
    """Add one dataset series. Its members point at it (``dcat:inSeries``), as DCAT-AP 3
    asks; the series itself lists none."""
    subject = record_uri(facts.base_url, "series", facts.id)
    graph.add((subject, RDF.type, DATASET_SERIES))
    _common(graph, subject, facts, meta)
    _iris(graph, subject, DCTERMS.spatial, meta.spatial)
    if meta.frequency:
        graph.add((subject, DCTERMS.accrualPeriodicity, URIRef(meta.frequency)))
    _temporal(graph, subject, meta)
    graph.add(
        (subject, DCTERMS.issued, Literal(facts.created_at.date(), datatype=XSD.date))
    )
    graph.add(
        (subject, DCTERMS.modified, Literal(facts.modified_at, datatype=XSD.dateTime))
    )
    return subject
