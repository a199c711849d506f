"""Schema-faithful dummy data for a workspace table, made from its declaration alone.

Members download it (CSV or Parquet) and develop their code outside the workspace, the
OpenSAFELY pattern. :func:`dummy_table` takes a :class:`TableSpec` and nothing else: the
types, code lists, ranges and null rates of the data dictionary. It never sees a real value,
so none can appear. Pseudonyms are visibly fake (``dummy-000001``), codes come from the
code list (``<column>_1`` … when the dictionary gives none), numbers and dates fall in the
declared range or a plausible default one.

Every column draws from its own numpy generator seeded with the table's seed and the
column's name: the same seed gives the same table, and adding a column changes no other.
The global ``random`` is never touched.
"""

from __future__ import annotations

import io
import math
import zlib
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from datafactory.spe.arrow import arrow_schema, arrow_type
from datafactory.spe.tables import ColumnSpec, TableSpec

__all__ = ["DUMMY_PREFIX", "dummy_csv", "dummy_parquet", "dummy_table"]

DUMMY_PREFIX = "dummy-"
"""Every dummy pseudonym starts with this; a real pseudonym never does."""

MAX_ROWS = 1_000_000
_INTEGER_RANGE = (0, 100)
_DECIMAL_RANGE = (0.0, 1000.0)
_YEARS = (2000, 2024)
"""Dates and datetimes fall in these years when the dictionary gives no range."""
_CODES_WITHOUT_LIST = 5
_PEOPLE_PER_ROW = 2
"""A table with several rows per person draws them from rows / 2 people, all of whom a
one-row-per-person dummy table of the same size holds, so dummy tables join."""


def dummy_table(spec: TableSpec, rows: int, *, seed: int) -> pa.Table:
    """``rows`` rows of dummy data for ``spec``, the same for the same ``seed``."""
    if not 0 <= rows <= MAX_ROWS:
        raise ValueError(f"dummy tables have 0 to {MAX_ROWS} rows")
    arrays = [
        _column(spec, column, rows, _generator(seed, column.name))
        for column in spec.columns
    ]
    return pa.Table.from_arrays(arrays, schema=arrow_schema(spec))


def dummy_csv(spec: TableSpec, rows: int, *, seed: int) -> bytes:
    sink = io.BytesIO()
    pa_csv.write_csv(dummy_table(spec, rows, seed=seed), sink)
    return sink.getvalue()


def dummy_parquet(spec: TableSpec, rows: int, *, seed: int) -> bytes:
    sink = io.BytesIO()
    pq.write_table(dummy_table(spec, rows, seed=seed), sink)
    return sink.getvalue()


def _generator(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(name.encode())])


def _column(
    spec: TableSpec, column: ColumnSpec, rows: int, rng: np.random.Generator
) -> pa.Array:
    if column.name == spec.unit:
        # The person key is never missing: every row is about someone.
        return pa.array(_people(rows, spec.unit_unique, rng), pa.string())
    values = _values(column, rows, rng)
    mask = _missing(column, rows, rng)
    return pa.array(values, arrow_type(column.type), mask=mask)


def _people(rows: int, unique: bool, rng: np.random.Generator) -> list[str]:
    if unique:
        numbers = np.arange(1, rows + 1)
    else:
        numbers = rng.integers(1, max(1, rows // _PEOPLE_PER_ROW) + 1, size=rows)
    return [f"{DUMMY_PREFIX}{n:06d}" for n in numbers]


def _missing(column: ColumnSpec, rows: int, rng: np.random.Generator) -> Any:
    """Exactly round(null_rate × rows) missing values, at random places."""
    mask = np.zeros(rows, dtype=bool)
    if column.null_rate:
        missing = min(rows, round(column.null_rate * rows))
        mask[rng.permutation(rows)[:missing]] = True
    return mask


def _values(column: ColumnSpec, rows: int, rng: np.random.Generator) -> Any:
    kind = column.type
    if column.identifying:
        return [f"{DUMMY_PREFIX}{column.name}-{n:06d}" for n in range(1, rows + 1)]
    if kind == "code":
        codes = column.codes or tuple(
            f"{column.name}_{n}" for n in range(1, _CODES_WITHOUT_LIST + 1)
        )
        return [codes[i] for i in rng.integers(0, len(codes), size=rows)]
    if kind == "integer":
        low, high = _integer_range(column)
        return rng.integers(low, high + 1, size=rows)
    if kind == "decimal":
        return _decimals(column, rows, rng)
    if kind == "boolean":
        return rng.random(rows) < 0.5
    if kind in ("date", "datetime"):
        return _moments(column, rows, rng)
    return [
        f"{DUMMY_PREFIX}{column.name}-{n:04d}"
        for n in rng.integers(1, 10_000, size=rows)
    ]


def _bounds(column: ColumnSpec, default: tuple[float, float]) -> tuple[float, float]:
    low, high = column.minimum, column.maximum
    width = default[1] - default[0]
    if low is None and high is None:
        return default
    if low is None:
        assert high is not None
        return high - width, high
    if high is None:
        return low, low + width
    return low, high


def _integer_range(column: ColumnSpec) -> tuple[int, int]:
    low, high = _bounds(column, _INTEGER_RANGE)
    first, last = math.ceil(low), math.floor(high)
    if first > last:
        raise ValueError(
            f"column {column.name}: no whole number lies between {low} and {high}"
        )
    return first, last


def _decimals(column: ColumnSpec, rows: int, rng: np.random.Generator) -> Any:
    low, high = _bounds(column, _DECIMAL_RANGE)
    # Two decimals read like amounts; clipping keeps the rounding inside the range.
    return np.clip(np.round(rng.uniform(low, high, size=rows), 2), low, high)


def _moments(column: ColumnSpec, rows: int, rng: np.random.Generator) -> Any:
    """Dates (or datetimes) in the declared years; minimum and maximum are years."""
    low, high = _bounds(column, _YEARS)
    first_year, last_year = math.ceil(low), math.floor(high)
    if first_year > last_year:
        raise ValueError(f"column {column.name}: no year lies between {low} and {high}")
    start = date(first_year, 1, 1)
    days = (date(last_year, 12, 31) - start).days
    offsets = rng.integers(0, days + 1, size=rows)
    if column.type == "date":
        return [start + timedelta(days=int(d)) for d in offsets]
    seconds = rng.integers(0, 86_400, size=rows)
    midnight = datetime.combine(start, datetime.min.time())
    return [
        midnight + timedelta(days=int(d), seconds=int(s))
        for d, s in zip(offsets, seconds, strict=True)
    ]
