"""The gate's cheap first pass (``SqlEngine.screen``): bounds that only ever make the
disclosure rules stricter, and answers identical to those of the exact statistics.

Both properties run on every engine over random tables where people repeat a random number
of times, with negative and missing values, so that some cells pass on their bounds and
others need the exact query."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.privacy.sdc import DisclosureRules, Reason
from datafactory.spe.analysis import Analysis
from datafactory.spe.engines.duckdb import DuckDBEngine
from datafactory.spe.engines.sql import SqlEngine, hidden_columns
from datafactory.spe.engines.sqlite import SQLiteEngine
from datafactory.spe.parse import parse
from datafactory.spe.queries import gate
from datafactory.spe.tables import ColumnSpec, TableSpec, UnitRows, measured

ENGINES: dict[str, Callable[[], SqlEngine]] = {
    "duckdb": DuckDBEngine,
    "sqlite": SQLiteEngine,
}
CARE = ("gp", "hospital", "lab")
CLAIM = TableSpec(
    name="claim",
    columns=(
        ColumnSpec("pseudonym", "string", "direct_identifier"),
        ColumnSpec("year", "integer", "quasi_identifier"),
        ColumnSpec("care", "code", "sensitive", codes=CARE),
        ColumnSpec("amount", "decimal", "other"),
    ),
)
PERSON = TableSpec(
    name="person",
    columns=(
        ColumnSpec("pseudonym", "string", "direct_identifier"),
        ColumnSpec("sex", "code", "quasi_identifier", codes=("F", "M")),
        ColumnSpec("income", "decimal", "sensitive"),
    ),
    unit_unique=True,
)
QUERIES = (
    "SELECT care, COUNT(*) AS n FROM claim GROUP BY care",
    "SELECT care, SUM(amount) AS s FROM claim GROUP BY care",
    "SELECT year, care, AVG(amount) AS m, COUNT(*) AS n FROM claim GROUP BY year, care",
    "SELECT COUNT(*) AS n, SUM(amount) AS s FROM claim WHERE year >= 2020",
    "SELECT care, MAX(amount) AS top FROM claim GROUP BY care",
    "SELECT care, MEDIAN(amount) AS med, SUM(amount) AS s FROM claim GROUP BY care",
    "SELECT year, COUNT(DISTINCT care) AS kinds FROM claim GROUP BY year",
    "SELECT sex, AVG(income) AS income FROM person GROUP BY sex",
    "SELECT sex, SUM(income) AS income, COUNT(*) AS n FROM person GROUP BY sex",
)

amounts = st.one_of(
    st.none(),
    st.integers(-50, 5000).map(float),
    st.floats(0, 1e6, allow_nan=False).map(lambda x: round(x, 2)),
)
claims = st.lists(
    st.tuples(
        st.integers(1, 6),  # how many claims this person has
        st.lists(st.tuples(st.sampled_from((2019, 2020, 2021)), st.sampled_from(CARE))),
        st.lists(amounts, min_size=6, max_size=6),
    ),
    min_size=1,
    max_size=40,
)


def _tables(
    people: list[Any], *, nobody: bool = True
) -> dict[str, tuple[TableSpec, pa.Table]]:
    rows: dict[str, list[Any]] = {"pseudonym": [], "year": [], "care": [], "amount": []}
    person: dict[str, list[Any]] = {"pseudonym": [], "sex": [], "income": []}
    for i, (count, places, values) in enumerate(people):
        unit = f"p{i:03d}"
        for k in range(count):
            year, care = places[k % len(places)] if places else (2020, "gp")
            # Some claims name nobody: the gate counts them as one more unit.
            rows["pseudonym"].append(None if nobody and i % 7 == 6 else unit)
            rows["year"].append(year)
            rows["care"].append(care)
            rows["amount"].append(values[k])
        person["pseudonym"].append(unit)
        person["sex"].append("F" if i % 3 else "M")
        person["income"].append(values[0])
    claim = pa.table(
        {
            "pseudonym": pa.array(rows["pseudonym"], pa.string()),
            "year": pa.array(rows["year"], pa.int64()),
            "care": pa.array(rows["care"], pa.string()),
            "amount": pa.array(rows["amount"], pa.float64()),
        }
    )
    register = pa.table(
        {
            "pseudonym": pa.array(person["pseudonym"], pa.string()),
            "sex": pa.array(person["sex"], pa.string()),
            "income": pa.array(person["income"], pa.float64()),
        }
    )
    return {
        "claim": (measured(CLAIM, claim), claim),
        "person": (measured(PERSON, register), register),
    }


def _loaded(
    name: str, tables: dict[str, tuple[TableSpec, pa.Table]], sql: str
) -> tuple[SqlEngine, Analysis]:
    engine = ENGINES[name]()
    for spec, data in tables.values():
        engine.load(spec, data)
    return engine, parse(sql, {n: spec for n, (spec, _) in tables.items()})


def _by_group(analysis: Analysis, table: pa.Table) -> dict[tuple[Any, ...], dict]:
    rows = table.to_pylist()
    return {tuple(row[g] for g in analysis.group_aliases): row for row in rows}


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return bool(a == b)
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def _keyed(verdicts: dict[str, list[Any]]) -> dict[str, dict[Any, Any]]:
    return {
        alias: {repr(v.group): v.reasons for v in column}
        for alias, column in verdicts.items()
    }


def test_a_table_s_rows_per_person_are_measured_not_declared():
    data = pa.table({"pseudonym": ["a", "b", "a", None, None, "a"]})
    spec = TableSpec("t", (ColumnSpec("pseudonym", "string", "direct_identifier"),))
    assert measured(spec, data).unit_rows == UnitRows(most=3, without_unit=2)
    with pytest.raises(ValueError, match="a person has 3"):
        measured(TableSpec(spec.name, spec.columns, unit_unique=True), data)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=40, deadline=None, derandomize=True)
@given(people=claims, sql=st.sampled_from(QUERIES))
def test_screen_bounds_only_make_the_rules_stricter(engine, people, sql):
    tables = _tables(people)
    loaded, analysis = _loaded(engine, tables, sql)
    screened = loaded.screen(analysis)
    if screened is None:
        return
    exact = _by_group(analysis, loaded.run(analysis))
    bounded = _by_group(analysis, screened)
    assert bounded.keys() == exact.keys()
    for key, row in exact.items():
        cell = bounded[key]
        assert cell["__n"] <= row["__n"]
        for aggregate in analysis.aggregates:
            assert _close(cell[aggregate.alias], row[aggregate.alias])
            if not aggregate.kind.magnitude:
                continue
            total, first, second, negative = hidden_columns(aggregate)
            assert _close(cell[total], row[total])
            assert cell[negative] == row[negative]
            for largest in (first, second):
                if row[largest] is not None:
                    assert cell[largest] >= row[largest] - 1e-6


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    people=claims,
    sql=st.sampled_from(QUERIES),
    threshold=st.integers(1, 12),
)
def test_answers_are_those_of_the_exact_statistics(engine, people, sql, threshold):
    """Whatever the bounds, the released table and its suppressed cells are the ones the
    exact query gives: bounds decide only when every cell passes on them."""
    rules = DisclosureRules(threshold=threshold)
    tables = _tables(people)
    loaded, analysis = _loaded(engine, tables, sql)
    screened = loaded.screen(analysis)
    if screened is None:
        return
    table, endpoints, verdicts = gate.decide(
        loaded, analysis, screened, rules, screened=True
    )
    exact_table, exact_endpoints, exact_verdicts = gate.decide(
        loaded, analysis, loaded.run(analysis), rules, screened=False
    )
    assert endpoints == exact_endpoints
    # Without an ORDER BY the engine's row order is free; the release orders rows.
    assert _keyed(verdicts) == _keyed(exact_verdicts)
    if endpoints:
        return
    released = table.release(analysis, verdicts, rules, round_to=None)
    expected = exact_table.release(analysis, exact_verdicts, rules, round_to=None)
    assert released.columns == expected.columns
    assert released.suppressed == expected.suppressed
    assert len(released.rows) == len(expected.rows)
    for row, other in zip(released.rows, expected.rows, strict=True):
        assert all(_close(a, b) for a, b in zip(row, other, strict=True))
    assert released.evidence.get("bounds", False) == table.bounds


def test_bounds_decide_a_large_repeated_people_sum_and_say_so():
    people = [(5, [(2020, care)], [100.0] * 6) for care in CARE for _ in range(30)]
    tables = _tables(people, nobody=False)
    loaded, analysis = _loaded(
        "duckdb", tables, "SELECT care, SUM(amount) AS s FROM claim GROUP BY care"
    )
    screened = loaded.screen(analysis)
    assert screened is not None
    table, _, verdicts = gate.decide(
        loaded, analysis, screened, DisclosureRules(), screened=True
    )
    assert table.bounds and not any(v.suppressed for c in verdicts.values() for v in c)
    released = table.release(analysis, verdicts, DisclosureRules(), round_to=None)
    assert released.evidence["bounds"] is True
    assert sorted(released.rows) == [(care, 15000.0) for care in sorted(CARE)]


def test_a_joined_source_is_not_screened():
    tables = _tables([(2, [(2020, "gp")], [1.0] * 6)] * 20)
    loaded, analysis = _loaded(
        "duckdb",
        tables,
        "SELECT p.sex, COUNT(*) AS n FROM claim c JOIN person p "
        "ON c.pseudonym = p.pseudonym GROUP BY p.sex",
    )
    assert loaded.screen(analysis) is None


@pytest.mark.parametrize("screened", [True, False])
def test_a_sum_of_missing_values_only_is_suppressed_not_an_error(screened):
    tables = _tables([(2, [(2020, "gp")], [None] * 6)] * 12)
    loaded, analysis = _loaded(
        "duckdb", tables, "SELECT care, SUM(amount) AS s FROM claim GROUP BY care"
    )
    result = loaded.screen(analysis) if screened else loaded.run(analysis)
    assert result is not None
    _table, _, verdicts = gate.decide(
        loaded, analysis, result, DisclosureRules(), screened=screened
    )
    assert [v.reasons for v in verdicts["s"]] == [(Reason.p_ratio,)]
