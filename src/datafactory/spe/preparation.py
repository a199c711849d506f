"""The trusted third party prepares a workspace: the permit's data, in the permit's form.

For each dataset of the permit's scope it reads the source registered in the catalogue
(``catalogue.sources``), keeps only the permitted variables, types them as the published
data dictionary says, and then:

* pseudonymised form: replaces the person's identifier by the pseudonym of the permit's
  domain ``permit:<reference>`` (created when missing) through the TTP's own file
  pseudonymisation, so the pseudonyms are those ``ttp.files`` gives and stay
  re-identifiable under the four-eyes rule. Invalid identifiers are counted and their rows
  dropped. Every table names the person ``pseudonym``, so the gate joins tables on it;
  the linkages the permit names need no join here, and the report says how many
  pseudonyms of each linked pair match;
* aggregated form: exactly the aggregate tables the permit names, each counting people
  per combination of its group variables (and, for its measures, their sums and means),
  with the disclosure rules applied and no person column. A permit granted before
  applications named tables keeps what it was granted: one count table per dataset by
  every permitted category (``<table>_counts``), with a warning in the report;
* anonymised form: refused until the anonymisation issue brings it.

All or nothing: every table is built in memory first, then stored with the workspace key;
a failure stores nothing (files written in the attempt are deleted), marks the workspace
``failed`` and keeps the reason in the report. The report is readable by the applicant,
the permit's users and the authority (:func:`preparation_report`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from datafactory.catalogue.sources import SourceAccess
from datafactory.core import ledger
from datafactory.core.db import unit_of_work
from datafactory.core.errors import (
    Conflict,
    DatafactoryError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from datafactory.core.files import FileStore
from datafactory.core.jobs import Job, JobContext
from datafactory.identity import people, policy
from datafactory.identity.actor import Actor
from datafactory.permits.issuing import IN_FORCE
from datafactory.permits.models import Application, Permit
from datafactory.spe import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.spe.config import SpeConfig
from datafactory.spe.models import Workspace, WorkspaceStatus
from datafactory.spe.preparing.events import (
    WorkspacePreparationFailed,
    WorkspacePrepared,
)
from datafactory.spe.preparing.extract import (
    Counted,
    Findings,
    NamedTable,
    Planned,
    Prepared,
    aggregate,
    aggregate_named,
    counted,
    extract,
    plan,
    plan_tables,
    pseudonymise,
)
from datafactory.spe.preparing.report import LinkageReport, PreparationReport
from datafactory.spe.tables import UNIT_COLUMN
from datafactory.spe.workspaces import get_workspace, store_table
from datafactory.ttp.domains import create_domain, find_domain, open_domain
from datafactory.ttp.errors import UnknownDomain
from datafactory.ttp.keyring import DomainKeys, Keyring
from datafactory.ttp.models import DomainKind

__all__ = [
    "KIND",
    "PreparationReport",
    "prepare_workspace",
    "preparation_report",
    "preparation_task",
]

KIND = "spe.prepare"
"""The job kind of a preparation."""

Progress = Callable[[int, int | None, str], None]
"""Called with the steps done, the steps in all and what is being done."""

STORER = Actor.system("spe-preparation")
"""Who stores the prepared tables: the TTP's job, on behalf of its operator."""

PREPARABLE = (WorkspaceStatus.awaiting_preparation, WorkspaceStatus.failed)


def prepare_workspace(
    sessions: sessionmaker[Session],
    config: SpeConfig,
    actor: Actor,
    workspace_name: str,
    *,
    sql_connections: Mapping[str, str] | None = None,
    store: FileStore | None = None,
    holders_dir: Path | None = None,
    progress: Progress | None = None,
) -> PreparationReport:
    """Prepare the workspace's tables; returns the report, ``ok`` or not.

    ``store`` (default: ``config.store``) and ``holders_dir`` are where file sources
    are read; ``sql_connections`` maps a connection name to its SQLAlchemy URL.
    """
    access = SourceAccess(
        store=store or config.store,
        holders_dir=holders_dir,
        sql_connections=dict(sql_connections or {}),
    )
    with unit_of_work(sessions) as session:
        _start(session, actor, workspace_name)
    notify = progress or _quiet
    try:
        with unit_of_work(sessions) as session:
            report = _prepare(session, config, actor, workspace_name, access, notify)
        notify(1, 1, "prepared")
        return report
    except _Failed as failed:
        reason, report = failed.reason, failed.report
    except DatafactoryError as exc:
        reason, report = exc.detail, None
    except Exception as exc:
        _fail(
            sessions,
            config,
            actor,
            workspace_name,
            f"internal error ({type(exc).__name__})",
        )
        raise
    return _fail(sessions, config, actor, workspace_name, reason, report)


class _Failed(Exception):
    """Stops the transaction of a preparation that found problems; carries its report."""

    def __init__(self, reason: str, report: PreparationReport) -> None:
        super().__init__(reason)
        self.reason = reason
        self.report = report


def _start(session: Session, actor: Actor, workspace_name: str) -> None:
    policy.ensure(actor, "spe.workspace.prepare")
    workspace = get_workspace(session, workspace_name)
    if workspace.status not in PREPARABLE:
        raise Conflict(
            f"Workspace {workspace.name} is {workspace.status}; only a workspace "
            "awaiting preparation (or whose preparation failed) is prepared."
        )
    workspace.status = WorkspaceStatus.preparing.value
    session.flush()


def _prepare(
    session: Session,
    config: SpeConfig,
    actor: Actor,
    workspace_name: str,
    access: SourceAccess,
    notify: Progress,
) -> PreparationReport:
    workspace = get_workspace(session, workspace_name)
    permit = session.get(Permit, workspace.permit_id)
    assert permit is not None  # a foreign key
    findings = Findings()
    form = _form(permit, findings)
    planned = plan(session, permit.scope, findings)
    named: list[NamedTable] = []
    if form == "aggregated":
        named = plan_tables(permit.scope, planned, findings)
        planned = _counted_datasets(permit, planned, named, findings)
    _stop_if_failed(workspace, permit, form, actor, config, findings, [])
    # Read everything before the first write: a source that fails makes no pseudonym,
    # and progress (its own transaction) never waits on a lock this one holds (SQLite).
    extracts: dict[str, tuple[Planned, pa.Table]] = {}
    for done, item in enumerate(planned):
        notify(
            done, len(planned) + 1, f"reading dataset {item.dataset_id} ({item.table})"
        )
        data = extract(item, access, findings, with_person=form != "pseudonymised")
        if data is not None:
            extracts[item.dataset_id] = (item, data)
    _stop_if_failed(workspace, permit, form, actor, config, findings, [])
    notify(len(planned), len(planned) + 1, "pseudonymising and storing the tables")
    by_dataset: dict[str, Prepared] = {}
    domain = None
    if form == "pseudonymised":
        domain = _domain_keys(session, actor, config, permit)
    if named:
        prepared = _named_tables(extracts, named, config, findings)
    else:
        for dataset_id, (item, data) in extracts.items():
            table = _one(
                session, actor, config, workspace, item, data, findings, domain
            )
            if table is not None:
                by_dataset[dataset_id] = table
        prepared = list(by_dataset.values())
    linkages = _linkages(permit, by_dataset, form, findings)
    _stop_if_failed(
        workspace, permit, form, actor, config, findings, prepared, linkages
    )
    _store_all(session, config, workspace, prepared)
    report = _report(
        workspace, permit, form, actor, config, findings, prepared, linkages
    )
    workspace.status = WorkspaceStatus.ready.value
    workspace.prepared_at = report.finished_at
    workspace.preparation = report.to_json()
    session.flush()
    ledger.record(
        session,
        actor.ref,
        WorkspacePrepared(
            workspace_id=workspace.id,
            workspace=workspace.name,
            permit_reference=permit.reference,
            form=form or "",
            tables={p.spec.name: p.data.num_rows for p in prepared},
            invalid_identifiers=report.invalid_identifiers,
        ),
    )
    return report


def _quiet(_done: int, _total: int | None, _message: str) -> None:
    return None


def _form(permit: Permit, findings: Findings) -> str | None:
    if permit.status not in IN_FORCE:
        findings.fail(
            "permit in force", f"Permit {permit.reference} is {permit.status}."
        )
    else:
        findings.passed("permit in force", f"permit {permit.reference}")
    form = permit.scope.get("form")
    if form == "anonymised":
        findings.fail(
            "form",
            "The anonymised form cannot be prepared yet: it arrives with the "
            "anonymisation of datasets. Apply for the pseudonymised or aggregated form.",
        )
    elif form in ("pseudonymised", "aggregated"):
        findings.passed("form", str(form))
    else:
        findings.fail("form", "The permit names no form for its data.")
    return str(form) if form else None


def _counted_datasets(
    permit: Permit,
    planned: list[Planned],
    named: list[NamedTable],
    findings: Findings,
) -> list[Planned]:
    """The datasets the aggregated form reads: those its named tables count, or every
    dataset for a permit that names no table (granted before applications named them),
    which keeps the one count table per dataset it was granted with."""
    if not permit.scope.get("aggregate_tables"):
        findings.warn(
            "aggregate tables",
            "The permit names no aggregate table (it was granted before applications "
            "named them): one count table per dataset, by every permitted category.",
        )
        return planned
    used = {t.dataset_id for t in named}
    unused = [p.dataset_id for p in planned if p.dataset_id not in used]
    if unused:
        findings.warn(
            "aggregate tables",
            f"No table of the permit counts dataset(s) {', '.join(unused)}: not read.",
        )
    return [p for p in planned if p.dataset_id in used]


def _named_tables(
    extracts: Mapping[str, tuple[Planned, pa.Table]],
    named: list[NamedTable],
    config: SpeConfig,
    findings: Findings,
) -> list[Prepared]:
    """Exactly the tables the permit names, in its order; each dataset's identifiers
    are checked once, however many tables count it."""
    rows: dict[str, Counted] = {}
    prepared = []
    for table in named:
        if table.dataset_id not in extracts:
            continue  # its dataset failed already, and said why
        if table.dataset_id not in rows:
            rows[table.dataset_id] = counted(*extracts[table.dataset_id])
        prepared.append(
            aggregate_named(rows[table.dataset_id], table, config.rules, findings)
        )
    return prepared


def _domain_keys(
    session: Session, actor: Actor, config: SpeConfig, permit: Permit
) -> DomainKeys:
    name = f"{DomainKind.permit.value}:{permit.reference}"
    try:
        find_domain(session, name)
    except UnknownDomain:
        create_domain(
            session,
            actor,
            config.ttp,
            name=name,
            kind=DomainKind.permit,
            permit_reference=permit.reference,
        )
    domain = open_domain(session, name)
    return Keyring(session, config.ttp, actor.ref).domain_keys(domain)


def _one(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    workspace: Workspace,
    item: Planned,
    data: pa.Table,
    findings: Findings,
    domain: DomainKeys | None,
) -> Prepared | None:
    if domain is None:
        return aggregate(item, data, config.rules, findings)
    return pseudonymise(
        session,
        actor,
        config.ttp,
        domain=domain,
        planned=item,
        data=data,
        findings=findings,
        workspace=workspace.name,
    )


def _linkages(
    permit: Permit,
    tables: dict[str, Prepared],
    form: str | None,
    findings: Findings,
) -> list[LinkageReport]:
    """How many pseudonyms each linked pair of tables shares; the gate joins them."""
    pairs = [tuple(p) for p in permit.scope.get("linkages") or [] if len(p) == 2]
    if not pairs:
        return []
    if form != "pseudonymised":
        findings.warn("linkage", "The aggregated form holds no pseudonyms to link.")
        return []
    reports = []
    for left, right in pairs:
        a, b = tables.get(str(left)), tables.get(str(right))
        if a is None or b is None:
            continue  # its dataset failed already, and said why
        if a.spec.unit is None or b.spec.unit is None:
            findings.fail(
                "linkage",
                f"Datasets {left} and {right} are to be linked, but "
                f"{a.spec.name if a.spec.unit is None else b.spec.name} holds no "
                "permitted person column.",
            )
            continue
        ours = _pseudonyms(a)
        theirs = _pseudonyms(b)
        matched = len(ours & theirs)
        reports.append(
            LinkageReport(
                (str(left), str(right)),
                (a.spec.name, b.spec.name),
                len(ours),
                len(theirs),
                matched,
            )
        )
        findings.passed(
            "linkage",
            f"{matched} pseudonym(s) of {a.spec.name} ({len(ours)}) and "
            f"{b.spec.name} ({len(theirs)}) match",
        )
    return reports


def _pseudonyms(prepared: Prepared) -> set[str]:
    column = prepared.data.column(UNIT_COLUMN)
    return {v for v in pc.unique(column).to_pylist() if v is not None}


def _report(
    workspace: Workspace,
    permit: Permit,
    form: str | None,
    actor: Actor,
    config: SpeConfig,
    findings: Findings,
    prepared: list[Prepared],
    linkages: list[LinkageReport] | None = None,
) -> PreparationReport:
    return PreparationReport(
        workspace=workspace.name,
        permit=permit.reference,
        form=form,
        ok=not findings.errors,
        prepared_by=actor.ref,
        finished_at=config.now(),
        tables=tuple(p.report for p in prepared),
        checks=tuple(findings.checks),
        linkages=tuple(linkages or ()),
        errors=tuple(findings.errors),
    )


def _stop_if_failed(
    workspace: Workspace,
    permit: Permit,
    form: str | None,
    actor: Actor,
    config: SpeConfig,
    findings: Findings,
    prepared: list[Prepared],
    linkages: list[LinkageReport] | None = None,
) -> None:
    if findings.errors:
        report = _report(
            workspace, permit, form, actor, config, findings, prepared, linkages
        )
        raise _Failed(" ".join(findings.errors), report)


def _store_all(
    session: Session, config: SpeConfig, workspace: Workspace, prepared: list[Prepared]
) -> None:
    """Store every table; if one fails, delete the files already written (their rows
    roll back with the transaction)."""
    written: list[str] = []
    try:
        for table in prepared:
            row = store_table(
                session, STORER, config, workspace, table.spec, table.data
            )
            written.append(row.storage_key)
    except BaseException:
        for key in written:
            try:
                config.store.delete(key)
            except NotFound:
                pass
        raise


def _fail(
    sessions: sessionmaker[Session],
    config: SpeConfig,
    actor: Actor,
    workspace_name: str,
    reason: str,
    report: PreparationReport | None = None,
) -> PreparationReport:
    with unit_of_work(sessions) as session:
        workspace = get_workspace(session, workspace_name)
        permit = session.get(Permit, workspace.permit_id)
        assert permit is not None
        if report is None:
            report = PreparationReport(
                workspace=workspace.name,
                permit=permit.reference,
                form=permit.scope.get("form"),
                ok=False,
                prepared_by=actor.ref,
                finished_at=config.now(),
                errors=(reason,),
            )
        workspace.status = WorkspaceStatus.failed.value
        workspace.preparation = report.to_json()
        session.flush()
        ledger.record(
            session,
            actor.ref,
            WorkspacePreparationFailed(
                workspace_id=workspace.id,
                workspace=workspace.name,
                permit_reference=permit.reference,
                reason=reason[:2000],
            ),
        )
    return report


def abandon_preparation(
    sessions: sessionmaker[Session],
    config: SpeConfig,
    actor: Actor,
    workspace_name: str,
    *,
    reason: str,
) -> PreparationReport:
    """Mark a preparation whose worker stopped (a crash, a restart) as failed, so that it
    can run again. Nothing was stored by it: a preparation writes its tables in one
    transaction at its end."""
    reason = " ".join(reason.split())
    if len(reason) < 10:
        raise InvalidInput(
            "Say why the preparation is abandoned (10 characters at least)."
        )
    with unit_of_work(sessions) as session:
        policy.ensure(actor, "spe.workspace.prepare")
        workspace = get_workspace(session, workspace_name)
        if workspace.status != WorkspaceStatus.preparing:
            raise Conflict(
                f"Workspace {workspace.name} is {workspace.status}, not being prepared: "
                "there is no preparation to abandon."
            )
    return _fail(sessions, config, actor, workspace_name, f"Abandoned: {reason}")


# --- who reads the report ---------------------------------------------------------------


def preparation_report(
    session: Session, actor: Actor, workspace_name: str
) -> PreparationReport:
    """The last preparation's report, for the applicant, the permit's users, the
    authority's staff, SPE operators and TTP operators."""
    policy.ensure(actor, "spe.workspace.use")
    workspace = get_workspace(session, workspace_name)
    permit = session.get(Permit, workspace.permit_id)
    assert permit is not None
    if not _may_read(session, actor, permit):
        raise Forbidden(
            f"Only the permit's applicant and users and the authority read the "
            f"preparation report of workspace {workspace.name}."
        )
    if workspace.preparation is None:
        raise NotFound(f"Workspace {workspace.name} has not been prepared yet.")
    return PreparationReport.from_json(workspace.preparation)


def _may_read(session: Session, actor: Actor, permit: Permit) -> bool:
    if (
        policy.allowed(actor, "permits.queue.view")
        or policy.allowed(actor, "spe.workspace.oversee")
        or policy.allowed(actor, "spe.workspace.prepare")
    ):
        return True
    if actor.person_id is None:
        return False
    if actor.person_id == permit.holder_id or actor.person_id in permit.scope.get(
        "users", []
    ):
        return True
    applicant = session.scalar(
        select(Application.applicant_id).where(Application.id == permit.application_id)
    )
    return actor.person_id == applicant


# --- the job ----------------------------------------------------------------------------


def preparation_task(
    context: JobContext,
    params: dict[str, Any],
    *,
    config: SpeConfig,
    sql_connections: Mapping[str, str] | None = None,
    holders_dir: Path | None = None,
) -> dict[str, Any]:
    """The ``spe.prepare`` job. ``params``: ``workspace``. Acts as the person who asked
    for the job (a TTP operator); a failed preparation fails the job with its reason."""
    workspace = params.get("workspace")
    if not isinstance(workspace, str) or not workspace:
        raise InvalidInput("Name the workspace to prepare.")
    report = prepare_workspace(
        context.sessions,
        config,
        _job_actor(context),
        workspace,
        sql_connections=sql_connections,
        holders_dir=holders_dir,
        progress=functools.partial(_job_progress, context),
    )
    if not report.ok:
        raise InvalidInput(" ".join(report.errors))
    return {
        "workspace": report.workspace,
        "tables": {t.name: t.rows for t in report.tables},
        "invalid_identifiers": report.invalid_identifiers,
    }


def _job_progress(
    context: JobContext, done: int, total: int | None, message: str
) -> None:
    context.progress(done, total, message)


def _job_actor(context: JobContext) -> Actor:
    with unit_of_work(context.sessions) as session:
        job = session.get(Job, context.job_id)
        return people.actor_of_ref(session, job.requested_by if job else "")
