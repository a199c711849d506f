"""The catalogue as RDF: per record and as a Hydra-paged whole, in four serialisations.

Hydra pages the datasets. The data services (``dcat:service``) and the dataset series
(``dcat:dataset``, as DCAT-AP 3 lists them) are few and come whole on the first page.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD
from sqlalchemy.orm import Session

from datafactory.catalogue import rdf, records
from datafactory.catalogue.models import CatalogueRecord, Dataset
from datafactory.catalogue.service import add_to_graph, list_published
from datafactory.core.errors import FieldError, InvalidInput

FORMATS = {
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("pretty-xml", "application/rdf+xml"),
    "nt": ("nt", "application/n-triples"),
}
MEDIA_TYPES = {media: ext for ext, (_, media) in FORMATS.items()}
MAX_PAGE_SIZE = 1000
PROFILES = ("dcat-ap-3.0.1", "dcat-ap-2.1.1")


@dataclass(frozen=True)
class Serialised:
    body: bytes
    media_type: str


def serialise(graph: Graph, extension: str) -> Serialised:
    rdflib_format, media_type = FORMATS[extension]
    if extension == "jsonld":
        context = {prefix: str(namespace) for prefix, namespace in rdf.PREFIXES.items()}
        body = graph.serialize(format=rdflib_format, context=context, auto_compact=True)
    else:
        body = graph.serialize(format=rdflib_format)
    return Serialised(body.encode() if isinstance(body, str) else body, media_type)


def catalogue_page(
    session: Session,
    *,
    base_url: str,
    page: int,
    page_size: int,
    extension: str,
    profile: str = PROFILES[0],
    title: str = "Luxembourg national data catalogue",
) -> Serialised:
    """One page of the catalogue with Hydra paging (PartialCollectionView)."""
    if profile not in PROFILES:
        raise InvalidInput(
            f"There is no export profile {profile!r}.",
            errors=[FieldError("profile", f"Use one of {', '.join(PROFILES)}.")],
        )
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(
            "The page is out of range.",
            errors=[
                FieldError("page_size", f"Use 1 to {MAX_PAGE_SIZE}; pages start at 1.")
            ],
        )
    # The catalogue's members in one order: the datasets, then the services and series.
    offset = (page - 1) * page_size
    datasets, dataset_total = list_published(session, offset=offset, limit=page_size)
    others, others_total = records.list_published(
        session,
        offset=max(0, offset - dataset_total),
        limit=page_size - len(datasets),
    )
    total = dataset_total + others_total
    graph = rdf.new_graph()
    base = base_url.rstrip("/")
    catalogue = URIRef(f"{base}/id/catalogue")
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    graph.add((catalogue, DCTERMS.title, Literal(title, lang="en")))
    graph.add(
        (
            catalogue,
            DCTERMS.description,
            Literal(
                "Open and protected data of Luxembourg's public sector.", lang="en"
            ),
        )
    )
    graph.add((catalogue, FOAF.homepage, URIRef(f"{base}/")))
    for dataset in datasets:
        add_to_graph(session, graph, dataset, base_url)
        graph.add((catalogue, DCAT.dataset, rdf.dataset_uri(base_url, dataset.id)))
    for record in others:
        records.add_to_graph(session, graph, record, base_url)
        graph.add(
            (
                catalogue,
                DCAT.service if record.kind == "service" else DCAT.dataset,
                rdf.record_uri(base_url, record.kind, record.id),
            )
        )
    publisher = URIRef(f"{base}/id/organisation/mindigital")
    graph.add((catalogue, DCTERMS.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal("Ministry for Digitalisation", lang="en")))
    address = f"{base}/catalogue.{extension}"
    _hydra(
        graph,
        address,
        page,
        page_size,
        total,
        "" if profile == PROFILES[0] else profile,
    )
    if profile == "dcat-ap-2.1.1":
        as_dcat_ap_2(graph)
    return serialise(graph, extension)


def as_dcat_ap_2(graph: Graph) -> None:
    """Rewrite a DCAT-AP 3 graph for harvesters that read DCAT-AP 2.1.1 (data.europa.eu).

    2.1.1 has no high-value-dataset terms and types ``dcat:byteSize`` as ``xsd:decimal``
    (3.0.1 made it ``xsd:nonNegativeInteger``). It has data services but no dataset
    series (DCAT 3 brought ``dcat:DatasetSeries`` and ``dcat:inSeries``): a series goes
    out as a ``dcat:Dataset`` and its members say ``dct:isPartOf`` it, as the DCAT-AP 2
    guidelines on dataset series did. Everything else we write is the same.
    """
    for series in list(graph.subjects(RDF.type, rdf.DATASET_SERIES)):
        graph.remove((series, RDF.type, rdf.DATASET_SERIES))
        graph.add((series, RDF.type, DCAT.Dataset))
    for member, series in list(graph.subject_objects(rdf.IN_SERIES)):
        graph.remove((member, rdf.IN_SERIES, series))
        graph.add((member, DCTERMS.isPartOf, series))
    graph.remove((None, rdf.DCATAP.applicableLegislation, None))
    graph.remove((None, rdf.DCATAP.hvdCategory, None))
    for node, size in list(graph.subject_objects(DCAT.byteSize)):
        graph.remove((node, DCAT.byteSize, size))
        graph.add((node, DCAT.byteSize, Literal(str(size), datatype=XSD.decimal)))


def _hydra(
    graph: Graph, address: str, page: int, page_size: int, total: int, profile: str
) -> None:
    extra = f"&profile={profile}" if profile else ""

    def at(number: int) -> URIRef:
        return URIRef(f"{address}?page={number}&page_size={page_size}{extra}")

    last = max(1, -(-total // page_size))
    view = at(page)
    graph.add((view, RDF.type, rdf.HYDRA.PartialCollectionView))
    graph.add((view, rdf.HYDRA.first, at(1)))
    graph.add((view, rdf.HYDRA.last, at(last)))
    if page > 1:
        graph.add((view, rdf.HYDRA.previous, at(page - 1)))
    if page < last:
        graph.add((view, rdf.HYDRA.next, at(page + 1)))
    graph.add(
        (view, rdf.HYDRA.totalItems, Literal(total, datatype=XSD.nonNegativeInteger))
    )


def dataset_document(
    session: Session, dataset: Dataset, *, base_url: str, extension: str
) -> Serialised:
    graph = rdf.new_graph()
    add_to_graph(session, graph, dataset, base_url)
    return serialise(graph, extension)


def record_document(
    session: Session, record: CatalogueRecord, *, base_url: str, extension: str
) -> Serialised:
    return serialise(records.record_graph(session, record, base_url), extension)


def negotiate(accept: str) -> str | None:
    """The RDF extension the Accept header prefers, or None for HTML (or anything else)."""
    best: tuple[float, str | None] = (0.0, None)
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.strip().lower()
        choice = MEDIA_TYPES.get(
            media, "html" if media in ("text/html", "*/*") else None
        )
        if choice is not None and quality > best[0]:
            best = (quality, None if choice == "html" else choice)
    return best[1]
