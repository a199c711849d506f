"""The query gate on the real database and the DuckDB engine: answers, suppression,
refusals, the differencing defence, and the record of every query in the query ledger and
the hash-chained ledger."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from datafactory.core import ledger
from datafactory.core.errors import Forbidden
from datafactory.core.ledger import LedgerEntry
from datafactory.spe.airlock import checks
from datafactory.spe.airlock.models import CheckStatus
from datafactory.spe.jobs.models import WorkspaceOutput
from datafactory.spe.queries import gate
from datafactory.spe.queries.models import WorkspaceQuery
from tests.spe.gate_world import (
    COMMUNES,
    DOMINANT,
    PEOPLE,
    RARE_YEAR,
    TINY_COMMUNE,
    GateWorld,
    build_gate_world,
)


@pytest.fixture
def world(committed, runtime, tmp_path) -> GateWorld:
    return build_gate_world(committed, runtime, tmp_path)


def ask(committed, world: GateWorld, sql: str, **options) -> gate.Answer:
    return committed(
        lambda s: gate.ask(s, world.member, world.spe, world.workspace, sql, **options)
    )


def as_dict(answer: gate.Answer) -> dict:
    return {row[0]: row[1:] for row in answer.rows}


def test_an_ordinary_count_is_answered_in_full(committed, world):
    answer = ask(
        committed, world, "SELECT sex, COUNT(*) AS people FROM person GROUP BY sex"
    )
    assert not answer.refused
    assert answer.columns == ("sex", "people")
    assert as_dict(answer) == {"F": (PEOPLE // 2,), "M": (PEOPLE // 2,)}
    assert answer.suppressed == ()


def test_a_small_group_is_suppressed_and_a_second_cell_with_it(committed, world):
    answer = ask(
        committed,
        world,
        "SELECT commune, COUNT(*) AS people FROM person GROUP BY commune",
    )
    values = as_dict(answer)
    assert values[TINY_COMMUNE] == (None,)
    reasons = {s.row: s.reasons for s in answer.suppressed}
    assert any("fewer than 10 people" in r for r in reasons.values())
    # The total is known from another query, so one more cell goes with it.
    assert sum(v == (None,) for v in values.values()) == 2
    assert any("totals cannot reveal" in " ".join(r) for r in reasons.values())
    assert set(values) == {TINY_COMMUNE, *COMMUNES}


def test_record_level_queries_are_refused_and_recorded(committed, db, world):
    answer = ask(committed, world, "SELECT pseudonym, birth_year FROM person")
    assert answer.refused
    assert (
        "aggregate" in " ".join(answer.reasons).lower()
        or "record" in " ".join(answer.reasons).lower()
    )
    record = db.get(WorkspaceQuery, answer.query_id)
    assert record.outcome == "refused"
    entry = db.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "spe.query.refused")
    ).one()
    assert entry.subject == "spe-workspace:study"
    assert "SELECT" not in str(entry.details)  # the SQL stays in the query ledger
    sha = hashlib.sha256(record.sql.encode()).hexdigest()
    assert json.loads(entry.details)["sql_sha256"] == sha
    assert ledger.verify(db).ok


def test_grouping_by_the_pseudonym_is_refused(committed, world):
    answer = ask(
        committed,
        world,
        "SELECT pseudonym, COUNT(*) AS n FROM person GROUP BY pseudonym",
    )
    assert answer.refused


def test_a_differencing_pair_is_refused(committed, world):
    first = ask(committed, world, "SELECT COUNT(*) AS people FROM person")
    assert first.rows == ((PEOPLE,),)
    second = ask(
        committed,
        world,
        f"SELECT COUNT(*) AS people FROM person WHERE birth_year <> {RARE_YEAR}",
    )
    assert second.refused
    assert "differencing" in " ".join(second.reasons)


def test_a_rewritten_filter_selecting_the_same_few_people_is_caught(committed, world):
    ask(committed, world, "SELECT AVG(birth_year) AS born FROM person WHERE sex = 'F'")
    answer = ask(
        committed,
        world,
        "SELECT AVG(birth_year) AS born FROM person "
        f"WHERE sex = 'F' AND NOT (commune = '{TINY_COMMUNE}' AND birth_year > 1900)",
    )
    assert answer.refused
    assert "earlier query" in " ".join(answer.reasons)


def test_a_dominated_sum_is_suppressed(committed, world):
    answer = ask(
        committed,
        world,
        "SELECT care_type, SUM(amount) AS total FROM claim WHERE year = 2023 "
        "GROUP BY care_type",
    )
    assert not answer.refused
    assert as_dict(answer)["hospital"] == (None,)
    reasons = " ".join(r for s in answer.suppressed for r in s.reasons)
    assert "largest contributors" in reasons
    assert DOMINANT not in str(answer.rows)


def test_min_and_max_need_every_group_over_the_threshold(committed, world):
    refused = ask(
        committed,
        world,
        "SELECT commune, MIN(birth_year) AS oldest FROM person GROUP BY commune",
    )
    assert refused.refused
    assert "MIN and MAX" in " ".join(refused.reasons)
    answered = ask(
        committed,
        world,
        "SELECT sex, MIN(birth_year) AS oldest FROM person GROUP BY sex",
    )
    assert not answered.refused


def test_a_query_whose_every_cell_fails_is_refused(committed, world):
    answer = ask(
        committed,
        world,
        f"SELECT COUNT(*) AS people FROM person WHERE commune = '{TINY_COMMUNE}'",
    )
    assert answer.refused
    assert "Every cell" in answer.reasons[0]


def test_rounding_to_five(committed, world):
    answer = ask(
        committed,
        world,
        "SELECT year, COUNT(*) AS claims FROM claim GROUP BY year",
        round_results=True,
    )
    assert answer.rounded_to == 5
    assert all(row[1] % 5 == 0 for row in answer.rows)


def test_a_non_member_is_refused_before_anything_runs(committed, db, world):
    with pytest.raises(Forbidden):
        committed(
            lambda s: gate.ask(
                s,
                world.stranger,
                world.spe,
                world.workspace,
                "SELECT COUNT(*) FROM person",
            )
        )
    assert db.scalar(select(WorkspaceQuery.id)) is None


def test_an_answer_kept_as_an_output_carries_its_sql_and_evidence(committed, db, world):
    answer = ask(
        committed, world, "SELECT sex, COUNT(*) AS people FROM person GROUP BY sex"
    )
    output_id = committed(
        lambda s: gate.save_answer(s, world.member, world.spe, answer, name="by sex")
    )
    outputs = db.scalars(select(WorkspaceOutput).order_by(WorkspaceOutput.id)).all()
    assert [o.name for o in outputs] == ["by sex.csv", "by sex.sdc.json"]
    assert outputs[0].id == output_id
    assert outputs[0].code == answer.sql
    assert outputs[0].origin == f"query:{answer.query_id}"


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    groups=st.lists(
        st.sampled_from(["sex", "commune", "nationality", "birth_year / 10"]),
        min_size=1,
        max_size=2,
        unique=True,
    ),
    low=st.integers(1900, 2000),
)
def test_no_released_count_is_below_the_threshold(committed, world, groups, low):
    keys = ", ".join(groups)
    answer = ask(
        committed,
        world,
        f"SELECT {keys}, COUNT(*) AS people FROM person WHERE birth_year >= {low} "
        f"GROUP BY {keys}",
    )
    if answer.refused:
        return
    released = [row[-1] for row in answer.rows if row[-1] is not None]
    assert all(value >= world.spe.rules.threshold for value in released)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT commune, COUNT(*) AS people FROM person GROUP BY commune",
        "SELECT care_type, SUM(amount) AS total FROM claim WHERE year = 2023 "
        "GROUP BY care_type",
        "SELECT sex, nationality, COUNT(*) AS n, AVG(birth_year) AS born FROM person "
        "GROUP BY sex, nationality",
    ],
)
def test_the_airlock_passes_what_the_gate_released(committed, world, sql):
    """The gate and the airlock apply the same rules: a released table, checked again
    from its evidence, passes; the same table with a suppressed cell filled in fails."""
    answer = ask(committed, world, sql)
    evidence = json.dumps(answer.evidence).encode()
    assert (
        checks.check_table(
            answer.csv().encode(), world.spe.rules, evidence=evidence
        ).status
        == CheckStatus.passed
    )
    if answer.suppressed:
        hole = answer.suppressed[0]
        column = answer.columns.index(hole.column)
        rows = [list(r) for r in answer.rows]
        rows[hole.row][column] = 3
        leaked = dataclasses.replace(answer, rows=tuple(tuple(r) for r in rows))
        result = checks.check_table(
            leaked.csv().encode(), world.spe.rules, evidence=evidence
        )
        assert result.status == CheckStatus.failed
