"""How each column type of a workspace table is held in Arrow.

The preparation casts the holder's columns to these types, and the dummy-data generator
produces them, so a script developed on dummy data reads the real table the same way.
"""

from __future__ import annotations

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from datafactory.spe.tables import TableSpec

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "code": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
}


def arrow_type(column_type: str) -> pa.DataType:
    return ARROW_TYPES[column_type]


def arrow_schema(spec: TableSpec) -> pa.Schema:
    return pa.schema([(c.name, arrow_type(c.type)) for c in spec.columns])
