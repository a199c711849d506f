"""The trusted third party prepares a workspace from the holders' sources on the real
database: only the permitted variables, the permit domain's pseudonyms (those the TTP's
file pseudonymisation gives), invalid identifiers dropped and counted, linkage matches
reported; all or nothing; the aggregated form holds counts only; the anonymised form is
refused."""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa
import pytest
from sqlalchemy import select

from datafactory.core.errors import Conflict, Forbidden, Unauthenticated
from datafactory.core.jobs import Job, JobContext
from datafactory.core.ledger import LedgerEntry
from datafactory.privacy import matricule
from datafactory.spe import workspaces
from datafactory.spe.models import Workspace, WorkspaceStatus
from datafactory.spe.preparation import (
    abandon_preparation,
    preparation_report,
    preparation_task,
    prepare_workspace,
)
from datafactory.spe.preparing.report import Outcome, PreparationReport
from datafactory.spe.tables import UNIT_COLUMN
from datafactory.ttp.domains import find_domain
from datafactory.ttp.keyring import Keyring
from datafactory.ttp.models import DomainPseudonym
from tests.spe.holders import build_world, make_extracts, spe_config


@pytest.fixture
def config(runtime, tmp_path):
    return spe_config(runtime, tmp_path)


@pytest.fixture
def world(committed, config, tmp_path):
    return committed(lambda s: build_world(s, config, tmp_path))


def prepare(runtime, config, world, **kw):
    return prepare_workspace(
        runtime.sessions,
        config,
        world.actor(kw.pop("actor", world.ttp)),
        world.workspace,
        sql_connections=world.connections,
        holders_dir=world.holders,
        **kw,
    )


def tables_of(db, config, world):
    workspace = workspaces.get_workspace(db, world.workspace)
    return workspaces.workspace_tables(db, config, workspace)


def stored_files(config, world):
    return config.store.list(f"spe/{world.workspace}/")


def actions(db):
    return [e.action for e in db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]


def test_a_pseudonymised_workspace_holds_only_the_permitted_variables(
    runtime, db, config, world
):
    steps = []
    report = prepare(runtime, config, world, progress=lambda *a: steps.append(a))

    assert report.ok, report.errors
    tables = tables_of(db, config, world)
    assert sorted(tables) == ["claim", "employment", "person"]
    person_spec, person = tables["person"]
    # first_name is in the extract but not permitted; the identifier became a pseudonym.
    assert person.column_names == [
        UNIT_COLUMN,
        "birth_year",
        "sex",
        "commune",
        "nationality",
    ]
    assert tables["claim"][1].column_names == [
        UNIT_COLUMN,
        "year",
        "care_type",
        "amount",
    ]
    assert "act_code" not in tables["claim"][1].column_names
    assert person.schema.field("birth_year").type == pa.int64()
    assert tables["claim"][1].schema.field("amount").type == pa.float64()
    assert tables["employment"][1].schema.field("spell_start").type == pa.date32()
    # The table's declaration comes from the data dictionary, the uniqueness measured.
    assert person_spec.unit == UNIT_COLUMN and person_spec.unit_unique
    assert not tables["claim"][0].unit_unique
    assert person_spec.column("sex").codes == ("F", "M")
    assert person_spec.column("birth_year").minimum == 1920
    assert person_spec.column("nationality").null_rate == 0.1
    assert person_spec.column(UNIT_COLUMN).identifying
    assert steps[-1][0] == steps[-1][1]

    workspace = db.scalar(select(Workspace).where(Workspace.name == world.workspace))
    assert workspace.status == WorkspaceStatus.ready
    assert workspace.prepared_at is not None
    assert PreparationReport.from_json(workspace.preparation) == report
    assert "spe.workspace.prepared" in actions(db)


def test_pseudonyms_are_the_permit_domains_and_invalid_identifiers_are_dropped(
    runtime, db, config, world
):
    report = prepare(runtime, config, world)

    person = tables_of(db, config, world)["person"][1]
    domain = find_domain(db, f"permit:{world.permit_reference}")
    keys = Keyring(db, config.ttp, "test").domain_keys(domain)
    expected = keys.pseudonymiser.column(
        pa.array([matricule.normalise(n) for n in world.extracts.numbers], pa.string())
    ).to_pylist()
    assert person.column(UNIT_COLUMN).to_pylist() == expected
    # The two rows with a broken check digit are gone, and counted.
    assert person.num_rows == len(world.extracts.numbers)
    by_name = {t.name: t for t in report.tables}
    assert by_name["person"].invalid_identifiers == 2
    assert by_name["person"].source_rows == len(world.extracts.numbers) + 2
    assert sum(by_name["person"].invalid_reasons.values()) == 2
    assert report.invalid_identifiers == 2
    assert any(
        c.name == "identifiers" and c.outcome is Outcome.warning and c.table == "person"
        for c in report.checks
    )
    # The TTP keeps each pseudonym for re-identification, as for any file it handles.
    kept = set(db.scalars(select(DomainPseudonym.pseudonym)))
    assert set(expected) <= kept
    assert "ttp.file.pseudonymised" in actions(db)


def test_linked_tables_share_pseudonyms_and_the_report_counts_matches(
    runtime, db, config, world
):
    report = prepare(runtime, config, world)

    tables = tables_of(db, config, world)
    claimants = set(tables["claim"][1].column(UNIT_COLUMN).to_pylist())
    residents = set(tables["person"][1].column(UNIT_COLUMN).to_pylist())
    assert claimants <= residents
    linked = {link.tables: link for link in report.linkages}
    assert linked[("person", "claim")].matched == len(claimants)
    assert linked[("person", "claim")].left == len(residents)
    workers = set(tables["employment"][1].column(UNIT_COLUMN).to_pylist())
    assert linked[("person", "employment")].matched == len(workers)


def test_the_report_is_for_the_applicant_the_users_and_the_authority(
    runtime, db, config, world
):
    prepare(runtime, config, world)

    for who in (world.applicant, world.member, world.handler, world.ttp):
        report = preparation_report(db, world.actor(who), world.workspace)
        assert report.ok
    with pytest.raises(Forbidden):
        preparation_report(db, world.actor(world.outsider), world.workspace)
    text = json.dumps(
        preparation_report(db, world.actor(world.member), world.workspace).to_json()
    )
    # Counts and names only: no identifier, no pseudonym, no place of the data.
    assert not any(n in text for n in world.extracts.numbers)
    assert str(world.holders) not in text


def test_only_a_ttp_operator_prepares(runtime, db, config, world):
    with pytest.raises(Forbidden):
        prepare(runtime, config, world, actor=world.steward)
    workspace = workspaces.get_workspace(db, world.workspace)
    assert workspace.status == WorkspaceStatus.awaiting_preparation


def test_a_ready_workspace_is_not_prepared_twice(runtime, config, world):
    assert prepare(runtime, config, world).ok
    with pytest.raises(Conflict):
        prepare(runtime, config, world)


def test_a_missing_source_fails_and_stores_nothing(
    runtime, db, committed, config, tmp_path
):
    world = committed(lambda s: build_world(s, config, tmp_path, sources=False))

    report = prepare(runtime, config, world)

    assert not report.ok
    assert any(
        "No source is registered for dataset register" in e for e in report.errors
    )
    workspace = workspaces.get_workspace(db, world.workspace)
    assert workspace.status == WorkspaceStatus.failed
    assert workspace.preparation["errors"] == list(report.errors)
    assert workspaces.table_rows(db, workspace) == []
    assert stored_files(config, world) == []
    assert "spe.workspace.preparation_failed" in actions(db)
    assert "ttp.file.pseudonymised" not in actions(db)


def test_a_permitted_variable_missing_from_the_source_fails_everything(
    runtime, db, committed, config, tmp_path
):
    world = committed(lambda s: build_world(s, config, tmp_path))
    # The dictionary declares act_code, but the holder's employment table lacks it.
    extra = ("matricule", "year", "care_type", "amount", "act_code")
    committed(lambda s: _permit_variables(s, world, "claims", extra))
    dropped = world.extracts.claims.drop_columns(["act_code"])
    _rewrite_claims(world, dropped)

    report = prepare(runtime, config, world)

    assert not report.ok
    assert report.errors == (
        "The source of dataset claims (Dataset claims) has no column act_code.",
    )
    workspace = workspaces.get_workspace(db, world.workspace)
    assert workspace.status == WorkspaceStatus.failed
    # The register and employment tables were fine; still nothing of them is stored.
    assert workspaces.table_rows(db, workspace) == []
    assert stored_files(config, world) == []
    assert not db.scalars(select(DomainPseudonym)).all()


def test_a_failed_preparation_can_be_run_again(
    runtime, db, committed, config, tmp_path
):
    world = committed(lambda s: build_world(s, config, tmp_path, sources=False))
    assert not prepare(runtime, config, world).ok

    from tests.spe.holders import register_sources

    committed(lambda s: register_sources(s, world))
    assert prepare(runtime, config, world).ok
    assert workspaces.get_workspace(db, world.workspace).status == WorkspaceStatus.ready


def test_a_preparation_whose_worker_stopped_is_abandoned_then_run_again(
    runtime, db, committed, config, world
):
    def stuck(session):
        workspaces.get_workspace(
            session, world.workspace
        ).status = WorkspaceStatus.preparing.value

    committed(stuck)
    with pytest.raises(Conflict):  # a second preparation never runs beside the first
        prepare(runtime, config, world)
    with pytest.raises(Forbidden):
        abandon_preparation(
            runtime.sessions,
            config,
            world.actor(world.steward),
            world.workspace,
            reason="the worker was restarted",
        )
    report = abandon_preparation(
        runtime.sessions,
        config,
        world.actor(world.ttp),
        world.workspace,
        reason="the worker was restarted",
    )
    assert not report.ok and "worker was restarted" in report.errors[0]
    db.expire_all()
    assert (
        workspaces.get_workspace(db, world.workspace).status == WorkspaceStatus.failed
    )
    assert "spe.workspace.preparation_failed" in actions(db)
    with pytest.raises(Conflict, match="no preparation to abandon"):
        abandon_preparation(
            runtime.sessions,
            config,
            world.actor(world.ttp),
            world.workspace,
            reason="the worker was restarted",
        )
    assert prepare(runtime, config, world).ok


def test_the_aggregated_form_holds_only_counts_with_small_cells_withheld(
    runtime, db, committed, config, tmp_path
):
    world = committed(lambda s: build_world(s, config, tmp_path, form="aggregated"))

    report = prepare(runtime, config, world)

    assert report.ok, report.errors
    tables = tables_of(db, config, world)
    assert sorted(tables) == ["claim_counts", "employment_counts", "person_counts"]
    spec, counts = tables["person_counts"]
    assert spec.unit is None
    assert counts.column_names == [
        "birth_year",
        "sex",
        "commune",
        "nationality",
        "people",
        "suppressed",
    ]
    for table in tables.values():
        assert UNIT_COLUMN not in table[1].column_names
        assert "matricule" not in table[1].column_names
    # Every released count reaches the threshold; the others are withheld with a reason.
    for _, table in tables.values():
        for row in table.to_pylist():
            if row["suppressed"] is None:
                assert row["people"] >= config.rules.threshold
            else:
                assert row["people"] is None
    claims = tables["claim_counts"][1]
    assert claims.column_names == ["year", "care_type", "people", "suppressed"]
    by_name = {t.name: t for t in report.tables}
    assert by_name["person_counts"].invalid_identifiers == 2
    assert by_name["person_counts"].people == len(world.extracts.numbers)
    assert any(c.name == "aggregation" for c in report.checks)  # amount not grouped
    # A permit granted before applications named tables keeps what it was granted.
    legacy = [c for c in report.checks if c.name == "aggregate tables"]
    assert [c.outcome for c in legacy] == [Outcome.warning]
    assert "names no aggregate table" in legacy[0].detail


def test_the_aggregated_form_counts_people_not_rows(
    runtime, db, committed, config, tmp_path
):
    world = committed(lambda s: build_world(s, config, tmp_path, form="aggregated"))
    committed(
        lambda s: _permit_variables(s, world, "claims", ("matricule", "act_code"))
    )

    assert prepare(runtime, config, world).ok

    counts = tables_of(db, config, world)["claim_counts"][1].to_pylist()
    claimants = len(set(world.extracts.claims.column("matricule").to_pylist()))
    assert counts == [{"act_code": "C1", "people": claimants, "suppressed": None}]


NAMED_TABLES = [
    {
        "name": "people_by_sex_commune",
        "dataset": "register",
        "group_by": ["sex", "commune"],
        "measures": [],
    },
    {
        "name": "people_by_birth_year",
        "dataset": "register",
        "group_by": ["birth_year"],
        "measures": [],
    },
    {
        "name": "claims_by_care_type",
        "dataset": "claims",
        "group_by": ["care_type"],
        "measures": ["amount"],
    },
]


def test_the_aggregated_form_makes_exactly_the_tables_the_permit_names(
    runtime, db, committed, config, tmp_path
):
    world = committed(lambda s: build_world(s, config, tmp_path, form="aggregated"))
    committed(lambda s: _permit_tables(s, world, NAMED_TABLES))

    report = prepare(runtime, config, world)

    assert report.ok, report.errors
    tables = tables_of(db, config, world)
    assert sorted(tables) == sorted(t["name"] for t in NAMED_TABLES)
    assert [t.name for t in report.tables] == [t["name"] for t in NAMED_TABLES]
    unread = [c for c in report.checks if c.outcome is Outcome.warning]
    assert any("employment: not read" in c.detail for c in unread)
    assert report.invalid_identifiers == 2, "the register's rows are dropped once"

    spec, by_place = tables["people_by_sex_commune"]
    assert spec.unit is None
    assert by_place.column_names == ["sex", "commune", "people", "suppressed"]
    # The counts are the valid people of each combination; small ones are withheld.
    valid = [
        r
        for r in world.extracts.register.to_pylist()
        if matricule.check(r["matricule"]) is None
    ]
    expected = {}
    for r in valid:
        key = (r["sex"], r["commune"])
        expected[key] = expected.get(key, 0) + 1
    cells = {(r["sex"], r["commune"]): r for r in by_place.to_pylist()}
    assert set(cells) == set(expected)
    for key, row in cells.items():
        if row["suppressed"] is None:
            assert row["people"] == expected[key] >= config.rules.threshold
        else:
            assert row["people"] is None
            if expected[key] < config.rules.threshold:
                assert "threshold" in row["suppressed"]
    # Secondary suppression: no line of cells holds exactly one withheld cell.
    assert any("secondary" in (r["suppressed"] or "") for r in cells.values())
    for sex in ("F", "M"):
        line = [r for (s, _), r in cells.items() if s == sex]
        withheld = sum(r["suppressed"] is not None for r in line)
        assert len(line) < 2 or withheld != 1

    years = tables["people_by_birth_year"][1].to_pylist()
    assert all(r["people"] is None and r["suppressed"] for r in years), (
        "60 people over 70 years: every cell is small"
    )

    claims = tables["claims_by_care_type"][1]
    assert claims.column_names == [
        "care_type",
        "people",
        "suppressed",
        "amount_sum",
        "amount_mean",
        "amount_suppressed",
    ]
    rows = world.extracts.claims.to_pylist()
    for cell in claims.to_pylist():
        mine = [r for r in rows if r["care_type"] == cell["care_type"]]
        if cell["amount_suppressed"] is None:
            assert cell["amount_sum"] == pytest.approx(sum(r["amount"] for r in mine))
            assert cell["amount_mean"] == pytest.approx(
                sum(r["amount"] for r in mine) / len(mine)
            )
        else:
            assert cell["amount_sum"] is None and cell["amount_mean"] is None
        if cell["suppressed"] is not None:
            assert cell["amount_suppressed"] is not None


def test_sums_are_withheld_where_one_person_dominates(
    runtime, db, committed, config, tmp_path
):
    extracts = make_extracts()
    amounts = extracts.claims.column("amount").to_pylist()
    claimants = extracts.claims.column("matricule").to_pylist()
    # One claimant of each care type holds nearly all of its amount.
    seen: set[str] = set()
    for i, care in enumerate(extracts.claims.column("care_type").to_pylist()):
        if care not in seen:
            seen.add(care)
            amounts[i] = 10_000_000.0
    claims = extracts.claims.set_column(
        extracts.claims.column_names.index("amount"), "amount", pa.array(amounts)
    )
    extracts = dataclasses.replace(extracts, claims=claims)
    world = committed(
        lambda s: build_world(s, config, tmp_path, form="aggregated", extracts=extracts)
    )
    committed(lambda s: _permit_tables(s, world, NAMED_TABLES[2:]))

    assert prepare(runtime, config, world).ok
    table = tables_of(db, config, world)["claims_by_care_type"][1].to_pylist()

    assert len(set(claimants)) >= config.rules.threshold
    assert all(r["people"] is not None for r in table), "the counts are safe"
    assert all(r["amount_sum"] is None for r in table)
    assert all("dominance" in r["amount_suppressed"] for r in table)


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        (
            {"name": "ids", "dataset": "register", "group_by": ["matricule"]},
            "groups by the identifier matricule",
        ),
        (
            {"name": "names", "dataset": "register", "group_by": ["first_name"]},
            "groups by first_name, not permitted",
        ),
        (
            {"name": "work", "dataset": "elsewhere", "group_by": ["status"]},
            "which the permit does not name",
        ),
        (
            {
                "name": "costs",
                "dataset": "claims",
                "group_by": ["year"],
                "measures": ["care_type"],
            },
            "sums care_type, which are not numbers",
        ),
    ],
)
def test_a_named_table_the_permit_does_not_allow_fails_everything(
    runtime, committed, config, tmp_path, table, reason
):
    world = committed(lambda s: build_world(s, config, tmp_path, form="aggregated"))
    committed(lambda s: _permit_tables(s, world, [NAMED_TABLES[0], table]))

    report = prepare(runtime, config, world)

    assert not report.ok
    assert any(reason in e for e in report.errors), report.errors
    assert stored_files(config, world) == []


def test_the_anonymised_form_is_refused_with_a_clear_reason(
    runtime, db, committed, config, tmp_path
):
    world = committed(lambda s: build_world(s, config, tmp_path, form="anonymised"))

    report = prepare(runtime, config, world)

    assert not report.ok
    assert "anonymised form cannot be prepared yet" in report.errors[0]
    workspace = workspaces.get_workspace(db, world.workspace)
    assert workspace.status == WorkspaceStatus.failed
    assert stored_files(config, world) == []


def test_the_job_prepares_as_the_operator_who_asked(
    runtime, db, committed, config, world
):
    job_id = committed(lambda s: _job(s, f"person:{world.ttp.id}"))
    result = preparation_task(
        JobContext(job_id, runtime.sessions),
        {"workspace": world.workspace},
        config=config,
        sql_connections=world.connections,
        holders_dir=world.holders,
    )
    assert result["tables"] == {
        "person": len(world.extracts.numbers),
        "claim": world.extracts.claims.num_rows,
        "employment": world.extracts.employment.num_rows,
    }
    assert result["invalid_identifiers"] == 2
    job = db.get(Job, job_id)
    assert job.total and job.done == job.total


def test_a_job_without_a_known_operator_is_refused(runtime, committed, config, world):
    job_id = committed(lambda s: _job(s, "system:somebody"))
    with pytest.raises(Unauthenticated):
        preparation_task(
            JobContext(job_id, runtime.sessions),
            {"workspace": world.workspace},
            config=config,
        )


# --- helpers --------------------------------------------------------------------------


def _job(session, requested_by):
    job = Job(
        id="job-prepare-1", kind="spe.prepare", requested_by=requested_by, params={}
    )
    session.add(job)
    session.flush()
    return job.id


def _permit_variables(session, world, dataset_id, variables):
    from datafactory.permits.models import Permit

    permit = session.get(Permit, world.permit_id)
    scope = dict(permit.scope)
    scope["datasets"] = [
        {**d, "variables": list(variables)} if d["id"] == dataset_id else d
        for d in scope["datasets"]
    ]
    permit.scope = scope
    session.flush()


def _permit_tables(session, world, tables):
    from datafactory.permits.models import Permit

    permit = session.get(Permit, world.permit_id)
    permit.scope = {**permit.scope, "aggregate_tables": tables}
    session.flush()


def _rewrite_claims(world, table):
    import csv

    rows = table.to_pylist()
    with world.files["claims"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
