"""A ready workspace for the query gate: 400 people and their claims, in a permit's
workspace, with one member. Small on purpose, with the traps the disclosure corpus needs: a
commune of three people, one person whose hospital bill dominates a cell, and a person
with a rare birth year."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from datafactory.identity.actor import Actor
from datafactory.identity.models import Role
from datafactory.spe import workspaces
from datafactory.spe.config import SpeConfig
from datafactory.spe.models import WorkspaceStatus
from datafactory.spe.tables import ColumnSpec, TableSpec
from tests.factories import person
from tests.ttp.world import Clock, make_permit, ttp_config

PEOPLE = 400
COMMUNES = ("Luxembourg", "Esch-sur-Alzette", "Differdange", "Dudelange")
TINY_COMMUNE = "Vianden"
"""Three people live there: every count of them must be suppressed."""
DOMINANT = "p0007"
"""The person whose hospital bill dominates the 2023 hospital cell."""
RARE_YEAR = 1911
"""One person was born that year."""

PERSON = TableSpec(
    name="person",
    columns=(
        ColumnSpec("pseudonym", "string", "direct_identifier"),
        ColumnSpec("birth_year", "integer", "quasi_identifier"),
        ColumnSpec("sex", "code", "quasi_identifier", codes=("F", "M")),
        ColumnSpec("commune", "code", "quasi_identifier"),
        ColumnSpec("nationality", "code", "quasi_identifier"),
    ),
    unit_unique=True,
)
CLAIM = TableSpec(
    name="claim",
    columns=(
        ColumnSpec("pseudonym", "string", "direct_identifier"),
        ColumnSpec("year", "integer", "quasi_identifier"),
        ColumnSpec(
            "care_type",
            "code",
            "sensitive",
            codes=("general_practice", "hospital", "laboratory", "specialist"),
        ),
        ColumnSpec("amount", "decimal", "other"),
    ),
)


def person_table() -> pa.Table:
    rng = random.Random(11)
    rows = []
    for i in range(PEOPLE):
        commune = TINY_COMMUNE if i < 3 else COMMUNES[i % len(COMMUNES)]
        born = RARE_YEAR if i == 5 else 1940 + rng.randrange(60)
        rows.append(
            (f"p{i:04d}", born, "F" if i % 2 else "M", commune, rng.choice("LFP"))
        )
    names = [c.name for c in PERSON.columns]
    return pa.table({name: [r[k] for r in rows] for k, name in enumerate(names)})


def claim_table() -> pa.Table:
    rng = random.Random(12)
    rows: list[tuple[Any, ...]] = []
    for i in range(PEOPLE):
        for _ in range(1 + i % 4):
            year = 2021 + rng.randrange(3)
            care = rng.choice(("general_practice", "laboratory", "specialist"))
            rows.append((f"p{i:04d}", year, care, round(rng.uniform(10, 120), 2)))
    for i in range(20):
        rows.append((f"p{i + 10:04d}", 2023, "hospital", 200.0))
    rows.append((DOMINANT, 2023, "hospital", 250_000.0))
    return pa.table(
        {
            "pseudonym": [r[0] for r in rows],
            "year": pa.array([r[1] for r in rows], pa.int32()),
            "care_type": [r[2] for r in rows],
            "amount": [r[3] for r in rows],
        }
    )


@dataclass
class GateWorld:
    spe: SpeConfig
    workspace: str
    member: Actor
    stranger: Actor


def build_gate_world(
    committed: Callable[[Callable[[Session], Any]], Any],
    runtime: Any,
    tmp_path: Path,
    *,
    spe: SpeConfig | None = None,
) -> GateWorld:
    """``spe`` defaults to a config of the test's own; pass ``runtime.spe`` when the web
    app (which uses the runtime's) must read the workspace too."""
    clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    workspaces.TABLE_CACHE.clear()
    spe = spe or SpeConfig(
        store=runtime.store,
        work_dir=tmp_path / "spe-work",
        ttp=ttp_config(tmp_path, clock=clock),
        now=clock,
    )

    def build(session: Session) -> GateWorld:
        member = person(session, "member@uni.lu", roles=((Role.reuser, None),))
        stranger = person(session, "stranger@uni.lu", roles=((Role.reuser, None),))
        permit = make_permit(session, member, "PRM-2026-0042")
        permit.scope = {"users": [member.id]}
        workspace = workspaces.create_workspace(
            session, workspaces.SYSTEM, spe, permit=permit, name="study"
        )
        for spec, data in ((PERSON, person_table()), (CLAIM, claim_table())):
            workspaces.store_table(
                session, workspaces.SYSTEM, spe, workspace, spec, data
            )
        workspace.status = WorkspaceStatus.ready.value
        return GateWorld(
            spe=spe,
            workspace=workspace.name,
            member=Actor.for_person(member),
            stranger=Actor.for_person(stranger),
        )

    return committed(build)
