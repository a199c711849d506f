"""Score published datasets with the MQA and keep the scores where aggregates are cheap.

A dataset is scored when it is published (``service.publish_dataset`` calls
:func:`score_and_store`) and again when the link checker has new answers for its links
(:func:`rescore`). The scorer itself (``catalogue.mqa``) is pure; this module gathers its
inputs: the published graph, the stored link checks, the DCAT-AP 3 SHACL verdict and the
vocabulary lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rdflib import Graph
from rdflib.namespace import DCAT
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafactory.catalogue import mqa, rdf, service
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.quality import policy as _rules  # noqa: F401  (rules)
from datafactory.catalogue.quality.models import DatasetQuality, LinkCheck
from datafactory.catalogue.quality.vocabularies import vocabularies
from datafactory.catalogue.schemas import DatasetDraft, DatasetStatus
from datafactory.core.db import utcnow
from datafactory.core.errors import NotFound
from datafactory.identity.actor import Actor

#: The most points each dimension can give (F 100, A 100, I 110, R 75, C 20).
DIMENSION_MAX: dict[mqa.Dimension, int] = {
    d: sum(i.points for i in mqa.INDICATORS if i.dimension == d) for d in mqa.DIMENSIONS
}
_COLUMNS: dict[mqa.Dimension, str] = {d: d.lower() for d in mqa.DIMENSIONS}


@dataclass(frozen=True)
class CatalogueQuality:
    """The catalogue's figures: average total, its band, per dimension, band counts."""

    average: float
    band: mqa.Band
    by_dimension: dict[mqa.Dimension, float]
    bands: dict[mqa.Band, int]
    datasets: int


def link_urls(graph: Graph) -> list[str]:
    """Every access and download URL of the graph's distributions."""
    urls = {
        str(o)
        for p in (DCAT.accessURL, DCAT.downloadURL)
        for _, o in graph.subject_objects(p)
    }
    return sorted(urls)


def _fact_urls(facts: mqa.DatasetFacts) -> list[str]:
    """What :func:`link_urls` answers for the graph the facts describe."""
    return sorted(
        {u for d in facts.distributions for u in (*d.access_urls, *d.download_urls)}
    )


def link_status(session: Session, urls: Iterable[str]) -> dict[str, bool | None]:
    """What the link checker last said about each URL; None where never checked."""
    wanted = list(urls)
    query = select(LinkCheck.url, LinkCheck.reachable).where(LinkCheck.url.in_(wanted))
    found = {row.url: row.reachable for row in session.execute(query)}
    return {url: found.get(url) for url in wanted}


def _conforms(graph: Graph) -> bool:
    from datafactory.catalogue.validation import Profile, validate

    return validate(graph, [Profile.dcat_ap_3]).conforms


def _indicator_rows(score: mqa.DatasetScore) -> list[dict[str, Any]]:
    return [
        {
            "key": row.key,
            "dimension": s.dimension,
            "indicator": s.indicator,
            "points": round(s.points, 2),
            "max_points": s.max_points,
            "detail": s.detail,
            "not_checked": list(s.not_checked),
        }
        for row, s in zip(mqa.INDICATORS, score.indicators, strict=True)
    ]


def score_and_store(
    session: Session,
    dataset: Dataset,
    *,
    base_url: str,
    shacl_conforms: bool | None = None,
    published: DatasetDraft | None = None,
) -> DatasetQuality:
    """Score the published version of ``dataset`` and replace its stored score.

    ``shacl_conforms`` may be given when the caller has just validated the graph against
    DCAT-AP 3 (publishing does); otherwise the graph is validated here. ``published``,
    the metadata of the published version, may be given by a caller that holds it
    (publishing does), which saves reading the version again.
    """
    subject = str(rdf.dataset_uri(base_url, dataset.id))
    if shacl_conforms is None:
        shacl_conforms = _conforms(service.dataset_graph(session, dataset, base_url))
    # The facts come from the published metadata, not from its graph: the same values
    # (tests/catalogue/test_mqa_draft_facts.py), without building and reading a graph.
    facts = mqa.draft_facts(published or service.metadata_of(session, dataset), subject)
    score = mqa.score_facts(
        facts,
        subject,
        link_status=link_status(session, _fact_urls(facts)),
        shacl_conforms=shacl_conforms,
        vocabularies=vocabularies(),
    )
    row = session.get(DatasetQuality, dataset.id) or DatasetQuality(
        dataset_id=dataset.id
    )
    row.version, row.total, row.band = (
        dataset.version,
        round(score.total, 2),
        score.band,
    )
    for dimension, points in score.by_dimension().items():
        setattr(row, _COLUMNS[dimension], round(points, 2))
    row.shacl_conforms = shacl_conforms
    row.indicators = _indicator_rows(score)
    row.computed_at = utcnow()
    session.add(row)
    session.flush()
    return row


def rescore(session: Session, dataset_ids: Iterable[str], *, base_url: str) -> int:
    """Score these datasets again (after link checks); returns how many were scored.

    The stored SHACL verdict is reused while the version has not changed.
    """
    count = 0
    for dataset_id in sorted(set(dataset_ids)):
        dataset = session.get(Dataset, dataset_id)
        if dataset is None or dataset.status != DatasetStatus.published.value:
            continue
        stored = session.get(DatasetQuality, dataset_id)
        known = (
            stored.shacl_conforms
            if stored is not None and stored.version == dataset.version
            else None
        )
        score_and_store(session, dataset, base_url=base_url, shacl_conforms=known)
        count += 1
    return count


def dataset_quality(
    session: Session, actor: Actor, dataset_id: str, *, base_url: str
) -> DatasetQuality:
    """The stored score of a published dataset; scored now if it never was."""
    dataset = service.get_dataset(session, actor, dataset_id)
    if dataset.status != DatasetStatus.published.value:
        raise NotFound(f"Dataset {dataset_id} is not published, so it has no score.")
    row = session.get(DatasetQuality, dataset_id)
    if row is None or row.version != dataset.version:
        row = score_and_store(session, dataset, base_url=base_url)
    return row


def dimensions_of(row: DatasetQuality) -> dict[mqa.Dimension, float]:
    return {d: float(getattr(row, _COLUMNS[d])) for d in mqa.DIMENSIONS}


def catalogue_quality(session: Session) -> CatalogueQuality:
    """Averages over the published datasets' stored scores, in two queries."""
    published = (
        select(DatasetQuality)
        .join(Dataset, Dataset.id == DatasetQuality.dataset_id)
        .where(Dataset.status == DatasetStatus.published.value)
        .subquery()
    )
    columns = [func.avg(published.c[_COLUMNS[d]]) for d in mqa.DIMENSIONS]
    count, average, *dims = session.execute(
        select(func.count(), func.avg(published.c.total), *columns)
    ).one()
    bands: dict[mqa.Band, int] = {band: 0 for _, band in mqa.BANDS}
    for band, n in session.execute(
        select(published.c.band, func.count()).group_by(published.c.band)
    ):
        if band in bands:
            bands[band] = n
    mean = float(average or 0.0)
    return CatalogueQuality(
        average=round(mean, 2),
        band=mqa.band_for(mean),
        by_dimension={
            d: round(float(v or 0.0), 2)
            for d, v in zip(mqa.DIMENSIONS, dims, strict=True)
        },
        bands=bands,
        datasets=int(count or 0),
    )
