"""The ``catalogue.check_links`` job: check the published links, store, rescore.

The job reads the targets in one short transaction, checks them with no transaction
open (checks take seconds to minutes), then stores the answers and rescores the datasets
whose links were checked in a second transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue import service
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.quality.links import LinkChecker, LinkResult
from datafactory.catalogue.quality.models import LinkCheck
from datafactory.catalogue.quality.scoring import rescore
from datafactory.catalogue.schemas import DatasetStatus
from datafactory.core.config import Settings
from datafactory.core.db import unit_of_work, utcnow
from datafactory.core.jobs import JobContext
from datafactory.identity import policy
from datafactory.identity.actor import Actor

KIND = "catalogue.check_links"


def link_check_params(
    session: Session, actor: Actor, *, dataset_id: str | None
) -> dict[str, Any]:
    """The job's parameters, after checking the actor may start it and the dataset exists."""
    policy.ensure(actor, "quality.check_links")
    if dataset_id is not None:
        service.get_dataset(session, actor, dataset_id)
    return {"dataset_id": dataset_id} if dataset_id else {}


def collect_targets(
    session: Session, *, dataset_id: str | None = None
) -> dict[str, set[str]]:
    """Each access and download URL of the published datasets → the datasets using it."""
    query = select(Dataset).where(Dataset.status == DatasetStatus.published.value)
    if dataset_id is not None:
        query = query.where(Dataset.id == dataset_id)
    targets: dict[str, set[str]] = defaultdict(set)
    for dataset in session.scalars(query.order_by(Dataset.id)):
        for d in service.metadata_of(session, dataset).distributions:
            for url in (d.access_url, d.download_url):
                if url is not None:
                    targets[str(url)].add(dataset.id)
    return dict(targets)


def store_results(session: Session, results: Iterable[LinkResult]) -> None:
    """Replace each URL's last check with the new answer."""
    listed = list(results)
    existing = {
        row.url: row
        for row in session.scalars(
            select(LinkCheck).where(LinkCheck.url.in_([r.url for r in listed]))
        )
    }
    now = utcnow()
    for result in listed:
        row = existing.get(result.url) or LinkCheck(url=result.url)
        row.checked_at, row.status_code = now, result.status_code
        row.reachable, row.error = result.reachable, result.error
        session.add(row)
    session.flush()


def check_links_task(
    context: JobContext,
    params: dict[str, Any],
    *,
    settings: Settings,
    checker: LinkChecker | None = None,
) -> dict[str, Any]:
    """Check the links of every published dataset (or ``params["dataset_id"]``)."""
    with unit_of_work(context.sessions) as session:
        targets = collect_targets(session, dataset_id=params.get("dataset_id"))
    context.progress(0, len(targets), "checking links")
    checker = checker or LinkChecker(allow_private=settings.link_check_allow_private)
    step = max(1, len(targets) // 20)

    def report(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            context.progress(done, total, f"{done} of {total} links checked")

    results = checker.check_all(targets, progress=report)
    with unit_of_work(context.sessions) as session:
        store_results(session, results)
        datasets = {d for url in targets for d in targets[url]}
        rescored = rescore(session, datasets, base_url=settings.base_url)
    reachable = sum(r.reachable for r in results)
    return {
        "checked": len(results),
        "reachable": reachable,
        "unreachable": len(results) - reachable,
        "datasets_rescored": rescored,
    }
