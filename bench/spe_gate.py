"""What the SPE query gate costs over the same aggregate on bare DuckDB, on one machine.

Run by hand: `uv run python bench/spe_gate.py [--rows N] [--runs R] [--database-url URL]`.

Two synthetic workspace tables of N rows each (seeded numpy): ``person``, one row per
person (birth year, sex, one of 100 communes, nationality, income), and ``claim``, where
people repeat (N/5 people, care type, year, amount). They are sealed into a real workspace
(a fresh SQLite metadata database unless ``--database-url``) with ``store_table``; the first
query of each kind decrypts them into ``workspaces.TABLE_CACHE``, so the timed runs measure
what every later query pays: membership, parsing, the differencing scan, the engine's query
with its hidden cell statistics, the disclosure rules, and the query ledger and hash-chained
ledger, committed. Baseline, in the same run and interleaved with the gate: the plain
``SELECT g, AGG(x) … GROUP BY g`` on a plain DuckDB connection over the same Arrow table,
same thread count, result fetched as Arrow. "exact SQL" is the generated exact query alone,
run on the gate's locked engine with the tables already registered (what the exact hidden
statistics cost); "gate, exact only" is the whole gate with its first pass on bounds turned
off (``ExactEngine``), the gate as it was before that pass; "decided on" says whether the
bounds decided the answer or the exact query had to.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from datafactory.core.config import Settings
from datafactory.core.db import unit_of_work
from datafactory.identity import people
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role
from datafactory.permits.models import Application, Permit
from datafactory.runtime import Runtime
from datafactory.spe import workspaces
from datafactory.spe.analysis import Analysis
from datafactory.spe.engines.duckdb import DuckDBEngine
from datafactory.spe.models import WorkspaceStatus
from datafactory.spe.parse import parse
from datafactory.spe.queries import gate
from datafactory.spe.tables import ColumnSpec, TableSpec

ADMIN = Actor(ref="system:bench", name="bench", roles=frozenset({("admin", None)}))
COMMUNES = tuple(f"commune-{i:03d}" for i in range(100))
NATIONALITIES = ("LU", "PT", "FR", "BE", "DE", "IT", "other")
CARE_TYPES = ("general_practice", "hospital", "laboratory", "specialist")

PERSON = TableSpec(
    name="person",
    columns=(
        ColumnSpec("pseudonym", "string", "direct_identifier"),
        ColumnSpec("birth_year", "integer", "quasi_identifier"),
        ColumnSpec("sex", "code", "quasi_identifier", codes=("F", "M")),
        ColumnSpec("commune", "code", "quasi_identifier", codes=COMMUNES),
        ColumnSpec("nationality", "code", "quasi_identifier", codes=NATIONALITIES),
        ColumnSpec("income", "decimal", "sensitive"),
    ),
    unit_unique=True,
)
CLAIM = TableSpec(
    name="claim",
    columns=(
        ColumnSpec("pseudonym", "string", "direct_identifier"),
        ColumnSpec("year", "integer", "quasi_identifier"),
        ColumnSpec("care_type", "code", "sensitive", codes=CARE_TYPES),
        ColumnSpec("amount", "decimal", "other"),
    ),
)


class ExactEngine(DuckDBEngine):
    """The gate as it was before its first pass on bounds: the exact query always."""

    def screen(self, analysis: Analysis) -> pa.Table | None:  # noqa: ARG002
        return None


@dataclass(frozen=True)
class Query:
    label: str
    gate_sql: str
    bare_sql: str


QUERIES = (
    Query(
        "COUNT by commune (person)",
        "SELECT commune, COUNT(*) AS people FROM person GROUP BY commune",
        "SELECT commune, COUNT(*) FROM person GROUP BY commune",
    ),
    Query(
        "AVG(income) by commune (person)",
        "SELECT commune, AVG(income) AS income FROM person GROUP BY commune",
        "SELECT commune, AVG(income) FROM person GROUP BY commune",
    ),
    Query(
        "SUM(amount) by care type (claim)",
        "SELECT care_type, SUM(amount) AS amount FROM claim GROUP BY care_type",
        "SELECT care_type, SUM(amount) FROM claim GROUP BY care_type",
    ),
    # Counting people is what the gate must do on a table where people repeat: the same
    # question on bare DuckDB, with the people counted.
    Query(
        "SUM(amount) by care type (claim), bare counts people",
        "SELECT care_type, SUM(amount) AS amount FROM claim GROUP BY care_type",
        "SELECT care_type, SUM(amount), COUNT(DISTINCT pseudonym) FROM claim "
        "GROUP BY care_type",
    ),
    Query(
        "COUNT by commune, WHERE (person)",
        "SELECT commune, COUNT(*) AS people FROM person WHERE birth_year >= 1960 "
        "GROUP BY commune",
        "SELECT commune, COUNT(*) FROM person WHERE birth_year >= 1960 "
        "GROUP BY commune",
    ),
    # Once a filtered query has been answered, every later query on the source is
    # compared with its population too, filtered or not.
    Query(
        "COUNT by commune, after a WHERE",
        "SELECT commune, COUNT(*) AS people FROM person GROUP BY commune",
        "SELECT commune, COUNT(*) FROM person GROUP BY commune",
    ),
)


def pseudonyms(ids: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(
        "p", pc.cast(pa.array(ids), pa.string()), ""
    ).cast(pa.string())


def person_table(rows: int, rng: np.random.Generator) -> pa.Table:
    communes = rng.zipf(1.3, rows) % len(COMMUNES)
    return pa.table(
        {
            "pseudonym": pseudonyms(np.arange(rows, dtype=np.int64)),
            "birth_year": pa.array(rng.integers(1925, 2024, rows, dtype=np.int32)),
            "sex": pa.array(np.array(["F", "M"])[rng.integers(0, 2, rows)]),
            "commune": pa.array(np.array(COMMUNES)[communes]),
            "nationality": pa.array(
                np.array(NATIONALITIES)[rng.integers(0, len(NATIONALITIES), rows)]
            ),
            "income": pa.array(np.round(rng.lognormal(10.5, 0.6, rows), 2)),
        }
    )


def claim_table(rows: int, rng: np.random.Generator) -> pa.Table:
    people_count = max(1, rows // 5)
    who = np.sort(rng.integers(0, people_count, rows))
    return pa.table(
        {
            "pseudonym": pseudonyms(who),
            "year": pa.array(rng.integers(2019, 2025, rows, dtype=np.int32)),
            "care_type": pa.array(
                np.array(CARE_TYPES)[rng.choice(4, rows, p=[0.5, 0.05, 0.25, 0.2])]
            ),
            "amount": pa.array(np.round(rng.lognormal(4.0, 1.0, rows), 2)),
        }
    )


@dataclass
class World:
    runtime: Runtime
    member: Actor
    workspace: str
    tables: dict[str, pa.Table]


def build_world(data_dir: Path, database_url: str | None, rows: int) -> World:
    rng = np.random.default_rng(20261126)
    tables = {"person": person_table(rows, rng), "claim": claim_table(rows, rng)}
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="bench-session-key-that-is-long-enough-0123456789",
        queue="immediate",
        log_level="WARNING",
    )
    runtime = Runtime(settings)
    runtime.migrate()
    spe = runtime.spe
    with unit_of_work(runtime.sessions) as session:
        member = people.create_person(
            session, ADMIN, email="bench@uni.lu", name="bench", password=None
        )
        people.grant_role(
            session,
            ADMIN,
            person_id=member.id,
            organisation_id=None,
            role=Role.reuser,
        )
        now = datetime(2026, 10, 1, tzinfo=UTC)
        application = Application(
            reference="APP-BENCH",
            applicant_id=member.id,
            form={},
            state="decided",
            created_at=now,
        )
        session.add(application)
        session.flush()
        permit = Permit(
            reference="PRM-BENCH",
            application_id=application.id,
            holder_id=member.id,
            regime="ehds",
            status="GRANTED",
            scope={"users": [member.id]},
            starts_on=date(2026, 10, 1),
            ends_on=date(2099, 10, 1),
            granted_at=now,
            changed_at=now,
            token="token",
        )
        session.add(permit)
        session.flush()
        workspace = workspaces.create_workspace(
            session, workspaces.SYSTEM, spe, permit=permit, name="bench"
        )
        for spec in (PERSON, CLAIM):
            workspaces.store_table(
                session, workspaces.SYSTEM, spe, workspace, spec, tables[spec.name]
            )
        workspace.status = WorkspaceStatus.ready.value
        session.flush()
        session.refresh(member)
        actor = Actor.for_person(member)
    return World(runtime, actor, "bench", tables)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and process CPU seconds (all threads): CPU time suffers less from other
    work on the machine."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url")
    parser.add_argument("--only", help="run only the queries whose label has this")
    args = parser.parse_args()

    started = time.perf_counter()
    world = build_world(Path(tempfile.mkdtemp()), args.database_url, args.rows)
    spe = world.runtime.spe
    print(
        f"{args.rows:,} rows per table, built and sealed in "
        f"{time.perf_counter() - started:.1f} s; {args.runs} runs each; "
        f"threads {spe.engine.threads}; load average "
        f"{os.getloadavg()[0]:.2f}"
    )

    bare = duckdb.connect(":memory:", config={"threads": spe.engine.threads})
    for name, table in world.tables.items():
        bare.register(name, table)
    engine = DuckDBEngine(spe.engine)
    for spec in (PERSON, CLAIM):
        engine.load(spec, world.tables[spec.name])
    specs = {"person": PERSON, "claim": CLAIM}

    def ask(sql: str, *, exact: bool = False) -> gate.Answer:
        with unit_of_work(world.runtime.sessions) as session:
            return gate.ask(
                session,
                world.member,
                spe,
                world.workspace,
                sql,
                engine_factory=ExactEngine if exact else None,
            )

    rows = []
    for query in QUERIES:
        if args.only and args.only not in query.label:
            continue
        analysis = parse(query.gate_sql, specs)
        first = ask(query.gate_sql)  # decrypts the tables into the cache once
        assert not first.refused, first.reasons
        times: dict[str, list[tuple[float, float]]] = {
            "bare": [],
            "engine": [],
            "exact": [],
            "gate": [],
        }
        runs: dict[str, Callable[[], object]] = {
            "bare": partial(lambda sql: bare.sql(sql).to_arrow_table(), query.bare_sql),
            "engine": partial(engine.run, analysis),
            "exact": partial(ask, query.gate_sql, exact=True),
            "gate": partial(ask, query.gate_sql),
        }
        for _ in range(args.runs):
            for name, run in runs.items():
                times[name].append(timed(run))
        decided = "bounds" if first.evidence.get("bounds") else "exact"
        rows.append((query.label, decided, times))

    print()
    print(
        "| query | decided on | bare DuckDB best / median | exact SQL best / median "
        "| gate, exact only, best / median | gate best / median "
        "| ratio best / median | CPU ratio best |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, decided, times in rows:
        wall = {k: [w for w, _ in v] for k, v in times.items()}
        best = {k: min(v) for k, v in wall.items()}
        median = {k: statistics.median(v) for k, v in wall.items()}
        cpu = {k: min(c for _, c in v) for k, v in times.items()}
        print(
            f"| {label} | {decided} "
            f"| {1000 * best['bare']:.0f} / {1000 * median['bare']:.0f} ms "
            f"| {1000 * best['engine']:.0f} / {1000 * median['engine']:.0f} ms "
            f"| {1000 * best['exact']:.0f} / {1000 * median['exact']:.0f} ms "
            f"| {1000 * best['gate']:.0f} / {1000 * median['gate']:.0f} ms "
            f"| {best['gate'] / best['bare']:.2f} / "
            f"{median['gate'] / median['bare']:.2f} "
            f"| {cpu['gate'] / cpu['bare']:.2f} |"
        )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    world.runtime.dispose()


if __name__ == "__main__":
    main()
