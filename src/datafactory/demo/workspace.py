"""The demo's secure processing environment: the workspace ``demo`` of the researcher's
permit, prepared by the trusted third party from the holders' extracts.

The permit's grant opened a workspace named after the permit; the demo gives it the short
name ``demo`` while it is still empty, registers where the register and the claims live
(the data stewards of STATEC and the CNS do that in real life), and runs the TTP's
preparation: the tables ``person`` (pseudonym, birth_year, sex, commune, nationality) and
``claim`` (pseudonym, claim_date, year, act_code, care_type, diagnosis_group, amount), in
the permit's pseudonym domain. After that, ``datafactory spe query --workspace demo --user
researcher "SELECT ..."`` works at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from datafactory.catalogue.models import Dataset
from datafactory.catalogue.sources import DataSourceIn, SourceKind, set_source
from datafactory.core.config import Settings
from datafactory.core.db import unit_of_work
from datafactory.demo.holders import (
    TTP_OPERATOR,
    HolderFiles,
    researcher_permit_reference,
)
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person
from datafactory.permits.models import Permit
from datafactory.spe import workspaces
from datafactory.spe.airlock import requests, reviews
from datafactory.spe.airlock.models import Decision
from datafactory.spe.config import SpeConfig
from datafactory.spe.models import Workspace, WorkspaceStatus
from datafactory.spe.preparation import prepare_workspace
from datafactory.spe.queries import gate

DEMO_WORKSPACE = "demo"
RESEARCHER = "researcher@demo.datafactory.lu"
CHECKERS = ("checker@demo.datafactory.lu", "checker2@demo.datafactory.lu")

# English title of a dataset of the permit -> (workspace table, steward, holder file).
_SOURCES: dict[str, tuple[str, str, Callable[[HolderFiles], Path]]] = {
    "Population register extract": (
        "person",
        "steward.statec@demo.datafactory.lu",
        lambda files: files.register,
    ),
    "Health-insurance claims": (
        "claim",
        "steward.cns@demo.datafactory.lu",
        lambda files: files.claims,
    ),
}


class WorkspaceRuntime(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def spe(self) -> SpeConfig: ...


def load_workspace(
    runtime: WorkspaceRuntime,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> dict[str, int]:
    """Prepare the workspace ``demo`` unless it is ready; the rows of each table made."""
    holders = runtime.settings.data_dir / "holders"
    files = HolderFiles.at(holders)
    with unit_of_work(runtime.sessions) as session:
        ready = session.scalar(
            select(Workspace.id).where(
                Workspace.name == DEMO_WORKSPACE,
                Workspace.status == WorkspaceStatus.ready.value,
            )
        )
        if ready is not None:
            return {}
        permit = _researcher_permit(session)
        _name_the_workspace(session, runtime.spe, permit)
        _register_sources(session, permit, files)
        operator = _person(session, TTP_OPERATOR)
    report = prepare_workspace(
        runtime.sessions,
        runtime.spe,
        operator,
        DEMO_WORKSPACE,
        holders_dir=holders,
        progress=progress,
    )
    if not report.ok:
        raise RuntimeError(
            "The demo workspace could not be prepared: " + "; ".join(report.errors)
        )
    with unit_of_work(runtime.sessions) as session:
        released = _release(session, runtime.spe)
    return {**{f"workspace_{t.name}": t.rows for t in report.tables}, **released}


RELEASE_SQL = (
    "SELECT c.year, c.care_type, COUNT(DISTINCT c.pseudonym) AS people, "
    "SUM(c.amount) AS amount_eur FROM claim c JOIN person p ON p.pseudonym = "
    "c.pseudonym WHERE p.birth_year <= 1979 GROUP BY c.year, c.care_type "
    "ORDER BY c.year, c.care_type"
)
"""The researcher's first released table: care of people aged 45 and over, by year."""


def _release(session: Session, config: SpeConfig) -> dict[str, int]:
    """The researcher's first release, as it happens in real life: a query through the
    gate, kept as an output, a release request, and two output checkers who approve it.
    Approval archives the SQL on the permit's public archive page."""
    researcher = _person(session, RESEARCHER)
    answer = gate.ask(session, researcher, config, DEMO_WORKSPACE, RELEASE_SQL)
    if answer.refused:
        raise RuntimeError(
            "The demo release query was refused: " + " ".join(answer.reasons)
        )
    output = gate.save_answer(
        session, researcher, config, answer, name="care-by-year-aged-45-plus"
    )
    request = requests.create_request(
        session,
        researcher,
        config,
        workspace=DEMO_WORKSPACE,
        title="Care use of people aged 45 and over, 2019-2024",
        description=(
            "Claims and amounts by year and type of care for the cohort's age band: "
            "the first descriptive table of the project report."
        ),
    )
    requests.add_file(
        session,
        researcher,
        config,
        request_id=request.id,
        output_id=output,
        justification=(
            "Descriptive table for chapter 2 of the report; counts are people, "
            "amounts are reimbursed euros."
        ),
    )
    requests.submit(session, researcher, config, request_id=request.id)
    for checker in CHECKERS:
        reviews.review(
            session,
            _person(session, checker),
            config,
            request_id=request.id,
            decision=Decision.approve,
            comment="Counts are of people and above the threshold; no dominance.",
        )
    return {"release_requests": 1}


def _researcher_permit(session: Session) -> Permit:
    reference = researcher_permit_reference(session)
    permit = session.scalar(select(Permit).where(Permit.reference == reference))
    assert permit is not None  # researcher_permit_reference found it
    return permit


def _name_the_workspace(session: Session, config: SpeConfig, permit: Permit) -> None:
    if session.scalar(select(Workspace.id).where(Workspace.name == DEMO_WORKSPACE)):
        return
    found = [
        w
        for w in workspaces.workspaces_of_permit(session, permit.id)
        if w.status == WorkspaceStatus.awaiting_preparation.value
    ]
    if found:
        workspaces.rename_workspace(
            session, workspaces.SYSTEM, config, found[0], DEMO_WORKSPACE
        )
    else:
        workspaces.create_workspace(
            session, workspaces.SYSTEM, config, permit=permit, name=DEMO_WORKSPACE
        )


def _register_sources(session: Session, permit: Permit, files: HolderFiles) -> None:
    for entry in permit.scope.get("datasets", []):
        dataset = session.get(Dataset, entry["id"])
        title = (dataset.draft.get("title", {}) if dataset else {}).get("en", "")
        if title not in _SOURCES:
            continue
        table, steward, path = _SOURCES[title]
        set_source(
            session,
            _person(session, steward),
            dataset_id=entry["id"],
            source=DataSourceIn(
                kind=SourceKind.parquet,
                location=str(path(files).resolve()),
                table_name=table,
                person_column="matricule",
            ),
        )


def _person(session: Session, email: str) -> Actor:
    person = session.scalar(select(Person).where(Person.email == email))
    if person is None:
        raise LookupError(f"The demo person {email} is missing: run demo.load first.")
    return Actor.for_person(person)
