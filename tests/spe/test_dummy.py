"""Dummy data comes from a table's declaration alone: it follows the types, code lists,
ranges and null rates, it is the same for the same seed, and no real value ever appears
in it."""

from __future__ import annotations

import inspect
import io
import math
from datetime import date, datetime

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datafactory.spe import workspaces
from datafactory.spe.arrow import arrow_type
from datafactory.spe.dummy import (
    DUMMY_PREFIX,
    dummy_csv,
    dummy_parquet,
    dummy_table,
)
from datafactory.spe.preparation import prepare_workspace
from datafactory.spe.tables import COLUMN_TYPES, ColumnSpec, TableSpec
from tests.spe.holders import build_world, spe_config

PERSON = TableSpec(
    name="person",
    columns=(
        ColumnSpec("pseudonym", "string", "direct_identifier"),
        ColumnSpec("birth_year", "integer", minimum=1920, maximum=2010),
        ColumnSpec("sex", "code", codes=("F", "M")),
        ColumnSpec("commune", "code"),
        ColumnSpec("nationality", "code", null_rate=0.25),
        ColumnSpec("amount", "decimal", minimum=0.5, maximum=99.5),
        ColumnSpec("claimed_on", "date", minimum=2019, maximum=2024),
        ColumnSpec("seen_at", "datetime"),
        ColumnSpec("insured", "boolean"),
        ColumnSpec("remark", "string"),
    ),
    unit_unique=True,
)


def test_the_same_seed_gives_the_same_table_and_another_seed_another():
    assert dummy_table(PERSON, 200, seed=3).equals(dummy_table(PERSON, 200, seed=3))
    assert not dummy_table(PERSON, 200, seed=3).equals(dummy_table(PERSON, 200, seed=4))


def test_dummy_data_follows_the_declaration():
    table = dummy_table(PERSON, 400, seed=1)
    assert table.column_names == [c.name for c in PERSON.columns]
    pseudonyms = table.column("pseudonym").to_pylist()
    assert pseudonyms[:2] == [f"{DUMMY_PREFIX}000001", f"{DUMMY_PREFIX}000002"]
    assert len(set(pseudonyms)) == 400  # one row per person, as declared
    assert set(table.column("sex").to_pylist()) == {"F", "M"}
    assert {c.split("_")[0] for c in table.column("commune").to_pylist()} == {"commune"}
    assert table.column("nationality").null_count == 100
    assert all(2019 <= d.year <= 2024 for d in table.column("claimed_on").to_pylist())
    assert all(2000 <= d.year <= 2024 for d in table.column("seen_at").to_pylist())


def test_a_table_of_several_rows_per_person_joins_the_register():
    claims = TableSpec(
        "claim", (ColumnSpec("pseudonym", sensitivity="direct_identifier"),)
    )
    people = set(dummy_table(PERSON, 100, seed=1).column("pseudonym").to_pylist())
    claimants = dummy_table(claims, 100, seed=1).column("pseudonym").to_pylist()
    assert set(claimants) <= people
    assert len(set(claimants)) < len(claimants)


def test_csv_and_parquet_downloads_hold_the_same_table():
    table = dummy_table(PERSON, 50, seed=9)
    assert pq.read_table(io.BytesIO(dummy_parquet(PERSON, 50, seed=9))).equals(table)
    from_csv = pa_csv.read_csv(io.BytesIO(dummy_csv(PERSON, 50, seed=9)))
    assert from_csv.num_rows == 50
    assert (
        from_csv.column("pseudonym").to_pylist()
        == table.column("pseudonym").to_pylist()
    )


def test_the_generator_cannot_see_real_data():
    # Its only inputs are the declaration, a size and a seed.
    assert list(inspect.signature(dummy_table).parameters) == ["spec", "rows", "seed"]
    for helper in (dummy_csv, dummy_parquet):
        assert list(inspect.signature(helper).parameters) == ["spec", "rows", "seed"]


def test_a_range_without_a_whole_number_is_refused():
    spec = TableSpec(
        "t", (ColumnSpec("x", "integer", minimum=0.2, maximum=0.8),), unit=None
    )
    with pytest.raises(ValueError, match="no whole number"):
        dummy_table(spec, 3, seed=0)


def test_no_real_value_appears_in_the_dummy_data(runtime, db, committed, tmp_path):
    config = spe_config(runtime, tmp_path)
    world = committed(lambda s: build_world(s, config, tmp_path))
    report = prepare_workspace(
        runtime.sessions,
        config,
        world.actor(world.ttp),
        world.workspace,
        sql_connections=world.connections,
        holders_dir=world.holders,
    )
    assert report.ok
    workspace = workspaces.get_workspace(db, world.workspace)
    real = workspaces.workspace_tables(db, config, workspace)
    # The dummy data is made from the stored declarations only.
    for name, spec in workspaces.table_specs(db, workspace).items():
        real_table = real[name][1]
        dummy = dummy_table(spec, max(1000, real_table.num_rows * 5), seed=1)
        if spec.unit:
            pseudonyms = set(real_table.column(spec.unit).to_pylist())
            assert not pseudonyms & set(dummy.column(spec.unit).to_pylist())
        real_rows = {tuple(r.values()) for r in real_table.to_pylist()}
        assert not real_rows & {tuple(r.values()) for r in dummy.to_pylist()}
        identifiers = set(world.extracts.numbers)
        for column in dummy.columns:
            assert not identifiers & {str(v) for v in column.to_pylist()}


# --- for every declaration ----------------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def column_specs(draw, name: str) -> ColumnSpec:
    kind = draw(st.sampled_from(COLUMN_TYPES))
    low = high = None
    if kind in ("integer", "decimal"):
        low = draw(st.none() | st.integers(-1000, 1000).map(float))
        start = -1000 if low is None else int(low)
        high = draw(st.none() | st.integers(start, start + 5000).map(float))
    elif kind in ("date", "datetime"):
        low = draw(st.none() | st.integers(1950, 2030).map(float))
        start = 1950 if low is None else int(low)
        high = draw(st.none() | st.integers(start, 2040).map(float))
    codes = ()
    if kind == "code":
        codes = tuple(draw(st.lists(NAMES, max_size=6, unique=True)))
    return ColumnSpec(
        name=name,
        type=kind,
        sensitivity=draw(st.sampled_from(("quasi_identifier", "sensitive", "other"))),
        codes=codes,
        minimum=low,
        maximum=high,
        null_rate=draw(st.none() | st.floats(0, 1)),
    )


@st.composite
def table_specs(draw) -> TableSpec:
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    names = [n for n in names if n != "pseudonym"] or ["value"]
    columns = [draw(column_specs(n)) for n in names]
    with_unit = draw(st.booleans())
    if with_unit:
        columns.insert(0, ColumnSpec("pseudonym", sensitivity="direct_identifier"))
    return TableSpec(
        name="t",
        columns=tuple(columns),
        unit="pseudonym" if with_unit else None,
        unit_unique=draw(st.booleans()),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=table_specs(), rows=st.integers(0, 120), seed=st.integers(0, 2**32))
def test_dummy_tables_always_match_their_declaration(spec, rows, seed):
    table = dummy_table(spec, rows, seed=seed)
    assert table.num_rows == rows
    for column in spec.columns:
        values = table.column(column.name)
        assert values.type == arrow_type(column.type)
        present = [v for v in values.to_pylist() if v is not None]
        if column.name == spec.unit:
            assert values.null_count == 0
            assert all(v.startswith(DUMMY_PREFIX) for v in present)
            if spec.unit_unique:
                assert len(set(present)) == rows
            continue
        expected_nulls = min(rows, round((column.null_rate or 0) * rows))
        assert values.null_count == expected_nulls
        if column.type == "code" and column.codes:
            assert set(present) <= set(column.codes)
        if column.type in ("integer", "decimal"):
            low = -math.inf if column.minimum is None else column.minimum
            high = math.inf if column.maximum is None else column.maximum
            assert all(low <= v <= high for v in present)
        if column.type in ("date", "datetime"):
            years = [v.year for v in present]
            assert all(isinstance(v, date | datetime) for v in present)
            if column.minimum is not None:
                assert all(y >= column.minimum for y in years)
            if column.maximum is not None:
                assert all(y <= column.maximum for y in years)


def test_the_arrow_table_keeps_its_schema_when_empty():
    table = dummy_table(PERSON, 0, seed=0)
    assert table.num_rows == 0
    assert table.schema == pa.schema(
        [(c.name, arrow_type(c.type)) for c in PERSON.columns]
    )
