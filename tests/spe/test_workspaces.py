"""Workspaces through the permits room on the real database: a grant makes one with its
key at the TTP, an amendment changes its members, a revocation or expiry closes it at once,
and the retention job crypto-shreds it: key row gone, files gone, nothing opens again, and
the ledger says so and still verifies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from sqlalchemy import select

from datafactory.core import ledger
from datafactory.core.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role
from datafactory.permits import applications, issuing, procedure
from datafactory.permits.models import Permit
from datafactory.permits.schemas import ApplicationCreate, ApplicationForm, CommandIn
from datafactory.spe import workspaces
from datafactory.spe.config import SpeConfig
from datafactory.spe.crypto import ObjectUnreadable
from datafactory.spe.models import Workspace, WorkspaceStatus, WorkspaceTable
from datafactory.spe.tables import ColumnSpec, TableSpec, UnitRows
from datafactory.ttp.domains import retire_with_permit
from datafactory.ttp.models import WorkspaceKey
from datafactory.ttp.workspace_keys import WorkspaceKeyDestroyed, workspace_key
from tests.factories import person
from tests.permits.world import build_world, complete_form
from tests.support.schema import differences
from tests.ttp.world import Clock, ttp_config

PERSON = TableSpec(
    name="person",
    columns=(
        ColumnSpec("pseudonym", "string", "direct_identifier"),
        ColumnSpec("birth_year", "integer", "quasi_identifier", minimum=1900),
        ColumnSpec("sex", "code", "quasi_identifier", codes=("F", "M")),
    ),
    unit_unique=True,
)


def person_table(n: int = 50) -> pa.Table:
    return pa.table(
        {
            "pseudonym": [f"p{i:04d}" for i in range(n)],
            "birth_year": [1940 + i % 60 for i in range(n)],
            "sex": ["F" if i % 2 else "M" for i in range(n)],
        }
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def spe(runtime, tmp_path, clock) -> SpeConfig:
    workspaces.TABLE_CACHE.clear()
    return SpeConfig(
        store=runtime.store,
        work_dir=tmp_path / "spe-work",
        ttp=ttp_config(tmp_path, clock=clock),
        retention_days=30,
        now=clock,
    )


@pytest.fixture
def permits(runtime, clock, spe):
    return dataclasses.replace(
        runtime.permits,
        now=clock,
        base_url="http://testserver",
        listeners=(retire_with_permit, workspaces.workspace_for_permit(spe)),
    )


@pytest.fixture
def world(committed):
    return committed(build_world)


@pytest.fixture
def operator(committed):
    return Actor.for_person(
        committed(
            lambda s: person(s, "spe@lnds.lu", roles=((Role.spe_operator, None),))
        )
    )


def run(committed, permits, world, who, application_id, name, **fields):
    def step(session):
        procedure.execute(
            session,
            world.actor(who),
            permits,
            application_id=application_id,
            command=CommandIn.model_validate({"command": name, **fields}),
            form=None,
        )

    committed(step)


def apply(committed, permits, world, form=None, **change) -> int:
    def create(session):
        body = ApplicationCreate(
            form=ApplicationForm.model_validate(form or {}), **change
        )
        return applications.create_application(
            session, world.actor(world.researcher), permits, body=body
        ).id

    return committed(create)


def grant(committed, permits, world, app_id) -> None:
    for who, name, extra in [
        (world.researcher, "submit", {}),
        (world.handler, "start_screening", {}),
        (world.handler, "start_processing", {}),
        (world.decider, "grant", {"comment": "Criteria met."}),
    ]:
        run(committed, permits, world, who, app_id, name, **extra)


@pytest.fixture
def permit(committed, permits, world) -> Permit:
    grant(
        committed,
        permits,
        world,
        apply(committed, permits, world, complete_form(world)),
    )
    return committed(lambda s: s.scalars(select(Permit)).one())


def the_workspace(db, name=None) -> Workspace:
    db.expire_all()
    if name:
        return db.scalar(select(Workspace).where(Workspace.name == name))
    return db.scalars(select(Workspace)).one()


def actions(db, prefix="spe.") -> list[str]:
    return list(
        db.scalars(
            select(LedgerEntry.action)
            .where(LedgerEntry.action.startswith(prefix))
            .order_by(LedgerEntry.seq)
        )
    )


def make_ready(committed, spe, name, rows=50) -> None:
    def prepare(session):
        workspace = workspaces.get_workspace(session, name)
        workspaces.store_table(
            session, workspaces.SYSTEM, spe, workspace, PERSON, person_table(rows)
        )
        workspace.status = WorkspaceStatus.ready.value

    committed(prepare)


def revoke(committed, permits, world, permit) -> None:
    committed(
        lambda s: issuing.revoke_permit(
            s,
            world.actor(world.decider),
            permits,
            permit_id=permit.id,
            reason="Conditions of the permit were breached.",
        )
    )


# --- created with the permit --------------------------------------------------------------


def test_a_granted_permit_gets_a_workspace_with_its_users_and_a_key(db, world, permit):
    workspace = the_workspace(db)
    assert workspace.name == f"permit-{permit.reference.lower()}"
    assert workspace.status == WorkspaceStatus.awaiting_preparation
    assert workspace.members == sorted([world.researcher.id, world.colleague.id])
    assert workspace.permit_ends_on == permit.ends_on
    assert db.scalar(select(WorkspaceKey.workspace)) == workspace.name
    assert actions(db) == ["spe.workspace.created"]
    assert "ttp.workspace_key.issued" in actions(db, "ttp.")


def test_a_workspace_is_made_only_for_a_permit_in_force_and_once(
    committed, spe, operator, permit
):
    with pytest.raises(Conflict, match="exists already"):
        committed(
            lambda s: workspaces.create_workspace(
                s, operator, spe, permit=s.get(Permit, permit.id)
            )
        )
    demo = committed(
        lambda s: (
            workspaces.create_workspace(
                s, operator, spe, permit=s.get(Permit, permit.id), name="demo"
            ).name
        )
    )
    assert demo == "demo"
    with pytest.raises(InvalidInput, match="not a valid workspace name"):
        committed(
            lambda s: workspaces.create_workspace(
                s, operator, spe, permit=s.get(Permit, permit.id), name="../etc"
            )
        )


def test_only_spe_operators_create_workspaces(committed, spe, world, permit):
    with pytest.raises(Forbidden):
        committed(
            lambda s: workspaces.create_workspace(
                s,
                world.actor(world.researcher),
                spe,
                permit=s.get(Permit, permit.id),
                name="mine",
            )
        )


def test_an_amendment_changes_the_members(committed, db, permits, world, permit):
    amendment = apply(
        committed,
        permits,
        world,
        {"team": [{"email": world.analyst.email, "role": "statistician"}]},
        kind="amendment",
        permit_id=permit.id,
    )
    grant(committed, permits, world, amendment)
    workspace = the_workspace(db)
    assert workspace.members == sorted([world.researcher.id, world.analyst.id])
    assert actions(db) == ["spe.workspace.created", "spe.workspace.members_changed"]
    change = db.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "spe.workspace.members_changed")
    ).one()
    assert f'"removed":[{world.colleague.id}]' in change.details
    assert f'"added":[{world.analyst.id}]' in change.details


# --- access -------------------------------------------------------------------------------


def test_only_members_of_a_ready_workspace_get_in(committed, db, spe, world, permit):
    name = the_workspace(db).name
    member = world.actor(world.researcher)
    with pytest.raises(Forbidden, match="not ready"):
        workspaces.ensure_member(db, member, the_workspace(db))
    make_ready(committed, spe, name)
    workspaces.ensure_member(db, member, the_workspace(db))
    with pytest.raises(Forbidden, match="not a member"):
        workspaces.ensure_member(db, world.actor(world.outsider), the_workspace(db))
    with pytest.raises(Unauthenticated):
        workspaces.ensure_member(db, Actor.anonymous(), the_workspace(db))
    with pytest.raises(Forbidden):
        workspaces.ensure_member(db, Actor.system("spe"), the_workspace(db))


def test_members_see_their_workspaces_and_operators_all(db, world, operator, permit):
    name = the_workspace(db).name
    assert [
        w.name for w in workspaces.list_workspaces(db, world.actor(world.colleague))
    ] == [name]
    assert workspaces.list_workspaces(db, world.actor(world.outsider)) == []
    assert [w.name for w in workspaces.list_workspaces(db, operator)] == [name]
    with pytest.raises(Unauthenticated):
        workspaces.list_workspaces(db, Actor.anonymous())
    workspaces.ensure_viewer(db, operator, the_workspace(db))
    with pytest.raises(NotFound):
        workspaces.ensure_viewer(db, world.actor(world.outsider), the_workspace(db))
    with pytest.raises(NotFound, match="no workspace"):
        workspaces.get_workspace(db, "permit-prm-1999-00001")


# --- tables -------------------------------------------------------------------------------


def test_a_table_is_stored_sealed_and_read_back(committed, db, runtime, spe, permit):
    name = the_workspace(db).name
    make_ready(committed, spe, name)
    row = db.scalars(select(WorkspaceTable)).one()
    assert row.storage_key == f"spe/{name}/tables/person.parquet.enc"
    blob = runtime.store.read(row.storage_key)
    assert b"p0001" not in blob and b"PAR1" not in blob
    tables = workspaces.workspace_tables(db, spe, the_workspace(db))
    spec, data = tables["person"]
    assert spec == dataclasses.replace(PERSON, unit_rows=UnitRows(1, 0))
    assert data.equals(person_table())
    assert row.rows == 50 and row.bytes == len(blob)
    assert actions(db)[-1] == "spe.workspace.table_stored"


def test_reads_are_served_from_the_cache_until_a_table_is_replaced(
    committed, db, runtime, spe, permit
):
    name = the_workspace(db).name
    make_ready(committed, spe, name)
    first = workspaces.workspace_tables(db, spe, the_workspace(db))["person"][1]
    again = workspaces.workspace_tables(db, spe, the_workspace(db))["person"][1]
    assert again is first
    make_ready(committed, spe, name, rows=20)
    db.expire_all()
    replaced = workspaces.workspace_tables(db, spe, the_workspace(db))["person"][1]
    assert replaced.num_rows == 20
    assert db.scalars(select(WorkspaceTable)).one().rows == 20


def test_a_table_must_match_its_declaration(committed, spe, permit, db):
    name = the_workspace(db).name

    def store(spec, data):
        committed(
            lambda s: workspaces.store_table(
                s, workspaces.SYSTEM, spe, workspaces.get_workspace(s, name), spec, data
            )
        )

    with pytest.raises(InvalidInput, match="its declaration names"):
        store(PERSON, person_table().drop_columns(["sex"]))
    with pytest.raises(InvalidInput, match="not a valid workspace table name"):
        store(dataclasses.replace(PERSON, name="Person; DROP"), person_table())


def test_an_altered_or_moved_file_does_not_open(committed, db, runtime, spe, permit):
    name = the_workspace(db).name
    make_ready(committed, spe, name)
    row = db.scalars(select(WorkspaceTable)).one()
    blob = bytearray(runtime.store.read(row.storage_key))
    blob[-1] ^= 1
    runtime.store.write(row.storage_key, bytes(blob))
    with pytest.raises(ObjectUnreadable):
        workspaces.workspace_tables(db, spe, the_workspace(db))
    sealed = workspaces.encrypt_object(
        db, spe, the_workspace(db), f"spe/{name}/outputs/a.csv", b"n\n12\n"
    )
    with pytest.raises(ObjectUnreadable):
        workspaces.decrypt_object(
            db, spe, the_workspace(db), f"spe/{name}/outputs/b.csv", sealed
        )
    with pytest.raises(InvalidInput, match="not a file of workspace"):
        workspaces.decrypt_object(db, spe, the_workspace(db), "spe/other/a.csv", sealed)


def test_objects_round_trip_through_the_store(db, spe, permit):
    stored = workspaces.store_object(
        db, spe, the_workspace(db), "outputs/table.csv", b"n\n12\n"
    )
    assert stored.storage_key.endswith("/outputs/table.csv")
    loaded = workspaces.load_object(db, spe, the_workspace(db), stored.storage_key)
    assert loaded == b"n\n12\n"


# --- closed and destroyed -----------------------------------------------------------------


def test_revocation_closes_at_once_and_the_retention_job_shreds(
    committed, db, runtime, spe, permits, world, clock, permit
):
    name = the_workspace(db).name
    make_ready(committed, spe, name)
    sealed_output = workspaces.store_object(
        db, spe, the_workspace(db), "outputs/t.csv", b"n\n12\n"
    )
    db.commit()
    clock.advance(days=10)
    revoke(committed, permits, world, permit)

    workspace = the_workspace(db)
    assert workspace.status == WorkspaceStatus.closed
    assert workspace.destroy_after == date(2026, 11, 12) + timedelta(days=30)
    with pytest.raises(Forbidden, match="closed"):
        workspaces.ensure_member(db, world.actor(world.researcher), workspace)

    assert committed(lambda s: workspaces.destroy_due(s, spe, date(2026, 12, 12))) == []
    assert committed(lambda s: workspaces.destroy_due(s, spe, date(2026, 12, 13))) == [
        name
    ]

    workspace = the_workspace(db)
    assert workspace.status == WorkspaceStatus.destroyed and workspace.destroyed_at
    assert db.scalar(select(WorkspaceKey)) is None
    assert runtime.store.list(f"spe/{name}/") == []
    with pytest.raises(Gone):
        workspaces.ensure_member(db, world.actor(world.researcher), workspace)
    with pytest.raises(Gone):
        workspaces.workspace_tables(db, spe, workspace)
    with pytest.raises(WorkspaceKeyDestroyed, match="key was destroyed"):
        committed(lambda s: workspace_key(s, spe.ttp, name))
    entry = db.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "spe.workspace.destroyed")
    ).one()
    assert entry.actor == "system:spe-retention"
    assert f"spe/{name}/tables/person.parquet.enc" in entry.details
    assert sealed_output.storage_key in entry.details
    assert actions(db)[-2:] == ["spe.workspace.closed", "spe.workspace.destroyed"]
    assert "ttp.workspace_key.shredded" in actions(db, "ttp.")
    assert ledger.verify(db).ok
    assert committed(lambda s: workspaces.destroy_due(s, spe, date(2027, 6, 1))) == []


def test_a_copy_of_a_file_kept_after_destruction_stays_unreadable(
    committed, db, runtime, spe, operator, permit
):
    name = the_workspace(db).name
    make_ready(committed, spe, name)
    key = db.scalars(select(WorkspaceTable.storage_key)).one()
    copy = runtime.store.read(key)  # a backup, say
    committed(
        lambda s: workspaces.destroy_workspace(
            s, operator, spe, workspaces.get_workspace(s, name), "Breach reported."
        )
    )
    with pytest.raises(Gone):
        workspaces.decrypt_object(db, spe, the_workspace(db), key, copy)
    # Even code that skips the workspace's status finds no key to open it with.
    with pytest.raises(WorkspaceKeyDestroyed):
        workspace_key(db, spe.ttp, name)


def test_expiry_closes_the_workspace_from_the_permits_last_day(
    committed, db, permits, world
):
    app_id = apply(committed, permits, world, complete_form(world, duration_months=1))
    grant(committed, permits, world, app_id)
    committed(lambda s: issuing.expire_permits(s, permits, date(2027, 2, 2)))
    workspace = the_workspace(db)
    assert workspace.status == WorkspaceStatus.closed
    assert workspace.destroy_after == date(2027, 2, 1) + timedelta(days=30)


def test_only_operators_or_the_retention_job_destroy(
    committed, db, spe, world, operator, permit
):
    name = the_workspace(db).name

    def destroy(actor, reason="Permit ended."):
        committed(
            lambda s: workspaces.destroy_workspace(
                s, actor, spe, workspaces.get_workspace(s, name), reason
            )
        )

    with pytest.raises(Forbidden):
        destroy(world.actor(world.researcher))
    with pytest.raises(InvalidInput, match="Say why"):
        destroy(operator, "  ")
    destroy(operator)
    with pytest.raises(Gone):
        destroy(operator)


@pytest.mark.parametrize("days", [-1, 184, 365])
def test_retention_beyond_six_months_is_refused(runtime, tmp_path, days):
    with pytest.raises(ValueError, match="at most six months"):
        SpeConfig(
            store=runtime.store,
            work_dir=tmp_path,
            ttp=ttp_config(tmp_path),
            retention_days=days,
        )
    assert (
        SpeConfig(
            store=runtime.store,
            work_dir=tmp_path,
            ttp=ttp_config(tmp_path),
            retention_days=183,
        ).retention_days
        == 183
    )


def test_the_tables_match_the_migration(runtime):
    assert (
        differences(
            runtime.engine,
            {"spe_workspaces", "spe_workspace_tables", "ttp_workspace_keys"},
        )
        == []
    )


def test_an_empty_workspace_may_be_renamed_and_its_key_follows(
    committed, db, spe, permit
):
    before = the_workspace(db).name
    committed(
        lambda s: workspaces.rename_workspace(
            s, workspaces.SYSTEM, spe, workspaces.get_workspace(s, before), "study"
        )
    )
    db.expire_all()
    assert db.scalar(select(WorkspaceKey.workspace)) == "study"
    assert len(committed(lambda s: workspace_key(s, spe.ttp, "study"))) == 32
    make_ready(committed, spe, "study")
    with pytest.raises(Conflict, match="keeps its name"):
        committed(
            lambda s: workspaces.rename_workspace(
                s, workspaces.SYSTEM, spe, workspaces.get_workspace(s, "study"), "other"
            )
        )
    assert "spe.workspace.renamed" in actions(db)
