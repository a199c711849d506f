"""A ready workspace for the job and output tests: one member, one outsider, a table of
people and claims, without going through the whole access procedure (which has its own
tests)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from sqlalchemy.orm import Session

from datafactory.core.files import FileStore
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person, Role
from datafactory.spe import workspaces
from datafactory.spe.config import SandboxLimits, SpeConfig
from datafactory.spe.models import WorkspaceStatus
from datafactory.spe.tables import ColumnSpec, TableSpec
from tests.factories import person
from tests.ttp.world import Clock, make_permit, ttp_config

PERSON = TableSpec(
    name="person",
    columns=(
        ColumnSpec("pseudonym", "string", "direct_identifier"),
        ColumnSpec("birth_year", "integer", "quasi_identifier", minimum=1900),
        ColumnSpec("sex", "code", "quasi_identifier", codes=("F", "M")),
        ColumnSpec("amount", "decimal", "sensitive"),
    ),
    unit_unique=True,
)


def person_table(n: int = 300) -> pa.Table:
    return pa.table(
        {
            "pseudonym": [f"p{i:04d}" for i in range(n)],
            "birth_year": [1940 + i % 60 for i in range(n)],
            "sex": ["F" if i % 3 else "M" for i in range(n)],
            "amount": [round(10 + (i % 23) * 4.25, 2) for i in range(n)],
        }
    )


def spe_config(
    store: FileStore, tmp_path: Path, clock: Clock, **limits: int
) -> SpeConfig:
    workspaces.TABLE_CACHE.clear()
    return SpeConfig(
        store=store,
        work_dir=tmp_path / "spe-work",
        ttp=ttp_config(tmp_path, clock=clock),
        sandbox=SandboxLimits(
            **{"cpu_seconds": 60, "wall_seconds": 120, **limits}  # type: ignore[arg-type]
        ),
        now=clock,
    )


@dataclass(frozen=True)
class World:
    member: Person
    outsider: Person
    workspace_name: str

    @property
    def member_actor(self) -> Actor:
        return Actor.for_person(self.member)

    @property
    def outsider_actor(self) -> Actor:
        return Actor.for_person(self.outsider)


def build(session: Session, config: SpeConfig, name: str = "jobs") -> World:
    member = person(session, f"member-{name}@uni.lu", roles=((Role.reuser, None),))
    outsider = person(session, f"outsider-{name}@uni.lu", roles=((Role.reuser, None),))
    permit = make_permit(
        session, member, f"PRM-2026-{zlib.crc32(name.encode()) % 99999:05d}"
    )
    permit.scope = {"users": [member.id]}
    session.flush()
    workspace = workspaces.create_workspace(
        session, workspaces.SYSTEM, config, permit=permit, name=name
    )
    workspaces.store_table(
        session, workspaces.SYSTEM, config, workspace, PERSON, person_table()
    )
    workspace.status = WorkspaceStatus.ready.value
    session.flush()
    return World(member, outsider, name)
