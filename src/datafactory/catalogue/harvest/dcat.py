"""The DCAT reader: RDF documents (Turtle, RDF/XML, JSON-LD, N-Triples) with Hydra paging.

Safety: RDF/XML is checked with defusedxml first (no entity declarations, no external
references: XML bombs are refused); JSON-LD may not name a remote ``@context`` (rdflib would
fetch it, from wherever it points). The pages of a source are merged into one graph and read
only once all of them parsed.

Besides datasets, a document's data services and dataset series are read (as
:class:`RecordRemote`), with the links between them: ``dcat:inSeries``,
``dcat:accessService`` and ``dcat:servesDataset`` keep the original IRIs, which the
catalogue resolves to the records harvested here (``catalogue.records.links_for``). A data
service written as a blank node (inline in ``dcat:accessService``, as CKAN and udata do)
is known by its first endpoint URL, which stands for its IRI in those links.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from pydantic import ValidationError
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from datafactory.catalogue.harvest import normalise as n
from datafactory.catalogue.harvest import oxigraph
from datafactory.catalogue.harvest.errors import HarvestError
from datafactory.catalogue.harvest.fetch import Document, Fetcher
from datafactory.catalogue.harvest.readers import Progress, Remote, mapped, pages
from datafactory.catalogue.rdf import (
    ADMS,
    DATASET_SERIES,
    DCATAP,
    HYDRA,
    IN_SERIES,
    VCARD,
    plain_graph,
)
from datafactory.catalogue.schemas import DRAFTS, RecordDraft, RecordKind

SCHEMA = Namespace("http://schema.org/")
SCHEMA_S = Namespace("https://schema.org/")
_FORMATS = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
    "application/n-triples": "nt",
    "text/plain": "nt",
}
_EXTENSIONS = {
    ".ttl": "turtle",
    ".rdf": "xml",
    ".xml": "xml",
    ".owl": "xml",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".nt": "nt",
}


def rdf_format(document: Document) -> str:
    if document.content_type:
        found = _FORMATS.get(document.content_type.split(";")[0].strip().lower())
        if found and found != "nt":
            return found
    path = document.url.split("?")[0].lower()
    for extension, name in _EXTENSIONS.items():
        if path.endswith(extension):
            return name
    head = document.content.lstrip()[:1]
    if head in (b"{", b"["):
        return "json-ld"
    if head == b"<":
        return "xml"
    return "turtle"


def parse(document: Document, graph: Graph) -> list[str]:
    """Parse one document into ``graph``; returns rdflib's warnings as notes. Turtle and
    N-Triples go to pyoxigraph's faster parser first (``oxigraph.py``)."""
    name = rdf_format(document)
    if name == "xml":
        _refuse_xml_tricks(document)
    if name == "json-ld":
        _refuse_remote_contexts(document)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if oxigraph.parses(name) and oxigraph.parse_into(
            graph, document.content, name, document.url
        ):
            return [str(w.message)[:200] for w in caught]
        # rdflib's JSON-LD parser needs a store that keeps named graphs; a plain one
        # (rdf.plain_graph) gets the triples once parsed.
        target = graph if graph.store.context_aware else Graph()
        try:
            target.parse(data=document.content, format=name, publicID=document.url)
        except Exception as exc:  # rdflib raises many kinds; all mean "does not parse"
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise HarvestError(
                f"{document.url} does not parse as {name}: "
                f"{type(exc).__name__}{': ' + message[:300] if message else ''}"
            ) from exc
        if target is not graph:
            graph += target
    return [str(w.message)[:200] for w in caught]


def _refuse_xml_tricks(document: Document) -> None:
    try:
        safe_xml.fromstring(
            document.content,
            forbid_dtd=False,
            forbid_entities=True,
            forbid_external=True,
        )
    except DefusedXmlException as exc:
        raise HarvestError(
            f"{document.url} was refused: XML with entity declarations or external "
            f"references is not read ({type(exc).__name__})"
        ) from exc
    except safe_xml.ParseError as exc:
        raise HarvestError(f"{document.url} does not parse as xml: {exc}") from exc


def _refuse_remote_contexts(document: Document) -> None:
    try:
        body = json.loads(document.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HarvestError(f"{document.url} does not parse as json-ld: {exc}") from exc
    if _has_remote_context(body):
        raise HarvestError(
            f"{document.url} names a remote JSON-LD @context; remote contexts are not "
            "fetched, so the document cannot be read"
        )


def _has_remote_context(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_remote_context(v) for v in value)
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context" and _context_is_remote(item):
                return True
            if _has_remote_context(item):
                return True
    return False


def _context_is_remote(context: Any) -> bool:
    if isinstance(context, str):
        return True
    if isinstance(context, list):
        return any(_context_is_remote(c) for c in context)
    return isinstance(context, dict) and "@import" in context


def _next_page(graph: Graph) -> str | None:
    for predicate in (HYDRA.next, HYDRA.nextPage):
        for value in graph.objects(None, predicate):
            return str(value)
    return None


def read_dcat(
    fetcher: Fetcher, url: str, *, language: str, progress: Progress
) -> list[Remote]:
    graph: Graph | None = None
    notes: list[str] = []

    def next_of(_url: str) -> str | None:
        return page_links.pop() if page_links else None

    page_links: list[str] = []
    for number, page_url in enumerate(pages(url, next_of), start=1):
        page = plain_graph()
        notes += parse(fetcher.get(page_url), page)
        link = _next_page(page)
        if link:
            page_links.append(link)
        for predicate in (HYDRA.next, HYDRA.nextPage):
            page.remove((None, predicate, None))
        if graph is None:
            graph = page  # the first (often the only) page is not copied
        else:
            graph += page
        progress(f"read page {number}")
    assert graph is not None  # pages() yields the first URL at least
    series = set(graph.subjects(RDF.type, DATASET_SERIES))
    # A series may say it is a dcat:Dataset too (a subclass): it is read as a series.
    datasets = sorted(set(graph.subjects(RDF.type, DCAT.Dataset)) - series, key=str)
    services = sorted(set(graph.subjects(RDF.type, DCAT.DataService)), key=str)
    if not (datasets or series or services):
        raise HarvestError(
            f"{url} holds no dcat:Dataset, dcat:DatasetSeries or dcat:DataService"
        )
    records: list[Remote] = [
        dataset_record(graph, s, language=language) for s in datasets
    ]
    records += [
        series_record(graph, s, language=language) for s in sorted(series, key=str)
    ]
    records += [service_record(graph, s, language=language) for s in services]
    if notes and records:
        records[0].notes.extend(f"parser: {note}" for note in dict.fromkeys(notes))
    return records


# --- one dataset -------------------------------------------------------------------------


TITLE_FROM_SERIES = (
    "title: missing upstream; made from its series' title and the dataset's IRI"
)
TITLE_FROM_IRI = "title: missing upstream; made from the dataset's IRI"


def _made_title(
    graph: Graph, subject: Node, lang: str, notes: n.Notes
) -> dict[str, str]:
    """A title for a dataset published with no ``dct:title`` at all (SEMIC's own series
    examples do this), so that it can be published and a steward can see and mend it: its series'
    title with the last segment of its IRI, which tells the members apart ("Bee
    population: BeePopulation2022"), else that segment alone. The notes say so, so the
    report shows the title was made here, not found."""
    if not isinstance(subject, URIRef) or _literals(graph, subject, DCTERMS.title):
        return {}  # a title in a language we cannot keep is not a missing title
    name = str(subject).rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1].strip()
    if not name:
        return {}
    for series in sorted(graph.objects(subject, IN_SERIES), key=str):
        series_title = n.text(
            _literals(graph, series, DCTERMS.title), lang, n.Notes(), "series title"
        )
        if series_title:
            notes.append(TITLE_FROM_SERIES)
            return {code: f"{text}: {name}" for code, text in series_title.items()}
    notes.append(TITLE_FROM_IRI)
    return {lang: name}


def _literals(
    graph: Graph, subject: Node, predicate: URIRef
) -> list[tuple[str, str | None]]:
    found = []
    for value in graph.objects(subject, predicate):
        if isinstance(value, Literal):
            found.append((str(value), value.language))
    return found


def _values(graph: Graph, subject: Node, predicate: URIRef) -> list[str]:
    """IRIs and literals as strings; a blank node stands for its label, value or code."""
    found = []
    for value in graph.objects(subject, predicate):
        if isinstance(value, BNode):
            for inner in (
                RDF.value,
                SKOS.prefLabel,
                RDFS.label,
                SKOS.notation,
                DCTERMS.identifier,
            ):
                label = graph.value(value, inner)
                if label is not None:
                    found.append(str(label))
                    break
        else:
            found.append(str(value))
    return found


def _first(graph: Graph, subject: Node, *predicates: URIRef) -> str | None:
    for predicate in predicates:
        values = _values(graph, subject, predicate)
        if values:
            return values[0]
    return None


def _default_language(graph: Graph, subject: Node, fallback: str) -> str:
    keys = {
        key
        for value in _values(graph, subject, DCTERMS.language)
        if (key := n.language_key(value.rstrip("/").rsplit("/", 1)[-1])) is not None
    }
    return keys.pop() if len(keys) == 1 else fallback


def dataset_record(graph: Graph, subject: Node, *, language: str) -> Remote:
    identifier = _first(graph, subject, DCTERMS.identifier)
    probe = n.Notes()
    iri = (
        n.repair_iri(str(subject), probe, "dataset IRI")
        if isinstance(subject, URIRef)
        else None
    )
    remote_id = (
        iri or str(subject) if isinstance(subject, URIRef) else (identifier or "")
    )

    def make(notes: n.Notes) -> dict[str, Any]:
        notes.extend(probe)
        if isinstance(subject, URIRef) and iri is None:
            notes.append(
                f"dataset IRI {str(subject)!r} could not be repaired; kept as id"
            )
        if not remote_id:
            raise n.RecordError("a blank-node dataset without dct:identifier")
        lang = _default_language(graph, subject, language)
        licence_raw = _first(graph, subject, DCTERMS.license)
        licence = (
            n.vocabulary("licence", licence_raw, notes, "licence")
            if licence_raw
            else None
        )
        landing = _first(graph, subject, DCAT.landingPage)
        fields: dict[str, Any] = {
            "title": n.text(
                _literals(graph, subject, DCTERMS.title), lang, notes, "title"
            )
            or _made_title(graph, subject, lang, notes),
            "description": n.text(
                _literals(graph, subject, DCTERMS.description),
                lang,
                notes,
                "description",
            ),
            "keywords": _keywords(_literals(graph, subject, DCAT.keyword), lang, notes),
            "themes": n.vocabularies(
                "data-theme", _values(graph, subject, DCAT.theme), notes, "theme"
            ),
            "access_rights": n.vocabulary(
                "access-right",
                _first(graph, subject, DCTERMS.accessRights),
                notes,
                "access rights",
            ),
            "frequency": n.vocabulary(
                "frequency",
                _first(graph, subject, DCTERMS.accrualPeriodicity),
                notes,
                "frequency",
            ),
            "languages": n.vocabularies(
                "language", _values(graph, subject, DCTERMS.language), notes, "language"
            ),
            "spatial": _spatial(graph, subject, notes),
            "landing_page": n.repair_iri(landing, notes, "landing page")
            if landing
            else None,
            "version_info": (
                _first(graph, subject, OWL.versionInfo, ADMS.version) or ""
            )[:50]
            or None,
            "version_notes": n.text(
                _literals(graph, subject, ADMS.versionNotes),
                lang,
                notes,
                "version notes",
            ),
            "hvd_categories": n.vocabularies(
                "hvd-category",
                _values(graph, subject, DCATAP.hvdCategory),
                notes,
                "HVD category",
            ),
            "distributions": [],
            "in_series": _links(graph, subject, IN_SERIES, notes, "in series"),
        }
        fields.update(_contact(graph, subject))
        fields.update(_temporal(graph, subject, notes))
        for number, node in enumerate(
            sorted(graph.objects(subject, DCAT.distribution), key=str), start=1
        ):
            distribution = _distribution(graph, node, licence, lang, notes, number)
            if distribution is not None:
                fields["distributions"].append(distribution)
        return fields

    return mapped(remote_id, iri, make)


def _keywords(
    literals: Iterable[tuple[str, str | None]], lang: str, notes: n.Notes
) -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    dropped: set[str] = set()
    for value, tag in literals:
        key = n.language_key(tag) if tag else lang
        if key is None:
            dropped.add(str(tag))
        elif value.strip():
            words.setdefault(key, []).append(value)
    if dropped:
        notes.append(f"keywords: dropped the languages {', '.join(sorted(dropped))}")
    return words


def _spatial(graph: Graph, subject: Node, notes: n.Notes) -> list[str]:
    found = []
    for value in graph.objects(subject, DCTERMS.spatial):
        if isinstance(value, URIRef):
            iri = n.repair_iri(str(value), notes, "spatial")
            if iri:
                found.append(iri)
        else:
            notes.append(
                "spatial: dropped a place given without an IRI (geometry or label)"
            )
    return list(dict.fromkeys(found))


def _contact(graph: Graph, subject: Node) -> dict[str, Any]:
    contact = graph.value(subject, DCAT.contactPoint)
    if contact is None:
        return {}
    name = _first(
        graph, contact, VCARD.fn, VCARD["organization-name"], VCARD["organisation-name"]
    )
    mail = _first(graph, contact, VCARD.hasEmail, VCARD.email)
    return {
        "contact_name": name[:200] if name else None,
        "contact_email": n.email(mail),
    }


def _temporal(graph: Graph, subject: Node, notes: n.Notes) -> dict[str, Any]:
    period = graph.value(subject, DCTERMS.temporal)
    if period is None:
        return {}
    start = _first(graph, period, DCAT.startDate, SCHEMA.startDate, SCHEMA_S.startDate)
    end = _first(graph, period, DCAT.endDate, SCHEMA.endDate, SCHEMA_S.endDate)
    return {
        "temporal_start": n.to_date(start, notes, "temporal start"),
        "temporal_end": n.to_date(end, notes, "temporal end", end=True),
    }


def _distribution(
    graph: Graph,
    node: Node,
    licence: str | None,
    lang: str,
    notes: n.Notes,
    number: int,
) -> dict[str, Any] | None:
    where = f"distribution {number}"
    access = _first(graph, node, DCAT.accessURL)
    download = _first(graph, node, DCAT.downloadURL)
    access_url = n.repair_iri(access, notes, where) if access else None
    download_url = n.repair_iri(download, notes, where) if download else None
    if access_url is None:
        access_url = download_url
    if access_url is None:
        notes.append(f"{where}: dropped, it has no access or download URL")
        return None
    raw_format = _first(graph, node, DCTERMS["format"])
    raw_media = _first(graph, node, DCAT.mediaType)
    if (
        raw_media is None
        and raw_format
        and "/" in raw_format
        and "://" not in raw_format
    ):
        raw_media = raw_format
    own_licence = _first(graph, node, DCTERMS.license)
    rights = graph.value(node, DCTERMS.rights)
    size = _first(graph, node, DCAT.byteSize)
    return {
        "title": n.text(_literals(graph, node, DCTERMS.title), lang, notes, where),
        "description": n.text(
            _literals(graph, node, DCTERMS.description), lang, notes, where
        ),
        "access_url": access_url,
        "download_url": download_url,
        "format": n.vocabulary("file-type", raw_format, notes, f"{where} format"),
        "media_type": n.vocabulary(
            "media-type", raw_media, notes, f"{where} media type"
        ),
        "licence": n.vocabulary("licence", own_licence, notes, f"{where} licence")
        if own_licence
        else licence,
        "rights": n.text(
            [(str(rights), getattr(rights, "language", None))]
            if isinstance(rights, Literal)
            else _literals(graph, rights, RDFS.label)
            if rights is not None
            else [],
            lang,
            notes,
            f"{where} rights",
        ),
        "byte_size": n.byte_size(size, notes),
        "access_services": [
            iri
            for service in graph.objects(node, DCAT.accessService)
            if (iri := service_iri(graph, service, notes, where)) is not None
        ],
    }


# --- links, data services and dataset series ------------------------------------------------


def service_iri(graph: Graph, node: Node, notes: n.Notes, where: str) -> str | None:
    """The IRI a data service is known by: its own, or for a blank node its first
    endpoint URL."""
    if isinstance(node, URIRef):
        return n.repair_iri(str(node), notes, f"{where} access service")
    endpoints = sorted(str(e) for e in graph.objects(node, DCAT.endpointURL))
    for endpoint in endpoints:
        iri = n.repair_iri(endpoint, notes, f"{where} access service")
        if iri:
            return iri
    return None


def _links(
    graph: Graph, subject: Node, predicate: URIRef, notes: n.Notes, what: str
) -> list[str]:
    found = []
    for value in graph.objects(subject, predicate):
        if isinstance(value, URIRef):
            iri = n.repair_iri(str(value), notes, what)
            if iri:
                found.append(iri)
        else:
            notes.append(f"{what}: dropped a link given without an IRI")
    return sorted(set(found))


@dataclass
class RecordRemote(Remote):
    """A data service or dataset series as read from the source (``draft`` stays None:
    that is a dataset's)."""

    kind: RecordKind = RecordKind.service
    record: RecordDraft | None = None

    def digest(self) -> str:
        """What tells whether the record changed since the last run."""
        assert self.record is not None
        metadata = self.record.model_dump(mode="json")
        for key, value in metadata.items():
            if isinstance(value, list):  # RDF gives set-valued fields in no fixed order
                metadata[key] = sorted(value, key=lambda v: json.dumps(v))
        document = {
            "kind": self.kind.value,
            "iri": self.remote_iri,
            "metadata": metadata,
        }
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _mapped_record(
    kind: RecordKind,
    remote_id: str,
    remote_iri: str | None,
    make: Callable[[n.Notes], dict[str, Any]],
) -> RecordRemote:
    """As ``readers.mapped``: a problem becomes the record's error, never the job's.
    A record without a description takes its title, as a dataset does."""
    notes = n.Notes()
    try:
        fields = make(notes)
        if not fields.get("title"):
            raise n.RecordError(n.NO_TITLE)
        if not fields.get("description"):
            fields["description"] = dict(fields["title"])
            notes.append(n.DESCRIPTION_FROM_TITLE)
        try:
            record = DRAFTS[kind].model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors()[:3]
            )
            raise n.RecordError(f"not valid metadata: {problems}") from exc
    except n.RecordError as exc:
        return RecordRemote(
            remote_id[:500], remote_iri, error=str(exc), notes=notes, kind=kind
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return RecordRemote(
            remote_id[:500],
            remote_iri,
            error=f"cannot be read ({type(exc).__name__}: {exc})",
            notes=notes,
            kind=kind,
        )
    return RecordRemote(
        remote_id[:500], remote_iri, notes=notes, kind=kind, record=record
    )


def _record_identity(
    graph: Graph, subject: Node, kind: RecordKind
) -> tuple[str, str | None, n.Notes]:
    probe = n.Notes()
    if kind is RecordKind.service:
        iri = service_iri(graph, subject, probe, "data service")
    elif isinstance(subject, URIRef):
        iri = n.repair_iri(str(subject), probe, "dataset series IRI")
    else:
        iri = None
    identifier = _first(graph, subject, DCTERMS.identifier)
    return iri or identifier or "", iri, probe


def _shared_fields(
    graph: Graph, subject: Node, lang: str, notes: n.Notes
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": n.text(_literals(graph, subject, DCTERMS.title), lang, notes, "title"),
        "description": n.text(
            _literals(graph, subject, DCTERMS.description), lang, notes, "description"
        ),
        "keywords": _keywords(_literals(graph, subject, DCAT.keyword), lang, notes),
        "themes": n.vocabularies(
            "data-theme", _values(graph, subject, DCAT.theme), notes, "theme"
        ),
        "hvd_categories": n.vocabularies(
            "hvd-category",
            _values(graph, subject, DCATAP.hvdCategory),
            notes,
            "HVD category",
        ),
    }
    fields.update(_contact(graph, subject))
    return fields


def _urls(
    graph: Graph, subject: Node, predicate: URIRef, notes: n.Notes, what: str
) -> list[str]:
    found = []
    for value in graph.objects(subject, predicate):
        if isinstance(value, URIRef) or (
            isinstance(value, Literal) and "://" in str(value)
        ):
            iri = n.repair_iri(str(value), notes, what)
            if iri:
                found.append(iri)
        else:
            notes.append(f"{what}: dropped a value that is not a URL")
    return sorted(set(found))


def service_record(graph: Graph, subject: Node, *, language: str) -> RecordRemote:
    remote_id, iri, probe = _record_identity(graph, subject, RecordKind.service)

    def make(notes: n.Notes) -> dict[str, Any]:
        notes.extend(probe)
        if not remote_id:
            raise n.RecordError(
                "a blank-node data service without endpoint URL or dct:identifier"
            )
        lang = _default_language(graph, subject, language)
        licence = _first(graph, subject, DCTERMS.license)
        landing = _first(graph, subject, DCAT.landingPage)
        fields = _shared_fields(graph, subject, lang, notes)
        fields.update(
            {
                "endpoint_urls": _urls(
                    graph, subject, DCAT.endpointURL, notes, "endpoint URL"
                ),
                "endpoint_descriptions": _urls(
                    graph,
                    subject,
                    DCAT.endpointDescription,
                    notes,
                    "endpoint description",
                ),
                "documentation": _urls(
                    graph, subject, FOAF.page, notes, "documentation"
                ),
                "serves_datasets": _links(
                    graph, subject, DCAT.servesDataset, notes, "serves dataset"
                ),
                "access_rights": n.vocabulary(
                    "access-right",
                    _first(graph, subject, DCTERMS.accessRights),
                    notes,
                    "access rights",
                ),
                "licence": n.vocabulary("licence", licence, notes, "licence")
                if licence
                else None,
                "conforms_to": _urls(
                    graph, subject, DCTERMS.conformsTo, notes, "conforms to"
                ),
                "landing_page": n.repair_iri(landing, notes, "landing page")
                if landing
                else None,
            }
        )
        return fields

    return _mapped_record(RecordKind.service, remote_id, iri, make)


def series_record(graph: Graph, subject: Node, *, language: str) -> RecordRemote:
    remote_id, iri, probe = _record_identity(graph, subject, RecordKind.series)

    def make(notes: n.Notes) -> dict[str, Any]:
        notes.extend(probe)
        if not remote_id:
            raise n.RecordError("a blank-node dataset series without dct:identifier")
        lang = _default_language(graph, subject, language)
        fields = _shared_fields(graph, subject, lang, notes)
        fields.update(
            {
                "frequency": n.vocabulary(
                    "frequency",
                    _first(graph, subject, DCTERMS.accrualPeriodicity),
                    notes,
                    "frequency",
                ),
                "spatial": _spatial(graph, subject, notes),
            }
        )
        fields.update(_temporal(graph, subject, notes))
        return fields

    return _mapped_record(RecordKind.series, remote_id, iri, make)
