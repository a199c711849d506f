"""How to cite a published dataset: its ``CitationRecord`` and the five formats.

The identifier is the dataset's persistent URI, ``{base}/id/dataset/{id}``; a citation of
one version uses ``{base}/id/dataset/{id}/version/{n}``, which resolves to that version's
frozen metadata. The URI is also the citation's URL, so every format carries it. The
creator and publisher are the publishing organisation, the year is the year the cited
version was published, and the version is the steward's ``version_info`` when given,
else the version number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from sqlalchemy.orm import Session

from datafactory.catalogue import citation, rdf, service
from datafactory.catalogue.models import Dataset, DatasetVersion
from datafactory.catalogue.schemas import DatasetDraft, pick, pick_language
from datafactory.core.errors import NotFound
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation


class CitationFormat(NamedTuple):
    label: str
    media_type: str
    render: Callable[[citation.CitationRecord], str]


FORMATS: dict[str, CitationFormat] = {
    "apa": CitationFormat("APA", "text/plain", citation.to_apa),
    "bibtex": CitationFormat("BibTeX", "application/x-bibtex", citation.to_bibtex),
    "ris": CitationFormat(
        "RIS", "application/x-research-info-systems", citation.to_ris
    ),
    "csl-json": CitationFormat(
        "CSL-JSON", "application/vnd.citationstyles.csl+json", citation.to_csl_json
    ),
    "datacite": CitationFormat(
        "DataCite XML",
        "application/vnd.datacite.datacite+xml",
        citation.to_datacite_xml,
    ),
}


def version_uri(base_url: str, dataset_id: str, number: int) -> str:
    return f"{rdf.dataset_uri(base_url, dataset_id)}/version/{number}"


def _language(meta: DatasetDraft, lang: str) -> str:
    """The language of the title the citation shows (a Greek-only title is cited as el)."""
    return pick_language(meta.title, lang) or lang


def _cited_version(
    session: Session, actor: Actor, dataset: Dataset, number: int | None
) -> DatasetVersion:
    if dataset.version == 0:
        raise NotFound(f"Dataset {dataset.id} is not published yet.")
    return service.get_version(session, actor, dataset.id, number or dataset.version)


def citation_record(
    session: Session,
    actor: Actor,
    dataset_id: str,
    *,
    base_url: str,
    version: int | None = None,
    lang: str = "en",
) -> citation.CitationRecord:
    """The record citing ``dataset_id`` (its latest version, or ``version``)."""
    dataset = service.get_dataset(session, actor, dataset_id)
    cited = _cited_version(session, actor, dataset, version)
    meta = DatasetDraft.model_validate(cited.document)
    publisher = session.get(Organisation, dataset.publisher_id)
    assert publisher is not None
    identifier = (
        version_uri(base_url, dataset.id, cited.number)
        if version is not None
        else str(rdf.dataset_uri(base_url, dataset.id))
    )
    language = _language(meta, lang)
    return citation.CitationRecord(
        identifier=identifier,
        doi=None,
        title=pick(meta.title, language),
        creators=[publisher.name],
        publisher=publisher.name,
        year=cited.published_at.year,
        version=meta.version_info or str(cited.number),
        issued=cited.published_at.date(),
        url=identifier,
        language=language,
        description=pick(meta.description, language) or None,
    )


def render_citation(record: citation.CitationRecord, format: str) -> tuple[str, str]:
    """``(text, media type)`` of the record in ``format`` (a key of ``FORMATS``)."""
    chosen = FORMATS.get(format)
    if chosen is None:
        raise NotFound(f"No citation format {format!r}; use {', '.join(FORMATS)}.")
    return chosen.render(record), chosen.media_type
