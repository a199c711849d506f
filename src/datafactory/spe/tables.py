"""What a workspace table is, as the gate, the engines, the dummy-data generator and the
pages see it: its columns with their type and sensitivity (from the data dictionary), and the
column that names the person a row is about.

One declaration serves every part, the way ehrQL's table schemas carry their constraints.
It is stored as JSON with each prepared table, so a workspace keeps the shape it was
prepared with even if the catalogue's dictionary changes later.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

UNIT_COLUMN = "pseudonym"
"""The name every workspace gives the person's pseudonym, so that tables join on it."""

COLUMN_TYPES = ("string", "integer", "decimal", "boolean", "date", "datetime", "code")
SENSITIVITIES = ("direct_identifier", "quasi_identifier", "sensitive", "other")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str = "string"
    """One of :data:`COLUMN_TYPES` (the catalogue's ``VariableType``)."""
    sensitivity: str = "other"
    """One of :data:`SENSITIVITIES`. A pseudonym keeps ``direct_identifier``: it still
    singles a person out, so the gate never groups by it nor returns it."""
    label: str = ""
    codes: tuple[str, ...] = ()
    """The code list, for ``code`` columns."""
    minimum: float | None = None
    maximum: float | None = None
    null_rate: float | None = None
    """Share of missing values, 0 to 1, when the dictionary states it."""

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")
        if self.sensitivity not in SENSITIVITIES:
            raise ValueError(
                f"column {self.name}: unknown sensitivity {self.sensitivity!r}"
            )

    @property
    def identifying(self) -> bool:
        return self.sensitivity == "direct_identifier"


@dataclass(frozen=True)
class UnitRows:
    most: int
    """The most rows one unit has; the rows with no unit count as one unit here, as
    they do in the gate's exact per-person grouping."""
    without_unit: int
    """The rows with no unit."""


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    unit: str | None = UNIT_COLUMN
    """The column naming the person each row is about; None for a table of no one
    (an aggregate table of the aggregated-only form)."""
    unit_unique: bool = False
    """True when each person has at most one row (a register), so counting rows counts
    people."""
    keys: tuple[str, ...] = field(default=())
    """Columns other tables may join on (equi-joins only). The unit column always may."""
    label: str = ""
    unit_rows: UnitRows | None = None
    """How rows are spread over units in the stored data. Measured from the data by
    :func:`measured`, never declared: the query gate bounds people and contributions
    with it (``SqlEngine.screen``)."""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: a column name is repeated")
        for name in (*self.keys, *([self.unit] if self.unit else [])):
            if name not in names:
                raise ValueError(f"table {self.name}: no column {name!r}")

    def column(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    @property
    def join_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*([self.unit] if self.unit else []), *self.keys)))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "unit_unique": self.unit_unique,
            "keys": list(self.keys),
            "unit_rows": (
                None
                if self.unit_rows is None
                else {
                    "most": self.unit_rows.most,
                    "without_unit": self.unit_rows.without_unit,
                }
            ),
            "columns": [
                {
                    "name": c.name,
                    "type": c.type,
                    "sensitivity": c.sensitivity,
                    "label": c.label,
                    "codes": list(c.codes),
                    "minimum": c.minimum,
                    "maximum": c.maximum,
                    "null_rate": c.null_rate,
                }
                for c in self.columns
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableSpec:
        return cls(
            name=data["name"],
            label=data.get("label", ""),
            unit=data.get("unit"),
            unit_unique=bool(data.get("unit_unique", False)),
            keys=tuple(data.get("keys", ())),
            unit_rows=(
                UnitRows(
                    int(data["unit_rows"]["most"]),
                    int(data["unit_rows"]["without_unit"]),
                )
                if data.get("unit_rows")
                else None
            ),
            columns=tuple(
                ColumnSpec(
                    name=c["name"],
                    type=c.get("type", "string"),
                    sensitivity=c.get("sensitivity", "other"),
                    label=c.get("label", ""),
                    codes=tuple(c.get("codes", ())),
                    minimum=c.get("minimum"),
                    maximum=c.get("maximum"),
                    null_rate=c.get("null_rate"),
                )
                for c in data["columns"]
            ),
        )


def measured(spec: TableSpec, data: pa.Table) -> TableSpec:
    """``spec`` with what the gate may rely on measured from ``data``: how its rows are
    spread over units. A spec that calls its units unique while one repeats is refused,
    because the gate would count its rows as people."""
    if spec.unit is None:
        return replace(spec, unit_rows=None)
    units = data.column(spec.unit)
    counts = pc.value_counts(units)
    most = int(pc.max(counts.field("counts")).as_py() or 0)
    if spec.unit_unique and most > 1:
        raise ValueError(
            f"table {spec.name}: declared one row per person, but a person has {most}"
        )
    return replace(spec, unit_rows=UnitRows(most, units.null_count))
